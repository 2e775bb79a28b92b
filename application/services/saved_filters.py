"""Saved filters (保存的筛选, the inbox's saved views): a name and the task list's query
parameters, stored on the server and optionally shared with the owner's group. One home for
the rules ``/api/v1/filters`` and the inbox page share: a name per owner, sharing with the
owner's group (the owner's role at the owner's place), only the owner deletes (403
``not-owner`` for one merely shared with the caller, 404 for one they cannot see)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import Problem, not_found
from application.schemas.tasks import TaskQueryIn
from store import tasks_repo
from store.models_inbox import SavedFilter


async def saved_views(session: AsyncSession, actor: Actor) -> list[tuple[SavedFilter, str]]:
    """The caller's saved views and those shared with their group, by name, with the owners'
    names (as ``GET /api/v1/filters``)."""
    return await tasks_repo.visible_filters(
        session, user_id=actor.id, role=actor.role, path=actor.jurisdiction_path
    )


async def save_view(
    session: AsyncSession, actor: Actor, name: str, query: TaskQueryIn, shared: bool
) -> SavedFilter:
    """Store ``query`` under ``name`` (as ``POST /api/v1/filters``): 409 ``filter-name-taken``
    when the caller already has a view of that name."""
    try:
        return await tasks_repo.add_filter(
            session,
            owner_id=actor.id,
            name=name,
            query=query.model_dump(mode="json", exclude_unset=True),
            shared_role=actor.role if shared else None,
            shared_path=actor.jurisdiction_path if shared else None,
            now=datetime.now(UTC),
        )
    except IntegrityError:
        raise Problem(
            409,
            "filter-name-taken",
            "Name taken",
            f"you already have a saved filter named {name!r}",
        ) from None


async def delete_view(session: AsyncSession, actor: Actor, view_id: int) -> None:
    """Delete one's own view (as ``DELETE /api/v1/filters/{id}``): 404 for a view the caller
    cannot see, 403 ``not-owner`` for one merely shared with them."""
    row = await tasks_repo.visible_filter(
        session, view_id, user_id=actor.id, role=actor.role, path=actor.jurisdiction_path
    )
    if row is None:
        raise not_found("filter", str(view_id))
    if row.owner_id != actor.id:
        raise Problem(403, "not-owner", "Not the owner", "only the owner deletes a saved filter")
    await tasks_repo.delete_filter(session, view_id, actor.id)
