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

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError

from inbox_api.deps import CurrentActor, SessionDep
from inbox_api.errors import Problem, not_found
from inbox_api.schemas import RowIdPath, SavedFilterIn, SavedFilterOut
from store import tasks_repo
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
    rows = await tasks_repo.visible_filters(
        session, user_id=actor.id, role=actor.role, path=actor.jurisdiction_path
    )
    return [_out(row, owner) for row, owner in rows]


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
    try:
        row = await tasks_repo.add_filter(
            session,
            owner_id=actor.id,
            name=body.name,
            query=body.query.model_dump(mode="json", exclude_unset=True),
            shared_role=actor.role if body.shared_with_group else None,
            shared_path=actor.jurisdiction_path if body.shared_with_group else None,
            now=datetime.now(UTC),
        )
    except IntegrityError:
        raise Problem(
            409,
            "filter-name-taken",
            "Name taken",
            f"you already have a saved filter named {body.name!r}",
        ) from None
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
    row = await tasks_repo.visible_filter(
        session, filter_id, user_id=actor.id, role=actor.role, path=actor.jurisdiction_path
    )
    if row is None:
        raise not_found("filter", str(filter_id))
    if row.owner_id != actor.id:
        raise Problem(403, "not-owner", "Not the owner", "only the owner deletes a saved filter")
    await tasks_repo.delete_filter(session, filter_id, actor.id)
    return Response(status_code=204)
