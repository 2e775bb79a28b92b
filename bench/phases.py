"""Where a completion's time goes (#22): each officer's completion split at the moments the
case's workflow history records, found by the completion's Idempotency-Key (the update's id).

For one ``POST /tasks/{id}/complete``, sent at ``sent`` and answered at ``answered`` (wall
clock, the dev server's clock being this machine's):

- ``api_before``: the API's work before the engine has the decision (the task read, the key
  reserved, the update sent) — until the workflow task that takes the update is scheduled;
- ``decision_task``: that workflow task, scheduled to completed (the worker accepts the update
  and schedules the closing);
- ``closing``: the close-task activity, scheduled to completed (the row closed, the decision
  on the timeline);
- ``next_step_task``: the workflow task after it, from the closing's end to its completion
  (the handler returns; the next task is opened, its local steps inside this workflow task,
  which carries the update's answer);
- ``api_after``: from that workflow task's completion to the answer at the officer (the
  answer back through the API, the key's answer stored).

The five add up to the completion's latency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PHASES = ("api_before", "decision_task", "closing", "next_step_task", "api_after")


@dataclass(frozen=True)
class Sent:
    """One completion as the officer saw it."""

    key: str  # the Idempotency-Key, which the API makes the update's id
    sent: float  # wall clock, seconds
    answered: float


def _at(event: Any) -> float:
    return float(event.event_time.ToMicroseconds()) / 1e6


def split(events: Sequence[Any], sent: Sent) -> dict[str, float] | None:
    """The completion's phases in seconds, or None when its update is not in ``events`` (the
    history of its case's workflow run)."""
    by_id = {e.event_id: e for e in events}
    accepted = completed = None
    for event in events:
        kind = event.WhichOneof("attributes")
        if kind == "workflow_execution_update_accepted_event_attributes":
            meta = event.workflow_execution_update_accepted_event_attributes.accepted_request.meta
            accepted = event if meta.update_id == sent.key else accepted
        elif kind == "workflow_execution_update_completed_event_attributes":
            meta = event.workflow_execution_update_completed_event_attributes.meta
            completed = event if meta.update_id == sent.key else completed
    if accepted is None or completed is None:
        return None
    # Each update event follows the workflow task completion that recorded it.
    taken = _task_completed_before(events, accepted)
    answered = _task_completed_before(events, completed)
    taken_scheduled = by_id[taken.workflow_task_completed_event_attributes.scheduled_event_id]
    closing = next(
        e
        for e in events
        if e.WhichOneof("attributes") == "activity_task_scheduled_event_attributes"
        and e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
        == taken.event_id
    )
    closed = next(
        e
        for e in events
        if e.WhichOneof("attributes") == "activity_task_completed_event_attributes"
        and e.activity_task_completed_event_attributes.scheduled_event_id == closing.event_id
    )
    return {
        "api_before": _at(taken_scheduled) - sent.sent,
        "decision_task": _at(taken) - _at(taken_scheduled),
        "closing": _at(closed) - _at(closing),
        "next_step_task": _at(answered) - _at(closed),
        "api_after": sent.answered - _at(answered),
    }


def _task_completed_before(events: Sequence[Any], event: Any) -> Any:
    index = next(i for i, e in enumerate(events) if e.event_id == event.event_id)
    return next(
        e
        for e in reversed(events[:index])
        if e.WhichOneof("attributes") == "workflow_task_completed_event_attributes"
    )
