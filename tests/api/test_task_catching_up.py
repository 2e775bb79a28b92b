"""A task the inbox shows but its case's workflow does not know yet: the local step that
opened it ran, and the workflow task that recorded it was lost with the engine (the fault
suite's server kills found it). The workflow opens it again as it catches up, so the decision
is answered like the engine away — 503 with Retry-After, send it again with the same key —
never as a task that is not part of the case; and nothing is taken."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from store.models import Case, Task
from tests.factories import application
from tests.system import System


async def test_a_decision_on_a_task_not_yet_known_to_its_workflow_is_retryable(
    system: System,
) -> None:
    r = await system.http.post("/api/v1/applications", json=application("jilin-2022"))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    shown = await system.wait_for_task("jl_officer", case_id, "acceptance")
    # The row a lost workflow task leaves: the next acceptance task, which the workflow has
    # not (re)opened.
    async with system.sessions()() as session, session.begin():
        real = await session.get(Task, shown["id"])
        assert real is not None
        ahead = Task(
            **{
                column.key: getattr(real, column.key)
                for column in Task.__table__.columns
                if column.key != "id"
            },
            id=real.id.rsplit(".", 1)[0] + ".9",
        )
        session.add(ahead)
    headers = {**await system.login("jl_officer"), "Idempotency-Key": uuid.uuid4().hex}
    r = await system.http.post(
        f"/api/v1/tasks/{ahead.id}/complete",
        headers=headers,
        json={"outcome": "accept", "fields": {}},
    )
    assert r.status_code == 503, r.text
    assert r.json()["type"].endswith("/temporal-unavailable")
    assert "send it again with the same Idempotency-Key" in r.json()["detail"]
    assert r.headers["Retry-After"]
    # Nothing taken: both rows open, the case where it was.
    async with system.sessions()() as session:
        rows = await session.execute(select(Task.id, Task.state).where(Task.case_id == case_id))
        states = {task_id: state for task_id, state in rows}
        case = await session.get(Case, case_id)
    assert states == {real.id: "open", ahead.id: "open"}
    assert case is not None and case.status in ("submitted", "in_acceptance")
