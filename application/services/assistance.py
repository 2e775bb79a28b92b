"""Assistance (就业援助 / 动态管理) for the API: what a person's assistance shows (plan,
standards with counts against quotas, contacts, services, refusals, clocks, subsidies, exit,
recovery — read from the projection the assistance workflow writes) and what officers record
(contacts, services, refusals, subsidies, exit reasons), each sent to the workflow as a Temporal
update whose id is the request's ``Idempotency-Key`` (a retry is applied once, even across the
workflow's continue-as-new: the workflow remembers the ids it applied).

Scoping as everywhere: a case outside the caller's subtree is 404 ``not-found``. A case that is
not (or no longer) in assistance is 409 ``not-in-assistance``. The workflow's refusals map to
problem+json with field errors (``bad-field``, ``subsidy-cap-exceeded``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from application import gateway
from application.actor import Actor
from application.errors import Problem
from application.schemas.assistance import (
    ContactIn,
    ExitEventIn,
    RefusalIn,
    ServiceIn,
    SubsidyIn,
)
from application.services import release_before_workflow
from application.services.cases import case_for
from domain.policy.model import ExitReason
from store import cases_repo
from store.models import Case, Task
from store.models_assistance import (
    Assistance,
    AssistanceEntry,
    AssistanceExit,
    SubsidyGrantRow,
    SubsidyRecovery,
)
from store.packs import pack_by_ref, pinned_pack
from workflows import contracts as c
from workflows.assistance import AssistanceWorkflow

ASSISTANCE_TASK_KINDS = frozenset(
    {
        c.TaskKind.ASSISTANCE_PLAN,
        c.TaskKind.ASSISTANCE_VISIT,
        c.TaskKind.CONTACT_REMINDER,
        c.TaskKind.CANCELLATION_REVIEW,
        c.TaskKind.EXIT_REVIEW,
        c.TaskKind.SERVICE_GAP,
        # opened by the district's batch, owned and decided by the person's assistance
        c.TaskKind.QUARTERLY_VERIFICATION,
    }
)


def not_in_assistance(case: Case) -> Problem:
    return Problem(
        409,
        "not-in-assistance",
        "Not in assistance",
        f"case {case.id} is not in assistance (status {case.status})",
    )


@dataclass(frozen=True)
class AssistanceView:
    case: Case
    row: Assistance
    entries: list[AssistanceEntry]
    subsidies: list[SubsidyGrantRow]
    exit: AssistanceExit | None
    recovery: SubsidyRecovery | None
    exit_reasons: list[ExitReason]
    open_tasks: list[Task]


async def view(session: AsyncSession, actor: Actor, case_id: str) -> AssistanceView:
    case = await case_for(session, actor, case_id)
    # The projection, the exit and its recovery in one statement: the workflow writes them in
    # one transaction, and separate reads (each its own snapshot on SQLite outside a
    # transaction, and on PostgreSQL at READ COMMITTED) could show a recovery without the exit
    # it belongs to.
    found = (
        await session.execute(
            select(Assistance, AssistanceExit, SubsidyRecovery)
            .outerjoin(AssistanceExit, AssistanceExit.case_id == Assistance.case_id)
            .outerjoin(SubsidyRecovery, SubsidyRecovery.case_id == Assistance.case_id)
            .where(Assistance.case_id == case.id)
        )
    ).first()
    if found is None:
        raise not_in_assistance(case)
    row, exit_row, recovery_row = found
    entries = list(
        (
            await session.scalars(
                select(AssistanceEntry)
                .where(AssistanceEntry.case_id == case.id)
                .order_by(AssistanceEntry.at, AssistanceEntry.id)
            )
        ).all()
    )
    subsidies = list(
        (
            await session.scalars(
                select(SubsidyGrantRow)
                .where(SubsidyGrantRow.case_id == case.id)
                .order_by(SubsidyGrantRow.granted_at, SubsidyGrantRow.id)
            )
        ).all()
    )
    # The revision that governs the assistance: the case's, or a later one that moved the
    # persons already identified to its rules ([transition], #23).
    governing = row.snapshot.get("pack_ref")
    pack = (
        await pack_by_ref(session, governing)
        if governing and governing != case.policy_pack_ref
        else await pinned_pack(session, case)
    )
    category = case.category_code
    reasons = [r for r in pack.exit_reasons if not r.basis_specific or category in r.basis_specific]
    tasks = [
        t for t in await cases_repo.open_tasks(session, case.id) if t.kind in ASSISTANCE_TASK_KINDS
    ]
    return AssistanceView(
        case=case,
        row=row,
        entries=entries,
        subsidies=subsidies,
        exit=exit_row,
        recovery=recovery_row,
        exit_reasons=reasons,
        open_tasks=tasks,
    )


async def _send(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    method: Any,
    arg: object,
    key: str | None,
) -> c.RecordResult:
    case = await case_for(session, actor, case_id)
    row = await session.get(Assistance, case.id)
    if row is None or row.status != "active":
        raise not_in_assistance(case)
    workflow_id = row.workflow_id
    if key is not None:
        name = getattr(method, "__name__", str(method))
        await gateway.claim_key(
            session,
            f"assistance:{case.id}",
            key,
            gateway.fingerprint(name, arg),
            where=" on this assistance",
        )
    await release_before_workflow(session)

    async def closed() -> Problem:
        return not_in_assistance(case)

    result: c.RecordResult = await gateway.update(
        temporal,
        workflow_id,
        method,
        arg,
        key=key,
        words=_REFUSED,
        closed=closed,
        handover=True,  # the assistance continues as new (years of contacts)
    )
    return result


_REFUSED = gateway.Refusals("Not accepted by the assistance", fields=gateway.field_errors)


async def record_contact(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    contact: ContactIn,
    *,
    key: str | None,
) -> c.RecordResult:
    request = c.ContactRequest(
        contact.channel, contact.own, contact.note, actor.id, actor.display_name
    )
    return await _send(
        session, temporal, actor, case_id, AssistanceWorkflow.record_contact, request, key
    )


async def record_service(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    service: ServiceIn,
    *,
    key: str | None,
) -> c.RecordResult:
    request = c.ServiceRequest(service.kind, service.note, actor.id, actor.display_name)
    return await _send(
        session, temporal, actor, case_id, AssistanceWorkflow.record_service, request, key
    )


async def record_refusal(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    refusal: RefusalIn,
    *,
    key: str | None,
) -> c.RecordResult:
    request = c.RefusalRequest(refusal.service_kind, refusal.note, actor.id, actor.display_name)
    return await _send(
        session, temporal, actor, case_id, AssistanceWorkflow.record_refusal, request, key
    )


async def grant_subsidy(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    subsidy: SubsidyIn,
    *,
    key: str | None,
) -> c.RecordResult:
    year, month = (int(x) for x in subsidy.start_month.split("-"))
    request = c.SubsidyRequest(
        kind=subsidy.kind,
        start_month=date(year, month, 1),
        months=subsidy.months,
        # The workflow counts whole fen (the schema allows two decimal places of a yuan).
        monthly_fen=int(subsidy.monthly_amount * 100),
        actor_id=actor.id,
        actor_name=actor.display_name,
    )
    return await _send(
        session, temporal, actor, case_id, AssistanceWorkflow.grant_subsidy, request, key
    )


async def report_exit(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    event: ExitEventIn,
    *,
    key: str | None,
) -> c.RecordResult:
    request = c.ExitEventRequest(
        reason=event.reason,
        detail=event.detail,
        should_have_ended_on=event.should_have_ended_on,
        actor_id=actor.id,
        actor_name=actor.display_name,
    )
    return await _send(
        session, temporal, actor, case_id, AssistanceWorkflow.report_exit, request, key
    )
