"""Container health check for ``yuanzhu worker`` (docker-compose.yml, service ``worker``).

The worker has no HTTP port, so "healthy" is asked of Temporal: the worker in *this* container
has polled its task queue recently. Temporal lists the pollers it has seen on a task queue in
the last few minutes, each with its identity; the SDK's default identity is ``<pid>@<hostname>``
and a container's hostname is its own, so a poller whose identity ends in ``@<this hostname>``
is this container's worker. Exit 0 when healthy, 1 otherwise, with one line saying why.

Reads the same ``YUANZHU_*`` settings as the worker. Run it by hand with
``docker compose exec worker python /opt/yuanzhu/healthcheck/worker_healthcheck.py``.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

# A worker long-polls continuously; one poll lasts up to about a minute, so a healthy worker's
# last access is never much older than that. Temporal forgets pollers after about five minutes.
MAX_SILENCE = timedelta(minutes=3)


def polling_recently(
    pollers: Iterable[tuple[str, datetime]],
    hostname: str,
    now: datetime,
    max_silence: timedelta = MAX_SILENCE,
) -> bool:
    """Whether a poller from ``hostname`` (identity ``<anything>@<hostname>``) was seen within
    ``max_silence`` of ``now``. ``pollers`` are (identity, last access time) pairs."""
    suffix = f"@{hostname}"
    return any(
        identity.endswith(suffix) and now - last_access <= max_silence
        for identity, last_access in pollers
    )


async def _pollers() -> tuple[str, list[tuple[str, datetime]]]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    from store.settings import load_settings

    settings = load_settings()
    client = await asyncio.wait_for(
        Client.connect(settings.temporal_address, namespace=settings.temporal_namespace),
        timeout=10,
    )
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.temporal_task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=timedelta(seconds=10),
    )
    pollers = [(p.identity, p.last_access_time.ToDatetime(tzinfo=UTC)) for p in response.pollers]
    return settings.temporal_task_queue, pollers


def main() -> int:
    hostname = socket.gethostname()
    try:
        queue, pollers = asyncio.run(_pollers())
    except Exception as exc:
        print(f"unhealthy: cannot ask Temporal about the task queue: {exc}".splitlines()[0])
        return 1
    if polling_recently(pollers, hostname, datetime.now(UTC)):
        print(f"healthy: {hostname} is polling task queue {queue!r}")
        return 0
    print(f"unhealthy: no recent poll from {hostname} on task queue {queue!r}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
