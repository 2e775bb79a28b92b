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

from typing import Annotated, Any

from fastapi import APIRouter, Header

from application.http import CurrentActor, SessionDep, TemporalDep
from application.schemas.assistance import (
    AssistanceOut,
    AssistanceTaskOut,
    ClocksOut,
    ContactIn,
    EntryOut,
    ExitEventIn,
    ExitOut,
    ExitReasonOut,
    RecordOut,
    RecoveryLineOut,
    RecoveryOut,
    RefusalIn,
    RuleMoveOut,
    ServiceIn,
    StandardOut,
    SubsidyIn,
    SubsidyOut,
    SubsidyPeriodOut,
)
from application.services import assistance as service
from domain.assistance import fen_to_yuan
from domain.labels import label
from inbox_api.routes.cases import CaseId
from workflows import contracts as c

router = APIRouter(prefix="/api/v1/cases/{case_id}/assistance", tags=["assistance"])

IdempotencyKey = Annotated[str | None, Header(max_length=100, pattern=r"^[\x21-\x7e]+$")]

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "not-in-assistance: the case is not (or no longer) in assistance"}
}


# --- the view ------------------------------------------------------------------------------


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
        assistance_pack_ref=str(snap.get("pack_ref") or v.case.policy_pack_ref),
        rule_moves=[RuleMoveOut.model_validate(m) for m in snap.get("rule_moves") or []],
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
                id=t.id, kind=t.kind, kind_name=label("task_kind", t.kind), due_at=t.due_at
            )
            for t in v.open_tasks
        ],
    )


# --- what officers record ------------------------------------------------------------------


def _out(result: c.RecordResult) -> RecordOut:
    return RecordOut.model_validate(
        {"id": result.id, "handling": result.handling, "task_id": result.task_id}
    )


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
            body,
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
        await service.record_service(session, temporal, actor, case_id, body, key=idempotency_key)
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
            body,
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
    return _out(
        await service.grant_subsidy(session, temporal, actor, case_id, body, key=idempotency_key)
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
    return _out(
        await service.report_exit(session, temporal, actor, case_id, body, key=idempotency_key)
    )
