"""What follows an officer's work (后续进展), read from the projection: the case's open tasks
and clocks after a task was completed, and the cases an officer handled that now wait on
someone else, on the applicant or on a clock (我经办的案件). Every statement is scoped by the
caller's jurisdiction path like the inbox's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.case_clock import PUBLICITY_EVENTS
from store.models import Case, CaseEvent, Task
from store.repos import in_subtree

OPEN = "open"


async def case_in_scope(session: AsyncSession, case_id: str, scope_path: str) -> Case | None:
    return await session.scalar(
        select(Case).where(Case.id == case_id, in_subtree(Case.jurisdiction_path, scope_path))
    )


async def open_tasks_of(session: AsyncSession, case_ids: Sequence[str]) -> Sequence[Task]:
    """The open tasks of these cases, soonest due first (a case has few)."""
    if not case_ids:
        return []
    q = (
        select(Task)
        .where(Task.case_id.in_(list(case_ids)), Task.state == OPEN)
        .order_by(Task.due_at, Task.id)
    )
    return (await session.scalars(q)).all()


async def publicity_ends(session: AsyncSession, case_ids: Sequence[str]) -> dict[str, datetime]:
    """The end of each case's latest publicity (the last start or restart event's
    ``ends_at``), for the cases that have one."""
    if not case_ids:
        return {}
    q = (
        select(CaseEvent.case_id, CaseEvent.after)
        .where(
            CaseEvent.case_id.in_(list(case_ids)),
            CaseEvent.kind.in_(PUBLICITY_EVENTS),
        )
        .order_by(CaseEvent.case_id, CaseEvent.at, CaseEvent.id)
    )
    ends: dict[str, datetime] = {}
    for case_id, after in (await session.execute(q)).all():
        value: Any = (after or {}).get("ends_at")
        if isinstance(value, str):
            try:
                ends[case_id] = datetime.fromisoformat(value)
            except ValueError:
                continue
    return ends


@dataclass(frozen=True)
class Handled:
    """A case the user completed a task of, with the last time they did."""

    case: Case
    last_handled_at: datetime


async def handled_cases(
    session: AsyncSession,
    *,
    user_id: int,
    scope_path: str,
    statuses: Sequence[str],
    limit: int,
) -> list[Handled]:
    """The cases in ``statuses`` (still under way) in which ``user_id`` completed a task, most
    recently handled first."""
    last = (
        select(Task.case_id, func.max(Task.completed_at).label("last"))
        .where(Task.completed_by == user_id, Task.state == "completed")
        .group_by(Task.case_id)
        .subquery()
    )
    q = (
        select(Case, last.c.last)
        .join(last, last.c.case_id == Case.id)
        .where(in_subtree(Case.jurisdiction_path, scope_path), Case.status.in_(list(statuses)))
        .order_by(last.c.last.desc(), Case.id)
        .limit(limit)
    )
    return [Handled(case, at) for case, at in (await session.execute(q)).all()]
