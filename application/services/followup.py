"""What follows an officer's work (后续进展): after a task is completed, the case's next step —
the next task and who has it by when, the clock the case waits on (公示期), or the procedure's
end — read from the projection once the workflow recorded it; and the cases an officer handled
that now wait on someone else, on the applicant or on a clock (我经办的案件).

The workflow answers a completion before it opens the next task (the update returns, then the
run loop moves on), so :func:`after_completion` waits, bounded, for the case's next step to be
recorded: a condition polled against the database with a deadline, never a fixed sleep. When
the deadline passes first the answer says so (``pending``) rather than "nothing to do".
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.schemas.common import mask_tail
from application.schemas.followup import (
    ClockOut,
    HandledCaseOut,
    NextStepOut,
    NextTaskOut,
)
from application.services import tasks as task_service
from domain.vocabulary import CaseStatus, TaskKind
from store import followup_repo, tasks_repo
from store.models import Case, Task
from store.web_cases_repo import place_names

log = logging.getLogger(__name__)

# Long enough for a worker to open the next task (a few activities), short enough for a page.
NEXT_STEP_WAIT = timedelta(seconds=2.5)
# The longest wait an API client may ask for with ``Prefer: wait=N`` (RFC 7240).
MAX_PREFERRED_WAIT = timedelta(seconds=5)
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+(?:\.\d+)?)", re.I)


def preferred_wait(prefer: str | None) -> timedelta | None:
    """Whether and how long an API completion waits for the next step: what the client's
    ``Prefer: wait=N`` asks (RFC 7240), at most :data:`MAX_PREFERRED_WAIT`; None when it did
    not ask. An integrator's completion then answers at the engine's pace without ``next``
    (``GET /api/v1/tasks/{id}/next`` reads it), and a repeat under the same key answers the
    same; the officer's page always waits :data:`NEXT_STEP_WAIT`."""
    found = _PREFER_WAIT.search(prefer or "")
    if found is None:
        return None
    return min(timedelta(seconds=float(found.group(1))), MAX_PREFERRED_WAIT)


_POLL_SECONDS = 0.1
# The identification procedure's tasks: once it concludes, its case is "closed" for them.
IDENTIFICATION_KINDS = frozenset(
    {
        TaskKind.ACCEPTANCE,
        TaskKind.SUPPLEMENT,
        TaskKind.INITIAL_REVIEW,
        TaskKind.HOME_VISIT,
        TaskKind.PUBLICITY_REPORT,
        TaskKind.OBJECTION,
        TaskKind.REVIEW,
        TaskKind.IMMEDIATE_CONCLUSION,
        TaskKind.INFORM_REFUSAL,
    }
)
# A zero-employment household's decisions that end its procedure (workflows/household.py):
# not one after all, or cleared by a member's employment; after its plan it waits for the
# clearance (a task where the pack sets a deadline, else nothing open: 动态清零).
HOUSEHOLD_ENDS = frozenset(
    {
        (TaskKind.HOUSEHOLD_VERIFICATION, "not_zero_employment"),
        (TaskKind.HOUSEHOLD_CLEARANCE, "member_employed"),
    }
)
CLOSED = frozenset(s for s in CaseStatus if s.closed)
CONCLUDED = CLOSED | {CaseStatus.IDENTIFIED, CaseStatus.ENROLLED}
# A case still in its identification procedure (the handled-cases view lists these).
UNDER_WAY = tuple(
    s
    for s in (
        CaseStatus.SUBMITTED,
        CaseStatus.AWAITING_MATERIALS,
        CaseStatus.ACCEPTED,
        CaseStatus.UNDER_REVIEW,
        CaseStatus.IN_PUBLICITY,
    )
)
HANDLED_LIMIT = 100


def _next_task(task: Task, places: dict[str, str], names: dict[int, str]) -> NextTaskOut:
    return NextTaskOut(
        task_id=task.id,
        kind=task.kind,
        candidate_role=task.candidate_role,
        jurisdiction_code=task.jurisdiction_code,
        jurisdiction_name=places.get(task.jurisdiction_code, task.jurisdiction_code),
        assignee_name=names.get(task.assignee_id) if task.assignee_id else None,
        # 补充材料: the officer records what the applicant brings; the case waits on them.
        waiting_on="applicant" if task.kind == TaskKind.SUPPLEMENT else "officer",
        due_at=task.due_at,
    )


def step_of(
    case: Case,
    open_tasks: Sequence[Task],
    publicity_end: datetime | None,
    places: dict[str, str],
    names: dict[int, str],
    *,
    done_kind: str | None = None,
    done_outcome: str | None = None,
) -> NextStepOut:
    """The case's next step as the projection holds it. ``done_kind`` and ``done_outcome`` are
    the task just completed and its outcome (None for the handled-cases view): after an
    identification task, an identified case is closed for it; after an assistance task, it
    goes on (``none``); a household's end is its deciding outcome."""
    step = NextStepOut(
        state="pending",
        case_id=case.id,
        case_url=f"/api/v1/cases/{case.id}",
        case_page=f"/cases/{case.id}",
        case_status=case.status,
        stage=case.stage,
    )
    # A 督办 is about a late task, not the case's next step.
    waiting = [t for t in open_tasks if t.kind != TaskKind.ESCALATION]
    concluded = case.status in CLOSED or (
        case.status in CONCLUDED and (done_kind is None or done_kind in IDENTIFICATION_KINDS)
    )
    concluded = concluded or (done_kind, done_outcome) in HOUSEHOLD_ENDS
    if concluded:
        # The identification ended; the assistance it starts is a procedure of its own (its
        # first task may or may not be open yet: the answer does not depend on that race).
        step.state = "closed"
    elif waiting:
        step.state = "task"
        step.tasks = [_next_task(t, places, names) for t in waiting]
    elif case.status == CaseStatus.IN_PUBLICITY and publicity_end is not None:
        step.state = "clock"
        step.clock = ClockOut(ends_at=publicity_end)
    elif case.status in CONCLUDED or done_kind == TaskKind.HOUSEHOLD_PLAN:
        step.state = "none"
    return step


async def _steps(
    session: AsyncSession,
    cases: Sequence[Case],
    *,
    skip: str | None,
    done_kind: str | None,
    done_outcome: str | None = None,
) -> dict[str, NextStepOut]:
    ids = [c.id for c in cases]
    tasks = [t for t in await followup_repo.open_tasks_of(session, ids) if t.id != skip]
    ends = await followup_repo.publicity_ends(session, ids)
    places = await place_names(session, (t.jurisdiction_code for t in tasks))
    names = await tasks_repo.display_names(session, (t.assignee_id for t in tasks))
    return {
        c.id: step_of(
            c,
            [t for t in tasks if t.case_id == c.id],
            ends.get(c.id),
            places,
            names,
            done_kind=done_kind,
            done_outcome=done_outcome,
        )
        for c in cases
    }


async def next_step(session: AsyncSession, actor: Actor, task_id: str) -> NextStepOut:
    """The next step of the case of a task the caller can see (404 otherwise), as it is now."""
    task = await task_service.get_task(session, actor, task_id)
    case = await session.get(Case, task.case_id, populate_existing=True)
    assert case is not None  # a task row always has its case
    outcome = (task.outcome or {}).get("outcome")
    steps = await _steps(session, [case], skip=task.id, done_kind=task.kind, done_outcome=outcome)
    return steps[case.id]


async def after_completion(
    session: AsyncSession, actor: Actor, task_id: str, *, wait: timedelta = NEXT_STEP_WAIT
) -> NextStepOut | None:
    """The case's next step once the workflow recorded it, waiting at most ``wait`` (then
    ``pending``). Ends each read transaction before waiting, so no connection is held and the
    next read sees the worker's commits. None when the database cannot say: the decision is
    taken and its answer stored, and a follow-up that could not be read must not turn it
    into an error (a retry under the same key reads it again)."""
    deadline = time.monotonic() + wait.total_seconds()
    try:
        while True:
            step = await next_step(session, actor, task_id)
            await session.rollback()  # nothing written here; the next read is a fresh snapshot
            if step.state != "pending" or time.monotonic() >= deadline:
                return step
            await asyncio.sleep(_POLL_SECONDS)
    except SQLAlchemyError:
        log.warning("the next step of task %s could not be read", task_id, exc_info=True)
        with suppress(SQLAlchemyError):
            await session.rollback()
        return None


async def handled_cases(
    session: AsyncSession, actor: Actor, *, limit: int = HANDLED_LIMIT
) -> list[HandledCaseOut]:
    """Cases under way in the caller's area in which they completed a task and whose next step
    is not theirs: someone else's task, the applicant's, or a clock. A case whose open task
    the caller holds or could take is in their inbox instead."""
    handled = await followup_repo.handled_cases(
        session,
        user_id=actor.id,
        scope_path=actor.jurisdiction_path,
        statuses=UNDER_WAY,
        limit=limit,
    )
    steps = await _steps(session, [h.case for h in handled], skip=None, done_kind=None)
    own = {
        t.case_id
        for t in await followup_repo.open_tasks_of(session, [h.case.id for h in handled])
        if t.assignee_id == actor.id
        or (t.assignee_id is None and tasks_repo.in_group(actor.role, actor.jurisdiction_path, t))
    }
    return [
        HandledCaseOut(
            case_id=h.case.id,
            applicant_name=h.case.applicant_name,
            id_number_masked=mask_tail(h.case.id_last4),
            policy_pack_id=h.case.policy_pack_id,
            category_code=h.case.category_code,
            last_handled_at=h.last_handled_at,
            next=steps[h.case.id],
        )
        for h in handled
        if h.case.id not in own
    ]
