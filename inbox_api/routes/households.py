"""Zero-employment households (零就业家庭), issue #8: register (identify) a household, list and
read the households of your area, record a member employed (the household is cleared), start
discovery over the imported department lists, and — for supervisors — the figures by place.

- ``POST /api/v1/households``: an officer registers a household with its members and facts for
  a place in their area; judged by the definition of the place's pack (422
  ``not-zero-employment`` names each condition not met, with the clause); the household is
  identified now and its ``HouseholdWorkflow`` starts (the plan task and the one-month
  clearance task open in the street's inbox).
- ``GET /api/v1/households`` (filters ``status``, ``jurisdiction``, ``overdue``) and
  ``GET /api/v1/households/{id}`` (members with masked ID numbers, status history, deadline,
  days left, open tasks).
- ``POST /api/v1/households/{id}/employment``: a member employed clears the household
  (``Idempotency-Key`` is the update id; 409 ``household-closed``, 422 ``not-a-member``).
- ``POST /api/v1/households/discovery``: a county reviewer or administrator starts discovery for
  a place of their area.
- ``GET /api/v1/supervision/households``: open, days left, cleared within the month or late,
  overdue — by place, with ``jurisdiction`` to drill down and the period as ``from``/``to``.

Rules in :mod:`application.services.households`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from application.http import CurrentActor, SessionDep, SettingsDep, SupervisorActor, TemporalDep
from application.schemas.households import (
    DiscoveryIn,
    DiscoveryOut,
    EmploymentIn,
    EmploymentOut,
    EventOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdsOut,
    HouseholdsQuery,
    MemberOut,
    RegisteredOut,
    TaskRefOut,
    Way,
)
from application.services import households as service, supervision
from application.services.households import HouseholdFiguresOut
from domain.labels import label
from inbox_api.routes.supervision import RESPONSES, From, JurisdictionCode, To
from workflows.contracts import EMPLOYMENT_WAYS

router = APIRouter(prefix="/api/v1", tags=["households"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
HouseholdId = Annotated[int, Path(ge=1, le=2**62)]
IdempotencyKey = Annotated[str | None, Header(max_length=100, pattern=r"^[\x21-\x7e]+$")]
assert set(Way.__args__) == set(EMPLOYMENT_WAYS)  # type: ignore[attr-defined]


def _out(v: service.HouseholdView, *, full: bool) -> HouseholdOut:
    now = dt.datetime.now(dt.UTC)
    r = v.row
    return HouseholdOut(
        id=r.id,
        case_id=r.case_id,
        head_name=v.head_name,
        jurisdiction_code=r.jurisdiction_code,
        jurisdiction_name=v.place_name,
        policy_pack_id=r.policy_pack_id,
        definition=r.definition_code,
        definition_name=v.definition_name,
        definition_source=v.definition_source,
        urban=r.urban,
        source=r.source,
        status=r.status,
        status_name=label("household_status", r.status),
        overdue=r.overdue,
        discovered_at=r.discovered_at,
        identified_at=r.identified_at,
        deadline_at=r.deadline_at,
        days_left=v.days_left(now),
        cleared_at=r.cleared_at,
        clearing_member_id=r.clearing_member_id,
        member_count=len(v.members),
        members=[
            MemberOut(
                id=m.id,
                name=m.name,
                id_number=service.mask_id_number(m.id_number),
                head=m.head,
                case_id=m.case_id,
                employed_on=m.employed_on,
                employment=m.employment,
                facts=dict(m.facts or {}),
            )
            for m in v.members
        ],
        history=[
            EventOut(at=e.at, kind=e.kind, status=e.status, actor=e.actor, summary=e.summary)
            for e in v.events
        ]
        if full
        else None,
        open_tasks=[
            TaskRefOut(
                id=t.id,
                kind=t.kind,
                kind_name=label("task_kind", t.kind),
                due_at=t.due_at,
                deadline_at=t.deadline_at,
            )
            for t in v.open_tasks
        ]
        if full
        else None,
    )


@router.post(
    "/households",
    status_code=201,
    response_model=RegisteredOut,
    summary="Register (identify) a zero-employment household",
    responses={
        403: {"description": "Not an officer, county reviewer or administrator", **PROBLEM},
        404: {"description": "A place outside your area", **PROBLEM},
        409: {"description": "`household-exists`: a member is in an open household", **PROBLEM},
        422: {
            "description": "Invalid fields (bad ID numbers by member), `not-zero-employment` "
            "(`errors` name each condition not met) or `no-household-definition`",
            **PROBLEM,
        },
    },
)
async def register_household(
    body: HouseholdIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> RegisteredOut:
    """Judge the household by the definition of the pack applying at its place; when it is
    zero-employment it is identified now and its workflow starts: the assistance plan task and
    the one-month clearance task open for the street's officers."""
    service.check_may_register(actor)
    temporal = await request.app.state.temporal.get()
    done = await service.register(
        session,
        request.app.state.sessions,
        temporal,
        settings.temporal_task_queue,
        actor,
        body,
    )
    view = await service.get_household(session, actor, done.household.id)
    out = _out(view, full=True)
    return RegisteredOut(**out.model_dump(), workflow_started=done.started)


@router.get(
    "/households",
    response_model=HouseholdsOut,
    summary="The zero-employment households of your area",
    responses={404: {"description": "A place outside your area", **PROBLEM}},
)
async def list_households(
    session: SessionDep, actor: CurrentActor, params: Annotated[HouseholdsQuery, Query()]
) -> HouseholdsOut:
    """Open households first (nearest deadline first), then the others, newest first. ID
    numbers are masked."""
    views = await service.list_households(
        session,
        actor,
        status=params.status,
        jurisdiction=params.jurisdiction,
        overdue=params.overdue,
        limit=params.limit,
    )
    return HouseholdsOut(items=[_out(v, full=False) for v in views])


@router.get(
    "/households/{household_id}",
    response_model=HouseholdOut,
    summary="A zero-employment household",
    responses={404: {"description": "No such household in your area", **PROBLEM}},
)
async def get_household(
    household_id: HouseholdId, session: SessionDep, actor: CurrentActor
) -> HouseholdOut:
    """The household, its members (ID numbers masked), its status history, its deadline and
    the days left, and its open tasks."""
    return _out(await service.get_household(session, actor, household_id), full=True)


@router.post(
    "/households/{household_id}/employment",
    status_code=201,
    response_model=EmploymentOut,
    summary="Record a member employed (clears the household)",
    responses={
        403: {"description": "Not an officer, county reviewer or administrator", **PROBLEM},
        404: {"description": "No such household in your area", **PROBLEM},
        409: {"description": "`household-closed`: not (or no longer) identified", **PROBLEM},
        422: {
            "description": "`not-a-member`, `bad-field`, invalid fields, or "
            "`idempotency-key-reused` for another request",
            **PROBLEM,
        },
    },
)
async def record_employment(
    household_id: HouseholdId,
    body: EmploymentIn,
    session: SessionDep,
    temporal: TemporalDep,
    actor: CurrentActor,
    idempotency_key: IdempotencyKey = None,
) -> EmploymentOut:
    """The household is cleared the moment one member is employed; members identified on the
    household basis go to exit review, the others carry on."""
    done = await service.record_employment(
        session,
        temporal,
        actor,
        household_id,
        body,
        idempotency_key,
    )
    return EmploymentOut(id=done.id, handling=done.handling, household_id=done.household_id)


@router.post(
    "/households/discovery",
    response_model=DiscoveryOut,
    summary="Discover households from the imported department lists",
    responses={
        202: {"description": "Started, still running", "model": DiscoveryOut},
        403: {"description": "Not a county reviewer or administrator", **PROBLEM},
        404: {"description": "A place outside your area", **PROBLEM},
    },
)
async def discover(
    body: DiscoveryIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    actor: CurrentActor,
) -> DiscoveryOut:
    """Compare the minimum-living-allowance list with the employment and unemployment lists
    for the place: each household that looks zero-employment and has no open household gets a
    verification task for its street officer. Running it again opens nothing twice."""
    done = await service.discover(
        session, temporal, settings.temporal_task_queue, actor, body.jurisdiction
    )
    if not done.finished:
        response.status_code = 202
    return DiscoveryOut(
        workflow_id=done.workflow_id,
        jurisdiction=done.jurisdiction,
        finished=done.finished,
        started=done.started,
    )


@router.get(
    "/supervision/households",
    response_model=HouseholdFiguresOut,
    summary="Zero-employment households: open, days left, cleared within the month or late",
    tags=["supervision"],
    responses=RESPONSES,
)
async def household_figures(
    session: SessionDep,
    actor: SupervisorActor,
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
) -> HouseholdFiguresOut:
    """Per direct child of the place (and the place itself when households sit there) and in
    total: open households now (awaiting verification, identified), due within 7 days,
    overdue, the fewest days left; and in the period those cleared within their month, those
    cleared late and those found not zero-employment."""
    now = dt.datetime.now(dt.UTC)
    return await service.figures(
        session, actor, code=jurisdiction, span=supervision.period(from_, to, now), now=now
    )
