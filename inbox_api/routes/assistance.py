"""A person's assistance (就业援助 / 动态管理) under their case: GET the whole of it (plan,
standards with counts against quotas, clocks, contacts, services, refusals, subsidies, exit,
recovery and the pack's exit reasons), and POST what officers record — contacts, services,
refusals, subsidies and exit reasons (an automatic reason such as employment registration
exits at once; a manual one opens a verification task). Task completions (plan, visits,
reviews) go through ``/api/v1/tasks/{id}/complete`` like every task.

Every POST takes an ``Idempotency-Key`` (the Temporal update id): a retried request is recorded
once; the same key for a different request is 422 ``idempotency-key-reused``. A case outside the
caller's subtree is 404; a case not in assistance is 409 ``not-in-assistance``."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field, field_validator

from domain.assistance import fen_to_yuan
from domain.policy.model import ServiceKind
from inbox_api.deps import CurrentActor, SessionDep, TemporalDep
from inbox_api.routes.cases import CaseId
from inbox_api.schemas import IsoDate
from inbox_api.services import assistance as service
from inbox_api.services.cases import task_kind_name
from workflows import contracts as c

router = APIRouter(prefix="/api/v1/cases/{case_id}/assistance", tags=["assistance"])

# The pack model's service kinds (one list for the packs, the workflow and the API).
ServiceKindName = ServiceKind
ChannelName = Literal["phone", "visit", "came_in", "online"]
CODE = r"^[a-z][a-z0-9_]*$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
IdempotencyKey = Annotated[str | None, Header(max_length=100, pattern=r"^[\x21-\x7e]+$")]

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "not-in-assistance: the case is not (or no longer) in assistance"}
}


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


# --- the view ------------------------------------------------------------------------------


class QuotaOut(BaseModel):
    kind: str
    required: int
    delivered: int


class StandardOut(BaseModel):
    """A service standard of the pack: counts delivered against its quotas. ``applies`` when it
    has no condition or the plan chose it (jilin 四(二) 对具有市场就业能力的...)."""

    code: str
    name: str
    applies_to: str | None
    applies: bool
    met: bool
    quotas: list[QuotaOut]
    source: str


class ClocksOut(BaseModel):
    next_visit_at: datetime | None
    contact_anchor_at: datetime | None
    contact_reminder_at: datetime | None
    contact_limit_at: datetime | None
    standard_deadline_at: datetime | None
    service_gap_at: datetime | None
    refusals_in_window: int
    refusal_limit: int | None
    refusal_window_months: int


class SubsidyPeriodOut(BaseModel):
    months_this_identification: int
    months_before: int
    cap_months: int | None
    cumulative: bool


class EntryOut(BaseModel):
    id: str
    kind: Literal["contact", "service", "refusal"]
    channel: str | None
    own: bool | None
    service_kind: str | None
    note: str
    at: datetime
    recorded_by: str


class SubsidyOut(BaseModel):
    id: str
    kind: str
    start_month: date
    months: int
    monthly_amount: str
    granted_at: datetime
    granted_by: str


class ExitOut(BaseModel):
    reason_code: str
    reason_name: str
    mode: str
    may_reapply: bool
    fraud: bool
    exited_on: date
    decided_by: str
    detail: str
    source: str


class RecoveryLineOut(BaseModel):
    kind: str
    month: date
    amount: str


class RecoveryOut(BaseModel):
    """Subsidies to recover (潍坊 五(四)): from the month after the one in which the status
    should have ended, to the cancellation."""

    should_have_ended_on: date
    from_month: date
    cancelled_on: date
    total_amount: str
    lines: list[RecoveryLineOut]
    rule: str
    basis: str


class ExitReasonOut(BaseModel):
    code: str
    name: str
    mode: Literal["automatic", "manual"]
    trigger: str | None
    may_reapply: bool
    fraud: bool
    source: str


class AssistanceTaskOut(BaseModel):
    id: str
    kind: str
    kind_name: str
    due_at: datetime


class AssistanceOut(BaseModel):
    case_id: str
    workflow_id: str
    status: Literal["active", "exited"]
    started_at: datetime
    policy_pack_ref: str
    # 山东 二: difficulty_person | rural_surplus_labour | low_income_graduate |
    # temporary_assistance (domain/target_groups.py); a temporary assistance ends at ends_at.
    target_group: str = "difficulty_person"
    ends_at: datetime | None = None
    plan: dict[str, Any] | None
    agreement: bool
    standards: list[StandardOut]
    services_delivered: dict[str, int]
    contact_count: int
    visit_count: int
    last_contact_at: datetime | None
    clocks: ClocksOut
    subsidy_period: SubsidyPeriodOut
    contacts: list[EntryOut]
    services: list[EntryOut]
    refusals: list[EntryOut]
    subsidies: list[SubsidyOut]
    exit: ExitOut | None
    recovery: RecoveryOut | None
    exit_reasons: list[ExitReasonOut]
    open_tasks: list[AssistanceTaskOut]


@router.get(
    "",
    response_model=AssistanceOut,
    summary="A person's assistance",
    responses=CONFLICT,
)
async def get_assistance(
    case_id: CaseId, session: SessionDep, actor: CurrentActor
) -> AssistanceOut:
    """The plan, the standards' progress, the clocks (next visit, contact reminder and limit,
    the standards' deadline, refusals in the window), contacts, services, refusals, subsidies
    and the cumulative period, the exit and any recovery, the pack's exit reasons and the open
    assistance tasks."""
    v = await service.view(session, actor, case_id)
    snap = v.row.snapshot

    def entry(e: Any) -> EntryOut:
        return EntryOut(
            id=e.id,
            kind=e.kind,
            channel=e.channel,
            own=e.own,
            service_kind=e.service_kind,
            note=e.note,
            at=e.at,
            recorded_by=e.recorded_by_name,
        )

    return AssistanceOut(
        case_id=v.case.id,
        workflow_id=v.row.workflow_id,
        status="exited" if v.row.status == "exited" else "active",
        started_at=v.row.started_at,
        policy_pack_ref=v.case.policy_pack_ref,
        target_group=str(snap.get("target_group") or "difficulty_person"),
        ends_at=snap.get("ends_at"),
        plan=snap.get("plan"),
        agreement=bool(snap.get("agreement")),
        standards=[StandardOut.model_validate(s) for s in snap.get("standards", [])],
        services_delivered=dict(snap.get("services", {})),
        contact_count=int(snap.get("contacts", 0)),
        visit_count=int(snap.get("visits", 0)),
        last_contact_at=snap.get("last_contact_at"),
        clocks=ClocksOut.model_validate(snap.get("clocks", {})),
        subsidy_period=SubsidyPeriodOut.model_validate(snap.get("subsidy_period", {})),
        contacts=[entry(e) for e in v.entries if e.kind == "contact"],
        services=[entry(e) for e in v.entries if e.kind == "service"],
        refusals=[entry(e) for e in v.entries if e.kind == "refusal"],
        subsidies=[
            SubsidyOut(
                id=g.id,
                kind=g.kind,
                start_month=g.start_month,
                months=g.months,
                monthly_amount=fen_to_yuan(g.monthly_fen),
                granted_at=g.granted_at,
                granted_by=g.granted_by_name,
            )
            for g in v.subsidies
        ],
        exit=ExitOut(
            reason_code=v.exit.reason_code,
            reason_name=v.exit.reason_name,
            mode=v.exit.mode,
            may_reapply=v.exit.may_reapply,
            fraud=v.exit.fraud,
            exited_on=v.exit.exited_on,
            decided_by=v.exit.decided_by,
            detail=v.exit.detail,
            source=v.exit.source,
        )
        if v.exit
        else None,
        recovery=RecoveryOut(
            should_have_ended_on=v.recovery.should_have_ended_on,
            from_month=v.recovery.from_month,
            cancelled_on=v.recovery.cancelled_on,
            total_amount=fen_to_yuan(v.recovery.total_fen),
            lines=[
                RecoveryLineOut(
                    kind=x["kind"], month=x["month"], amount=fen_to_yuan(int(x["amount_fen"]))
                )
                for x in v.recovery.lines
            ],
            rule=v.recovery.rule,
            basis=v.recovery.basis,
        )
        if v.recovery
        else None,
        exit_reasons=[
            ExitReasonOut(
                code=r.code,
                name=r.name,
                mode=r.mode,
                trigger=r.trigger,
                may_reapply=r.may_reapply,
                fraud=r.fraud,
                source=r.citation,
            )
            for r in v.exit_reasons
        ],
        open_tasks=[
            AssistanceTaskOut(
                id=t.id, kind=t.kind, kind_name=task_kind_name(t.kind), due_at=t.due_at
            )
            for t in v.open_tasks
        ],
    )


# --- what officers record ------------------------------------------------------------------


class RecordOut(BaseModel):
    """``id`` is the record's id (the Idempotency-Key when one was sent). ``handling``:
    ``recorded``; for an exit reason ``exiting`` (automatic: the status ends now) or
    ``exit_review`` (manual: ``task_id`` is the verification task); ``duplicate`` for a
    repeated exit event whose first answer was given by an earlier run of the workflow."""

    id: str
    handling: Literal["recorded", "exiting", "exit_review", "duplicate"]
    task_id: str | None = None


def _out(result: c.RecordResult) -> RecordOut:
    return RecordOut.model_validate(
        {"id": result.id, "handling": result.handling, "task_id": result.task_id}
    )


class ContactIn(BaseModel):
    """A contact with the person: ``own`` when the person made it (came in, called): only
    those reset the contact clock (潍坊 三(一)9 未主动...联系)."""

    channel: ChannelName
    own: bool
    note: str = Field(default="", max_length=1000)

    _plain = field_validator("note")(_plain)


class ServiceIn(BaseModel):
    kind: ServiceKindName
    note: str = Field(default="", max_length=1000)

    _plain = field_validator("note")(_plain)


class RefusalIn(BaseModel):
    service_kind: ServiceKindName
    note: str = Field(default="", max_length=1000)

    _plain = field_validator("note")(_plain)


class SubsidyIn(BaseModel):
    """A subsidy granted: ``kind`` (e.g. ``social_insurance``, ``public_welfare_post``),
    the first month (``YYYY-MM``), the number of months and the monthly amount in yuan."""

    kind: str = Field(min_length=1, max_length=40, pattern=CODE)
    start_month: str = Field(pattern=r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
    months: int = Field(ge=1, le=120)
    monthly_amount: Decimal = Field(ge=0, le=1_000_000, max_digits=9, decimal_places=2)


class ExitEventIn(BaseModel):
    """An exit reason of the pack (see ``exit_reasons`` in the GET): automatic reasons
    (employment registration, pension...) end the status at once; manual ones open a
    verification task. For a fraud reason, ``should_have_ended_on`` is the day the status
    should have ended (the recovery runs from the month after)."""

    reason: str = Field(min_length=1, max_length=60, pattern=CODE)
    detail: str = Field(default="", max_length=1000)
    should_have_ended_on: IsoDate | None = Field(
        default=None, ge=date(1990, 1, 1), le=date(2999, 12, 31)
    )

    _plain = field_validator("detail")(_plain)


POST_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "not-in-assistance: the case is not (or no longer) in assistance"},
    422: {"description": "Invalid input, or idempotency-key-reused for another request"},
}


@router.post(
    "/contacts",
    status_code=201,
    response_model=RecordOut,
    summary="Record a contact",
    responses=POST_ERRORS,
)
async def record_contact(
    case_id: CaseId,
    body: ContactIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> RecordOut:
    """A phone call, a visit, the person coming in or online; the person's own contact resets
    the contact clock, any contact closes an open contact reminder."""
    return _out(
        await service.record_contact(
            session,
            temporal,
            actor,
            case_id,
            channel=body.channel,
            own=body.own,
            note=body.note,
            key=idempotency_key,
        )
    )


@router.post(
    "/services",
    status_code=201,
    response_model=RecordOut,
    summary="Record a service delivered",
    responses=POST_ERRORS,
)
async def record_service(
    case_id: CaseId,
    body: ServiceIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> RecordOut:
    """A service delivered (职业指导, 岗位推荐, 职业培训, 创业服务, 公益性岗位, 政策扶持...),
    counted against the pack's standards."""
    return _out(
        await service.record_service(
            session, temporal, actor, case_id, kind=body.kind, note=body.note, key=idempotency_key
        )
    )


@router.post(
    "/refusals",
    status_code=201,
    response_model=RecordOut,
    summary="Record a refused service",
    responses=POST_ERRORS,
)
async def record_refusal(
    case_id: CaseId,
    body: RefusalIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> RecordOut:
    """The person refused a service; the pack's refusal limit (jilin, xinyu: 3 in half a year)
    opens an exit review."""
    return _out(
        await service.record_refusal(
            session,
            temporal,
            actor,
            case_id,
            service_kind=body.service_kind,
            note=body.note,
            key=idempotency_key,
        )
    )


@router.post(
    "/subsidies",
    status_code=201,
    response_model=RecordOut,
    summary="Record a subsidy granted",
    responses={
        **POST_ERRORS,
        422: {
            "description": "Invalid input, subsidy-cap-exceeded (xinyu 第三条(二)), or "
            "idempotency-key-reused"
        },
    },
)
async def grant_subsidy(
    case_id: CaseId,
    body: SubsidyIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> RecordOut:
    """A subsidy granted for a number of months; refused past the pack's cumulative cap
    (422 ``subsidy-cap-exceeded``)."""
    year, month = (int(x) for x in body.start_month.split("-"))
    request = c.SubsidyRequest(
        kind=body.kind,
        start_month=date(year, month, 1),
        months=body.months,
        monthly_fen=int(body.monthly_amount * 100),
    )
    return _out(
        await service.grant_subsidy(
            session, temporal, actor, case_id, request=request, key=idempotency_key
        )
    )


@router.post(
    "/events",
    status_code=202,
    response_model=RecordOut,
    summary="Report an exit reason",
    responses=POST_ERRORS,
)
async def report_exit(
    case_id: CaseId,
    body: ExitEventIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> RecordOut:
    """An event that ends the status for one of the pack's reasons: automatic reasons
    (潍坊 三(二)1 employment registration, 3 pension/incapacity) exit at once and the person is
    told; manual ones open an ``exit_review`` task for the county."""
    request = c.ExitEventRequest(
        reason=body.reason, detail=body.detail, should_have_ended_on=body.should_have_ended_on
    )
    return _out(
        await service.report_exit(
            session, temporal, actor, case_id, request=request, key=idempotency_key
        )
    )
