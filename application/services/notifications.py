"""Notifications (通知) for the signed-in user: their list with keyset pages, the unread badge,
and marking read / unread / all read. Only notifications addressed to the caller directly or to
a group they are in now are visible (definitions in :mod:`store.notifications_repo`); anyone
else's id is answered exactly like one that does not exist (404 ``not-found``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import Problem, not_found
from store import notifications_repo as repo
from store.models import Notification

# Ids are BIGINT on PostgreSQL and 64-bit on SQLite; a larger number could not be a key and
# must not reach the driver (it would fail there).
MAX_ID = 2**63 - 1

Row = tuple[Notification, datetime | None]


def recipient(actor: Actor) -> repo.Recipient:
    return repo.Recipient(actor.id, actor.role, actor.jurisdiction_path)


def encode_cursor(last: Notification) -> str:
    """An opaque cursor: the id of the last notification of the page."""
    raw = json.dumps({"n": last.id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    bad = Problem(422, "bad-cursor", "Invalid cursor", "the cursor is not valid")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value = data["n"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise bad from None
    if type(value) is not int or not 1 <= value <= MAX_ID:
        raise bad
    return value


async def list_page(
    session: AsyncSession,
    actor: Actor,
    *,
    unread: bool | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    before = decode_cursor(cursor) if cursor else None
    rows = await repo.list_notifications(
        session, recipient(actor), unread=unread, kind=kind, before_id=before, limit=limit
    )
    next_cursor = encode_cursor(rows[-1][0]) if len(rows) == limit else None
    return rows, next_cursor


async def counts(session: AsyncSession, actor: Actor, *, cap: int) -> dict[str, int]:
    """Unread notifications, in total and per kind (each capped at ``cap``)."""
    return await repo.unread_counts(session, recipient(actor), cap=cap)


async def get(session: AsyncSession, actor: Actor, notification_id: int) -> Row:
    """One of the caller's notifications; 404 for anyone else's or a missing one."""
    row = await repo.get_notification(session, recipient(actor), notification_id)
    if row is None:
        raise not_found("notification", str(notification_id))
    return row


async def mark_read(session: AsyncSession, actor: Actor, notification_id: int) -> Row:
    """Mark read (idempotent: a second or concurrent call changes nothing and succeeds)."""
    notification, read_at = await get(session, actor, notification_id)
    if read_at is None:
        now = datetime.now(UTC)
        await repo.mark_read(session, recipient(actor), notification_id, now=now)
        # Read back: a concurrent request may have written an earlier instant.
        notification, read_at = await get(session, actor, notification_id)
    return notification, read_at


async def mark_unread(session: AsyncSession, actor: Actor, notification_id: int) -> Row:
    """Mark unread again (idempotent)."""
    notification, read_at = await get(session, actor, notification_id)
    if read_at is not None:
        await repo.mark_unread(session, recipient(actor), notification_id)
    return notification, None


async def mark_all_read(
    session: AsyncSession,
    actor: Actor,
    *,
    up_to_id: int | None,
    kinds: Sequence[str] | None,
) -> int:
    """Mark the caller's unread notifications read (up to ``up_to_id``, of ``kinds``);
    returns how many changed."""
    return await repo.mark_all_read(
        session, recipient(actor), now=datetime.now(UTC), up_to_id=up_to_id, kinds=kinds
    )
