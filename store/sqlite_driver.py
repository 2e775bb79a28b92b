"""SQLite through aiosqlite with one hop to its thread per statement (#22).

aiosqlite runs every call on a sqlite3 connection in a thread of its own, and each call is a
round trip: the call queued to the thread, the answer handed back to the event loop, the loop
woken. SQLAlchemy's adapter makes four of them per statement — open a cursor, execute, fetch
the rows, close the cursor — so a statement of a few microseconds in SQLite cost the process
about half a millisecond of CPU in hand-offs, and an officer's completion runs a few dozen
statements in the API and the worker together.

This adapter makes one: the statement is executed, its rows fetched and its cursor closed in
one call on the connection's thread, and what the closed cursor leaves behind (description,
rowcount, lastrowid) is kept for SQLAlchemy to read. Everything else is SQLAlchemy's and
aiosqlite's own: the same thread, the same order of calls on it (aiosqlite's queue), the same
transaction handling and exceptions (sqlite3's, raised from the thread as before), the same
per-connection lock around a statement. Server-side cursors (``stream``) are SQLAlchemy's, as
before. A commit or rollback with no transaction open in SQLite, which sqlite3 would skip, is
not sent to the thread at all: a session that only read, given back to the pool, made two.

It relies on aiosqlite's ``Connection._execute`` (queue a function for the thread; present
since aiosqlite's first releases) and ``Connection._conn``; :func:`one_hop_dbapi` returns
None when they are missing, and the engine is then made with SQLAlchemy's own adapter."""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


class _Spent:
    """What a statement's sqlite3 cursor left behind once it was read and closed."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(
        self, description: Any = None, rowcount: int = -1, lastrowid: int | None = None
    ) -> None:
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self.arraysize = 1

    def close(self) -> None:
        """Closed already, on the connection's thread."""


def _run(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> tuple[_Spent, list[Any]]:
    """On the connection's thread: execute, read every row, close the cursor."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        # Read after the rows: with RETURNING, SQLite counts the rows as they are stepped.
        return _Spent(cursor.description, cursor.rowcount, cursor.lastrowid), rows
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, each statement in one call on the connection's thread."""

    __slots__ = ()
    _awaitable_cursor_close = False  # nothing left open to close: _Spent.close

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is opened here (the base class opens an aiosqlite cursor: a round trip).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Spent()  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._one_hop(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._one_hop(operation, seq_of_parameters, many=True)

    async def _one_hop(self, operation: Any, parameters: Any, *, many: bool) -> Any:
        async with self._adapt_connection._execute_mutex:
            aio = self._connection
            spent, rows = await aio._execute(_run, aio._conn, operation, parameters, many)
            self._cursor = spent
            self._rows = deque(rows)
            return spent


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]

    def _idle(self) -> bool:
        """No transaction open in SQLite: sqlite3's commit and rollback would do nothing
        (they look at the same flag first), so the hop to the thread is not made. Read here,
        on the event loop: no call of this connection's is running on its thread meanwhile
        (SQLAlchemy awaits each), and sqlite3 reads the flag without a thread check. A session
        that only read, and every connection given back to the pool (which rolls back), ask
        this."""
        raw = self._connection._connection
        return raw is not None and not raw.in_transaction

    def commit(self) -> None:
        if not self._idle():
            super().commit()

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI whose connections make :class:`OneHopCursor` cursors."""

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> OneHopDbapi | None:
    """The DBAPI to hand ``create_async_engine(module=...)`` for SQLite, or None when this
    aiosqlite lacks what the adapter uses (SQLAlchemy's own adapter is then used)."""
    if not (hasattr(aiosqlite.Connection, "_execute") and hasattr(aiosqlite.Connection, "_conn")):
        return None  # pragma: no cover - an aiosqlite release without them
    return OneHopDbapi(aiosqlite, sqlite3)
