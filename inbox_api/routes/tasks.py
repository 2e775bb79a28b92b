"""Tasks (待办): list (views, filters, keyset pages), counts, get, claim / unclaim, reassign /
return (supervisors), next, bulk claim / reassign, comments, complete.

Every endpoint answers a task outside the caller's jurisdiction subtree with 404 ``not-found``
(never 403), so the existence of cases outside one's remit is not revealed. Errors are RFC 9457
problem+json with a stable ``type`` (``/problems/task-claimed``, ``/problems/task-closed``,
``/problems/actor-not-allowed``, ``/problems/bad-cursor``, ``/problems/bad-assignee``, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from application.actor import Actor
from application.http import CurrentActor, SessionDep, TemporalDep
from application.schemas.common import TaskIdPath, mask_tail
from application.schemas.followup import HandledCaseOut, NextStepOut
from application.schemas.tasks import (
    BulkClaimIn,
    BulkOut,
    BulkReassignIn,
    CommentIn,
    CommentOut,
    CompleteTaskIn,
    CompleteTaskOut,
    ReassignIn,
    TaskCountsOut,
    TaskListIn,
    TaskOut,
    TaskPage,
    VerifiableFactOut,
)
from application.services import followup, pre_check, tasks as service
from domain.sla import state_at
from store.models import Task
from store.models_inbox import TaskComment

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such task in your jurisdiction", **PROBLEM}
}


def task_out(task: Task, now: datetime, assignee_name: str | None = None) -> TaskOut:
    return TaskOut(
        id=task.id,
        case_id=task.case_id,
        kind=task.kind,
        state=task.state,
        candidate_role=task.candidate_role,
        jurisdiction_code=task.jurisdiction_code,
        assignee_id=task.assignee_id,
        applicant_name=task.applicant_name,
        id_number_masked=mask_tail(task.id_last4),
        policy_pack_id=task.policy_pack_id,
        category_code=task.category_code,
        priority=task.priority,
        created_at=task.created_at,
        at_risk_at=task.at_risk_at,
        due_at=task.due_at,
        deadline_at=task.deadline_at,
        sla_state=state_at(task.at_risk_at, task.due_at, task.deadline_at, now)
        if task.state == "open"
        else task.sla_state,
        sla_provisional=task.sla_provisional,
        payload=task.payload,
        # Without the id of the request that took the decision (another user's key).
        outcome={k: v for k, v in task.outcome.items() if k != "update_id"}
        if task.outcome is not None
        else None,
        version=task.version,
        assignee_name=assignee_name,
    )


async def _out(session: SessionDep, tasks: Sequence[Task], actor: Actor) -> list[TaskOut]:
    names = await service.assignee_names(session, tasks, actor)
    now = datetime.now(UTC)
    return [task_out(t, now, names.get(t.assignee_id or 0)) for t in tasks]


async def _one(session: SessionDep, task: Task, actor: Actor) -> TaskOut:
    return (await _out(session, [task], actor))[0]


def _comment_out(comment: TaskComment, author: str) -> CommentOut:
    return CommentOut(
        id=comment.id,
        task_id=comment.task_id,
        user_id=comment.user_id,
        author=author,
        body=comment.body,
        created_at=comment.created_at,
    )


@router.get(
    "",
    response_model=TaskPage,
    responses={
        404: {"description": "The jurisdiction filter is no place of your subtree", **PROBLEM},
        422: {"description": "Bad filter or cursor", **PROBLEM},
    },
)
async def list_tasks(
    session: SessionDep, actor: CurrentActor, params: Annotated[TaskListIn, Query()]
) -> TaskPage:
    """A page of the caller's tasks: ``view`` mine | group | scope (default) | at_risk |
    breached, filters, ``sort`` due (default: soonest due first) | priority, and keyset
    pagination — pass ``next_cursor`` back as ``cursor`` (a cursor of another sort is 422
    ``bad-cursor``). Pages never skip or repeat a task while tasks are added."""
    rows, next_cursor = await service.list_tasks(session, actor, params, datetime.now(UTC))
    return TaskPage(items=await _out(session, rows, actor), next_cursor=next_cursor)


@router.get("/handled", response_model=list[HandledCaseOut])
async def handled_cases(session: SessionDep, actor: CurrentActor) -> list[HandledCaseOut]:
    """Cases in your area, still under way, in which you completed a task and whose next step
    is someone else's, the applicant's or a clock's (我经办的案件), most recently handled
    first: each with its next step (``next``, as in a completion's answer)."""
    return await followup.handled_cases(session, actor)


@router.get("/{task_id}/next", response_model=NextStepOut, responses=NOT_FOUND)
async def next_step(task_id: TaskIdPath, session: SessionDep, actor: CurrentActor) -> NextStepOut:
    """The next step of the task's case as it is now: ask again when a completion answered
    ``next.state`` = ``pending``."""
    return await followup.next_step(session, actor, task_id)


@router.get("/counts", response_model=TaskCountsOut)
async def task_counts(
    session: SessionDep,
    actor: CurrentActor,
    cap: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> TaskCountsOut:
    """Open tasks per view, for badges (exact below ``cap``; ``cap`` means "cap or more")."""
    counts = await service.counts(session, actor, cap=cap)
    return TaskCountsOut(**counts, cap=cap)


@router.post(
    "/next",
    response_model=None,
    responses={
        200: {"model": TaskOut, "description": "The task, now claimed by you"},
        204: {"description": "Nothing waiting in your groups"},
    },
)
async def next_task(session: SessionDep, actor: CurrentActor) -> TaskOut | Response:
    """Claim the most urgent unassigned open task of your groups (priority desc, due_at, id),
    atomically: two concurrent calls never get the same task."""
    task = await service.claim_next(session, actor)
    if task is None:
        return Response(status_code=204)
    return await _one(session, task, actor)


@router.post("/bulk/claim", response_model=BulkOut)
async def bulk_claim(body: BulkClaimIn, session: SessionDep, actor: CurrentActor) -> BulkOut:
    """Claim up to 100 tasks; each item is atomic, the batch is not. Per-id ``result``:
    claimed, conflict (with ``holder`` or ``reason`` task-closed), not_found, not_allowed."""
    return BulkOut(results=await service.bulk_claim(session, actor, body.task_ids))


@router.post(
    "/bulk/reassign",
    response_model=BulkOut,
    responses={
        403: {"description": "Supervisors only", **PROBLEM},
        422: {"description": "The user cannot be assigned tasks here", **PROBLEM},
    },
)
async def bulk_reassign(body: BulkReassignIn, session: SessionDep, actor: CurrentActor) -> BulkOut:
    """Supervisors: reassign up to 100 tasks to one user; per-id ``result``: reassigned,
    conflict (closed), not_found, not_allowed (the user is not in that task's group)."""
    results = await service.bulk_reassign(session, actor, body.task_ids, body.user_id)
    return BulkOut(results=results)


@router.get("/{task_id}", response_model=TaskOut, responses=NOT_FOUND)
async def get_task(task_id: TaskIdPath, session: SessionDep, actor: CurrentActor) -> TaskOut:
    """The task, with its case's pre-check explained (``pre_check_explanation``) when the case
    has one and lies in your subtree."""
    task = await service.get_task(session, actor, task_id)
    explained = await pre_check.for_task(session, actor, task)
    return (await _one(session, task, actor)).model_copy(
        update={"pre_check_explanation": explained}
    )


@router.post(
    "/{task_id}/claim",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        403: {"description": "Not in the task's group", **PROBLEM},
        409: {"description": "task-claimed (with holder) or task-closed", **PROBLEM},
    },
)
async def claim_task(task_id: TaskIdPath, session: SessionDep, actor: CurrentActor) -> TaskOut:
    """Claim the task (compare-and-set): of concurrent claims exactly one wins; the others
    get 409 ``task-claimed`` with the ``holder`` {id, display_name}."""
    return await _one(session, await service.claim(session, actor, task_id), actor)


@router.post(
    "/{task_id}/unclaim",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        403: {"description": "Not the holder", **PROBLEM},
        409: {"description": "task-closed, or not claimed", **PROBLEM},
    },
)
async def unclaim_task(task_id: TaskIdPath, session: SessionDep, actor: CurrentActor) -> TaskOut:
    """Release the claim (the holder, or a supervisor)."""
    return await _one(session, await service.unclaim(session, actor, task_id), actor)


@router.post(
    "/{task_id}/reassign",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        403: {"description": "Supervisors only", **PROBLEM},
        409: {"description": "task-closed", **PROBLEM},
        422: {"description": "The user is not in the task's group", **PROBLEM},
    },
)
async def reassign_task(
    task_id: TaskIdPath, body: ReassignIn, session: SessionDep, actor: CurrentActor
) -> TaskOut:
    """Supervisors: assign the task to a member of its group."""
    return await _one(session, await service.reassign(session, actor, task_id, body.user_id), actor)


@router.post(
    "/{task_id}/return",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        403: {"description": "Supervisors only", **PROBLEM},
        409: {"description": "task-closed, or not claimed", **PROBLEM},
    },
)
async def return_task(task_id: TaskIdPath, session: SessionDep, actor: CurrentActor) -> TaskOut:
    """Supervisors: return the task to its group's queue (clear the assignee)."""
    return await _one(session, await service.return_to_queue(session, actor, task_id), actor)


@router.get(
    "/{task_id}/verifiable-facts",
    response_model=list[VerifiableFactOut],
    responses=NOT_FOUND,
)
async def verifiable_facts(
    task_id: TaskIdPath, session: SessionDep, actor: CurrentActor
) -> list[VerifiableFactOut]:
    """The facts this decision task lets its officer verify: those the pre-check leaves
    unknown (待核实), of the case's policy pack, that this stage may check. Send their values
    in the completion's ``verified_facts``."""
    return await service.verifiable_facts(session, actor, task_id)


@router.get("/{task_id}/comments", response_model=list[CommentOut], responses=NOT_FOUND)
async def list_comments(
    task_id: TaskIdPath, session: SessionDep, actor: CurrentActor
) -> list[CommentOut]:
    """The task's comments, oldest first (plain text: escape when rendering)."""
    return [_comment_out(c, a) for c, a in await service.comments(session, actor, task_id)]


@router.post("/{task_id}/comments", response_model=CommentOut, status_code=201, responses=NOT_FOUND)
async def add_comment(
    task_id: TaskIdPath, body: CommentIn, session: SessionDep, actor: CurrentActor
) -> CommentOut:
    """Comment on a task you can see (at most 2000 characters, stored as typed)."""
    comment, author = await service.add_comment(session, actor, task_id, body)
    return _comment_out(comment, author)


@router.post(
    "/{task_id}/complete",
    response_model=CompleteTaskOut,
    responses={
        **NOT_FOUND,
        409: {"description": "task-closed, task-claimed", **PROBLEM},
        422: {"description": "bad-outcome, missing-fields, bad-field", **PROBLEM},
    },
)
async def complete_task(
    task_id: TaskIdPath,
    body: CompleteTaskIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
    prefer: Annotated[str | None, Header(max_length=200)] = None,
) -> CompleteTaskOut:
    """Deliver the decision to the case's workflow. Send an ``Idempotency-Key`` header: a
    repeat with the same key returns the first result; a completion of a closed task is 409
    ``task-closed``; a task claimed by someone else is 409 ``task-claimed`` (an unclaimed
    task may be completed directly by a member of its group).

    Send ``Prefer: wait=N`` (RFC 7240; N seconds, at most 5) and the answer carries ``next``,
    what follows, once the workflow recorded it or N seconds passed: ``state`` task (``tasks``:
    the next task, its place, role, holder and ``due_at``), clock (``clock``: the publicity and
    when it ends), closed (the procedure concluded; ``case_status``), none (nothing open, the
    case goes on), or pending (not recorded yet); ``case_url`` links the case. Without it the
    answer does not wait and ``next`` is null: ``GET /api/v1/tasks/{task_id}/next`` reads it.
    ``next`` is read when the answer is written: a repeat under the same key returns the first
    decision's result with the case's next step as it is then."""
    _, body_out = await service.complete_task(
        session,
        temporal,
        actor,
        task_id,
        body,
        idempotency_key=idempotency_key or str(uuid.uuid4()),
    )
    out = CompleteTaskOut(**body_out)
    wait = followup.preferred_wait(prefer)
    if wait is not None:
        out.next = await followup.after_completion(session, actor, task_id, wait=wait)
    return out
