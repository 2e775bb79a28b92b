"""Skipping the time-skipping test server's clock, in steps that survive a long wait.

The test server holds its clock while activities run, so one call that skips months while
workers write escalations and notices can last minutes on a loaded 2-core machine. A gRPC call
that long is at the mercy of the connection (CI once lost one to ``transport error`` after a
minute and a half of a 120-day skip), so the skip goes in steps of at most a week, each step's
call with a generous deadline, and a step whose connection dropped is taken again from the
server's own clock — the server keeps the time it reached, nothing fires twice."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.testservice.v1 import SleepRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

STEP = timedelta(days=7)
# Transport errors in a row before giving up: a server that is gone stays gone.
ATTEMPTS = 3


async def skip(env: WorkflowEnvironment, duration: timedelta) -> None:
    """Let the server's clock run ``duration`` ahead; returns when every timer up to then has
    fired and the activities it started have finished."""
    target = await env.get_current_time() + duration
    failures = 0
    while (now := await env.get_current_time()) < target:
        req = SleepRequest()
        req.duration.FromTimedelta(min(target - now, STEP))
        try:
            await env.client.test_service.unlock_time_skipping_with_sleep(
                req, timeout=timedelta(minutes=10)
            )
            failures = 0
        except RPCError as err:
            if err.status != RPCStatusCode.UNKNOWN or "transport" not in err.message:
                raise
            failures += 1
            if failures >= ATTEMPTS:
                raise
