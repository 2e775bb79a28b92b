"""The SLA clock ladder as a workflow climbs it: sleep on durable timers until the next rung of
an :class:`~domain.sla.SlaLadder` (at risk → breach → escalation up the jurisdiction tree),
wake early when told (the holiday table changed, the task was done), call back once per rung.
Human tasks, the identification deadline and verification batches climb theirs with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.sla import Rung, SlaLadder


async def sleep_until(when: datetime | None, wake: Callable[[], bool]) -> bool:
    """Wait until the instant ``when`` (returns True) or until ``wake()`` holds (False).
    Without an instant, wait for ``wake()`` alone. Timers are durable: a worker restart or a
    time-skipping test resumes them exactly."""
    if wake():
        return False
    if when is None:
        await workflow.wait_condition(wake)
        return False
    delay = when - workflow.now()
    if delay <= timedelta(0):
        return True
    try:
        await workflow.wait_condition(wake, timeout=delay)
        return False
    except TimeoutError:
        return True


class RungRecord(Protocol):
    """Where the rungs taken so far are kept (0 = none, 1 = the reminder, 1 + n = n levels)."""

    rungs_taken: int


@dataclass
class RungCount:
    rungs_taken: int = 0


class LadderClock:
    """Climbs ``ladder()`` (None: no clock, only wait to be told), calling ``on_rung`` as each
    rung falls due. The ladder is read before every sleep, so a recomputation shows at once;
    the rungs taken are counted in ``record``, which the followers of one task share (a rung
    is marked taken before ``on_rung`` awaits anything)."""

    def __init__(
        self,
        ladder: Callable[[], SlaLadder | None],
        on_rung: Callable[[Rung], Awaitable[None]],
        record: RungRecord | None = None,
    ) -> None:
        self.ladder, self.on_rung = ladder, on_rung
        self.record: RungRecord = record or RungCount()

    def next_rung(self) -> Rung | None:
        ladder = self.ladder()
        return None if ladder is None else ladder.rung(self.record.rungs_taken)

    async def run(
        self,
        until: Callable[[], bool] = lambda: False,
        calendar: Callable[[], int] = lambda: 0,
        recompute: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """Take the rungs as they fall due until ``until()`` holds. When ``calendar()`` (the
        holiday table's epoch) moves, ``recompute(epoch)`` refreshes what ``ladder()`` reads."""
        seen = calendar()
        while not until():
            if seen != calendar():
                seen = calendar()
                if recompute is not None:
                    await recompute(seen)
            told = lambda: until() or calendar() != seen  # noqa: B023, E731 - this iteration only
            rung = self.next_rung()
            if not await sleep_until(None if rung is None else rung.at, told):
                continue
            # Asked again: another follower of the same record may have taken a rung meanwhile.
            rung = self.next_rung()
            if rung is not None:
                self.record.rungs_taken = rung.level + 1
                await self.on_rung(rung)
