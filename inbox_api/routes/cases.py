"""Cases (案件): the detail view with its timeline. The full ID number appears only here, and
every such view is written to the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from inbox_api.deps import CurrentActor, SessionDep, SettingsDep, TemporalDep
from inbox_api.services import cases as case_service
from store import repos

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class TimelineEntry(BaseModel):
    at: datetime
    actor: str
    kind: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class NoticeOut(BaseModel):
    id: int
    kind: str
    title: str
    body: dict[str, Any]
    issued_at: datetime


class CaseOut(BaseModel):
    id: str
    workflow_id: str
    workflow_url: str
    policy_pack_id: str
    policy_pack_ref: str
    jurisdiction_code: str
    applicant_name: str
    id_number: str
    channel: str
    status: str
    stage: str | None
    category_code: str | None
    outcome_reason: str | None
    submitted_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    identification_deadline: date | None
    deadline_provisional: bool
    identified_at: datetime | None
    identified_by: str | None
    identifying_agency: str | None
    pre_check: dict[str, Any] | None
    facts: dict[str, Any]
    timeline: list[TimelineEntry]
    notices: list[NoticeOut]


@router.get("/{case_id}", response_model=CaseOut)
async def get_case(
    case_id: str, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> CaseOut:
    case = await case_service.case_for(session, actor, case_id)
    await case_service.audit_full_view(session, actor, case)
    events = await repos.case_events(session, case.id)
    return CaseOut(
        id=case.id,
        workflow_id=case.workflow_id,
        workflow_url=case_service.workflow_url(settings, case),
        policy_pack_id=case.policy_pack_id,
        policy_pack_ref=case.policy_pack_ref,
        jurisdiction_code=case.jurisdiction_code,
        applicant_name=case.applicant_name,
        id_number=case.id_number,
        channel=case.channel,
        status=case.status,
        stage=case.stage,
        category_code=case.category_code,
        outcome_reason=case.outcome_reason,
        submitted_at=case.submitted_at,
        accepted_at=case.accepted_at,
        closed_at=case.closed_at,
        identification_deadline=case.identification_deadline,
        deadline_provisional=case.deadline_provisional,
        identified_at=case.identified_at,
        identified_by=case.identified_by,
        identifying_agency=case.identifying_agency,
        pre_check=case.pre_check,
        facts=case.facts,
        timeline=[
            TimelineEntry(
                at=e.at,
                actor=e.actor,
                kind=e.kind,
                summary=e.summary,
                before=e.before,
                after=e.after,
            )
            for e in events
        ],
        notices=[
            NoticeOut(id=n.id, kind=n.kind, title=n.title, body=n.body, issued_at=n.issued_at)
            for n in await repos.case_notices(session, case.id)
        ],
    )


class ObjectionIn(BaseModel):
    content: str = Field(min_length=1, max_length=2000, description="异议内容")
    raised_by: str = Field(min_length=1, max_length=100, description="异议人")


class ObjectionOut(BaseModel):
    task_id: str


class WithdrawIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="撤回原因")


IdempotencyKey = Annotated[str | None, Header(max_length=100)]


@router.post("/{case_id}/objections", status_code=201, response_model=ObjectionOut)
async def raise_objection(
    case_id: str,
    body: ObjectionIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> ObjectionOut:
    """Record an objection (异议) received during publicity; it opens an objection task.
    Outside publicity: 409 not-in-publicity."""
    task_id = await case_service.raise_objection(
        session,
        temporal,
        actor,
        case_id,
        content=body.content,
        raised_by=body.raised_by,
        key=idempotency_key,
    )
    return ObjectionOut(task_id=task_id)


@router.post("/{case_id}/withdraw", status_code=202)
async def withdraw(
    case_id: str,
    body: WithdrawIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, str]:
    """The applicant withdraws (撤回申请): open tasks are cancelled and the case closes."""
    await case_service.withdraw(
        session, temporal, actor, case_id, reason=body.reason, key=idempotency_key
    )
    return {"case_id": case_id, "status": "withdrawing"}
