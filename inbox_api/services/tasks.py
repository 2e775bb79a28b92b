"""The task inbox: list what the caller may see, and complete a task by delivering the
decision to its workflow as a Temporal update (the Idempotency-Key is the update id; the first
answer for a key is stored and returned again for repeats)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from inbox_api.deps import Actor
from inbox_api.errors import Problem, not_found
from store import repos
from store.models import Task, TaskCompletion
from workflows import contracts as c
from workflows.identification import IdentificationWorkflow

# Workflow validator/handler error types → (HTTP status, problem type).
UPDATE_ERRORS: dict[str, tuple[int, str]] = {
    c.ERR_TASK_UNKNOWN: (404, "not-found"),
    c.ERR_TASK_CLOSED: (409, "task-closed"),
    c.ERR_BAD_OUTCOME: (422, "bad-outcome"),
    c.ERR_MISSING_FIELDS: (422, "missing-fields"),
    c.ERR_ACTOR_NOT_ALLOWED: (403, "actor-not-allowed"),
    c.ERR_BAD_FIELD: (422, "bad-field"),
    c.ERR_NOT_IN_PUBLICITY: (409, "not-in-publicity"),
    c.ERR_CASE_CLOSED: (409, "case-closed"),
}


async def get_task(session: AsyncSession, actor: Actor, task_id: str) -> Task:
    task = await repos.task_in_scope(session, task_id, actor.jurisdiction_path)
    if task is None:
        raise not_found("task", task_id)
    return task


async def complete_task(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    task_id: str,
    *,
    outcome: str,
    fields: dict[str, Any],
    comment: str,
    idempotency_key: str,
) -> tuple[int, dict[str, Any]]:
    """Returns (HTTP status, body). Repeats of a key return the first answer."""
    previous = await repos.completion_for_key(session, idempotency_key)
    if previous is not None:
        if previous.task_id != task_id or previous.user_id != actor.id:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was already used for another request",
            )
        return previous.status_code, previous.body
    task = await get_task(session, actor, task_id)
    if task.state != "open":
        raise Problem(
            409, "task-closed", "Task already closed", f"task {task_id} is already {task.state}"
        )
    request = c.CompleteTaskRequest(
        task_id=task_id,
        outcome=outcome,
        actor_id=actor.id,
        actor_name=actor.display_name,
        actor_role=actor.role,
        actor_jurisdiction_path=actor.jurisdiction_path,
        fields=fields,
        comment=comment,
    )
    handle = temporal.get_workflow_handle(task.workflow_id)
    try:
        result = await handle.execute_update(
            IdentificationWorkflow.complete_task, request, id=idempotency_key
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in UPDATE_ERRORS:
            status, slug = UPDATE_ERRORS[cause.type]
            raise Problem(status, slug, "Task not completed", cause.message) from None
        raise
    except RPCError as exc:
        raise Problem(
            503,
            "temporal-unavailable",
            "Temporal unavailable",
            f"the workflow engine did not accept the decision: {exc.message}",
        ) from None
    body = asdict(result)
    try:
        async with session.begin_nested():
            session.add(
                TaskCompletion(
                    idempotency_key=idempotency_key,
                    task_id=task_id,
                    user_id=actor.id,
                    status_code=200,
                    body=body,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        pass  # a concurrent repeat of the same key stored the same answer first
    return 200, body
