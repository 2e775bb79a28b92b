"""The pre-check at intake (#22): a local activity, inside the workflow task that starts the
case, when the department data it reads is this system's own (the imported lists); an activity
of its own, retried by the server, when the data comes from another agency's system."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from domain.facts import DataFinding
from tests.workflows.scenario import Scenario, scenario_at, shanghai

PACK = "xinyu-2023"  # verifies through department data (数据比对)
SOURCE = "省数据共享交换平台·社保"
IN_FLIGHT = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
)


class ProvinceExchange:
    """Another agency's system, as a province's data exchange would answer."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.asked: list[tuple[str, date]] = []
        self.fail_first = fail_first

    async def findings(self, id_number: str, on: date) -> list[DataFinding]:
        self.asked.append((id_number, on))
        if len(self.asked) <= self.fail_first:
            raise ConnectionError("exchange unreachable")
        fact = "economic.employer_social_insurance_now"
        return [DataFinding(source=SOURCE, fact=fact, value=False, checked_on=on)]


async def history_of(sc: Scenario, case_id: str) -> WorkflowHistory:
    """The history once its workflow task is recorded: the first task's row is written by a
    local activity inside that workflow task, so the inbox may show it a moment before the
    server has the task's markers."""
    handle = sc.env.client.get_workflow_handle(f"identification-{case_id}")
    deadline = time.monotonic() + 10
    while True:
        history = await handle.fetch_history()
        if history.events[-1].event_type not in IN_FLIGHT:
            return history
        assert time.monotonic() < deadline, "the workflow task was never recorded"
        await asyncio.sleep(0.05)


def scheduled(history: WorkflowHistory) -> list[str]:
    """The activities the workflow scheduled on the task queue, in order."""
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def local(history: WorkflowHistory) -> list[tuple[str, bool]]:
    """The local activities recorded, in order, each with whether it failed."""
    steps = []
    for e in history.events:
        attrs = e.marker_recorded_event_attributes
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and "data" in attrs.details:
            data = json.loads(attrs.details["data"].payloads[0].data)
            steps.append((data["activity_type"], attrs.HasField("failure")))
    return steps


async def test_with_the_imported_lists_the_pre_check_is_a_local_step(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.task("xy_officer", case_id, "acceptance")
        history = await history_of(sc, case_id)
        # Nothing on the task queue between the application and its first task: the
        # pre-check and the opening are both recorded with the first workflow task.
        assert scheduled(history) == []
        assert local(history) == [("assess_case_locally", False), ("open_task", False)]
        case = await sc.case(case_id)
        assert case["pre_check"]["verdict"] in ("met", "to_verify")
        assert "pre_check" in [e["kind"] for e in case["timeline"]]


async def test_another_agencys_system_is_asked_from_an_activity(tmp_path: Path) -> None:
    exchange = ProvinceExchange(fail_first=2)
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path, worker=False) as sc:
        async with sc.worker(department_adapter=exchange):
            case_id = await sc.submit(PACK)
            await sc.task("xy_officer", case_id, "acceptance")
            history = await history_of(sc, case_id)
        # The local step declined at once, without asking; the activity asked, failed twice
        # (the server retried it) and then had the answer.
        assert local(history) == [("assess_case_locally", True), ("open_task", False)]
        assert scheduled(history) == ["assess_case"]
        assert len(exchange.asked) == 3
        assert exchange.asked[0][1] == date(2026, 9, 30)
        case = await sc.case(case_id)
        [entry] = [e for e in case["timeline"] if e["kind"] == "pre_check"]
        assert SOURCE in json.dumps(entry, ensure_ascii=False)
