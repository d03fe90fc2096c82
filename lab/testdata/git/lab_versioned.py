"""A DAG the level-2 lab pushes to its git server, for the DAG sources that read git.

Each commit changes ``marker.txt`` beside this file. ``first`` reads it every 0.2 s for
``conf.sleep`` seconds (so a sync that lands meanwhile swaps the files under a task that reads them),
then reports the marker; ``second`` runs after it, in another worker pod, and reports the marker it
reads then. With DAG bundles both read the commit their run recorded, even when a later commit
landed in between; ``retries`` lets a task whose worker pod was deleted run again.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import dag, get_current_context, task

MARKER = Path(__file__).with_name("marker.txt")


@dag(
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["lab"],
    default_args={"retries": 1, "retry_delay": timedelta(seconds=3)},
)
def lab_versioned():
    @task
    def first() -> str:
        deadline = time.monotonic() + int(get_current_context()["dag_run"].conf.get("sleep", 0))
        seen = []
        while True:
            marker = MARKER.read_text().strip()
            if marker not in seen:
                seen.append(marker)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        print(f"first read markers {seen} from {MARKER}")
        return marker

    @task
    def second(seen: str) -> str:
        marker = MARKER.read_text().strip()
        print(f"second read marker {marker} (first read {seen})")
        return marker

    second(first())


lab_versioned()
