"""The case detail's position (``GET /api/v1/cases/{id}`` → ``position``): a Jilin case runs
acceptance → initial review → publicity; at each point the API says the stage code, what the
case waits on, the clock's kind, start, inclusive last day, working days left (counted with
the working-day calendar) and whether it is overdue, and the procedure as a stage map."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from typing import Any

from domain.calendar import SHANGHAI, local_date
from domain.case_clock import last_day
from domain.policy.loader import load_pack
from store.calendar_repo import effective_calendar
from tests.factories import application
from tests.system import System


async def detail(system: System, case_id: str) -> dict[str, Any]:
    r = await system.http.get(f"/api/v1/cases/{case_id}", headers=await system.login("jl_officer"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def until(system: System, case_id: str, ready: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        case = await detail(system, case_id)
        if ready(case):
            return case
        if time.monotonic() > deadline:
            raise AssertionError(f"case {case_id}: no {what}")
        await asyncio.sleep(0.05)


async def complete(system: System, task_id: str, outcome: str) -> None:
    r = await system.http.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=await system.login("jl_officer"),
        json={"outcome": outcome},
    )
    assert r.status_code == 200, r.text


async def test_position_through_acceptance_review_and_publicity(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=application("jilin-2022", name="钟表"))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    acceptance = await system.wait_for_task("jl_officer", case_id, "acceptance")

    case = await detail(system, case_id)
    where = case["position"]
    assert (where["stage"], where["stage_name"], where["waiting_on"]) == (
        "acceptance",
        "受理查验",
        "office",
    )
    clock = where["clock"]
    assert clock["kind"] == "task" and clock["task_id"] == acceptance["id"]
    # The task's goal instant is exclusive; the clock's last day is the day before it.
    due_at = datetime.fromisoformat(acceptance["due_at"])
    assert date.fromisoformat(clock["last_day"]) == last_day(due_at)
    assert date.fromisoformat(clock["start"]) == local_date(datetime.now(UTC))
    async with system.sessions()() as session:
        calendar = await effective_calendar(session)
    today = local_date(datetime.now(UTC))
    assert clock["working_days_left"] == calendar.working_days_between(today, last_day(due_at))
    assert clock["overdue"] is False
    states = [(s["kind"], s["state"]) for s in where["stages"]]
    assert states[0] == ("acceptance", "current")
    assert all(state == "next" for _, state in states[1:])

    await complete(system, acceptance["id"], "accept")
    review = await system.wait_for_task("jl_officer", case_id, "initial_review")
    case = await until(
        system,
        case_id,
        lambda c: c["position"]["stage"] == "initial_review",
        "initial review position",
    )
    steps = {s["kind"]: s for s in case["position"]["stages"]}
    assert steps["acceptance"]["state"] == "done"
    assert steps["acceptance"]["finished_on"] == today.isoformat()
    assert steps["initial_review"]["state"] == "current"

    await complete(system, review["id"], "approve")
    case = await until(
        system, case_id, lambda c: c["position"]["stage"] == "publicity", "the publicity"
    )
    where = case["position"]
    assert where["waiting_on"] == "clock"
    clock = where["clock"]
    ends_at = next(e for e in case["timeline"] if e["kind"] == "publicity")["after"]["ends_at"]
    end = datetime.fromisoformat(ends_at)
    stage = load_pack("jilin-2022").procedure.stage("publicity")  # type: ignore[union-attr]
    assert stage is not None and stage.working_days
    assert clock["kind"] == "publicity" and clock["task_id"] is None
    assert date.fromisoformat(clock["last_day"]) == last_day(end)
    start = date.fromisoformat(clock["start"])
    assert last_day(end) == calendar.add_working_days(start, stage.working_days).date
    assert clock["working_days_left"] == calendar.working_days_between(today, last_day(end))
    assert clock["overdue"] is False
    assert end.astimezone(SHANGHAI).hour == 0  # the stored end is the next day's 00:00
    states = {s["kind"]: s["state"] for s in where["stages"]}
    assert states["initial_review"] == "done" and states["publicity"] == "current"
    assert states["review"] == "next"
