"""Helpers shared by the team's DAGs."""

from team_pipelines.images import WORKER_CONTAINER, TaskImageNotFound, resolve_task_image

__all__ = ["WORKER_CONTAINER", "TaskImageNotFound", "resolve_task_image"]
