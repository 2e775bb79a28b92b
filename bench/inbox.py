"""Inbox latency at 10 thousand to a million task rows, on SQLite and PostgreSQL.

A throw-away database per backend and size (a SQLite file, or ``bench_<random>`` on the
PostgreSQL server, dropped afterwards), migrated with Alembic, the demo places and users
seeded, plus a Weifang of ten more districts of twenty streets each. The task rows (and a case
per four tasks, for the foreign key) are bulk-loaded with Core inserts, not through workflows:
most completed, a fifth open, due dates around now so that some are breached, a few claimed by
the street's officer.

Every request goes through the real code path: ``create_app`` behind httpx's ASGI transport,
authenticated with a bearer token, so routing, validation, the service, the repository's SQL
and the serialisation of the page are all in the time. Nothing runs ANALYZE on SQLite (the
application never does); PostgreSQL gets the ANALYZE autovacuum would run after such a load.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select, text

from application.security import issue_token
from application.services.tasks import encode_cursor
from bench.stats import latency_ms, median_of_runs
from domain.policy.loader import load_pack
from store import repos
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import Case, Task, User
from store.repos import path_range
from store.settings import Settings, load_settings
from worker.demo import seed_demo
from worker.server import create_app

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
OFFICER, SUPERVISOR = "wf_officer", "wf_supervisor"
OFFICER_PLACE = "370702001"
KINDS = [
    "acceptance",
    "initial_review",
    "publicity_report",
    "review",
    "assistance_plan",
    "assistance_visit",
    "quarterly_verification",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "芳伟娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
CHUNK = 20_000

# (name, user, query parameters, deep: start after the middle of the view)
QUERIES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("officer: scope, first page", OFFICER, {}, False),
    ("officer: group by priority, kind filter", OFFICER, {
        "view": "group", "sort": "priority", "kind": "initial_review"}, False),
    ("officer: scope, deep keyset page", OFFICER, {}, True),
    ("supervisor: scope, first page", SUPERVISOR, {}, False),
    ("supervisor: breached, kind + policy filter", SUPERVISOR, {
        "view": "breached", "kind": "review", "policy": "weifang-2023"}, False),
    ("supervisor: at risk, by priority", SUPERVISOR, {
        "view": "at_risk", "sort": "priority"}, False),
    ("supervisor: ID last four digits", SUPERVISOR, {"q": "0420"}, False),
    ("supervisor: scope, deep keyset page", SUPERVISOR, {}, True),
]  # fmt: skip


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh database's async URL, dropped (PostgreSQL) or deleted (SQLite) afterwards."""
    if backend == "sqlite":
        path = workdir / f"inbox-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reason() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def postgres_version() -> str | None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else None


async def seed_places(settings: Settings) -> dict[str, Any]:
    """Demo places and users, ten more Weifang districts of twenty streets; returns the
    streets' (code, path) by region and the user ids."""
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await seed_demo(session)
            for county in range(3, 13):
                code = f"3707{county:02d}"
                await repos.add_jurisdiction(session, code, f"区县{county}", "county", "370700")
                for street in range(1, 21):
                    await repos.add_jurisdiction(
                        session, f"{code}{street:03d}", f"街道{street}", "street", code
                    )
        async with make_sessionmaker(engine)() as session:
            users = {u.username: u.id for u in (await session.scalars(select(User))).all()}
            rows = (await session.execute(text("SELECT code, path FROM jurisdictions"))).all()
    finally:
        await engine.dispose()
    streets = {
        pack: [(code, path) for code, path in rows if len(code) == 9 and path.startswith(prefix)]
        for pack, prefix in (
            ("weifang-2023", "/000000/370000/370700/"),
            ("jilin-2022", "/000000/220000/"),
        )
    }
    return {"streets": streets, "users": users}


def _rows(
    count: int, places: dict[str, Any], now: datetime, rng: random.Random
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(cases, tasks) chunks: a case per four tasks; 85 % of the rows in Weifang."""
    officer = places["users"][OFFICER]
    refs = {p: load_pack(p).ref for p in places["streets"]}
    for start in range(0, count, CHUNK):
        cases: list[dict[str, Any]] = []
        tasks: list[dict[str, Any]] = []
        for n in range(start, min(count, start + CHUNK)):
            case_no = n // 4
            if n % 4 == 0:
                pack = "weifang-2023" if rng.random() < 0.85 else "jilin-2022"
                code, path = rng.choice(places["streets"][pack])
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
                last4 = f"{rng.randrange(10000):04d}"
                case = {
                    "id": f"BC{case_no:08d}",
                    "workflow_id": f"identification-BC{case_no:08d}",
                    "policy_pack_id": pack,
                    "policy_pack_ref": refs[pack],
                    "jurisdiction_code": code,
                    "jurisdiction_path": path,
                    "applicant_name": name,
                    "id_number": f"370702198001{case_no % 1000000:06d}",
                    "id_last4": last4,
                    "facts": {},
                    "channel": "window",
                    "status": "in_review",
                    "submitted_at": now,
                    "updated_at": now,
                }
                cases.append(case)
            roll = rng.random()
            state = "open" if roll < 0.2 else "completed" if roll < 0.95 else "cancelled"
            role = "grassroots_officer" if rng.random() < 0.7 else "county_reviewer"
            due = now + timedelta(
                days=rng.uniform(-10, 20) if state == "open" else -rng.uniform(0, 700)
            )
            assignee = None
            if (
                state == "open"
                and case["jurisdiction_code"] == OFFICER_PLACE
                and rng.random() < 0.3
            ):
                role, assignee = "grassroots_officer", officer
            kind = rng.choice(KINDS)
            tasks.append(
                {
                    "id": f"{case['workflow_id']}.{kind}.{n % 4 + 1}",
                    "case_id": case["id"],
                    "workflow_id": case["workflow_id"],
                    "kind": kind,
                    "state": state,
                    "candidate_role": role,
                    "jurisdiction_code": case["jurisdiction_code"],
                    "jurisdiction_path": case["jurisdiction_path"],
                    "assignee_id": assignee,
                    "policy_pack_id": case["policy_pack_id"],
                    "category_code": None,
                    "applicant_name": case["applicant_name"],
                    "id_last4": case["id_last4"],
                    "priority": rng.choices([0, 5, 8], [85, 10, 5])[0],
                    "created_at": due - timedelta(days=10),
                    "at_risk_at": due - timedelta(days=2),
                    "due_at": due,
                    "deadline_at": due + timedelta(days=5),
                    "sla_state": "on_track",
                    "payload": {},
                    "version": 1,
                }
            )
        yield cases, tasks


def bulk_load(url: str, count: int, places: dict[str, Any]) -> float:
    """Load ``count`` task rows with Core inserts on a synchronous engine; seconds taken."""
    sync_url = url.replace("+aiosqlite", "")
    engine = create_engine(sync_url)
    rng = random.Random(20261130)
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        for cases, tasks in _rows(count, places, now, rng):
            with engine.begin() as conn:
                if cases:
                    conn.execute(insert(Case), cases)
                conn.execute(insert(Task), tasks)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


async def _deep_cursor(settings: Settings, user_path: str) -> str | None:
    """The cursor after the middle row of the open tasks in the subtree (sort=due)."""
    engine = make_engine(settings.effective_database_url)
    lo, hi = path_range(user_path)
    try:
        async with make_sessionmaker(engine)() as session:
            where = (
                Task.state == "open",
                Task.jurisdiction_path >= lo,
                Task.jurisdiction_path < hi,
            )
            total = await session.scalar(select(func.count()).select_from(Task).where(*where))
            if not total:
                return None
            task = await session.scalar(
                select(Task)
                .where(*where)
                .order_by(Task.due_at, Task.id)
                .offset(total // 2)
                .limit(1)
            )
            return encode_cursor("due", task) if task is not None else None
    finally:
        await engine.dispose()


async def measure(
    settings: Settings, users: dict[str, int], samples: int, runs: int
) -> dict[str, Any]:
    app = create_app(settings)
    now = datetime.now(UTC)
    ttl = timedelta(hours=4)
    headers = {
        u: {"Authorization": f"Bearer {issue_token(settings.secret_key, users[u], now, ttl)}"}
        for u in (OFFICER, SUPERVISOR)
    }
    paths = {
        OFFICER: "/000000/370000/370700/370702/370702001/",
        SUPERVISOR: "/000000/370000/370700/",
    }
    out: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for name, user, params, deep in QUERIES:
                query = dict(params)
                if deep:
                    cursor = await _deep_cursor(settings, paths[user])
                    if cursor is None:
                        continue
                    query["cursor"] = cursor
                results = []
                for _ in range(runs):
                    for _ in range(3):  # warm the caches and the connection pool
                        await http.get("/api/v1/tasks", params=query, headers=headers[user])
                    times = []
                    items = 0
                    for _ in range(samples):
                        t0 = time.perf_counter()
                        r = await http.get("/api/v1/tasks", params=query, headers=headers[user])
                        times.append(time.perf_counter() - t0)
                        if r.status_code != 200:
                            raise RuntimeError(f"{name}: {r.status_code} {r.text}")
                        items = len(r.json()["items"])
                    results.append({**latency_ms(times), "items": items})
                out[name] = median_of_runs(results, ["p50_ms", "p95_ms", "p99_ms", "items"])
    finally:
        await app.state.engine.dispose()
    return out


async def inbox_latency(
    sizes: dict[str, list[int]], samples: int, runs: int, workdir: Path | None = None
) -> dict[str, Any]:
    """``sizes``: rows per backend, e.g. {"sqlite": [10_000, 100_000], "postgresql": [10_000]}."""
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-inbox-", dir=workdir) as tmp:
        for backend, counts in sizes.items():
            if backend == "postgresql" and counts and (reason := postgres_reason()):
                skipped[backend] = reason
                continue
            for count in counts:
                with database(backend, Path(tmp)) as url:
                    settings = load_settings(
                        database_url=url,
                        data_dir=Path(tmp),
                        environment="test",
                        secret_key="bench-secret-key-0123456789",
                    )
                    await asyncio.to_thread(upgrade, settings)
                    places = await seed_places(settings)
                    load_s = await asyncio.to_thread(bulk_load, url, count, places)
                    queries = await measure(settings, places["users"], samples, runs)
                results[f"{backend}/{count}"] = {
                    "backend": backend,
                    "rows": count,
                    "load_seconds": round(load_s, 1),
                    "queries": queries,
                }
    worst = {key: max(q["p95_ms"] for q in r["queries"].values()) for key, r in results.items()}
    largest = {
        backend: max((r["rows"] for r in results.values() if r["backend"] == backend), default=0)
        for backend in sizes
    }
    met = {
        f"{b}/{n} worst p95 <= 20 ms": worst[f"{b}/{n}"] <= 20
        for b, n in largest.items()
        if n and f"{b}/{n}" in worst
    }
    return {
        "sizes": sizes,
        "runs": runs,
        "samples_per_run": samples,
        "figures": {f"{k} worst p95 ms": v for k, v in worst.items()},
        "targets": {"worst p95 ms": "<= 20 at 1,000,000 rows on both"},
        "met": met,
        "skipped": skipped,
        "detail": results,
        "postgres_version": postgres_version()
        if "postgresql" in sizes and not skipped.get("postgresql") and sizes["postgresql"]
        else None,
        "what": "GET /api/v1/tasks through create_app (httpx ASGI transport) as the street "
        "officer (城关街道) and the city supervisor (潍坊市); 20 % of rows open; the deep "
        "page starts after the middle row of the open tasks in the caller's subtree",
    }
