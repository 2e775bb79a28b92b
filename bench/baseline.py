"""The engine's ceiling on this machine: a minimal Temporal workflow shaped like one human
task — an activity (open the task), an update (the officer's completion), an activity (close
it) — and a timer probe (how late short timers fire while the application's workflows are
open on the same server). ``python -m bench.baseline ADDRESS TASK_QUEUE`` runs their worker
in a process of its own, as the application's worker runs in its own process."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

STEP_TIMEOUT = timedelta(seconds=30)


@activity.defn
async def open_task(n: int) -> int:
    return n


@activity.defn
async def close_task(outcome: str) -> str:
    return outcome


@workflow.defn
class BaselineTask:
    """Activity, update, activity: the least a task-shaped workflow costs the engine."""

    def __init__(self) -> None:
        self.opened = False
        self.outcome: str | None = None

    @workflow.run
    async def run(self, n: int) -> str:
        await workflow.execute_activity(open_task, n, start_to_close_timeout=STEP_TIMEOUT)
        self.opened = True
        await workflow.wait_condition(lambda: self.outcome is not None)
        assert self.outcome is not None
        return await workflow.execute_activity(
            close_task, self.outcome, start_to_close_timeout=STEP_TIMEOUT
        )

    @workflow.update
    async def complete(self, outcome: str) -> str:
        # As in the application, the task can be completed once it is open.
        await workflow.wait_condition(lambda: self.opened)
        self.outcome = outcome
        return outcome


@workflow.defn
class TimerProbe:
    """Sleeps ``count`` times for ``seconds``; returns how late each wake-up was (seconds),
    measured on workflow time (the start of the workflow task that saw the timer fire)."""

    @workflow.run
    async def run(self, count: int, seconds: float) -> list[float]:
        lags: list[float] = []
        for _ in range(count):
            before = workflow.now()
            await workflow.sleep(seconds)
            lags.append((workflow.now() - before).total_seconds() - seconds)
        return lags


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BaselineTask, TimerProbe],
        activities=[open_task, close_task],
    )
    async with worker:
        print("baseline worker polling", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
