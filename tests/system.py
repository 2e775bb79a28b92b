"""The whole system in one process for tests: a migrated, demo-seeded database, a worker on
the time-skipping server and the FastAPI app behind an httpx client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from inbox_api.app import create_app
from store.db import make_engine, make_sessionmaker
from store.settings import Settings
from worker.demo import DEMO_PASSWORD, seed_demo
from worker.factory import build_worker


@dataclass
class System:
    settings: Settings
    env: WorkflowEnvironment
    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        if username not in self.tokens:
            r = await self.http.post(
                "/api/v1/auth/token", data={"username": username, "password": password}
            )
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def wait_for_task(
        self, username: str, case_id: str, kind: str, timeout: float = 20
    ) -> dict[str, Any]:
        """Poll the inbox until the case's task of that kind appears (the projection is written
        by an activity, so it is eventually consistent with the workflow)."""
        headers = await self.login(username)
        deadline = time.monotonic() + timeout
        while True:
            r = await self.http.get(
                "/api/v1/tasks", headers=headers, params={"kind": kind, "limit": 200}
            )
            assert r.status_code == 200, r.text
            for item in r.json()["items"]:
                if item["case_id"] == case_id:
                    return item  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {kind} task for {case_id} in {username}'s inbox")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def running_system(settings: Settings, env: WorkflowEnvironment) -> AsyncIterator[System]:
    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await seed_demo(session)
    app = create_app(settings, temporal_client=env.client)
    worker = build_worker(env.client, settings, sessions=sessions)
    async with (
        worker,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield System(settings=settings, env=env, http=http)
    await engine.dispose()
