"""Idempotency records: what an ``Idempotency-Key`` was first used for, per scope (the task
inbox's completions, one person's assistance, one household, the applications), and — where
the request keeps it — the first answer.

A key's record is claimed before its request is sent to the workflow. Its fingerprint tells a
repeat of the request from another request under the same key. Its ``status_code`` says how
far the request got: :data:`PENDING` (still under way), :data:`UNCERTAIN` (failed without
knowing whether the workflow took it), an HTTP status with its ``body`` (the stored answer),
or None (the workflow answers a repeat itself: the key is the update id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import IdempotencyRecord

# status_code of a key reserved by a request still under way.
PENDING = 0
# ... of a key whose request failed without knowing whether the workflow took it (Temporal or
# the database went away mid-request): a retry must find out, not assume.
UNCERTAIN = -1


# The two statements of every completion's key (its read, and its answer stored), each built
# once with its values bound at execution: built anew, SQLAlchemy's expression and cache key
# took 55–115 µs of the API's CPU each (#22; store/tasks_repo.py keeps its own so).
_RECORD = (
    select(IdempotencyRecord)
    .where(IdempotencyRecord.scope == bindparam("scope"), IdempotencyRecord.key == bindparam("key"))
    .execution_options(populate_existing=True)
)
# Not synchronised into the session (SQLAlchemy would evaluate the bound criteria as None): the
# record read before is not used after its answer is stored, and every read refreshes it.
_FINISH = (
    update(IdempotencyRecord)
    .where(
        # Not the columns' names: those are the SET clause's own.
        IdempotencyRecord.scope == bindparam("of_scope"),
        IdempotencyRecord.key == bindparam("of_key"),
    )
    .values(
        status_code=bindparam("answer_status", type_=IdempotencyRecord.status_code.type),
        body=bindparam("answer_body", type_=IdempotencyRecord.body.type),
    )
    .execution_options(synchronize_session=False)
)


async def record_for(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord | None:
    """Read from the database every time (a waiting request polls a pending key)."""
    return await session.scalar(_RECORD, {"scope": scope, "key": key})


def reserve(
    session: AsyncSession, scope: str, key: str, *, fingerprint: str, now: datetime
) -> None:
    """Add the pending record of a key (the caller commits; a duplicate key fails there)."""
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            status_code=PENDING,
            body=None,
            created_at=now,
        )
    )


def keep(
    session: AsyncSession,
    scope: str,
    key: str,
    *,
    fingerprint: str,
    status_code: int,
    body: dict[str, Any],
    now: datetime,
) -> None:
    """Add the record of a key with its answer, in the transaction of the request's own writes
    (the caller commits both): the answer is kept exactly when what it reports was stored, and
    a concurrent first use of the key fails the commit."""
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            status_code=status_code,
            body=body,
            created_at=now,
        )
    )


async def claim(
    session: AsyncSession, scope: str, key: str, *, fingerprint: str, now: datetime
) -> str:
    """Remember what ``key`` is first used for (no answer kept: the workflow repeats its own);
    returns the fingerprint of its first use — this one, or a concurrent or earlier one's."""
    found = await record_for(session, scope, key)
    if found is None:
        try:
            async with session.begin_nested():
                session.add(
                    IdempotencyRecord(
                        scope=scope,
                        key=key,
                        fingerprint=fingerprint,
                        status_code=None,
                        body=None,
                        created_at=now,
                    )
                )
            return fingerprint
        except IntegrityError:  # the same key claimed concurrently: compare with that one
            found = await record_for(session, scope, key)
            assert found is not None
    return found.fingerprint


async def take_over(
    session: AsyncSession, scope: str, key: str, *, seen: IdempotencyRecord, now: datetime
) -> bool:
    """Take over a key left pending by a request that died, or marked uncertain
    (compare-and-set on its state and time)."""
    result = await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status_code == seen.status_code,
            IdempotencyRecord.created_at == seen.created_at,
        )
        .values(created_at=now, status_code=PENDING)
    )
    return bool(getattr(result, "rowcount", 0))


async def finish(
    session: AsyncSession, scope: str, key: str, *, status_code: int, body: dict[str, Any]
) -> None:
    """Store the first answer of a reserved key."""
    await session.execute(
        _FINISH,
        {"of_scope": scope, "of_key": key, "answer_status": status_code, "answer_body": body},
    )


async def mark_uncertain(session: AsyncSession, scope: str, key: str) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status_code == PENDING,
        )
        .values(status_code=UNCERTAIN)
    )


async def release(session: AsyncSession, scope: str, key: str) -> None:
    """Forget a pending key whose request was refused before anything happened."""
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status_code == PENDING,
        )
    )
