"""Saved filters (保存的筛选): a name and the task list's query parameters, stored on the server
and optionally shared with the owner's group.

The stored query is validated against the list endpoint's parameters (unknown keys and bad
values are 422, a cursor is not a filter). A filter shared with the group is visible to every
user whose role is the owner's role and whose jurisdiction subtree contains the owner's
jurisdiction (the same "group" as for tasks); listing returns the caller's own filters and
those shared with a group the caller is in. Only the owner deletes (403 ``not-owner`` for
someone who merely sees a shared filter, 404 for anyone else).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from application.http import CurrentActor, SessionDep
from application.schemas.common import RowIdPath
from application.schemas.filters import SavedFilterIn, SavedFilterOut
from application.services import saved_filters
from store.models_inbox import SavedFilter

router = APIRouter(prefix="/api/v1/filters", tags=["filters"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def _out(row: SavedFilter, owner_name: str) -> SavedFilterOut:
    return SavedFilterOut(
        id=row.id,
        name=row.name,
        query=row.query,
        owner_id=row.owner_id,
        owner_name=owner_name,
        shared_with_group=row.shared_role is not None,
        shared_role=row.shared_role,
        shared_path=row.shared_path,
        created_at=row.created_at,
    )


@router.get("", response_model=list[SavedFilterOut])
async def list_filters(session: SessionDep, actor: CurrentActor) -> list[SavedFilterOut]:
    """My saved filters and those shared with my group, by name."""
    return [_out(row, owner) for row, owner in await saved_filters.saved_views(session, actor)]


@router.post(
    "",
    response_model=SavedFilterOut,
    status_code=201,
    responses={409: {"description": "You already have a filter of that name", **PROBLEM}},
)
async def save_filter(
    body: SavedFilterIn, session: SessionDep, actor: CurrentActor
) -> SavedFilterOut:
    """Save the list parameters under a name; ``shared_with_group`` shares it with your group
    (your role at your jurisdiction)."""
    row = await saved_filters.save_view(
        session, actor, body.name, body.query, body.shared_with_group
    )
    return _out(row, actor.display_name)


@router.delete(
    "/{filter_id}",
    status_code=204,
    responses={
        403: {"description": "Only the owner deletes", **PROBLEM},
        404: {"description": "No such filter visible to you", **PROBLEM},
    },
)
async def delete_filter(filter_id: RowIdPath, session: SessionDep, actor: CurrentActor) -> Response:
    await saved_filters.delete_view(session, actor, filter_id)
    return Response(status_code=204)
