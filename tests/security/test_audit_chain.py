"""The tamper-evident audit log (store/audit.py, ``yuanzhu audit verify``):

- a chain written by real API actions verifies, through the command, on both databases;
- entries of a transaction or savepoint that rolls back leave no gap;
- changing an entry's detail, deleting an entry or reordering two is found, and the command
  exits 1 naming the first broken entry (tampering goes around the append-only triggers, as an
  attacker holding the database would);
- many writers at once on PostgreSQL (separate engines, as separate API processes are) keep
  one linear chain with every entry in it;
- the triggers refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from store.audit import GENESIS_HASH, chain_hash, record_audit, verify_chain
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import AuditEntry
from tests.conftest import fresh_postgres_database, make_settings
from tests.system import System
from worker.cli_audit import register


def run_cli(url: str, *args: str) -> Result:
    group = click.Group("yuanzhu")
    register(group)
    env = {"YUANZHU_DATABASE_URL": url, "YUANZHU_ENVIRONMENT": "development"}
    # In a worker thread: the command calls asyncio.run.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(CliRunner().invoke, group, ["audit", *args], env=env).result()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database of its own (tampering must not touch the shared one)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
        upgrade(make_settings(url, tmp_path))
        yield url
        return
    with fresh_postgres_database("yuanzhu_audit") as url:
        upgrade(make_settings(url, tmp_path))
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


def note(session: AsyncSession, object_id: str, detail: dict[str, Any] | None = None) -> None:
    record_audit(
        session,
        actor_id=7,
        action="test_action",
        object_type="case",
        object_id=object_id,
        detail=detail,
        now=datetime.now(UTC),
    )


async def append(engine: AsyncEngine, *names: str) -> None:
    """One committed transaction with an entry per name."""
    async with make_sessionmaker(engine)() as session:
        for name in names:
            note(session, name, {"name": name, "full_ids": True, "n": [1, 2.5, "三"]})
        await session.commit()


async def chain(engine: AsyncEngine) -> list[AuditEntry]:
    async with make_sessionmaker(engine)() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


async def tamper(engine: AsyncEngine, *statements: str) -> None:
    """Run statements around the append-only triggers."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            await conn.execute(text("DROP TRIGGER audit_log_no_update"))
            await conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        for statement in statements:
            await conn.execute(text(statement))
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


# --- a chain built by the application ----------------------------------------------------------


async def test_chain_of_api_actions_verifies(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    r = await system.http.post(
        "/api/v1/admin/users",
        headers=admin,
        json={
            "username": f"r{region.n}_chained",
            "display_name": "链上的人",
            "role": "grassroots_officer",
            "jurisdiction_code": region.codes["street_a1"],
            "password": "Secret-Pass-0001",
        },
    )
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = await system.http.patch(
        f"/api/v1/admin/users/{user_id}", headers=admin, json={"display_name": "改了名"}
    )
    assert r.status_code == 200, r.text
    r = await system.http.get(f"/api/v1/cases/{region.case_id}", headers=admin)  # a full view
    assert r.status_code == 200, r.text

    async with system.sessions()() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.actor_id == region.users["admin"])
                .order_by(AuditEntry.seq)
            )
        )
        report = await verify_chain(session)
    assert [e.action for e in entries][-3:] == ["create_user", "update_user", "view_case_full"]
    assert [e.object_id for e in entries][-3:] == [str(user_id), str(user_id), region.case_id]
    assert report.intact, report.broken
    assert report.entries >= 3

    result = run_cli(system.settings.effective_database_url, "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"audit log intact: {report.entries} entries")


async def test_entries_are_chained_in_order(engine: AsyncEngine) -> None:
    await append(engine, "a")
    await append(engine, "b", "c")
    entries = await chain(engine)
    assert [(e.seq, e.object_id) for e in entries] == [(1, "a"), (2, "b"), (3, "c")]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, entry in itertools.pairwise(entries):
        assert entry.prev_hash == before.entry_hash
    # The hash covers the fields as read back from the database.
    first = entries[0]
    assert first.entry_hash == chain_hash(
        seq=1,
        at=first.at,
        actor_id=7,
        action="test_action",
        object_type="case",
        object_id="a",
        detail={"n": [1, 2.5, "三"], "full_ids": True, "name": "a"},
        prev_hash=GENESIS_HASH,
    )


async def test_rolled_back_entries_leave_no_gap(engine: AsyncEngine) -> None:
    await append(engine, "kept-1")
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        note(session, "rolled-back")
        await session.rollback()
        # The same session goes on: the rolled-back entry must not come back with this commit.
        note(session, "kept-2")
        async with session.begin_nested():
            note(session, "in-savepoint-kept")
        nested = await session.begin_nested()
        note(session, "in-savepoint-rolled-back")
        await nested.rollback()
        await session.commit()
    await append(engine, "kept-3")
    entries = await chain(engine)
    assert [(e.seq, e.object_id) for e in entries] == [
        (1, "kept-1"),
        (2, "kept-2"),
        (3, "in-savepoint-kept"),
        (4, "kept-3"),
    ]
    async with sessions() as session:
        report = await verify_chain(session)
    assert report.intact and report.entries == 4


# --- tampering is found -------------------------------------------------------------------------


async def five(engine: AsyncEngine) -> list[AuditEntry]:
    for name in ("e1", "e2", "e3", "e4", "e5"):
        await append(engine, name)
    entries = await chain(engine)
    async with make_sessionmaker(engine)() as session:
        assert (await verify_chain(session)).intact
    return entries


async def test_changed_detail_is_found(engine: AsyncEngine, db_url: str) -> None:
    entries = await five(engine)
    target = entries[2]
    await tamper(
        engine,
        f"UPDATE audit_log SET detail = '{json.dumps({'name': 'e3', 'full_ids': False})}' "
        f"WHERE id = {target.id}",
    )
    result = run_cli(db_url, "verify")
    assert result.exit_code == 1, result.output
    assert f"entry id={target.id} (seq 3)" in result.output
    assert "a field was changed" in result.output
    assert "2 entries before it are intact" in result.output


async def test_changed_actor_is_found_by_json(engine: AsyncEngine, db_url: str) -> None:
    entries = await five(engine)
    await tamper(engine, f"UPDATE audit_log SET actor_id = 99 WHERE id = {entries[4].id}")
    result = run_cli(db_url, "verify", "--json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert out["intact"] is False and out["entries"] == 4
    assert out["broken"]["id"] == entries[4].id and out["broken"]["seq"] == 5


async def test_deleted_entry_is_found(engine: AsyncEngine, db_url: str) -> None:
    entries = await five(engine)
    await tamper(engine, f"DELETE FROM audit_log WHERE id = {entries[1].id}")
    result = run_cli(db_url, "verify")
    assert result.exit_code == 1, result.output
    assert f"entry id={entries[2].id} (seq 3)" in result.output
    assert "seq 2..2 are missing" in result.output


async def test_deleted_and_renumbered_is_found(engine: AsyncEngine, db_url: str) -> None:
    entries = await five(engine)
    # Close the gap as well: the renumbered entries no longer give their hashes.
    await tamper(
        engine,
        f"DELETE FROM audit_log WHERE id = {entries[1].id}",
        "UPDATE audit_log SET seq = seq - 1 WHERE seq > 2",
    )
    result = run_cli(db_url, "verify")
    assert result.exit_code == 1, result.output
    assert f"entry id={entries[2].id} (seq 2)" in result.output


async def test_reordered_entries_are_found(engine: AsyncEngine, db_url: str) -> None:
    entries = await five(engine)
    a, b = entries[1], entries[2]
    await tamper(
        engine,
        f"UPDATE audit_log SET seq = -1 WHERE id = {a.id}",
        f"UPDATE audit_log SET seq = 2 WHERE id = {b.id}",
        f"UPDATE audit_log SET seq = 3 WHERE id = {a.id}",
    )
    result = run_cli(db_url, "verify")
    assert result.exit_code == 1, result.output
    assert f"entry id={b.id} (seq 2)" in result.output


async def test_empty_and_intact_logs(engine: AsyncEngine, db_url: str) -> None:
    result = run_cli(db_url, "verify")
    assert result.exit_code == 0 and result.output.startswith("audit log intact: 0 entries")
    await five(engine)
    result = run_cli(db_url, "verify")
    assert result.exit_code == 0 and result.output.startswith("audit log intact: 5 entries")


# --- append-only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
async def test_triggers_refuse_changes(engine: AsyncEngine, statement: str) -> None:
    await append(engine, "a", "b")
    if statement.startswith("TRUNCATE") and engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no TRUNCATE")
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    assert [e.action for e in await chain(engine)] == ["test_action", "test_action"]


# --- many writers at once ---------------------------------------------------------------------


async def test_concurrent_writers_keep_one_chain(db_url: str) -> None:
    """Four engines (as four API processes, each with its own connections) × eight tasks each,
    every task committing several transactions of one to three entries, a rolled-back one
    among them: every committed entry is in the chain, seq 1..N, and it verifies."""
    engines = [make_engine(db_url) for _ in range(4)]
    try:

        async def writer(engine: AsyncEngine, n: int) -> int:
            written = 0
            async with make_sessionmaker(engine)() as session:
                for round_ in range(5):
                    for i in range(1 + (n + round_) % 3):
                        record_audit(
                            session,
                            actor_id=n,
                            action="concurrent",
                            object_type="case",
                            object_id=f"w{n}-r{round_}-{i}",
                            detail={"round": round_},
                            now=datetime.now(UTC),
                        )
                    if round_ == 2:
                        await session.rollback()
                        continue
                    # Something else in the transaction, so that writers interleave.
                    await session.execute(text("SELECT 1"))
                    await session.commit()
                    written += 1 + (n + round_) % 3
            return written

        totals = await asyncio.gather(
            *(writer(engines[n % 4], n) for n in range(32)),
        )
        async with make_sessionmaker(engines[0])() as session:
            count = await session.scalar(select(func.count()).select_from(AuditEntry))
            seqs = list(await session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
            report = await verify_chain(session)
        assert count == sum(totals)
        assert seqs == list(range(1, count + 1))
        assert report.intact, report.broken
        assert report.entries == count
        # Writers really overlapped: entries of different writers alternate in the chain.
        async with make_sessionmaker(engines[0])() as session:
            actors = list(
                await session.scalars(select(AuditEntry.actor_id).order_by(AuditEntry.seq))
            )
        switches = sum(1 for x, y in itertools.pairwise(actors) if x != y)
        assert switches > 32
    finally:
        for engine in engines:
            await engine.dispose()
