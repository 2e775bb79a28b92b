"""Tasks (待办): list, get, complete."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query

from domain.sla import state_at
from inbox_api.deps import CurrentActor, SessionDep, TemporalDep
from inbox_api.errors import Problem
from inbox_api.schemas import CompleteTaskIn, CompleteTaskOut, TaskOut, TaskPage, mask_tail
from inbox_api.services import tasks as service
from store import repos
from store.models import Task

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


def task_out(task: Task, now: datetime) -> TaskOut:
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
        outcome=task.outcome,
        version=task.version,
    )


def _encode_cursor(task: Task) -> str:
    raw = f"{task.due_at.isoformat()}|{task.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        due, tid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(due), tid
    except ValueError:
        raise Problem(422, "bad-cursor", "Invalid cursor", "the cursor is not valid") from None


@router.get("", response_model=TaskPage)
async def list_tasks(
    session: SessionDep,
    actor: CurrentActor,
    state: Annotated[str, Query(pattern="^(open|completed|cancelled)$")] = "open",
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> TaskPage:
    """Tasks in the caller's jurisdiction subtree, soonest due first (keyset pagination)."""
    rows = await repos.list_tasks(
        session,
        scope_path=actor.jurisdiction_path,
        states=(state,),
        kind=kind,
        limit=limit,
        after=_decode_cursor(cursor) if cursor else None,
    )
    now = datetime.now(UTC)
    return TaskPage(
        items=[task_out(t, now) for t in rows],
        next_cursor=_encode_cursor(rows[-1]) if len(rows) == limit else None,
    )


@router.post("/{task_id}/complete", response_model=CompleteTaskOut)
async def complete_task(
    task_id: str,
    body: CompleteTaskIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> CompleteTaskOut:
    """Deliver the decision to the case's workflow. Send an ``Idempotency-Key`` header: a
    repeat with the same key returns the first result; a completion of a closed task is 409."""
    _, body_out = await service.complete_task(
        session,
        temporal,
        actor,
        task_id,
        outcome=body.outcome,
        fields=body.fields,
        comment=body.comment,
        idempotency_key=idempotency_key or str(uuid.uuid4()),
    )
    return CompleteTaskOut(**body_out)


@router.get("/{task_id}", response_model=TaskOut)
async def get_task(task_id: str, session: SessionDep, actor: CurrentActor) -> TaskOut:
    return task_out(await service.get_task(session, actor, task_id), datetime.now(UTC))
