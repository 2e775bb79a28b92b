"""Notifications (通知): the signed-in user's reminders (提醒), escalations (督办) and
assignments (分派) — list (newest first, keyset pages), unread counts for the badge, mark read /
unread, mark all read.

Any authenticated user, and only their own notifications: those addressed to them directly or
to a group they are in now (their role, the group's place inside their jurisdiction subtree).
Anyone else's notification id is 404 ``not-found``, like a missing one. Read state is per user:
a group notification read by one member stays unread for the others."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query

from application.http import CurrentActor, SessionDep
from application.schemas.notifications import (
    Kind,
    NotificationCountsOut,
    NotificationLinks,
    NotificationOut,
    NotificationPage,
    ReadAllIn,
    ReadAllOut,
)
from application.services import notifications as service
from application.services.notifications import MAX_ID
from domain.labels import label
from store.models import Notification

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such notification of yours", **PROBLEM}
}

NotificationId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The notification's id", examples=[42])
]


def notification_out(n: Notification, read_at: datetime | None) -> NotificationOut:
    links = NotificationLinks()
    if n.task_id:
        task = quote(n.task_id, safe="")
        links.task, links.task_page = f"/api/v1/tasks/{task}", f"/tasks/{task}"
    if n.case_id:
        case = quote(n.case_id, safe="")
        links.case, links.case_page = f"/api/v1/cases/{case}", f"/cases/{case}"
    return NotificationOut(
        id=n.id,
        kind=n.kind,
        kind_zh=label("notification_kind", n.kind),
        message=n.message,
        case_id=n.case_id,
        task_id=n.task_id,
        created_at=n.created_at,
        recipient="user" if n.user_id is not None else "group",
        read=read_at is not None,
        read_at=read_at,
        links=links,
    )


@router.get(
    "",
    response_model=NotificationPage,
    summary="My notifications",
    responses={422: {"description": "Bad filter or cursor (bad-cursor)", **PROBLEM}},
)
async def list_notifications(
    session: SessionDep,
    actor: CurrentActor,
    unread: Annotated[
        bool | None, Query(description="true: unread only; false: read only; omit: all")
    ] = None,
    kind: Annotated[Kind | None, Query(description="Only this kind")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="``next_cursor`` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    """A page of your notifications, newest first (by arrival), with keyset pagination: pass
    ``next_cursor`` back as ``cursor``. Notifications arriving while you page appear before the
    first page, never inside the walk, so no page repeats or skips one."""
    rows, next_cursor = await service.list_page(
        session, actor, unread=unread, kind=kind, cursor=cursor, limit=limit
    )
    return NotificationPage(
        items=[notification_out(n, read_at) for n, read_at in rows], next_cursor=next_cursor
    )


@router.get("/counts", response_model=NotificationCountsOut, summary="Unread counts (badge)")
async def notification_counts(
    session: SessionDep,
    actor: CurrentActor,
    cap: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> NotificationCountsOut:
    """Your unread notifications in total and per kind (exact below ``cap``; a count equal to
    ``cap`` means "cap or more")."""
    counts = await service.counts(session, actor, cap=cap)
    return NotificationCountsOut(**counts, cap=cap)


@router.post(
    "/read-all",
    response_model=ReadAllOut,
    summary="Mark all read",
)
async def read_all(
    session: SessionDep, actor: CurrentActor, body: ReadAllIn | None = None
) -> ReadAllOut:
    """Mark your unread notifications read — optionally only up to ``up_to_id`` (the newest
    one you have seen) and of one ``kind``. Returns how many changed (0 when repeated)."""
    body = body or ReadAllIn()
    changed = await service.mark_all_read(
        session,
        actor,
        up_to_id=body.up_to_id,
        kinds=[body.kind] if body.kind else None,
    )
    return ReadAllOut(changed=changed)


@router.get(
    "/{notification_id}",
    response_model=NotificationOut,
    summary="One notification",
    responses=NOT_FOUND,
)
async def get_notification(
    notification_id: NotificationId, session: SessionDep, actor: CurrentActor
) -> NotificationOut:
    """One of your notifications (reading it does not mark it read)."""
    return notification_out(*await service.get(session, actor, notification_id))


@router.post(
    "/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark read",
    responses=NOT_FOUND,
)
async def mark_read(
    notification_id: NotificationId, session: SessionDep, actor: CurrentActor
) -> NotificationOut:
    """Mark the notification read for you (idempotent: repeating it, even concurrently,
    keeps the first ``read_at``). A group notification stays unread for the other members."""
    return notification_out(*await service.mark_read(session, actor, notification_id))


@router.post(
    "/{notification_id}/unread",
    response_model=NotificationOut,
    summary="Mark unread",
    responses=NOT_FOUND,
)
async def mark_unread(
    notification_id: NotificationId, session: SessionDep, actor: CurrentActor
) -> NotificationOut:
    """Mark the notification unread again for you (idempotent)."""
    return notification_out(*await service.mark_unread(session, actor, notification_id))
