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

import asyncio
import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from application.actor import Actor
from application.errors import Problem
from application.services import release_before_workflow
from application.services.cases import case_for
from application.services.tasks import field_errors
from domain.policy.model import ExitReason
from store import cases_repo
from store.models import Case, Task
from store.models_assistance import (
    Assistance,
    AssistanceEntry,
    AssistanceExit,
    AssistanceRequest,
    SubsidyGrantRow,
    SubsidyRecovery,
)
from store.packs import pinned_pack
from workflows import contracts as c
from workflows.assistance import AssistanceWorkflow

# The workflow's refusals → (HTTP status, problem type).
UPDATE_ERRORS: dict[str, tuple[int, str]] = {
    c.ERR_NOT_IN_ASSISTANCE: (409, "not-in-assistance"),
    c.ERR_SUBSIDY_CAP: (422, "subsidy-cap-exceeded"),
    c.ERR_BAD_FIELD: (422, "bad-field"),
    c.ERR_MISSING_FIELDS: (422, "missing-fields"),
}
# An update that reaches a run just as it continues as new is retried on the next run.
HANDOVER_ATTEMPTS = 5
_HANDOVER_PAUSE = 0.2

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
    row = await session.get(Assistance, case.id)
    if row is None:
        raise not_in_assistance(case)
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
    pack = await pinned_pack(session, case)
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
        exit=await session.get(AssistanceExit, case.id),
        recovery=await session.get(SubsidyRecovery, case.id),
        exit_reasons=reasons,
        open_tasks=tasks,
    )


async def _send(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    update: Any,
    arg: object,
    key: str | None,
) -> c.RecordResult:
    case = await case_for(session, actor, case_id)
    row = await session.get(Assistance, case.id)
    if row is None or row.status != "active":
        raise not_in_assistance(case)
    workflow_id = row.workflow_id
    if key is not None:
        await _claim_key(session, case.id, key, _fingerprint(update, arg))
    await release_before_workflow(session)
    handle = temporal.get_workflow_handle(workflow_id)
    update_id = key or str(uuid.uuid4())
    for attempt in range(HANDOVER_ATTEMPTS):
        try:
            result: c.RecordResult = await handle.execute_update(update, arg, id=update_id)
            return result
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type in UPDATE_ERRORS:
                status, slug = UPDATE_ERRORS[cause.type]
                problem = Problem(status, slug, "Not accepted by the assistance", cause.message)
                if errors := field_errors(cause):
                    problem.extra["errors"] = errors
                raise problem from None
            raise
        except RPCError as exc:
            running = await _status(handle)
            if running == WorkflowExecutionStatus.RUNNING and attempt + 1 < HANDOVER_ATTEMPTS:
                # The run we reached continued as new meanwhile: the latest run takes it.
                await asyncio.sleep(_HANDOVER_PAUSE)
                continue
            if running is not None:
                raise not_in_assistance(case) from None
            raise Problem(
                503, "temporal-unavailable", "Temporal unavailable", exc.message
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _fingerprint(update: Any, arg: object) -> str:
    """The update and its fields, without who sent it: the same request retried by another
    officer's session is the same request."""
    fields = dataclasses.asdict(arg) if dataclasses.is_dataclass(arg) else arg  # type: ignore[arg-type]
    if isinstance(fields, dict):
        fields = {k: v for k, v in fields.items() if k not in ("actor_id", "actor_name", "at")}
    text = json.dumps(
        [getattr(update, "__name__", str(update)), fields], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


async def _claim_key(session: AsyncSession, case_id: str, key: str, fingerprint: str) -> None:
    """Remember what ``key`` is first used for on this case; 422 ``idempotency-key-reused``
    when it was used for another request."""
    found = await session.get(AssistanceRequest, (case_id, key))
    if found is None:
        try:
            async with session.begin_nested():
                session.add(
                    AssistanceRequest(
                        case_id=case_id,
                        key=key,
                        fingerprint=fingerprint,
                        created_at=datetime.now(UTC),
                    )
                )
            return
        except IntegrityError:  # the same key claimed concurrently: compare with that one
            found = await session.get(AssistanceRequest, (case_id, key))
            assert found is not None
    if found.fingerprint != fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "this Idempotency-Key was already used for another request on this assistance",
        )


async def _status(handle: Any) -> WorkflowExecutionStatus | None:
    try:
        desc = await handle.describe()
    except RPCError:
        return None
    return desc.status  # type: ignore[no-any-return]


async def record_contact(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    *,
    channel: str,
    own: bool,
    note: str,
    key: str | None,
) -> c.RecordResult:
    return await _send(
        session,
        temporal,
        actor,
        case_id,
        AssistanceWorkflow.record_contact,
        c.ContactRequest(channel, own, note, actor.id, actor.display_name),
        key,
    )


async def record_service(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    *,
    kind: str,
    note: str,
    key: str | None,
) -> c.RecordResult:
    return await _send(
        session,
        temporal,
        actor,
        case_id,
        AssistanceWorkflow.record_service,
        c.ServiceRequest(kind, note, actor.id, actor.display_name),
        key,
    )


async def record_refusal(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    *,
    service_kind: str,
    note: str,
    key: str | None,
) -> c.RecordResult:
    return await _send(
        session,
        temporal,
        actor,
        case_id,
        AssistanceWorkflow.record_refusal,
        c.RefusalRequest(service_kind, note, actor.id, actor.display_name),
        key,
    )


async def grant_subsidy(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    *,
    request: c.SubsidyRequest,
    key: str | None,
) -> c.RecordResult:
    request.actor_id, request.actor_name = actor.id, actor.display_name
    return await _send(
        session, temporal, actor, case_id, AssistanceWorkflow.grant_subsidy, request, key
    )


async def report_exit(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    *,
    request: c.ExitEventRequest,
    key: str | None,
) -> c.RecordResult:
    request.actor_id, request.actor_name = actor.id, actor.display_name
    return await _send(
        session, temporal, actor, case_id, AssistanceWorkflow.report_exit, request, key
    )
