"""A storage for the ``limits`` library in the app database (table ``rate_limit_hits``), so that
its moving window counts one number across every API process without Redis or Memcached.

One row per hit. Acquiring an entry is one transaction that first serializes on the key — on
PostgreSQL a transaction-scoped advisory lock, on SQLite the database's one write lock, taken
by the insert that comes first — then counts the window and keeps the insert only when the
count is within the limit: two processes racing for the last place cannot both get it.

Several limits hit together (an application's per-address and per-ID-number windows) take their
places in one such transaction (:meth:`DatabaseStorage.acquire_entries`): on SQLite every
transaction that writes waits for the one write lock, so one per request rather than one per
window keeps the queue for it short under a burst.

Expired rows of the key are deleted as it is hit; those of keys never hit again are swept now
and then (:data:`SWEEP_EVERY`), in a transaction of their own."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from limits.aio.storage import MovingWindowSupport, Storage
from sqlalchemy import Select, and_, bindparam, case, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.db import one_writer
from store.models import RateLimitHit

log = logging.getLogger(__name__)

# One hit in this many also sweeps every key's expired rows.
SWEEP_EVERY = 50


async def _serialize(conn: AsyncConnection, key: str) -> None:
    """Hold the key until the transaction ends. PostgreSQL: an advisory lock on the key's
    hash (READ COMMITTED would let two transactions each count without the other's insert).
    SQLite needs none: the insert that follows takes the database's write lock."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
        )


class Entry(NamedTuple):
    """One place asked of a moving window: its key, limit and expiry (seconds)."""

    key: str
    limit: int
    expiry: int


def _rows(key: str, now: float, expiry: float, amount: int) -> list[dict[str, object]]:
    return [{"key": key, "at": now, "expires_at": now + expiry}] * amount


@lru_cache(maxsize=8)
def _counts_statement(windows: int) -> Select[Any]:
    """The count of ``windows`` windows in one statement, each window's key and start bound at
    execution (``k<i>``, ``since<i>``, ``keys``). Built once per number of windows: built anew
    for every request, its SQL expression and the cache key SQLAlchemy computes for it took
    ~230 µs of the API's CPU per application (#22); a statement kept keeps its key."""
    columns = [
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            RateLimitHit.key == bindparam(f"k{i}"),
                            RateLimitHit.at > bindparam(f"since{i}"),
                        ),
                        1,
                    )
                )
            ),
            0,
        )
        for i in range(windows)
    ]
    return select(*columns).where(RateLimitHit.key.in_(bindparam("keys", expanding=True)))


# A key's expired rows, bound at execution (``keys``, ``now``): kept for the same reason.
_DELETE_EXPIRED = delete(RateLimitHit).where(
    RateLimitHit.key.in_(bindparam("keys", expanding=True)),
    RateLimitHit.expires_at <= bindparam("now"),
)


async def _window_counts(
    conn: AsyncConnection, windows: Sequence[tuple[str, int]], now: float
) -> list[int]:
    """The entries in each (key, expiry) window at ``now``, in one statement."""
    params: dict[str, Any] = {"keys": [key for key, _ in windows]}
    for i, (key, expiry) in enumerate(windows):
        params[f"k{i}"], params[f"since{i}"] = key, now - expiry
    row = (await conn.execute(_counts_statement(len(windows)), params)).one()
    return [int(n) for n in row]


class DatabaseStorage(Storage, MovingWindowSupport):
    """``limits``' async storage over SQLAlchemy, for the moving window strategy (the fixed
    window's counters are the same rows, counted)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(None)
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    async def _count(self, conn: AsyncConnection, key: str, since: float) -> int:
        count = await conn.scalar(
            select(func.count()).where(RateLimitHit.key == key, RateLimitHit.at > since)
        )
        return int(count or 0)

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        async with self.engine.connect() as conn:
            async with conn.begin() as transaction:
                await _serialize(conn, key)
                await conn.execute(insert(RateLimitHit), _rows(key, now, expiry, amount))
                await conn.execute(
                    delete(RateLimitHit).where(
                        RateLimitHit.key == key, RateLimitHit.expires_at <= now
                    )
                )
                if await self._count(conn, key, now - expiry) > limit:
                    # Over: this hit never happened (a refused request does not count).
                    await transaction.rollback()
                    return False
            if random.randrange(SWEEP_EVERY) == 0:
                await self._sweep(conn, now)
        return True

    async def acquire_entries(self, entries: Sequence[Entry]) -> int | None:
        """Take one place in each window, in order, as :meth:`acquire_entry` would one after
        the other, in one transaction: the index of the first window that is full (the places
        before it stay taken, the ones from it on are not), or None when every place is taken."""
        now = time.time()
        keys = sorted({e.key for e in entries})
        # The connection before the turn: a writer whose turn it is never waits for the pool.
        async with self.engine.connect() as conn, one_writer(self.engine):
            async with conn.begin() as transaction:
                for key in keys:  # in one order: two requests locking the same keys never deadlock
                    await _serialize(conn, key)
                # First a write: on SQLite it takes the write lock before anything is counted.
                await conn.execute(_DELETE_EXPIRED, {"keys": keys, "now": now})
                counts = await _window_counts(conn, [(e.key, e.expiry) for e in entries], now)
                taken: list[Entry] = []
                refused: int | None = None
                for i, (entry, count) in enumerate(zip(entries, counts, strict=True)):
                    # earlier places of this call in the same window count too
                    count += sum(1 for t in taken if t.key == entry.key)
                    if entry.limit < 1 or count + 1 > entry.limit:
                        refused = i
                        break
                    taken.append(entry)
                if not taken:
                    await transaction.rollback()
                    return refused
                await conn.execute(
                    insert(RateLimitHit),
                    [{"key": e.key, "at": now, "expires_at": now + e.expiry} for e in taken],
                )
            if any(random.randrange(SWEEP_EVERY) == 0 for _ in taken):
                await self._sweep(conn, now)
        return refused

    async def _sweep(self, conn: AsyncConnection, now: float) -> None:
        try:
            async with conn.begin():
                await conn.execute(delete(RateLimitHit).where(RateLimitHit.expires_at <= now))
        except SQLAlchemyError:
            # Two sweeps may deadlock on PostgreSQL; the loser's rows are the winner's.
            log.warning("rate limit sweep failed; the next one will do it", exc_info=True)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        async with self.engine.connect() as conn:
            count, oldest = (
                await conn.execute(
                    select(func.count(), func.min(RateLimitHit.at)).where(
                        RateLimitHit.key == key, RateLimitHit.at > now - expiry
                    )
                )
            ).one()
        return (float(oldest) if oldest is not None else now), int(count)

    async def moving_window_counts(self, windows: Sequence[tuple[str, int]]) -> list[int]:
        """The entries in each (key, expiry) window, read at one instant (one statement), so
        that one count can be weighed against another (not in the library's interface)."""
        async with self.engine.connect() as conn:
            return await _window_counts(conn, windows, time.time())

    async def release_entry(self, key: str) -> None:
        """Give back the key's newest entry: a place reserved and not used (not in the
        library's interface; the login throttle's reservation needs it)."""
        async with self.engine.begin() as conn:
            await _serialize(conn, key)
            newest = (
                select(RateLimitHit.id)
                .where(RateLimitHit.key == key)
                .order_by(RateLimitHit.at.desc(), RateLimitHit.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            await conn.execute(delete(RateLimitHit).where(RateLimitHit.id == newest))

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        async with self.engine.begin() as conn:
            await _serialize(conn, key)
            await conn.execute(insert(RateLimitHit), _rows(key, now, expiry, amount))
            count = await conn.scalar(
                select(func.count()).where(RateLimitHit.key == key, RateLimitHit.expires_at > now)
            )
        return int(count or 0)

    async def get(self, key: str) -> int:
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).where(
                    RateLimitHit.key == key, RateLimitHit.expires_at > time.time()
                )
            )
        return int(count or 0)

    async def get_expiry(self, key: str) -> float:
        now = time.time()
        async with self.engine.connect() as conn:
            expiry = await conn.scalar(
                select(func.min(RateLimitHit.expires_at)).where(
                    RateLimitHit.key == key, RateLimitHit.expires_at > now
                )
            )
        return float(expiry) if expiry is not None else now

    async def check(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
        return True

    async def reset(self) -> int | None:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(RateLimitHit))
        return int(result.rowcount)

    async def clear(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await _serialize(conn, key)
            await conn.execute(delete(RateLimitHit).where(RateLimitHit.key == key))
