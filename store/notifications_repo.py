"""The notifications' SQL (通知: 提醒 reminder, 督办 escalation, 分派 assignment): a user's list
with keyset pages, unread counts for the badge, and per-user read state.

Definitions:

- **addressed to me**: a notification with my ``user_id``, or a group notification whose
  ``recipient_role`` is my role and whose ``recipient_path`` lies inside my jurisdiction
  subtree — membership as it is *now* (a user moved to another place or role sees the
  groups of the new one).
- **read state** is per user (:class:`store.models.NotificationRead`): a group notification
  read by one member stays unread for the others. Marking read inserts the row with
  ``ON CONFLICT DO NOTHING`` (the dialect's insert on SQLite and PostgreSQL), so concurrent
  or repeated "read" requests never fail; marking unread deletes it.
- **order** is the id, newest first: ids are given in arrival order, so a notification that
  arrives while someone pages always lands before the first page and a page never repeats or
  skips one (``created_at`` is the instant of the event, which a delayed activity may write
  later than a newer one). The same id bounds "read all up to what I have seen".

Functions take an ``AsyncSession`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from store.db import insert_ignoring_duplicates
from store.models import Notification, NotificationRead
from store.repos import path_range

KINDS = ("reminder", "escalation", "assignment")


@dataclass(frozen=True)
class Recipient:
    """Who asks: the user and the groups they are in (role at a jurisdiction subtree)."""

    user_id: int
    role: str
    path: str


def addressed_to(me: Recipient) -> ColumnElement[bool]:
    """The notifications addressed to ``me`` directly or to a group I am in now."""
    lo, hi = path_range(me.path)
    return or_(
        Notification.user_id == me.user_id,
        and_(
            Notification.recipient_role == me.role,
            Notification.recipient_path >= lo,
            Notification.recipient_path < hi,
        ),
    )


def _my_read(me: Recipient) -> ColumnElement[bool]:
    return and_(
        NotificationRead.notification_id == Notification.id,
        NotificationRead.user_id == me.user_id,
    )


async def list_notifications(
    session: AsyncSession,
    me: Recipient,
    *,
    unread: bool | None = None,
    kind: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[tuple[Notification, datetime | None]]:
    """A page of my notifications, newest (highest id) first, each with my ``read_at`` (None
    while unread). ``unread`` True lists only unread ones, False only read ones; ``before_id``
    is the keyset position (the last id of the previous page)."""
    q = (
        select(Notification, NotificationRead.read_at)
        .outerjoin(NotificationRead, _my_read(me))
        .where(addressed_to(me))
    )
    if unread is True:
        q = q.where(NotificationRead.notification_id.is_(None))
    elif unread is False:
        q = q.where(NotificationRead.notification_id.is_not(None))
    if kind is not None:
        q = q.where(Notification.kind == kind)
    if before_id is not None:
        q = q.where(Notification.id < before_id)
    rows = await session.execute(q.order_by(Notification.id.desc()).limit(limit))
    return [(n, read_at) for n, read_at in rows]


async def get_notification(
    session: AsyncSession, me: Recipient, notification_id: int
) -> tuple[Notification, datetime | None] | None:
    """One of my notifications with my ``read_at``; None when it does not exist or is not
    addressed to me (the two are answered alike)."""
    row = (
        await session.execute(
            select(Notification, NotificationRead.read_at)
            .outerjoin(NotificationRead, _my_read(me))
            .where(Notification.id == notification_id, addressed_to(me))
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def unread_counts(session: AsyncSession, me: Recipient, *, cap: int) -> dict[str, int]:
    """My unread notifications per kind and in ``total``, each counted up to ``cap`` (a count
    equal to ``cap`` means "cap or more"), so a badge never scans a province's years of
    escalations."""

    def capped(*conditions: ColumnElement[bool]) -> Any:
        inner = (
            select(literal(1))
            .select_from(Notification)
            .outerjoin(NotificationRead, _my_read(me))
            .where(addressed_to(me), NotificationRead.notification_id.is_(None), *conditions)
            .limit(cap)
            .subquery()
        )
        return select(func.count()).select_from(inner).scalar_subquery()

    columns = [capped().label("total")] + [
        capped(Notification.kind == kind).label(kind) for kind in KINDS
    ]
    row = (await session.execute(select(*columns))).one()
    return {name: int(value) for name, value in row._mapping.items()}


async def mark_read(
    session: AsyncSession, me: Recipient, notification_id: int, *, now: datetime
) -> bool:
    """Mark one notification (already known to be addressed to me) read; True when it was
    unread."""
    stmt = (
        # A second "read" of (notification, user) is skipped, not an error.
        insert_ignoring_duplicates(session, NotificationRead)
        .values(notification_id=notification_id, user_id=me.user_id, read_at=now)
        .on_conflict_do_nothing(index_elements=["notification_id", "user_id"])
        .returning(NotificationRead.notification_id)
    )
    return (await session.execute(stmt)).first() is not None


async def mark_unread(session: AsyncSession, me: Recipient, notification_id: int) -> bool:
    """Mark one notification unread again; True when it was read."""
    result: Any = await session.execute(
        delete(NotificationRead).where(
            NotificationRead.notification_id == notification_id,
            NotificationRead.user_id == me.user_id,
        )
    )
    return bool(result.rowcount)


async def mark_all_read(
    session: AsyncSession,
    me: Recipient,
    *,
    now: datetime,
    up_to_id: int | None = None,
    kinds: Sequence[str] | None = None,
) -> int:
    """Mark every unread notification addressed to me read — only those with an id up to
    ``up_to_id`` (the newest one the user has seen, so one arriving meanwhile stays unread)
    and of ``kinds`` when given. Returns how many changed; one statement, so it is safe
    against a concurrent single "read"."""
    q = (
        select(Notification.id, literal(me.user_id), literal(now, NotificationRead.read_at.type))
        .outerjoin(NotificationRead, _my_read(me))
        .where(addressed_to(me), NotificationRead.notification_id.is_(None))
    )
    if up_to_id is not None:
        q = q.where(Notification.id <= up_to_id)
    if kinds:
        q = q.where(Notification.kind.in_(list(kinds)))
    stmt = (
        # A second "read" of (notification, user) is skipped, not an error.
        insert_ignoring_duplicates(session, NotificationRead)
        .from_select(["notification_id", "user_id", "read_at"], q)
        .on_conflict_do_nothing(index_elements=["notification_id", "user_id"])
        .returning(NotificationRead.notification_id)
    )
    return len((await session.execute(stmt)).all())
