"""store.sqlite_driver: each SQLite statement is one call on aiosqlite's thread, and SQLAlchemy
reads from it what it read before — rows, RETURNING, rowcounts, inserted ids, executemany,
sqlite3's errors, rollbacks (#22)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Integer, String, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.db import make_engine, make_sessionmaker
from store.sqlite_driver import OneHopCursor, OneHopDbapi


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_the_projects_sqlite_engines_use_it(engine: AsyncEngine) -> None:
    assert isinstance(engine.dialect.dbapi, OneHopDbapi)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, aiosqlite.Connection)
        assert raw.dbapi_connection is not None
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)


def _count_thread_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the name of each function aiosqlite runs on a connection's thread."""
    calls: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object) -> object:
        calls.append(getattr(fn, "__name__", "?"))
        return await real(self, fn, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_one_call_on_the_thread_per_statement(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection made and begun
        calls = _count_thread_calls(monkeypatch)
        assert (await conn.execute(select(func.count()).select_from(_Row))).scalar_one() == 0
        # SQLAlchemy's own adapter: cursor, execute, fetchall, close (four).
        assert len(calls) == 1


async def test_a_session_that_reads_makes_one_call_and_one_that_writes_two(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        await session.execute(text("SELECT 1"))  # the pool's connection made
    calls = _count_thread_calls(monkeypatch)
    async with sessions() as session:
        await session.scalar(select(func.count()).select_from(_Row))
    # Without the idle check: two rollbacks more (the session's close, the pool's reset).
    assert calls == ["_run"]
    calls.clear()
    async with sessions() as session:
        session.add(_Row(name="a"))
        await session.commit()
    assert calls == ["_run", "commit"]
    async with sessions() as session:
        assert await session.scalar(select(_Row.name)) == "a"  # committed


async def test_rows_returning_rowcounts_and_ids_read_as_before(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        first = _Row(name="a")
        session.add(first)
        await session.flush()
        assert first.id == 1  # the inserted id (lastrowid)
        # executemany
        await session.execute(insert(_Row), [{"name": "b", "n": 2}, {"name": "c", "n": 3}])
        changed = await session.execute(update(_Row).where(_Row.n > 1).values(n=_Row.n + 10))
        assert changed.rowcount == 2  # type: ignore[attr-defined]
        returned = await session.execute(
            update(_Row).where(_Row.name == "c").values(n=0).returning(_Row.name, _Row.n)
        )
        assert returned.all() == [("c", 0)]
        await session.commit()
    async with sessions() as session:
        rows = (await session.execute(select(_Row.name, _Row.n).order_by(_Row.name))).all()
        assert rows == [("a", 0), ("b", 12), ("c", 0)]
        # streamed (a server-side cursor: SQLAlchemy's own, unchanged)
        streamed = await session.stream(select(_Row.name).order_by(_Row.name))
        assert [r async for r in streamed.scalars()] == ["a", "b", "c"]


async def test_sqlite_errors_and_rollbacks_as_before(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        session.add(_Row(name="a"))
        await session.commit()
    async with sessions() as session:
        await session.execute(update(_Row).values(n=5))
        with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: rows\.name"):
            await session.execute(insert(_Row).values(name="a"))
        await session.rollback()
        assert (await session.execute(select(_Row.n))).scalar_one() == 0  # rolled back
