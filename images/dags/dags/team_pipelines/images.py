"""Pick a task image by name.

The deployment publishes the digest-pinned task images as the Airflow Variable ``task_images``
(a JSON object: name -> ``registry/repo@sha256:...``). DAGs ask for an image by name; a name that
is not published fails the DAG at parse time (an import error in the UI), not a task at run time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

# KubernetesExecutor applies a pod_override to the container of this name in the worker template.
WORKER_CONTAINER = "base"


class TaskImageNotFound(KeyError):
    """The DAG asked for a task image the deployment does not publish."""


def resolve_task_image(published: str | Mapping[str, str], name: str) -> str:
    """Return the digest-pinned reference of task image ``name``.

    ``published`` is the ``task_images`` Variable, as JSON text or already decoded.
    """
    images = json.loads(published) if isinstance(published, str) else dict(published)
    try:
        return images[name]
    except KeyError:
        known = ", ".join(sorted(images)) or "none"
        raise TaskImageNotFound(f"task image {name!r} is not published (known: {known})") from None
