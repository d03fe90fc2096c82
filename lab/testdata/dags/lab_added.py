"""A DAG the level-2 lab adds after the first deploy (in a new DAG image): it must be parsed and run.

``conf.sleep`` (seconds, default 0) keeps its task running, so the lab can delete the scheduler
pod mid-run and check the run still completes.
"""

from __future__ import annotations

import time

import pendulum
from airflow.sdk import dag, get_current_context, task


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False, tags=["lab"])
def lab_added():
    @task
    def wait_and_report() -> str:
        seconds = int(get_current_context()["dag_run"].conf.get("sleep", 0))
        time.sleep(seconds)
        message = f"lab_added ran after sleeping {seconds}s"
        print(message)
        return message

    wait_and_report()


lab_added()
