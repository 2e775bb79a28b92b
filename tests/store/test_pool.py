"""store.db's connection pools: the connections a process needs side by side are kept between
uses, not opened and closed again for each (#22), and PostgreSQL's peak per process stays what
docs/capacity.md sizes the server by."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import event, text

from store.db import make_engine

SIDE_BY_SIDE = 12  # officers and activities at once, more than SQLAlchemy's default of 5


async def test_sqlite_connections_used_side_by_side_are_kept(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda conn, _record: opened.append(conn))
    all_in = asyncio.Barrier(SIDE_BY_SIDE)

    async def use() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await all_in.wait()  # every connection checked out at once

    try:
        for _ in range(3):
            await asyncio.gather(*(use() for _ in range(SIDE_BY_SIDE)))
        # Opened once, in the first round; the later rounds found them in the pool.
        assert len(opened) == SIDE_BY_SIDE
    finally:
        await engine.dispose()


async def test_postgresql_keeps_ten_and_opens_at_most_fifteen() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    try:
        assert engine.pool.size() == 10  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 5  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
