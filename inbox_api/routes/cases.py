"""Cases (案件): the detail view with its timeline. The full ID number appears only here, and
every such view is written to the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from inbox_api.deps import CurrentActor, SessionDep, SettingsDep
from inbox_api.errors import not_found
from store import repos
from store.models import AuditEntry

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class TimelineEntry(BaseModel):
    at: datetime
    actor: str
    kind: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


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
    facts: dict[str, Any]
    timeline: list[TimelineEntry]


@router.get("/{case_id}", response_model=CaseOut)
async def get_case(
    case_id: str, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> CaseOut:
    case = await repos.case_in_scope(session, case_id, actor.jurisdiction_path)
    if case is None:
        raise not_found("case", case_id)
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor_id=actor.id,
            action="view_case_full",
            object_type="case",
            object_id=case.id,
            detail=None,
        )
    )
    events = await repos.case_events(session, case.id)
    return CaseOut(
        id=case.id,
        workflow_id=case.workflow_id,
        workflow_url=f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{case.workflow_id}",
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
    )
