"""A storage for the ``limits`` library in the app database (table ``rate_limit_hits``), so that
its moving window counts one number across every API process without Redis or Memcached.

One row per hit. Acquiring an entry is one transaction that first serializes on the key — on
PostgreSQL a transaction-scoped advisory lock, on SQLite the database's one write lock, taken
by the insert that comes first — then counts the window and keeps the insert only when the
count is within the limit: two processes racing for the last place cannot both get it.

Several limits hit together (an application's per-address and per-ID-number windows) take their
places in one statement (:func:`take_places`), in a transaction of their own
(:meth:`DatabaseStorage.acquire_entries`) or in the caller's: an anonymous application's are
taken in the transaction that stores its case (application/rate_limits.py). On SQLite every
transaction that writes waits for the one write lock, so one per request rather than one per
window, or one per limit and one for the case, keeps the queue for it short under a burst.

Expired rows are swept now and then (:data:`SWEEP_EVERY`), in a transaction of their own; a
count looks only inside its window, so they are never counted meanwhile."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from limits.aio.storage import MovingWindowSupport, Storage
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import ReturningInsert

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


async def _window_counts(
    conn: AsyncConnection, windows: Sequence[tuple[str, int]], now: float
) -> list[int]:
    """The entries in each (key, expiry) window at ``now``, in one statement."""
    params: dict[str, Any] = {"keys": [key for key, _ in windows]}
    for i, (key, expiry) in enumerate(windows):
        params[f"k{i}"], params[f"since{i}"] = key, now - expiry
    row = (await conn.execute(_counts_statement(len(windows)), params)).one()
    return [int(n) for n in row]


@lru_cache(maxsize=8)
def _take_statement(windows: int) -> ReturningInsert[tuple[int]]:
    """One place in each of ``windows`` windows, in order, as one statement: the i-th row is
    inserted when its window and every window before it has room (``k<i>``, ``since<i>``,
    ``room<i>``, ``exp<i>`` and ``at`` bound at execution), so the places before the first
    full window are taken and none from it on. One statement, not a deletion, a count and an
    insert: in the transaction that stores an application's case its writes are made inside
    the process's turn to write, which every other writer waits for, and each statement is
    a hop to the database's thread and back through a busy event loop (#22). Built once per
    number of windows, like :func:`_counts_statement`."""

    def has_room(i: int) -> ColumnElement[bool]:
        taken = (
            select(func.count())
            .where(RateLimitHit.key == bindparam(f"k{i}"), RateLimitHit.at > bindparam(f"since{i}"))
            .scalar_subquery()
        )
        return taken < bindparam(f"room{i}")

    rows = [
        select(
            bindparam(f"k{i}", type_=String).label("key"),
            bindparam("at", type_=Float).label("at"),
            bindparam(f"exp{i}", type_=Float).label("expires_at"),
        ).where(and_(*(has_room(j) for j in range(i + 1))))
        for i in range(windows)
    ]
    chosen = rows[0] if windows == 1 else union_all(*rows)
    # The rows inserted are counted off RETURNING: psycopg reports no rowcount (-1) for an
    # INSERT ... SELECT through this stack.
    return (
        insert(RateLimitHit)
        .from_select(["key", "at", "expires_at"], chosen)
        .returning(RateLimitHit.id)
    )


async def take_places(
    conn: AsyncConnection, entries: Sequence[Entry], now: float
) -> tuple[int | None, list[Entry]]:
    """Take one place in each window, in order, in the transaction ``conn`` is in, as its
    first write (on SQLite inside this process's turn to write: see
    :func:`store.db.one_writer`). Returns the index of the first window that is full (None
    when every place is taken) and the places taken before it, which count once the
    transaction commits.

    Exact under races: on PostgreSQL each key is locked first (:func:`_serialize`); on SQLite
    the statement takes the database's write lock before it counts (a statement that writes
    begins by taking it), so no other transaction can add a place between the count and the
    insert. Expired rows are left to the sweep (:meth:`DatabaseStorage.sweep_now_and_then`):
    the count looks only inside each window."""
    if not entries:
        return None, []
    for key in sorted({e.key for e in entries}):  # in one order: two requests never deadlock
        await _serialize(conn, key)
    params: dict[str, Any] = {"at": now}
    for i, entry in enumerate(entries):
        # earlier places of this call in the same window count too
        earlier = sum(1 for e in entries[:i] if e.key == entry.key)
        params[f"k{i}"], params[f"since{i}"] = entry.key, now - entry.expiry
        params[f"room{i}"], params[f"exp{i}"] = entry.limit - earlier, now + entry.expiry
    inserted = len((await conn.execute(_take_statement(len(entries)), params)).all())
    refused = inserted if inserted < len(entries) else None
    return refused, list(entries[:inserted])


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
        # The connection before the turn: a writer whose turn it is never waits for the pool.
        async with self.engine.connect() as conn, one_writer(self.engine):
            async with conn.begin():
                refused, taken = await take_places(conn, entries, now)
            await self.sweep_now_and_then(len(taken), now, conn)
        return refused

    async def sweep_now_and_then(
        self, hits: int, now: float, conn: AsyncConnection | None = None
    ) -> None:
        """Sweep every key's expired rows once in :data:`SWEEP_EVERY` hits, in a transaction
        of its own (on ``conn``, after the hits' own has ended, or on a connection of its own)."""
        if not any(random.randrange(SWEEP_EVERY) == 0 for _ in range(hits)):
            return
        if conn is not None:
            await self._sweep(conn, now)
            return
        async with self.engine.connect() as own:
            await self._sweep(own, now)

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
