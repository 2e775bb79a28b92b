"""Scenario harness: the whole system on a time-skipping test server whose clock starts at a
chosen instant (the server runs under libfaketime), so a case can be opened just before the
2026 National Day holiday and its clocks driven by skipping real and working days.

The workers and the API run in this process; the database is a fresh migrated SQLite file.
``scenario_at(..., worker=False)`` starts no worker: the test runs its own with
``sc.worker()`` (to restart one in the middle of a case).
"""

from __future__ import annotations

import asyncio
import glob
import os
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.cases import CaseActivities
from activities.inbox import InboxActivities
from application.calendar_sync import signal_provisional_clocks
from domain.calendar import SHANGHAI, YearTable, deadline_end
from infra.temporal_client import DATA_CONVERTER
from store.calendar_repo import save_year_table
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import Notice, Notification, SlaBreach, Task
from tests.conftest import IN_CI, make_settings
from tests.factories import application
from tests.system import System, system_with_sessions
from tests.time_skip import skip
from worker.binaries import find_binary
from worker.factory import WORKFLOWS, activities_for, build_worker
from workflows.contracts import CaseUpdateInput, OpenedTask, OpenTaskInput


def faketime_library() -> str | None:
    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    return found[0] if found else None


def time_server_at(start: datetime, directory: Path) -> str:
    """A wrapper script that starts the time-skipping server with its clock at ``start``."""
    lib = faketime_library()
    if lib is None:
        message = "libfaketime not installed (Debian package 'faketime'); .ci/run installs it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    stamp = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    script = directory / "time-server.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'exec env TZ=UTC LD_PRELOAD={lib} FAKETIME="@{stamp}" FAKETIME_DONT_RESET=1 '
        f'{find_binary("temporal-test-server")} "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@dataclass
class Scenario:
    system: System
    env: WorkflowEnvironment
    # The session factory of a scenario without a worker, for the workers the test starts.
    sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def http(self):  # type: ignore[no-untyped-def]
        return self.system.http

    async def now(self) -> datetime:
        return (await self.env.get_current_time()).astimezone(SHANGHAI)

    async def submit(self, pack: str, **kwargs: Any) -> str:
        r = await self.http.post("/api/v1/applications", json=application(pack, **kwargs))
        assert r.status_code == 201, r.text
        return str(r.json()["case_id"])

    async def task(self, user: str, case_id: str, kind: str) -> dict[str, Any]:
        return await self.system.wait_for_task(user, case_id, kind)

    async def complete(
        self, user: str, task: dict[str, Any], outcome: str, expect: int = 200, **fields: Any
    ) -> dict[str, Any]:
        headers = await self.system.login(user)
        r = await self.http.post(
            f"/api/v1/tasks/{task['id']}/complete",
            headers=headers,
            json={"outcome": outcome, "fields": fields},
        )
        assert r.status_code == expect, r.text
        return r.json()  # type: ignore[no-any-return]

    async def do(self, user: str, case_id: str, kind: str, outcome: str, **fields: Any) -> None:
        await self.complete(user, await self.task(user, case_id, kind), outcome, **fields)

    async def post_complete(
        self, user: str, task_id: str, outcome: str, key: str | None = None, **fields: Any
    ) -> httpx.Response:
        """The raw completion request (status not checked), optionally with an Idempotency-Key."""
        headers = await self.system.login(user)
        if key is not None:
            headers = {**headers, "Idempotency-Key": key}
        return await self.http.post(
            f"/api/v1/tasks/{task_id}/complete",
            headers=headers,
            json={"outcome": outcome, "fields": fields},
        )

    async def withdraw(self, user: str, case_id: str, reason: str = "申请人撤回") -> httpx.Response:
        return await self.http.post(
            f"/api/v1/cases/{case_id}/withdraw",
            headers=await self.system.login(user),
            json={"reason": reason},
        )

    async def object(
        self, user: str, case_id: str, content: str = "申请人在外地有工作", raised_by: str = "邻居"
    ) -> httpx.Response:
        """Record an objection (异议) against the case's publicity."""
        return await self.http.post(
            f"/api/v1/cases/{case_id}/objections",
            headers=await self.system.login(user),
            json={"content": content, "raised_by": raised_by},
        )

    async def in_publicity(self, case_id: str) -> dict[str, Any]:
        """Wait until the case is in publicity and return it (objections are accepted from
        then on: the workflow enters publicity before the projection says so)."""
        return await self.wait_case(case_id, lambda c: c["status"] == "in_publicity", "publicity")

    async def closed(self, case_id: str) -> dict[str, Any]:
        """The case once its workflow finished and the projection caught up."""
        status = await self.result(case_id)
        return await self.wait_case(case_id, lambda c: c["status"] == status, status)

    def worker(self, *, slow_events: dict[str, float] | None = None) -> Worker:
        """A worker for a scenario started with ``worker=False`` (use it in ``async with``).
        ``slow_events`` delays the recording of timeline events of those kinds by that many
        real seconds (to hold a handler inside its first activity while a timer fires) — on
        their own, or held for a task's opening and written with it.

        It keeps no workflow cache, so it never polls a sticky queue: the time-skipping test
        server leaves a workflow task on the sticky queue of a worker that stopped, even past
        the sticky schedule-to-start timeout after which a real server moves it to the task
        queue, so the case would wait for the stopped worker. Every workflow task is thus
        replayed from history, as by a freshly started worker process."""
        assert self.sessions is not None, "the scenario runs its own worker"
        if not slow_events:
            return build_worker(
                self.env.client,
                self.system.settings,
                sessions=self.sessions,
                max_cached_workflows=0,
            )
        slow = _SlowSteps(self.sessions, slow_events)
        activities = [
            a
            for a in activities_for(self.sessions)
            if a.__name__ not in ("update_case", "open_task")
        ]
        return Worker(
            self.env.client,
            task_queue=self.system.settings.temporal_task_queue,
            workflows=list(WORKFLOWS),
            activities=[*activities, slow.update_case, slow.open_task],
            max_cached_workflows=0,
        )

    async def case(self, case_id: str, user: str = "admin") -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/cases/{case_id}", headers=await self.system.login(user))
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def wait_case(
        self, case_id: str, predicate: Any, what: str, timeout: float = 20
    ) -> dict[str, Any]:
        """Poll the case until ``predicate(case)`` (the projection is eventually consistent)."""
        deadline = time.monotonic() + timeout
        while True:
            case = await self.case(case_id)
            if predicate(case):
                return case
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"case {case_id}: timed out waiting for {what}: "
                    f"status={case['status']} stage={case['stage']}"
                )
            await asyncio.sleep(0.05)

    async def result(self, case_id: str) -> str:
        workflow_id = f"identification-{case_id}"
        # Pinned to its run: without a run id the SDK gives up ("No completion event found")
        # when the server's long poll for the close event ends empty on a loaded machine.
        run_id = (await self.env.client.get_workflow_handle(workflow_id).describe()).run_id
        handle = self.env.client.get_workflow_handle(workflow_id, run_id=run_id)
        return str(await handle.result())

    async def sleep_until(self, local: datetime) -> None:
        """Skip the server's clock to a Shanghai wall-clock instant (tests/time_skip.py)."""
        now = await self.env.get_current_time()
        if local.tzinfo is None:
            local = local.replace(tzinfo=SHANGHAI)
        assert local > now, f"{local} is not after {now}"
        await skip(self.env, local - now)

    async def load_year(self, table: YearTable) -> int:
        """An administrator loads a year's holiday table; running cases with provisional
        clocks are told. How many were told."""
        engine = make_engine(self.system.settings.effective_database_url)
        sessions = make_sessionmaker(engine)
        try:
            async with sessions() as session, session.begin():
                await save_year_table(session, table, loaded_by="test", now=datetime.now(UTC))
            return await signal_provisional_clocks(self.env.client, sessions)
        finally:
            await engine.dispose()

    async def rows(self, model: Any, **where: Any) -> list[Any]:
        engine = make_engine(self.system.settings.effective_database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                q = select(model)
                for k, v in where.items():
                    q = q.where(getattr(model, k) == v)
                return list((await session.scalars(q)).all())
        finally:
            await engine.dispose()

    async def breaches(self, case_id: str) -> list[SlaBreach]:
        return await self.rows(SlaBreach, case_id=case_id)

    async def tasks_of(self, case_id: str) -> list[Task]:
        return await self.rows(Task, case_id=case_id)

    async def notices(self, case_id: str) -> list[Notice]:
        return await self.rows(Notice, case_id=case_id)

    async def notifications(self, case_id: str) -> list[Notification]:
        return await self.rows(Notification, case_id=case_id)


class _SlowSteps:
    """The steps that write timeline entries, each slowed as the slowest entry it writes: an
    entry on its own (update_case), or with a task's opening (open_task)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], delays: dict[str, float]):
        self.cases, self.inbox = CaseActivities(sessions), InboxActivities(sessions)
        self.delays = delays

    async def _wait(self, entries: list[CaseUpdateInput]) -> None:
        await asyncio.sleep(max((self.delays.get(e.kind, 0) for e in entries), default=0))

    @activity.defn(name="update_case")
    async def update_case(self, inp: CaseUpdateInput) -> None:
        await self._wait([inp])
        await self.cases.update_case(inp)

    @activity.defn(name="open_task")
    async def open_task(self, inp: OpenTaskInput) -> OpenedTask:
        await self._wait(inp.entries)
        return await self.inbox.open_task(inp)


def timeline_kinds(case: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in case["timeline"]]


@asynccontextmanager
async def scenario_at(
    start: datetime, tmp: Path, *, worker: bool = True, **settings: Any
) -> AsyncIterator[Scenario]:
    """A fresh system whose Temporal clock starts at ``start`` (aware, e.g. Shanghai time).
    Without ``worker`` the test runs its own workers (``sc.worker()``)."""
    s = make_settings(
        f"sqlite+aiosqlite:///{tmp / 'yuanzhu.db'}",
        tmp,
        temporal_task_queue=f"q-{os.getpid()}-{id(tmp)}",
        **settings,
    )
    await asyncio.to_thread(upgrade, s)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_server_at(start, tmp),
        data_converter=DATA_CONVERTER,
    )
    try:
        async with system_with_sessions(s, env, worker=worker) as (system, sessions):
            yield Scenario(system=system, env=env, sessions=None if worker else sessions)
    finally:
        await env.shutdown()


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def end_of(year: int, month: int, day: int) -> datetime:
    """The instant a period ending on that Shanghai day runs out (the end of the day)."""
    return deadline_end(date(year, month, day))


def instant(iso: str) -> datetime:
    """An instant from the API (ISO 8601, UTC) as an aware datetime, to compare with the above."""
    return datetime.fromisoformat(iso)


__all__ = [
    "Scenario",
    "end_of",
    "instant",
    "scenario_at",
    "shanghai",
    "timedelta",
    "timeline_kinds",
]
