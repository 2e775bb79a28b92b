"""Case actions that go to the case's workflow: objections during publicity (异议) and
withdrawal (撤回). Both are Temporal updates whose validators refuse them at the wrong time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from inbox_api.deps import Actor
from inbox_api.errors import Problem, not_found
from inbox_api.services.tasks import UPDATE_ERRORS
from store import repos
from store.models import AuditEntry, Case
from store.settings import Settings
from workflows.contracts import ObjectionRequest, WithdrawRequest
from workflows.identification import IdentificationWorkflow


async def case_for(session: AsyncSession, actor: Actor, case_id: str) -> Case:
    case = await repos.case_in_scope(session, case_id, actor.jurisdiction_path)
    if case is None:
        raise not_found("case", case_id)
    return case


async def audit_full_view(session: AsyncSession, actor: Actor, case: Case) -> None:
    """Every view of a case with the full ID number is written to the audit log."""
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


def workflow_url(settings: Settings, case: Case) -> str:
    return (
        f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{case.workflow_id}"
    )


async def _update(
    temporal: Client, case: Case, update: object, arg: object, key: str | None
) -> object:
    handle = temporal.get_workflow_handle(case.workflow_id)
    try:
        return await handle.execute_update(update, arg, id=key)  # type: ignore[call-overload]
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in UPDATE_ERRORS:
            status, slug = UPDATE_ERRORS[cause.type]
            raise Problem(status, slug, "Not accepted by the case", cause.message) from None
        raise
    except RPCError as exc:
        if "already completed" in exc.message or "not found" in exc.message.lower():
            raise Problem(
                409, "case-closed", "Case closed", f"case {case.id} is no longer running"
            ) from None
        raise Problem(503, "temporal-unavailable", "Temporal unavailable", exc.message) from None


async def raise_objection(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    *,
    content: str,
    raised_by: str,
    key: str | None,
) -> str:
    case = await case_for(session, actor, case_id)
    result = await _update(
        temporal,
        case,
        IdentificationWorkflow.raise_objection,
        ObjectionRequest(
            content=content, raised_by=raised_by, actor_id=actor.id, actor_name=actor.display_name
        ),
        key,
    )
    return str(result.task_id)  # type: ignore[attr-defined]


async def withdraw(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    case_id: str,
    *,
    reason: str,
    key: str | None,
) -> None:
    case = await case_for(session, actor, case_id)
    await _update(
        temporal,
        case,
        IdentificationWorkflow.withdraw,
        WithdrawRequest(reason=reason, actor_id=actor.id, actor_name=actor.display_name),
        key,
    )
