"""The smallest DAG this image ships: one task in its own worker pod, nothing else needed.

It is the DAG `npm run local` runs on each path it has: from this image on the lab, and from the
DAG volume on a cluster of your own (test-e2e/airflow/local.e2e.ts copies this file there).
"""

from __future__ import annotations

import socket

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["example"])
def example_hello():
    @task
    def hello() -> str:
        # the worker pod's name: the task ran in a pod of its own (KubernetesExecutor)
        message = f"hello from {socket.gethostname()}"
        print(message)
        return message

    hello()


example_hello()
