"""A case's timeline entries and its tasks' rows as the activities write them (#22: statements
on the tables, not the ORM's unit of work), on SQLite and PostgreSQL: an entry says where the
case stood before and after it, is written once however often or however concurrently it is
sent, and changes the case once; a task is opened and closed once, with its entries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.cases import CaseActivities
from activities.inbox import InboxActivities
from store.models import Case, CaseEvent, Task
from tests.factories import application
from tests.system import System
from workflows.contracts import (
    CaseUpdateInput,
    ClockInput,
    CloseTaskInput,
    OpenTaskInput,
    SlaInput,
)


async def _waiting_case(system: System) -> tuple[str, Task]:
    """A new case whose workflow waits on its first task (it writes nothing meanwhile)."""
    r = await system.http.post("/api/v1/applications", json=application("jilin-2022"))
    assert r.status_code == 201, r.text
    case_id = str(r.json()["case_id"])
    for _ in range(200):
        async with system.sessions()() as session:
            task = await session.scalar(select(Task).where(Task.case_id == case_id))
        if task is not None:
            return case_id, task
        await asyncio.sleep(0.05)
    raise AssertionError(f"no first task for {case_id}")


async def _entries(system: System, key: str) -> list[CaseEvent]:
    async with system.sessions()() as session:
        return list(await session.scalars(select(CaseEvent).where(CaseEvent.event_key == key)))


async def _case(system: System, case_id: str) -> Case:
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
    assert case is not None
    return case


async def test_an_entry_sent_at_once_twice_is_written_once_and_changes_the_case_once(
    system: System,
) -> None:
    case_id, _ = await _waiting_case(system)
    before = await _case(system, case_id)
    at = datetime.now(UTC).replace(microsecond=0)
    entry = CaseUpdateInput(
        case_id=case_id,
        event_key=f"test/{case_id}/accepted",
        at=at,
        actor="张三",
        kind="stage",
        summary="受理",
        status="initial_review",
        stage="initial_review",
        accepted=True,
        detail={"note": "两次同时发送"},
    )
    # Two workers at once (each activity in a session of its own): on PostgreSQL the second
    # waits for the first's commit on the entry's key, then finds it.
    first, second = CaseActivities(system.sessions()), CaseActivities(system.sessions())
    env = ActivityEnvironment()
    await asyncio.gather(env.run(first.update_case, entry), env.run(second.update_case, entry))
    # And once more later, as a retry: the acceptance's date is not moved by it.
    later = CaseUpdateInput(**{**entry.__dict__, "at": at + timedelta(hours=1)})
    await env.run(first.update_case, later)

    [written] = await _entries(system, entry.event_key)
    assert (written.at, written.actor, written.kind, written.summary) == (
        at,
        "张三",
        "stage",
        "受理",
    )
    assert written.before == {"status": before.status, "stage": before.stage}
    assert written.after == {
        "status": "initial_review",
        "stage": "initial_review",
        "note": "两次同时发送",
    }
    case = await _case(system, case_id)
    assert (case.status, case.stage, case.accepted_at, case.updated_at) == (
        "initial_review",
        "initial_review",
        at,
        at,
    )
    # Columns the entry does not set are left as they were.
    assert (case.category_code, case.facts, case.open_key) == (
        before.category_code,
        before.facts,
        before.open_key,
    )


async def test_a_closing_and_an_opening_sent_again_write_nothing_twice(system: System) -> None:
    case_id, task = await _waiting_case(system)
    inbox = InboxActivities(system.sessions())
    env = ActivityEnvironment()
    at = datetime.now(UTC).replace(microsecond=0)
    # The acceptance starts the case's deadline: the closing computes it (#22).
    deadline = ClockInput(at, SlaInput(goal=10, deadline=10))
    closing = CloseTaskInput(
        task_id=task.id,
        outcome="accept",
        completed_by=None,
        completed_at=at,
        fields={"note": "x"},
        comment="已核对",
        update_id="key-1",
        decision=CaseUpdateInput(
            case_id=case_id,
            event_key=f"test/{task.id}/completed",
            at=at,
            actor="张三",
            kind="task_completed",
            summary=f"{task.kind}: accept",
        ),
        starts_clock=deadline,
    )
    started = await asyncio.gather(
        env.run(inbox.close_task, closing), env.run(inbox.close_task, closing)
    )
    # Each attempt answers with the clock, the one that found the row closed too: the same
    # instants as the clock's own step computes from the holiday table.
    assert started == [await env.run(inbox.compute_clock, deadline)] * 2
    assert started[0] is not None and started[0].started_at == at < started[0].due_at
    async with system.sessions()() as session:
        closed = await session.get(Task, task.id)
    assert closed is not None
    assert (closed.state, closed.completed_at, closed.version) == (
        "completed",
        at,
        task.version + 1,
    )
    assert closed.outcome == {
        "outcome": "accept",
        "fields": {"note": "x"},
        "comment": "已核对",
        "update_id": "key-1",
    }
    assert len(await _entries(system, f"test/{task.id}/completed")) == 1

    opening = OpenTaskInput(
        task_id=f"{task.id}-next",
        case_id=case_id,
        workflow_id=task.workflow_id,
        kind="initial_review",
        candidate_role=task.candidate_role,
        jurisdiction_code=task.jurisdiction_code,
        jurisdiction_path=task.jurisdiction_path,
        policy_pack_id=task.policy_pack_id,
        applicant_name=task.applicant_name,
        id_last4=task.id_last4,
        opened_at=at,
        sla=SlaInput(goal=5, deadline=10),
        priority=2,
        payload={"stage_id": "s1"},
        outcomes={"approve": [], "reject": ["reason"]},
        choices={"reason": ["a", "b"]},
        announce=CaseUpdateInput(
            case_id=case_id,
            event_key=f"test/{task.id}/next",
            at=at,
            actor="system",
            kind="stage",
            summary="初审",
            status="initial_review",
        ),
    )
    opened = await env.run(inbox.open_task, opening)
    again = await env.run(inbox.open_task, opening)
    assert again == opened and opened.task_id == opening.task_id
    assert opened.at_risk_at < opened.due_at <= opened.deadline_at
    async with system.sessions()() as session:
        rows = await session.scalar(
            select(func.count()).select_from(Task).where(Task.id == opening.task_id)
        )
        row = await session.get(Task, opening.task_id)
    assert rows == 1 and row is not None
    assert (row.state, row.kind, row.priority, row.version, row.sla_state) == (
        "open",
        "initial_review",
        2,
        1,
        "on_track",
    )
    assert (row.due_at, row.deadline_at, row.category_code) == (
        opened.due_at,
        opened.deadline_at,
        (await _case(system, case_id)).category_code,
    )
    assert row.payload == {
        "stage_id": "s1",
        "form": {
            "outcomes": {"approve": [], "reject": ["reason"]},
            "choices": {"reason": ["a", "b"]},
        },
    }
    assert len(await _entries(system, f"test/{task.id}/next")) == 1
