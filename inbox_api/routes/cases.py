"""Cases (案件): the search (masked ID numbers only), the detail view with its timeline,
deadlines, open tasks and documents (the full ID number appears only here, and every such view
is written to the audit log), the notices as printable documents, objections and withdrawal.

Everything is confined to the caller's jurisdiction subtree (any role): a case outside it, or a
notice of another case, is answered 404 ``not-found`` exactly like a missing one. Errors are
RFC 9457 problem+json (``/problems/invalid-id-number``, ``/problems/bad-cursor``,
``/problems/validation-error``, ``/problems/case-closed``, ...)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from application.http import CurrentActor, SessionDep, SettingsDep, TemporalDep
from application.schemas.cases import (
    CaseOut,
    CasePage,
    CaseSearchIn,
    CaseSummaryOut,
    DeadlinesOut,
    DocumentOut,
    NoticeOut,
    ObjectionIn,
    ObjectionOut,
    OpenTaskOut,
    PositionOut,
    ReexaminationIn,
    ReexaminationOut,
    StageClockOut,
    StageStepOut,
    TaskClockOut,
    TimelineEntry,
    WithdrawIn,
    WithdrawOut,
)
from application.services import cases as case_service, pre_check
from domain.case_clock import CasePosition
from domain.labels import label
from store import repos
from store.notices import public_body

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case in your jurisdiction", **PROBLEM},
    422: {"description": "Malformed case id", **PROBLEM},
}

CaseId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=40,
        pattern=case_service.CASE_ID_PATTERN,
        description="The case number (案件编号)",
    ),
]


# --- search ------------------------------------------------------------------------------


@router.get(
    "",
    response_model=CasePage,
    summary="Search cases",
    responses={422: {"description": "Invalid ID number, name, filter or cursor", **PROBLEM}},
)
async def search_cases(
    session: SessionDep, actor: CurrentActor, params: Annotated[CaseSearchIn, Query()]
) -> CasePage:
    """Cases in the caller's subtree (any role) by full ID number, name prefix, status, policy
    pack, category and submission dates, newest first, keyset-paginated (``limit`` ≤ 100):
    pages never skip or repeat a case while cases are added. ID numbers are masked; a search by
    ID number is written to the audit log (with the number's last four characters only)."""
    rows, next_cursor = await case_service.search(
        session,
        actor,
        case_service.CaseSearch(
            id_number=params.id_number,
            name=params.name,
            status=params.status.value if params.status else None,
            policy_pack=params.policy_pack,
            category=params.category,
            submitted_from=params.submitted_from,
            submitted_to=params.submitted_to,
            cursor=params.cursor,
            limit=params.limit,
        ),
        datetime.now(UTC),
    )
    return CasePage(
        items=[
            CaseSummaryOut(
                id=c.id,
                applicant_name=c.applicant_name,
                id_number_masked=case_service.masked_id_number(c),
                jurisdiction_code=c.jurisdiction_code,
                policy_pack_id=c.policy_pack_id,
                status=c.status,
                stage=c.stage,
                category_code=c.category_code,
                submitted_at=c.submitted_at,
                closed_at=c.closed_at,
                identification_deadline=c.identification_deadline,
                deadline_provisional=c.deadline_provisional,
            )
            for c in rows
        ],
        next_cursor=next_cursor,
    )


# --- detail ------------------------------------------------------------------------------


def _notice_out(n: Any) -> NoticeOut:
    # Without the supplement code's salt: the code is the applicant's, printed, not data.
    return NoticeOut(
        id=n.id, kind=n.kind, title=n.title, body=public_body(n), issued_at=n.issued_at
    )


@router.get("/{case_id}", response_model=CaseOut, summary="A case", responses=NOT_FOUND)
async def get_case(
    case_id: CaseId, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> CaseOut:
    """The case with the full ID number (this view is audited), its timeline, its clocks
    (identification deadline; each open task's due and deadline instants and SLA state now),
    its open tasks and its documents (the notices, each with a download URL)."""
    now = datetime.now(UTC)
    case = await case_service.case_for(session, actor, case_id)
    await case_service.audit_full_view(session, actor, case)
    events = await repos.case_events(session, case.id)
    notices = await repos.case_notices(session, case.id)
    tasks = await case_service.open_tasks(session, case)
    states = {t.id: case_service.task_sla_state(t, now) for t, _ in tasks}
    where = await case_service.position(
        session, case, now, events=events, tasks=[t for t, _ in tasks]
    )
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
        pre_check_explanation=await pre_check.explanation(session, case),
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
        notices=[_notice_out(n) for n in notices],
        deadlines=DeadlinesOut(
            identification_deadline=case.identification_deadline,
            identification_deadline_at=case_service.identification_deadline_at(case),
            identification_deadline_provisional=case.deadline_provisional,
            identification_overdue=case_service.identification_overdue(case, now),
            tasks=[
                TaskClockOut(
                    task_id=t.id,
                    kind=t.kind,
                    kind_name=label("task_kind", t.kind),
                    at_risk_at=t.at_risk_at,
                    due_at=t.due_at,
                    deadline_at=t.deadline_at,
                    sla_state=states[t.id],
                    provisional=t.sla_provisional,
                )
                for t, _ in tasks
            ],
        ),
        open_tasks=[
            OpenTaskOut(
                id=t.id,
                kind=t.kind,
                kind_name=label("task_kind", t.kind),
                assignee_id=t.assignee_id,
                assignee_name=name,
                sla_state=states[t.id],
                due_at=t.due_at,
            )
            for t, name in tasks
        ],
        documents=[
            DocumentOut(
                id=n.id,
                kind=n.kind,
                title=n.title,
                issued_at=n.issued_at,
                download_url=case_service.notice_path(case, n),
            )
            for n in notices
        ],
        position=_position_out(where),
    )


def _position_out(where: CasePosition) -> PositionOut:
    clock = where.clock
    return PositionOut(
        stage=where.stage,
        stage_name=label("stage", where.stage) if where.stage else None,
        waiting_on=where.waiting_on,
        clock=(
            StageClockOut(
                kind=clock.kind,
                start=clock.start,
                last_day=clock.last_day,
                working_days_left=clock.working_days_left,
                overdue=clock.overdue,
                provisional=clock.provisional,
                task_id=clock.task_id,
            )
            if clock
            else None
        ),
        stages=[
            StageStepOut(
                kind=s.kind,
                name=s.name,
                name_en=s.name_en,
                state=s.state,
                finished_on=s.finished_on,
                started_on=s.started_on,
                open_until=s.open_until,
            )
            for s in where.steps
        ],
    )


# --- documents ---------------------------------------------------------------------------


@router.get(
    "/{case_id}/notices/{notice_id}",
    response_model=None,
    summary="Download a notice",
    responses={
        200: {
            "description": "The notice: a printable HTML document (an attachment with a UTF-8 "
            "file name), or with format=json the stored notice",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": NoticeOut.model_json_schema()},
            },
        },
        404: {
            "description": "No such case in your jurisdiction, or no such notice of it",
            **PROBLEM,
        },
        422: {"description": "Malformed case id, notice id or format", **PROBLEM},
    },
)
async def download_notice(
    case_id: CaseId,
    notice_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="The notice's id")],
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    format: Annotated[
        Literal["html", "json"], Query(description="html (printable document) or json")
    ] = "html",
) -> Response:
    """A notice served on the applicant (一次性告知书, 不予认定告知书, 不予受理告知书) as a
    printable HTML document — title, applicant and masked ID number, the missing materials or
    the reasons with the clause they rest on, the conclusion, the issuing agency and the date —
    or, with ``format=json``, as stored. Every download is written to the audit log."""
    case, notice = await case_service.notice_for(session, actor, case_id, notice_id)
    case_service.audit_notice_download(session, actor, case, notice, format)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if format == "json":
        return JSONResponse(_notice_out(notice).model_dump(mode="json"), headers=headers)
    html = await case_service.render_notice(session, case, notice, secret_key=settings.secret_key)
    file_name = case_service.notice_file_name(case, notice)
    headers["Content-Disposition"] = case_service.content_disposition(
        file_name, fallback=f"notice-{case.id}-{notice.id}.html"
    )
    return HTMLResponse(html, headers=headers)


# --- actions -----------------------------------------------------------------------------


IdempotencyKey = Annotated[str | None, Header(max_length=100)]

ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case in your jurisdiction", **PROBLEM},
    409: {"description": "Not now: case-closed, not-in-publicity, ...", **PROBLEM},
    422: {"description": "Invalid request", **PROBLEM},
    503: {"description": "The workflow engine cannot be reached", **PROBLEM},
}


@router.post(
    "/{case_id}/objections",
    status_code=201,
    response_model=ObjectionOut,
    summary="Record an objection",
    responses=ACTION_ERRORS,
)
async def raise_objection(
    case_id: CaseId,
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
        body,
        key=idempotency_key,
    )
    return ObjectionOut(task_id=task_id)


@router.post(
    "/{case_id}/reexamination",
    status_code=201,
    response_model=ReexaminationOut,
    summary="Record a request for re-examination",
    responses=ACTION_ERRORS,
)
async def request_reexamination(
    case_id: CaseId,
    body: ReexaminationIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> ReexaminationOut:
    """Record the applicant's request for re-examination (复核申请) after a refusal; it opens
    the re-examining office's task. Only where the case's policy provides one, within its
    period after the refusal: otherwise 409 not-reexaminable."""
    task_id = await case_service.request_reexamination(
        session, temporal, actor, case_id, body, key=idempotency_key
    )
    return ReexaminationOut(task_id=task_id)


@router.post(
    "/{case_id}/withdraw",
    status_code=202,
    response_model=WithdrawOut,
    summary="Withdraw the application",
    responses=ACTION_ERRORS,
)
async def withdraw(
    case_id: CaseId,
    body: WithdrawIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> WithdrawOut:
    """The applicant withdraws (撤回申请): open tasks are cancelled and the case closes."""
    await case_service.withdraw(session, temporal, actor, case_id, body, key=idempotency_key)
    return WithdrawOut(case_id=case_id, status="withdrawing")
