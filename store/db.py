"""Engines and sessions. One async engine per process; SQLite gets WAL and a busy timeout so
that the worker and the API (separate processes) can write the same file without
'database is locked' errors; PostgreSQL uses psycopg 3."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.settings import Settings
from store.sqlite_driver import one_hop_dbapi

# Connections a process keeps open, and how many more a burst may open (closed again after
# use). SQLAlchemy's default keeps 5: officers working side by side and the worker's
# concurrent activities needed more, and every connection beyond the five was opened and closed
# again for each use — on SQLite a thread started and the pragmas run (~0.6 ms each), 58 of
# them per 200 completed tasks in the API (#22). A SQLite connection is a file handle and a
# thread, so more are kept; on PostgreSQL the peak per process stays 15 (docs/capacity.md
# sizes the server's connections by it), of which 10 are kept.
_POOL = {
    "sqlite": {"pool_size": 20, "max_overflow": 20},
    "postgresql": {"pool_size": 10, "max_overflow": 5},
}


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    for option, value in _POOL["sqlite" if url.startswith("sqlite") else "postgresql"].items():
        kwargs.setdefault(option, value)
    if url.startswith("sqlite"):
        # One hop to aiosqlite's thread per statement instead of four (store.sqlite_driver).
        if url.startswith("sqlite+aiosqlite") and "module" not in kwargs:
            dbapi = one_hop_dbapi()
            if dbapi is not None:
                kwargs["module"] = dbapi
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def insert_ignoring_duplicates(session: AsyncSession, model: Any) -> Any:
    """``INSERT`` for ``model`` in the session's dialect, to be finished with
    ``.on_conflict_do_nothing(...)``: when two processes insert the same key at once, both
    succeed and one row stands (a plain add would fail the loser with a unique violation).
    Count what was inserted with RETURNING: the rowcount of an INSERT ... ON CONFLICT is not
    reported on PostgreSQL through this stack (-1)."""
    return dialect_insert(session.get_bind().dialect.name)(model)


def dialect_insert(dialect: str) -> Any:
    """The ``insert`` of a dialect, by its name (for a statement built once per dialect; see
    :func:`insert_ignoring_duplicates`)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class _Turns:
    """One writer at a time, the others served in the order they came — those on an officer's
    path (``urgent``) before the rest. An asyncio lock would serve everyone in order: a
    decision's one write then waited behind every queued write of the steps that follow other
    decisions (#22)."""

    def __init__(self) -> None:
        self.busy = False
        self.waiting: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())

    async def acquire(self, urgent: bool) -> None:
        if not self.busy:
            self.busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        queue = self.waiting[0 if urgent else 1]
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn as it was cancelled: pass it on
            else:
                queue.remove(turn)
            raise

    def release(self) -> None:
        for queue in self.waiting:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # handed over: still busy
                    return
        self.busy = False


class WriteOutsideTurn(RuntimeError):
    """A session asked for its turn to write while its transaction already holds a write (on
    SQLite, the database's write lock): the writer whose turn it is would wait for that lock,
    and this session for the turn, until SQLite's busy timeout ("database is locked"). Raised
    at once, so the mistake shows in the first test that takes the path, not under load."""

    def __init__(self) -> None:
        super().__init__(
            "a session entered the turn to write while holding uncommitted writes: commit "
            "them first, or make every write of the transaction inside the turn (store.db)"
        )


async def _holds_a_write(session: AsyncSession) -> bool:
    """Whether the session's SQLite transaction has written: Python's sqlite3 begins one only
    at the first write, so a transaction that has only read is not "in transaction"."""
    if not session.in_transaction():
        return False
    raw = await (await session.connection()).get_raw_connection()
    return bool(getattr(raw.driver_connection, "in_transaction", False))


# Per event loop (a future belongs to one) and engine: see one_writer.
_WRITERS: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Turns]] = WeakKeyDictionary()


@asynccontextmanager
async def one_writer(
    on: AsyncEngine | AsyncSession, *, urgent: bool = False
) -> AsyncIterator[None]:
    """On SQLite, one transaction that writes at a time in this process, the others queued
    here in order (``urgent`` ones, an officer waiting for them, first). SQLite lets one
    writer in and makes every other poll its lock, sleeping longer at each try (up to 100 ms):
    a burst of requests each waiting there took hundreds of milliseconds for writes of one.
    Enter it before the transaction's first write, never while a transaction of yours holds a
    write (that one would wait for you), and with the connection it writes on already taken
    from the pool (the writers waiting here may hold every other one). PostgreSQL: nothing
    (its writers do not exclude each other)."""
    bind = on.bind if isinstance(on, AsyncSession) else on
    engine = bind.engine if isinstance(bind, AsyncConnection) else bind
    if engine is None or engine.dialect.name != "sqlite":
        yield
        return
    if isinstance(on, AsyncSession) and await _holds_a_write(on):
        raise WriteOutsideTurn()
    locks = _WRITERS.setdefault(asyncio.get_running_loop(), {})
    turns = locks.setdefault(id(engine.sync_engine), _Turns())
    await turns.acquire(urgent)
    try:
        yield
    finally:
        turns.release()


@asynccontextmanager
async def write_turn(session: AsyncSession, *, urgent: bool = False) -> AsyncIterator[None]:
    """The session's writes in this process's turn (:func:`one_writer`) and committed in it:
    its connection taken from the pool first, the commit made before the turn passes on (on
    SQLite the transaction holds the database's write lock from its first write to its
    commit). What the commit raises is raised, the turn passed on all the same."""
    await session.connection()
    async with one_writer(session, urgent=urgent):
        yield
        await session.commit()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A short-lived engine and a transaction (for the CLI): commit on success, else roll back."""
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()
