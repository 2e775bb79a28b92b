"""The one way a workflow writes to its case: a timeline entry (keyed by the workflow id and the
event's key, so a retried or replayed write lands once) with the projection's changes (status,
stage, deadlines ...). The identification, the assistance and the household workflows use it,
and :class:`workflows.human_task.HumanTasks` writes a decision's entry with the task's closing."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.cases import CaseActivities
    from workflows.contracts import CaseStatus, CaseUpdateInput
    from workflows.steps import run_local


def case_event(
    case_id: str,
    key: str,
    summary: str,
    *,
    status: CaseStatus | None = None,
    actor: str = "system",
    **changes: Any,
) -> CaseUpdateInput:
    """The entry ``key`` (its kind is the part before ``:``) of the case's timeline, now."""
    return CaseUpdateInput(
        case_id=case_id,
        event_key=f"{workflow.info().workflow_id}/{key}",
        at=workflow.now(),
        actor=actor,
        kind=key.split(":")[0],
        summary=summary,
        status=status,
        **changes,
    )


async def record_case_event(
    case_id: str,
    key: str,
    summary: str,
    *,
    status: CaseStatus | None = None,
    actor: str = "system",
    **changes: Any,
) -> None:
    """Record ``key`` (see :func:`case_event`) on the case's timeline."""
    await run_local(
        CaseActivities.update_case,
        case_event(case_id, key, summary, status=status, actor=actor, **changes),
    )
