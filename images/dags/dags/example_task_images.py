"""Runs one task in a task image picked by name from the ``task_images`` Variable.

``crunch`` runs in the ``example`` task image, which carries its own pandas (a version the Airflow
base image cannot have); ``summarize`` runs in the DAG image. The task image reference is
digest-pinned, so a rerun months later runs the same bytes.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Variable, dag, task
from kubernetes.client import models as k8s

from team_pipelines import WORKER_CONTAINER, resolve_task_image

# The deployment writes the Variable into the metadata database (the standalone pod: its env), so a
# new task image reaches this parse-time lookup at the next parse without restarting any pod.
TASK_IMAGES = Variable.get("task_images", default={}, deserialize_json=True)


def run_in_task_image(name: str) -> dict:
    """executor_config that replaces the worker container's image with task image ``name``."""
    image = resolve_task_image(TASK_IMAGES, name)
    return {"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name=WORKER_CONTAINER, image=image)]))}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "task-images"],
)
def example_task_images():
    @task(executor_config=run_in_task_image("example"))
    def crunch() -> dict:
        import pandas as pd

        frame = pd.DataFrame({"value": [1, 2, 3, 4]})
        return {"pandas": pd.__version__, "total": int(frame["value"].sum())}

    @task
    def summarize(result: dict) -> str:
        message = f"crunched {result['total']} with pandas {result['pandas']}"
        print(message)
        return message

    summarize(crunch())


example_task_images()
