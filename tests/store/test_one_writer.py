"""store.db.one_writer: on SQLite the writers of one process take turns (queued in the
process instead of polling SQLite's write lock); on PostgreSQL nobody waits."""

from __future__ import annotations

import asyncio

from store.db import make_engine, make_sessionmaker, one_writer
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
