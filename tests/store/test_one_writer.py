"""store.db.one_writer: on SQLite the writers of one process take turns (queued in the
process instead of polling SQLite's write lock); on PostgreSQL nobody waits."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import WriteOutsideTurn, make_engine, make_sessionmaker, one_writer, write_turn
from store.settings import Settings


async def test_writers_of_one_process_take_turns_on_sqlite_only(
    migrated_settings: Settings,
) -> None:
    engine = make_engine(migrated_settings.effective_database_url)
    order: list[str] = []

    async def second() -> None:
        # by the session, as a service enters it
        async with make_sessionmaker(engine)() as session, one_writer(session):
            order.append("second in")

    try:
        async with one_writer(engine):
            order.append("first in")
            other = asyncio.create_task(second())
            for _ in range(50):  # the loop's turns (no clock): the second runs up to the lock
                await asyncio.sleep(0)
            order.append("first out")
        await other
    finally:
        await engine.dispose()
    if engine.dialect.name == "sqlite":
        assert order == ["first in", "first out", "second in"]
    else:
        assert order == ["first in", "second in", "first out"]


async def _queued(engine: object, order: list[str], name: str, urgent: bool) -> None:
    async with one_writer(engine, urgent=urgent):  # type: ignore[arg-type]
        order.append(name)


def _sqlite_engine(settings: Settings) -> AsyncEngine:
    """The settings' engine; on PostgreSQL the test is skipped (nobody waits there: the test
    above)."""
    if not settings.effective_database_url.startswith("sqlite"):
        pytest.skip("turns are taken on SQLite only")
    return make_engine(settings.effective_database_url)


async def _turns(n: int = 50) -> None:
    for _ in range(n):  # the loop's turns (no clock): every waiter runs up to the queue
        await asyncio.sleep(0)


async def test_an_officers_write_goes_before_the_queued_others(migrated_settings: Settings) -> None:
    """A decision's closing (an officer waits for it) is served before writes queued earlier
    by steps nobody waits for; among each kind, the order they came in (#22)."""
    engine = _sqlite_engine(migrated_settings)
    order: list[str] = []
    try:
        async with one_writer(engine):
            waiting = [
                asyncio.create_task(_queued(engine, order, name, urgent))
                for name, urgent in [("step 1", False), ("step 2", False), ("decision", True)]
            ]
            await _turns()
            assert order == []
        await asyncio.gather(*waiting)
    finally:
        await engine.dispose()
    assert order == ["decision", "step 1", "step 2"]


async def test_a_cancelled_waiter_does_not_keep_the_turn(migrated_settings: Settings) -> None:
    """A writer cancelled while it waits (its activity timed out, say) leaves the queue, and
    one cancelled as the turn reaches it passes the turn on: nobody waits for it."""
    engine = _sqlite_engine(migrated_settings)
    order: list[str] = []
    try:
        async with one_writer(engine):
            gone = asyncio.create_task(_queued(engine, order, "cancelled", False))
            late = asyncio.create_task(_queued(engine, order, "next", False))
            await _turns()
            gone.cancel()
        await asyncio.wait_for(late, 5)
        # handed the turn and cancelled before it ran: the turn moves on
        async with one_writer(engine):
            handed = asyncio.create_task(_queued(engine, order, "handed", False))
            after = asyncio.create_task(_queued(engine, order, "after", False))
            await _turns()
        handed.cancel()
        await asyncio.wait_for(after, 5)
    finally:
        await engine.dispose()
    assert "cancelled" not in order and order[0] == "next" and order[-1] == "after"


async def test_a_session_holding_a_write_is_refused_its_turn(migrated_settings: Settings) -> None:
    """The rule the turn depends on, checked where it is broken: a session that has written
    outside its turn would wait on itself under load ("database is locked" after the busy
    timeout); it is refused at once. A session that has only read takes its turn."""
    engine = _sqlite_engine(migrated_settings)
    try:
        async with make_sessionmaker(engine)() as session:
            await session.execute(text("SELECT count(*) FROM users"))
            async with write_turn(session):  # read only so far: fine
                await session.execute(text("UPDATE users SET id = id WHERE id = -1"))
            await session.execute(text("UPDATE users SET id = id WHERE id = -1"))
            with pytest.raises(WriteOutsideTurn, match="holding uncommitted writes"):
                async with write_turn(session):
                    pass
            await session.rollback()
            async with write_turn(session):  # the write let go: its turn again
                pass
    finally:
        await engine.dispose()
