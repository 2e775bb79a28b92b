"""The human-task helper every workflow uses: open a task (an inbox row written by an activity),
accept its completion as a validated update, wait for it, close it.

Completions are Temporal updates: the validator rejects an unknown or closed task, an outcome
the task does not offer, missing fields and an actor outside the task's role or jurisdiction
before anything enters history. The update id is the API's Idempotency-Key, so a repeated
request is applied once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.inbox import InboxActivities
    from workflows.contracts import (
        ERR_ACTOR_NOT_ALLOWED,
        ERR_BAD_OUTCOME,
        ERR_MISSING_FIELDS,
        ERR_TASK_CLOSED,
        ERR_TASK_UNKNOWN,
        CloseTaskInput,
        CompleteTaskRequest,
        OpenedTask,
        OpenTaskInput,
        SlaInput,
        task_id,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Inbox writes are idempotent upserts: retry them for as long as the database is away.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


@dataclass
class CaseContext:
    """What every task of a case carries into the inbox."""

    case_id: str
    workflow_id: str
    policy_pack_id: str
    jurisdiction_code: str
    jurisdiction_path: str
    applicant_name: str
    id_last4: str


@dataclass
class TaskState:
    task_id: str
    kind: str
    candidate_role: str
    jurisdiction_path: str
    # outcome -> fields the officer must fill in for it
    outcomes: dict[str, list[str]]
    opened: OpenedTask | None = None
    closing: bool = False
    completion: CompleteTaskRequest | None = None


@dataclass
class HumanTasks:
    """Workflow-side registry of a case's tasks. Lives inside the workflow object; all of its
    state is plain data so it can be carried across continue-as-new."""

    ctx: CaseContext
    seq: int = 0
    tasks: dict[str, TaskState] = field(default_factory=dict)

    async def open(
        self,
        kind: str,
        *,
        candidate_role: str,
        sla: SlaInput,
        outcomes: dict[str, list[str]],
        payload: dict[str, Any] | None = None,
        jurisdiction_code: str | None = None,
        jurisdiction_path: str | None = None,
        priority: int = 0,
    ) -> TaskState:
        self.seq += 1
        tid = task_id(self.ctx.workflow_id, kind, self.seq)
        state = TaskState(
            task_id=tid,
            kind=kind,
            candidate_role=candidate_role,
            jurisdiction_path=jurisdiction_path or self.ctx.jurisdiction_path,
            outcomes=outcomes,
        )
        self.tasks[tid] = state
        state.opened = await workflow.execute_activity_method(
            InboxActivities.open_task,
            OpenTaskInput(
                task_id=tid,
                case_id=self.ctx.case_id,
                workflow_id=self.ctx.workflow_id,
                kind=kind,
                candidate_role=candidate_role,
                jurisdiction_code=jurisdiction_code or self.ctx.jurisdiction_code,
                jurisdiction_path=state.jurisdiction_path,
                policy_pack_id=self.ctx.policy_pack_id,
                applicant_name=self.ctx.applicant_name,
                id_last4=self.ctx.id_last4,
                opened_at=workflow.now(),
                sla=sla,
                priority=priority,
                payload=payload or {},
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return state

    def validate(self, req: CompleteTaskRequest) -> None:
        """Reject a completion before it enters history. Raises ApplicationError with a stable
        type that the API maps to problem+json."""
        state = self.tasks.get(req.task_id)
        if state is None:
            raise ApplicationError(
                f"task {req.task_id} is not part of this case", type=ERR_TASK_UNKNOWN
            )
        if state.closing or state.completion is not None:
            raise ApplicationError(f"task {req.task_id} is already closed", type=ERR_TASK_CLOSED)
        if req.outcome not in state.outcomes:
            allowed = ", ".join(sorted(state.outcomes))
            raise ApplicationError(
                f"outcome {req.outcome!r} is not offered by this task (allowed: {allowed})",
                type=ERR_BAD_OUTCOME,
            )
        missing = [f for f in state.outcomes[req.outcome] if req.fields.get(f) in (None, "", [])]
        if missing:
            raise ApplicationError(
                f"missing fields for outcome {req.outcome!r}: {', '.join(missing)}",
                {"missing": missing},
                type=ERR_MISSING_FIELDS,
            )
        if req.actor_role != state.candidate_role or not state.jurisdiction_path.startswith(
            req.actor_jurisdiction_path
        ):
            raise ApplicationError(
                f"user {req.actor_id} ({req.actor_role}) may not complete this task",
                type=ERR_ACTOR_NOT_ALLOWED,
            )

    async def complete(
        self,
        req: CompleteTaskRequest,
        on_closed: Callable[[TaskState], Awaitable[None]] | None = None,
    ) -> TaskState:
        """Apply a validated completion: close the inbox row, run ``on_closed`` (the workflow
        records the decision on the timeline), then release the waiter — in that order, so
        the timeline shows the decision before what follows from it."""
        self.validate(req)  # handlers re-check: two updates may pass validation concurrently
        state = self.tasks[req.task_id]
        state.closing = True
        await workflow.execute_activity_method(
            InboxActivities.close_task,
            CloseTaskInput(
                task_id=req.task_id,
                outcome=req.outcome,
                completed_by=req.actor_id,
                completed_at=workflow.now(),
                fields=req.fields,
                comment=req.comment,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        if on_closed is not None:
            await on_closed(state)
        state.completion = req
        return state

    async def wait(self, state: TaskState) -> CompleteTaskRequest:
        await workflow.wait_condition(lambda: state.completion is not None)
        assert state.completion is not None
        return state.completion
