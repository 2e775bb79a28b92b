"""The one way a workflow writes to its case: a timeline entry (keyed by the workflow id and the
event's key, so a retried or replayed write lands once) with the projection's changes (status,
stage, deadlines ...). The identification and the assistance workflows both use it."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.cases import CaseActivities
    from workflows.contracts import CaseStatus, CaseUpdateInput
    from workflows.human_task import run_activity


async def record_case_event(
    case_id: str,
    key: str,
    summary: str,
    *,
    status: CaseStatus | None = None,
    actor: str = "system",
    **changes: Any,
) -> None:
    """Record ``key`` (its kind is the part before ``:``) on the case's timeline."""
    await run_activity(
        CaseActivities.update_case,
        CaseUpdateInput(
            case_id=case_id,
            event_key=f"{workflow.info().workflow_id}/{key}",
            at=workflow.now(),
            actor=actor,
            kind=key.split(":")[0],
            summary=summary,
            status=status,
            **changes,
        ),
    )
