"""A DAG file with an import error: Airflow must report it and keep running every other DAG."""

from __future__ import annotations

import module_that_does_not_exist  # noqa: F401  (the import error the lab expects)
