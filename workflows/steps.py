"""How a workflow runs its steps: activities, and local activities for the short database
steps on an officer's path (#22). Every workflow module takes its steps from here, so that the
timeouts, the retry policy and the patch that made the short steps local have one home."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Inbox writes are idempotent upserts: retry them for as long as the database is away.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
# The patch under which a run makes its short database steps local activities (run_local).
LOCAL_WRITES = "local-writes"


async def run_activity(method: Callable[..., Awaitable[Any]], arg: object) -> Any:
    return await workflow.execute_activity_method(
        method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
    )


def local_steps() -> bool:
    """Whether this run takes its short database steps locally (see :func:`run_local`); the
    answer is the same for the whole run."""
    return workflow.patched(LOCAL_WRITES)


async def run_local(method: Callable[..., Awaitable[Any]], arg: object) -> Any:
    """Run one of the short database steps on an officer's path — an inbox row opened or
    closed, a timeline entry, a notice, a clock computed from the holiday table — as a local
    activity (#22).

    An activity costs two round trips to the server and a workflow task of its own; a
    completion used to wait for three or more of them (close the row, record the decision,
    compute the next clock, open the next task): most of its latency. A local activity runs in
    the worker inside the workflow task, its result recorded with that task. The guarantee is
    the same: if the worker dies before the workflow task completes, the task runs again and
    so does the step — each is an idempotent upsert keyed by a deterministic id, or a read.
    The steps keep the retry policy of activities (for as long as the database is away).

    Runs recorded before this change scheduled activities for these steps and replay them so
    (``workflow.patched`` answers the same for the whole run)."""
    if not local_steps():
        return await run_activity(method, arg)
    return await workflow.execute_local_activity_method(
        method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
    )
