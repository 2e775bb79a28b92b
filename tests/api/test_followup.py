"""What follows a completion (#21 item 4): the API's answer says what the case does next —
the next task with its place, role and due time, the clock it waits on, or its end — once the
workflow recorded it; and the cases an officer handled that now wait on someone else or on a
clock (``/api/v1/tasks/handled``), scoped like the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import OperationalError

from application.actor import Actor
from application.services.followup import (
    MAX_PREFERRED_WAIT,
    after_completion,
    preferred_wait,
    step_of,
)
from store.models import Case, Task
from tests.factories import application
from tests.system import System


async def _complete(system: System, user: str, task_id: str, body: dict[str, object]) -> dict:
    # Prefer: wait (RFC 7240) — the answer waits for the next step, as the officer's page does.
    headers = {**await system.login(user), "Prefer": "wait=5"}
    r = await system.http.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_completion_without_prefer_wait_answers_at_once_without_next(
    system: System,
) -> None:
    r = await system.http.post("/api/v1/applications", json=application("jilin-2022"))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("jl_officer", case_id, "acceptance")
    headers = await system.login("jl_officer")
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"outcome": "accept"}
    )
    assert r.status_code == 200 and r.json()["next"] is None, r.text
    # What follows is read on its own: the 初审 once the workflow opened it.
    await system.wait_for_task("jl_officer", case_id, "initial_review")
    r = await system.http.get(f"/api/v1/tasks/{task['id']}/next", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "task", r.text


async def test_each_completion_says_what_comes_next(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=application("jilin-2022"))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    # 受理查验 → 初审 at the same street, the officer's group, with its due time.
    task = await system.wait_for_task("jl_officer", case_id, "acceptance")
    out = await _complete(system, "jl_officer", task["id"], {"outcome": "accept"})
    step = out["next"]
    assert step["state"] == "task", step
    assert step["case_id"] == case_id and step["case_url"] == f"/api/v1/cases/{case_id}"
    assert step["case_page"] == f"/cases/{case_id}"
    [nxt] = step["tasks"]
    assert nxt["kind"] == "initial_review" and nxt["candidate_role"] == "grassroots_officer"
    assert nxt["jurisdiction_code"] == "220102001" and nxt["jurisdiction_name"]
    assert nxt["waiting_on"] == "officer" and nxt["assignee_name"] is None
    assert datetime.fromisoformat(nxt["due_at"]) > datetime.fromisoformat(task["created_at"])

    # 初审通过 → the case waits on the publicity's clock, whose end is given.
    out = await _complete(system, "jl_officer", nxt["task_id"], {"outcome": "approve"})
    step = out["next"]
    assert step["state"] == "clock", step
    assert step["case_status"] == "in_publicity" and step["stage"] == "publicity"
    assert step["clock"]["kind"] == "publicity" and step["tasks"] == []
    ends = datetime.fromisoformat(step["clock"]["ends_at"])
    assert ends > datetime.fromisoformat(task["created_at"])
    # Asked again later, the same.
    headers = await system.login("jl_officer")
    r = await system.http.get(f"/api/v1/tasks/{nxt['task_id']}/next", headers=headers)
    assert r.status_code == 200 and r.json() == step

    # The officer's handled cases list it, waiting on the clock; the county reviewer, who
    # handled nothing of it, and an officer of another region do not see it.
    r = await system.http.get("/api/v1/tasks/handled", headers=headers)
    assert r.status_code == 200, r.text
    mine = [c for c in r.json() if c["case_id"] == case_id]
    assert len(mine) == 1 and mine[0]["next"]["state"] == "clock"
    assert mine[0]["id_number_masked"].startswith("*" * 14)
    for other in ("jl_reviewer", "wf_officer"):
        r = await system.http.get("/api/v1/tasks/handled", headers=await system.login(other))
        assert r.status_code == 200
        assert all(c["case_id"] != case_id for c in r.json())


async def test_a_conclusion_says_the_case_is_closed(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=application())
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    body = {"outcome": "approve", "fields": {"category": "older_unemployed"}}
    step = (await _complete(system, "wf_reviewer", task["id"], body))["next"]
    # Identified: the procedure is closed, whether or not the assistance it starts has opened
    # its first task yet (the answer does not depend on that race).
    assert step["case_status"] == "identified" and step["state"] == "closed", step
    assert step["tasks"] == []
    # A closed case is not "waiting": it leaves the handled view.
    r = await system.http.get("/api/v1/tasks/handled", headers=await system.login("wf_reviewer"))
    assert all(c["case_id"] != case_id for c in r.json())


async def test_the_completion_answer_is_documented(system: System) -> None:
    r = await system.http.get("/openapi.json")
    schemas = r.json()["components"]["schemas"]
    assert "next" in schemas["CompleteTaskOut"]["properties"]
    assert set(schemas["NextStepOut"]["properties"]) >= {
        "state",
        "case_url",
        "tasks",
        "clock",
    }


# --- the next step from the projection alone (no server) ---------------------------------------


def _case(status: str, stage: str | None = None) -> Case:
    return Case(id="YZ1", status=status, stage=stage)


def _task(kind: str, **kw: object) -> Task:
    values: dict[str, object] = {
        "id": f"wf.{kind}.1",
        "case_id": "YZ1",
        "kind": kind,
        "candidate_role": "county_reviewer",
        "jurisdiction_code": "220102",
        "assignee_id": None,
        "due_at": datetime(2026, 12, 8, 16, tzinfo=UTC),
    }
    return Task(**(values | kw))


def test_step_of_each_state() -> None:
    places = {"220102": "南关区"}
    # Nothing recorded yet after a stage task: pending, never "nothing to do".
    assert step_of(_case("under_review", "initial_review"), [], None, places, {}).state == (
        "pending"
    )
    step = step_of(_case("under_review", "review"), [_task("review")], None, places, {})
    assert step.state == "task" and step.tasks[0].jurisdiction_name == "南关区"
    # A 督办 is not the case's next step.
    assert step_of(_case("under_review"), [_task("escalation")], None, places, {}).state == (
        "pending"
    )
    supplement = step_of(_case("awaiting_materials"), [_task("supplement")], None, places, {})
    assert supplement.tasks[0].waiting_on == "applicant"
    ends = datetime(2026, 12, 9, 16, tzinfo=UTC)
    clock = step_of(_case("in_publicity", "publicity"), [], ends, places, {})
    assert clock.state == "clock" and clock.clock is not None and clock.clock.ends_at == ends
    assert step_of(_case("refused"), [], None, places, {}).state == "closed"
    # An identified case's assistance plan is not the identification's next step.
    plan = [_task("assistance_plan")]
    assert step_of(_case("identified"), plan, None, places, {}, done_kind="review").state == (
        "closed"
    )
    identified = _case("identified")
    assert step_of(identified, [], None, places, {}, done_kind="review").state == "closed"
    # A household's procedure ends with its deciding outcome, whatever its case row says.
    household = _case("submitted")
    assert (
        step_of(
            household,
            [],
            None,
            places,
            {},
            done_kind="household_clearance",
            done_outcome="member_employed",
        ).state
        == "closed"
    )
    assert step_of(household, [], None, places, {}, done_kind="household_plan").state == "none"
    # After an assistance visit the case goes on with nothing open.
    assert step_of(identified, [], None, places, {}, done_kind="assistance_visit").state == ("none")


class _AwayDatabase:
    """A session whose database is gone (every statement fails)."""

    rolled_back = 0

    async def scalar(self, *_args: object, **_kw: object) -> None:
        raise OperationalError("SELECT", {}, ConnectionError("database away"))

    async def rollback(self) -> None:
        self.rolled_back += 1


async def test_a_follow_up_the_database_cannot_give_is_left_out() -> None:
    """The decision was taken and its answer stored before the follow-up is read: a database
    gone at that moment leaves ``next`` out (None), it does not turn the answer into an
    error."""
    session = _AwayDatabase()
    actor = Actor(1, "jl_officer", "赵经办", "grassroots_officer", "220102001", "/22/")
    assert await after_completion(session, actor, "wf.acceptance.1") is None  # type: ignore[arg-type]
    assert session.rolled_back == 1


def test_an_api_completion_waits_only_when_asked() -> None:
    assert preferred_wait(None) is None
    assert preferred_wait("respond-async") is None
    assert preferred_wait("wait=0") == timedelta(0)
    assert preferred_wait("wait=2") == timedelta(seconds=2)
    assert preferred_wait("handling=lenient, wait=1.5") == timedelta(seconds=1.5)
    assert preferred_wait("wait=600") == MAX_PREFERRED_WAIT
