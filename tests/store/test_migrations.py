"""Alembic up and down on SQLite and PostgreSQL: the migration creates exactly the schema the
models describe (autogenerate finds nothing to add), downgrade to base leaves nothing behind,
upgrade again works, and every process refuses a database at another revision (empty, older
or newer than the code) with the command to run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from store.db import make_engine
from store.migrate import current_revision, downgrade, head_revision, upgrade
from store.schema import metadata
from store.settings import Settings
from tests.conftest import fresh_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    with fresh_postgres_database("migrations") as url:
        yield url


def _inspect(url: str) -> tuple[list[str], list[tuple[object, ...]]]:
    """The tables in the database and what autogenerate would still change."""

    async def run() -> tuple[list[str], list[tuple[object, ...]]]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:

                def look(sync: Connection) -> tuple[list[str], list[tuple[object, ...]]]:
                    tables = sorted(inspect(sync).get_table_names())
                    diff = compare_metadata(MigrationContext.configure(sync), metadata)
                    return tables, list(diff)

                return await conn.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_up_down_up_matches_the_models(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    upgrade(settings)
    tables, diff = _inspect(database_url)
    assert diff == [], diff  # the migration is the models: nothing missing, nothing extra
    assert set(metadata.tables) <= set(tables)
    assert asyncio.run(current_revision(settings)) == head_revision()

    downgrade(settings, "base")
    tables, _ = _inspect(database_url)
    assert [t for t in tables if t != "alembic_version"] == []
    assert asyncio.run(current_revision(settings)) is None

    upgrade(settings)
    tables, diff = _inspect(database_url)
    assert diff == [] and set(metadata.tables) <= set(tables)


def _start(command: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUANZHU_")}
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", command],
        env={**env, "YUANZHU_DATABASE_URL": url, "YUANZHU_TEMPORAL_ADDRESS": "127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _stamp(url: str, revision: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
                )
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_processes_refuse_another_revision(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    upgrade(settings)
    downgrade(settings, "base")  # migrated once, then rolled back: empty
    for command in ("worker", "api"):
        result = _start(command, database_url)
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"error: the database is at revision (empty) but this code needs {head_revision()}; "
            "run 'yuanzhu db upgrade'"
        ]
    upgrade(settings)
    # A database migrated by newer code (a rollback of the code without its database).
    _stamp(database_url, "9999")
    result = _start("worker", database_url)
    assert result.returncode == 1
    assert f"is at revision 9999 but this code needs {head_revision()}" in result.stderr
    assert "Traceback" not in result.stderr


def _run_sql(url: str, statements: list[tuple[str, dict[str, object]]]) -> list[tuple[object, ...]]:
    """Run statements in one transaction; the rows of the last one."""

    async def run() -> list[tuple[object, ...]]:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                rows: list[tuple[object, ...]] = []
                for sql, params in statements:
                    result = await conn.execute(text(sql), params)
                    rows = [tuple(r) for r in result] if result.returns_rows else []
                return rows
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_the_two_idempotency_tables_become_one(database_url: str) -> None:
    """0002 moves the task completions' records and the assistance's key claims into
    idempotency_records: a completion's task and user become the fingerprint the service
    computes, its stored answer stays; an assistance claim keeps its fingerprint, scoped to its
    case. Downgrade gives the assistance claims back."""
    from application.gateway import fingerprint

    settings = Settings(database_url=database_url)
    upgrade(settings, "0001")
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)
    # as UTCDateTime binds it: SQLite keeps UTC without an offset
    now = {"now": at.replace(tzinfo=None) if database_url.startswith("sqlite") else at}
    _run_sql(
        database_url,
        [
            (
                "INSERT INTO jurisdictions (code, name, level, path) "
                "VALUES ('220000', '吉林省', 'province', '220000.')",
                {},
            ),
            (
                "INSERT INTO users (id, username, display_name, password_hash, role, "
                "jurisdiction_code, jurisdiction_path, active, created_at) VALUES (7, 'u', 'u', "
                "'x', 'officer', '220000', '220000.', true, :now)",
                now,
            ),
            (
                "INSERT INTO cases (id, workflow_id, policy_pack_id, policy_pack_ref, "
                "jurisdiction_code, jurisdiction_path, applicant_name, id_number, id_last4, "
                "facts, channel, status, submitted_at, deadline_provisional, updated_at) VALUES "
                "('YZ1', 'wf-YZ1', 'p', 'p@1', '220000', '220000.', 'a', '220102199001011234', "
                "'1234', '{}', 'counter', 'identified', :now, false, :now)",
                now,
            ),
            (
                "INSERT INTO task_completions (idempotency_key, task_id, user_id, status_code, "
                "body, created_at) VALUES ('k1', 'task-1', 7, 200, '{\"outcome\": \"approve\"}', "
                ":now)",
                now,
            ),
            (
                "INSERT INTO assistance_requests (case_id, key, fingerprint, created_at) "
                "VALUES ('YZ1', 'k2', :print, :now)",
                {**now, "print": "f" * 64},
            ),
        ],
    )
    upgrade(settings)
    rows = _run_sql(
        database_url,
        [
            (
                "SELECT scope, key, fingerprint, status_code, body FROM idempotency_records "
                "ORDER BY key",
                {},
            )
        ],
    )
    body = rows[0][4] if isinstance(rows[0][4], dict) else json.loads(str(rows[0][4]))
    task_print = fingerprint("complete_task", {"task_id": "task-1", "user_id": 7})
    assert rows[0][:4] == ("task-completion", "k1", task_print, 200)
    assert body == {"outcome": "approve"}
    assert rows[1][:4] == ("assistance:YZ1", "k2", "f" * 64, None)

    downgrade(settings, "0001")
    claims = _run_sql(
        database_url, [("SELECT case_id, key, fingerprint FROM assistance_requests", {})]
    )
    assert claims == [("YZ1", "k2", "f" * 64)]
