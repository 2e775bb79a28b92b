"""Supervision (督导): SLA figures of the caller's jurisdiction subtree for supervisors (role
``supervisor``; ``admin`` may read too; anyone else gets 403 ``actor-not-allowed``).

Every endpoint takes ``jurisdiction`` (a code) to drill down into a place inside the caller's
subtree (404 ``not-found`` outside it or unknown), and periods as ``from``/``to`` Shanghai
dates, both inclusive (default: the 30 days ending today; at most about three years). The
figures and their definitions are in :mod:`application.services.supervision`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from application.http import SessionDep, SupervisorActor
from application.schemas.common import IsoDate
from application.services import supervision as service
from application.services.supervision import (
    AgingOut,
    BreachPage,
    CaseListOut,
    DeadlinesOut,
    EscalationPage,
    HeadlineOut,
    OverviewOut,
    WorkloadOut,
)

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Supervisors and administrators only", **PROBLEM},
    404: {"description": "No such place in your jurisdiction", **PROBLEM},
    422: {"description": "Invalid parameters (validation-error, bad-cursor)", **PROBLEM},
}

JurisdictionCode = Annotated[
    str | None,
    Query(
        max_length=12,
        pattern=r"^[0-9A-Za-z]{1,12}$",
        description="Drill down into this place (a code inside your jurisdiction)",
    ),
]
From = Annotated[
    IsoDate | None,
    Query(alias="from", description="First day of the period (Shanghai date, inclusive)"),
]
To = Annotated[
    IsoDate | None, Query(description="Last day of the period (Shanghai date, inclusive)")
]
Cursor = Annotated[
    str | None,
    Query(max_length=400, description="The next_cursor of the previous page"),
]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get(
    "/headline",
    summary="The dashboard's top figures: overdue, at risk, breaches, on-time rate, cases by stage",
    response_model=HeadlineOut,
    responses=RESPONSES,
)
async def headline(
    session: SessionDep,
    actor: SupervisorActor,
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
) -> HeadlineOut:
    """Open tasks past their goal (``overdue``, of which ``past_deadline``) and ``at_risk`` now,
    the breach records of the period, the on-time identification rate of the cases decided
    (identified or refused) in the period, and the cases in identification now by stage —
    counted from the cases, so those waiting with no task (publicity, a supplement from the
    applicant) count too. The lists behind the figures: ``/cases`` (by stage, past deadline,
    decided), ``/breaches``, and the inbox's at-risk and breached views."""
    now = datetime.now(UTC)
    return await service.headline(
        session, actor, code=jurisdiction, span=service.period(from_, to, now), now=now
    )


@router.get(
    "/cases",
    summary="The cases behind a headline figure (by stage, past deadline, decided)",
    response_model=CaseListOut,
    responses=RESPONSES,
)
async def cases(
    session: SessionDep,
    actor: SupervisorActor,
    which: Literal["stage", "past_deadline", "decided"],
    stage: Annotated[
        str | None,
        Query(max_length=30, pattern=r"^[a-z_]+$", description="which=stage: the stage code"),
    ] = None,
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
) -> CaseListOut:
    """At most 100 cases of the area: in identification at ``stage`` (oldest change first),
    pending past their identification deadline (earliest first) or decided in the period
    (latest first), each with its stage, deadline, decision and whether a task is open."""
    now = datetime.now(UTC)
    return await service.case_list(
        session,
        actor,
        which=which,
        code=jurisdiction,
        stage=stage,
        span=service.period(from_, to, now),
        now=now,
    )


@router.get(
    "/overview",
    summary="Open tasks by SLA state and breach records, by place, kind or officer",
    response_model=OverviewOut,
    responses=RESPONSES,
)
async def overview(
    session: SessionDep,
    actor: SupervisorActor,
    group_by: Literal["jurisdiction", "kind", "officer"] = "jurisdiction",
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
) -> OverviewOut:
    """Open tasks now (open, at risk, breached, past deadline, unassigned) and the breach
    records of the period, grouped by the place's direct children (plus the place itself when
    tasks sit there), by task kind, or by officer (unassigned as its own row), with totals."""
    now = datetime.now(UTC)
    return await service.overview(
        session,
        actor,
        group_by=group_by,
        code=jurisdiction,
        span=service.period(from_, to, now),
        now=now,
    )


@router.get(
    "/aging",
    summary="How long open tasks have waited, and the oldest",
    response_model=AgingOut,
    responses=RESPONSES,
)
async def aging(
    session: SessionDep,
    actor: SupervisorActor,
    by: Literal["jurisdiction", "kind"] = "jurisdiction",
    jurisdiction: JurisdictionCode = None,
    oldest: Annotated[int, Query(ge=0, le=100, description="How many oldest tasks to list")] = 10,
) -> AgingOut:
    """How long open tasks have waited (<1, 1–3, 3–7, 7–15, 15–30, >30 days) by child place
    or kind, and the longest-waiting tasks (case, kind, applicant, wait, assignee)."""
    return await service.aging(
        session, actor, by=by, code=jurisdiction, oldest=oldest, now=datetime.now(UTC)
    )


@router.get(
    "/workload",
    summary="Each officer's load and completions",
    response_model=WorkloadOut,
    responses=RESPONSES,
)
async def workload(
    session: SessionDep,
    actor: SupervisorActor,
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
) -> WorkloadOut:
    """Per officer of the area (also those without work): open tasks assigned now, at risk,
    breached, completed in the period and the median hours from creation to completion."""
    now = datetime.now(UTC)
    return await service.workload(
        session, actor, code=jurisdiction, span=service.period(from_, to, now), now=now
    )


@router.get(
    "/escalations",
    summary="Escalation tasks (督办) and how they were handled",
    response_model=EscalationPage,
    responses=RESPONSES,
)
async def escalations(
    session: SessionDep,
    actor: SupervisorActor,
    state: Literal["open", "handled", "all"] = "open",
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> EscalationPage:
    """Escalation tasks (督办) of the area, newest first: what they escalate (case, original
    task or clock, level), when opened, when handled and by whom; ``counts`` of those opened
    in the period (all time without ``from``/``to``) by state. Keyset pages: pass
    ``next_cursor`` back as ``cursor``."""
    now = datetime.now(UTC)
    return await service.escalations(
        session,
        actor,
        state=state,
        code=jurisdiction,
        span=service.optional_period(from_, to, now),
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/identification-deadlines",
    summary="Identification deadline (认定时限) hit rate per district",
    response_model=DeadlinesOut,
    responses=RESPONSES,
)
async def identification_deadlines(
    session: SessionDep,
    actor: SupervisorActor,
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
) -> DeadlinesOut:
    """The identification deadline (认定时限) hit rate of cases whose deadline falls in the
    period: concluded on time, late, pending past the deadline, pending within it, per
    district and per direct child of the place."""
    now = datetime.now(UTC)
    return await service.identification_deadlines(
        session, actor, code=jurisdiction, span=service.period(from_, to, now), now=now
    )


@router.get(
    "/breaches",
    summary="Breach records, newest first (keyset pages)",
    response_model=BreachPage,
    responses=RESPONSES,
)
async def breaches(
    session: SessionDep,
    actor: SupervisorActor,
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
    clock: Annotated[
        str | None,
        Query(
            max_length=60,
            pattern=r"^[a-z_:]+$",
            description="task:<kind> or identification_deadline",
        ),
    ] = None,
    event: Literal["breached", "past_deadline"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> BreachPage:
    """Breach records (超时/逾期) of the area, recorded where they were escalated to, newest
    first, optionally within a period (all time without ``from``/``to``) and of one clock or
    event. Keyset pages: pass ``next_cursor`` back as ``cursor``; records added meanwhile
    never make a page skip or repeat one."""
    now = datetime.now(UTC)
    return await service.breaches(
        session,
        actor,
        code=jurisdiction,
        span=service.optional_period(from_, to, now),
        clock=clock,
        event=event,
        cursor=cursor,
        limit=limit,
    )
