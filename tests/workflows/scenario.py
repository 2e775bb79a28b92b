"""Scenario harness: the whole system on a time-skipping test server whose clock starts at a
chosen instant (the server runs under libfaketime), so a case can be opened just before the
2026 National Day holiday and its clocks driven by skipping real and working days.

The workers and the API run in this process; the database is a fresh migrated SQLite file.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.calendar import SHANGHAI
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import Notice, Notification, SlaBreach, Task
from tests.conftest import IN_CI, make_settings
from tests.factories import application
from tests.system import System, running_system
from worker.binaries import find_binary


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
        handle = self.env.client.get_workflow_handle(f"identification-{case_id}")
        return str(await handle.result())

    async def sleep_until(self, local: datetime) -> None:
        """Skip the server's clock to a Shanghai wall-clock instant."""
        now = await self.env.get_current_time()
        if local.tzinfo is None:
            local = local.replace(tzinfo=SHANGHAI)
        assert local > now, f"{local} is not after {now}"
        await self.env.sleep(local - now)

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


@asynccontextmanager
async def scenario_at(start: datetime, tmp: Path, **settings: Any) -> AsyncIterator[Scenario]:
    """A fresh system whose Temporal clock starts at ``start`` (aware, e.g. Shanghai time)."""
    s = make_settings(
        f"sqlite+aiosqlite:///{tmp / 'yuanzhu.db'}",
        tmp,
        temporal_task_queue=f"q-{os.getpid()}-{id(tmp)}",
        **settings,
    )
    await asyncio.to_thread(upgrade, s)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_server_at(start, tmp),
        data_converter=pydantic_data_converter,
    )
    try:
        async with running_system(s, env) as system:
            yield Scenario(system=system, env=env)
    finally:
        await env.shutdown()


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


__all__ = ["Scenario", "scenario_at", "shanghai", "timedelta"]
