"""The whole system in one process for tests: a migrated, demo-seeded database, a worker on
the time-skipping server and the FastAPI app behind an httpx client."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from application.security import issue_token
from store import repos
from store.db import make_engine, make_sessionmaker
from store.models import Case, Task, User
from store.settings import Settings
from tests.factories import pinned_ref
from web.common import LOGIN_FORM
from worker.demo import DEMO_PASSWORD, seed_demo
from worker.factory import build_worker
from worker.server import create_app

_regions = itertools.count(1)
_rows = itertools.count(1)


async def web_login(
    client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD, **form: str
) -> httpx.Response:
    """Log in through the login form as a browser does: the page first (its CSRF token and
    the form's cookie), then the form."""
    page = await client.get("/login")
    if cookie := page.cookies.get(LOGIN_FORM.cookie_name):
        # Sent back even when it is Secure and the test speaks http: a browser in front of a
        # TLS-terminating proxy speaks https.
        client.cookies.set(LOGIN_FORM.cookie_name, cookie)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, "the login form carries its CSRF token"
    data = {"username": username, "password": password, "csrf": match.group(1), **form}
    return await client.post("/login", data=data)


@dataclass
class Region:
    """A jurisdiction tree of its own for one test (so that tests sharing a database never see
    each other's tasks), with users made directly in the database (no password: use
    ``headers``). Places: ``province`` > ``city`` > counties ``county_a``, ``county_b`` >
    streets ``street_a1``, ``street_a2`` (in county_a) and ``street_b1`` (in county_b).
    Users: officer, officer2 (street_a1), officer_a2 (street_a2), officer_b (street_b1),
    county_officer (grassroots officer at county_a), reviewer (county_a), reviewer_b
    (county_b), supervisor (city), supervisor_b (county_b), admin (city), admin_b (county_b)."""

    n: int
    codes: dict[str, str]
    paths: dict[str, str]
    case_id: str
    users: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


REGION_USERS = {
    "officer": ("grassroots_officer", "street_a1"),
    "officer2": ("grassroots_officer", "street_a1"),
    "officer_a2": ("grassroots_officer", "street_a2"),
    "officer_b": ("grassroots_officer", "street_b1"),
    "county_officer": ("grassroots_officer", "county_a"),
    "reviewer": ("county_reviewer", "county_a"),
    "reviewer_b": ("county_reviewer", "county_b"),
    "supervisor": ("supervisor", "city"),
    "supervisor_b": ("supervisor", "county_b"),
    "admin": ("admin", "city"),
    "admin_b": ("admin", "county_b"),
}


@dataclass
class System:
    settings: Settings
    env: WorkflowEnvironment
    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    _engine: AsyncEngine | None = None

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

    # --- direct database access for inbox tests (tasks without workflows) ------------------

    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._engine is None:
            self._engine = make_engine(self.settings.effective_database_url)
        return make_sessionmaker(self._engine)

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def token_for(self, user_id: int) -> str:
        """A token for the user's current session (one issued before they logged out, or before
        their password or access changed, no longer counts)."""
        async with self.sessions()() as session:
            user = await session.get(User, user_id)
            assert user is not None, user_id
            epoch = user.session_epoch
        return issue_token(
            self.settings.secret_key, user_id, datetime.now(UTC), timedelta(hours=2), epoch
        )

    def headers_for(self, user_id: int) -> dict[str, str]:
        token = issue_token(
            self.settings.secret_key, user_id, datetime.now(UTC), timedelta(hours=2)
        )
        return {"Authorization": f"Bearer {token}"}

    async def make_region(self, extra_officers: int = 0) -> Region:
        """A fresh :class:`Region` (plus ``extra_officers`` officers at street_a1 named
        ``officer_<i>``) and one case row to hang tasks on."""
        n = next(_regions)
        # Four digits of a fictional province (9xxx, then 8xxx, 7xxx: no real province code
        # starts with 7 to 9 but 71, 81, 82), so that codes keep their six-digit shape past 900
        # regions in one session.
        base = f"{9 - n // 900}{100 + n % 900:03d}"
        codes = {
            "province": f"{base}00",
            "city": f"{base}01",
            "county_a": f"{base}11",
            "county_b": f"{base}12",
            "street_a1": f"{base}11001",
            "street_a2": f"{base}11002",
            "street_b1": f"{base}12001",
        }
        parents = {
            "province": "000000",
            "city": "province",
            "county_a": "city",
            "county_b": "city",
            "street_a1": "county_a",
            "street_a2": "county_a",
            "street_b1": "county_b",
        }
        levels = {
            "province": "province",
            "city": "city",
            "county_a": "county",
            "county_b": "county",
        }
        region = Region(n=n, codes=codes, paths={}, case_id=f"TEST-{n:05d}")
        users = dict(REGION_USERS)
        users.update(
            {f"officer_{i}": ("grassroots_officer", "street_a1") for i in range(extra_officers)}
        )
        now = datetime.now(UTC)
        async with self.sessions()() as session, session.begin():
            for name, code in codes.items():
                parent = parents[name]
                j = await repos.add_jurisdiction(
                    session,
                    code,
                    f"测试{name}{n}",
                    levels.get(name, "street"),
                    codes.get(parent, parent),
                )
                region.paths[name] = j.path
            for username, (role, place) in users.items():
                j = await repos.get_jurisdiction(session, codes[place])
                assert j is not None
                user = await repos.add_user(
                    session,
                    username=f"r{n}_{username}",
                    display_name=f"{username}@{n}",
                    password_hash="!",
                    role=role,
                    jurisdiction=j,
                    now=now,
                )
                region.users[username] = user.id
            session.add(
                Case(
                    id=region.case_id,
                    workflow_id=f"no-workflow-{region.case_id}",
                    policy_pack_id="test-pack",
                    policy_pack_ref=await pinned_ref(session),
                    jurisdiction_code=codes["street_a1"],
                    jurisdiction_path=region.paths["street_a1"],
                    applicant_name="测试",
                    id_number="000000000000000000",
                    id_last4="0000",
                    facts={},
                    channel="test",
                    status="accepted",
                    submitted_at=now,
                    updated_at=now,
                )
            )
        region.headers = {u: self.headers_for(uid) for u, uid in region.users.items()}
        return region

    async def insert_tasks(self, region: Region, specs: list[dict[str, Any]]) -> list[str]:
        """Insert open task rows directly (no workflow behind them). Each spec may give
        ``place`` (default street_a1), ``role`` (grassroots_officer), ``kind`` ("inbox_test"),
        ``due_at`` (in 3 days), ``at_risk_at`` (due - 1 day), ``priority``, ``state``,
        ``assignee`` (a region user name), ``name``, ``last4``, ``category``, ``policy``."""
        now = datetime.now(UTC)
        ids: list[str] = []
        async with self.sessions()() as session, session.begin():
            for spec in specs:
                seq = next(_rows)
                place = spec.get("place", "street_a1")
                due = spec.get("due_at", now + timedelta(days=3))
                kind = spec.get("kind", "inbox_test")
                # Zero-padded so that the inbox's last tie-break (the task's id, as text)
                # keeps insertion order past 999 -> 1000, whichever tests ran before.
                task_id = f"test-{region.n}.{kind}.{seq:07d}"
                assignee = spec.get("assignee")
                session.add(
                    Task(
                        id=task_id,
                        case_id=region.case_id,
                        workflow_id=f"no-workflow-{region.case_id}",
                        kind=kind,
                        state=spec.get("state", "open"),
                        candidate_role=spec.get("role", "grassroots_officer"),
                        jurisdiction_code=region.codes[place],
                        jurisdiction_path=region.paths[place],
                        assignee_id=region.users[assignee] if assignee else None,
                        policy_pack_id=spec.get("policy", "test-pack"),
                        category_code=spec.get("category"),
                        applicant_name=spec.get("name", f"申请人{seq}"),
                        id_last4=spec.get("last4", f"{seq % 10000:04d}"),
                        priority=spec.get("priority", 0),
                        created_at=now - timedelta(days=1),
                        at_risk_at=spec.get("at_risk_at", due - timedelta(days=1)),
                        due_at=due,
                        deadline_at=spec.get("deadline_at", due + timedelta(days=5)),
                        payload={},
                        version=1,
                    )
                )
                ids.append(task_id)
        return ids


@asynccontextmanager
async def running_system(settings: Settings, env: WorkflowEnvironment) -> AsyncIterator[System]:
    """The whole system in this process: the API (through the ASGI transport) and a worker."""
    async with system_with_sessions(settings, env) as (system, _):
        yield system


@asynccontextmanager
async def system_with_sessions(
    settings: Settings, env: WorkflowEnvironment, *, worker: bool = True
) -> AsyncIterator[tuple[System, async_sessionmaker[AsyncSession]]]:
    """The system on seeded demo data, with the sessions its worker uses; without ``worker``
    the test runs its own workers on them."""
    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await seed_demo(session)
    app = create_app(settings, temporal_client=env.client)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if worker:
                await stack.enter_async_context(
                    build_worker(env.client, settings, sessions=sessions)
                )
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
            )
            system = System(settings=settings, env=env, http=http)
            yield system, sessions
            await system.dispose()
    finally:
        # The app's engine too: the ASGI transport does not run the app's lifespan, which
        # would. Left to the garbage collector, its SQLite connections were closed by
        # aiosqlite's finaliser on whatever thread collected them — in a workflow
        # activation's, on the workflow's own event loop, which cannot be called from
        # aiosqlite's thread (PytestUnhandledThreadExceptionWarning: NotImplementedError).
        await app.state.engine.dispose()
        await engine.dispose()
