"""What the inbox page needs beyond :mod:`application.services.tasks` (and
:mod:`application.services.saved_filters`): the people a supervisor may hand tasks to, bulk
return to the queue, and the time left on a task in working days.

The page's list, counts, claims, "next" and bulk claim / reassign are the task service's own
functions; this module only adds what the API does in its route handlers or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import Problem
from application.services import tasks as task_service
from application.services.admin import place_names
from domain.calendar import WorkingCalendar, local_date
from domain.case_clock import last_day
from store import admin_repo
from store.models import Task, User

# Roles that can hold a task (candidate roles of the workflows); administrators never do.
ASSIGNABLE_ROLES = ("grassroots_officer", "county_reviewer", "supervisor")
# A supervisor's choice list; a city has a few dozen officers, not thousands.
MAX_ASSIGNABLE = 500


# --- supervisors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignable:
    id: int
    display_name: str
    role: str
    place_name: str


async def assignable_users(session: AsyncSession, actor: Actor) -> list[Assignable]:
    """Active users in a supervisor's subtree who can hold tasks: the choices of a bulk
    reassignment. Whether a user is in a given task's group is checked per task by the task
    service (a mismatch is that task's ``not_allowed``). Empty for other roles."""
    if not task_service.is_supervisor(actor):
        return []
    users: Sequence[User] = await admin_repo.list_users(
        session, scope_path=actor.jurisdiction_path, active=True, limit=MAX_ASSIGNABLE
    )
    users = [u for u in users if u.role in ASSIGNABLE_ROLES]
    places = await place_names(session, users)
    return [
        Assignable(u.id, u.display_name, u.role, places.get(u.jurisdiction_code, ""))
        for u in sorted(users, key=lambda u: (ASSIGNABLE_ROLES.index(u.role), u.username))
    ]


@dataclass(frozen=True)
class ReturnResult:
    """One task of a bulk return: ``problem`` is None when it went back to its queue."""

    task_id: str
    problem: Problem | None


async def bulk_return(
    session: AsyncSession, actor: Actor, task_ids: Sequence[str]
) -> list[ReturnResult]:
    """Supervisors: return each task to its group's queue on its own (each item atomic, the
    batch not; in id order like the service's bulk operations, so two batches cannot
    deadlock). 403 for other roles, before anything is touched."""
    if not task_service.is_supervisor(actor):
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "only supervisors reassign tasks or return them to the queue",
        )
    unique = list(dict.fromkeys(task_ids))
    results: dict[str, ReturnResult] = {}
    for task_id in sorted(unique):
        try:
            await task_service.return_to_queue(session, actor, task_id)
            results[task_id] = ReturnResult(task_id, None)
        except Problem as problem:
            results[task_id] = ReturnResult(task_id, problem)
    return [results[t] for t in unique]


# --- time left -------------------------------------------------------------------------------


def due_day(due_at: datetime) -> date:
    """The last day of a task's goal period (its Shanghai date): ``due_at`` is the end of that
    day, i.e. the next day's 00:00 (:func:`domain.case_clock.last_day`, the one rule)."""
    return last_day(due_at)


def working_days_left(task: Task, now: datetime, calendar: WorkingCalendar) -> int:
    """Working days after today up to and including the goal day (as
    :func:`domain.sla.working_days_left`): 0 is "due today", -k is k working days late."""
    return calendar.working_days_between(local_date(now), due_day(task.due_at))
