"""The first pre-check (资格预审) is made as the application is stored (#22): the case's row and
its pre-check entry are committed together, the workflow is handed the result and opens the
first task without the assessment activity; department data from the imported lists count
as they did in the activity. A pre-check made on another day than the one the workflow
starts on is made again by the workflow, and its entry with it. Where department data come
from another system
(``YUANZHU_DEPARTMENT_DATA=adapter``) a pack that asks departments is pre-checked by the
worker's assessment, as every later round is; a worker given an adapter without that setting
does not start."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.calendar import local_date
from domain.department_data import DepartmentList
from domain.department_import import ImportedRecord
from store import department_repo
from store.models import CaseEvent
from store.settings import Settings, SettingsError
from tests.factories import make_id
from tests.workflows.scenario import Scenario, scenario_at, shanghai, timeline_kinds
from worker.factory import build_worker

XINYU = "xinyu-2023"  # asks departments (a data_check stage)
JILIN = "jilin-2022"  # asks departments too
QINGXIN = "qingxin-2024"  # does not


async def _activities_run(sc: Scenario, case_id: str) -> list[str]:
    """The activity types the case's workflow scheduled (local activities are markers)."""
    history = await sc.env.client.get_workflow_handle(f"identification-{case_id}").fetch_history()
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


async def _pre_check_entries(sc: Scenario, case_id: str) -> list[CaseEvent]:
    async with sc.system.sessions()() as session:
        found = await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "pre_check")
        )
        return list(found)


async def test_the_submission_records_the_pre_check_and_the_first_task_opens_without_the_activity(
    tmp_path: Path,
) -> None:
    id_number = make_id(region="360502")
    # The workflow's clock is the API's: the day the application was stored is the day its
    # procedure starts.
    async with scenario_at(datetime.now(UTC), tmp_path) as sc:
        async with sc.system.sessions()() as session, session.begin():
            await department_repo.replace_list(
                session,
                DepartmentList.MINIMUM_LIVING_ALLOWANCE,
                [ImportedRecord(2, DepartmentList.MINIMUM_LIVING_ALLOWANCE, id_number, "刘芳")],
                file_name="低保名单.csv",
                imported_by="admin",
                now=datetime.now(UTC),
            )
        case_id = await sc.submit(XINYU, id_number=id_number)
        # Stored with the case, before its workflow ran: the entry, with what the imported
        # list said, and the decision on the case row.
        [entry] = await _pre_check_entries(sc, case_id)
        assert entry.event_key == f"identification-{case_id}/pre_check:1"
        findings = entry.after["department_findings"]
        assert any("最低生活保障" in f["source"] and f["value"] is True for f in findings), findings
        first = await sc.task("xy_officer", case_id, "acceptance")
        # The workflow was told the same pre-check: the first task carries its summary.
        assert first["payload"]["pre_check"]["summary_zh"] == entry.summary
        assert "assess_case" not in await _activities_run(sc, case_id)
        case = await sc.case(case_id)
        assert timeline_kinds(case).count("pre_check") == 1
        assert case["pre_check"]["pack_id"] == XINYU


@pytest.mark.parametrize(
    ("pack", "officer", "by_the_worker"),
    [(XINYU, "xy_officer", True), (QINGXIN, "qx_officer", False)],
)
async def test_department_data_from_another_system_are_asked_by_the_worker(
    tmp_path: Path, pack: str, officer: str, by_the_worker: bool
) -> None:
    async with scenario_at(datetime.now(UTC), tmp_path, department_data="adapter") as sc:
        case_id = await sc.submit(pack)
        await sc.task(officer, case_id, "acceptance")
        assert ("assess_case" in await _activities_run(sc, case_id)) is by_the_worker
        # Made once, by whichever assessed it.
        assert len(await _pre_check_entries(sc, case_id)) == 1


async def test_a_pre_check_of_another_day_is_made_again(tmp_path: Path) -> None:
    """The API stored the case today (the wall clock); the workflow's clock says 2 March: the
    pre-check counts on the day the procedure starts, and the entry says so."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(JILIN)
        [stored] = await _pre_check_entries(sc, case_id)
        assert stored.at.date() == datetime.now(UTC).date()
        first = await sc.task("jl_officer", case_id, "acceptance")
        assert "assess_case" in await _activities_run(sc, case_id)
        [entry] = await _pre_check_entries(sc, case_id)
        assert local_date(entry.at) == date(2026, 3, 2)
        assert first["payload"]["pre_check"]["summary_zh"] == entry.summary
        case = await sc.case(case_id)
        assert case["pre_check"]["on"] == "2026-03-02"


def test_a_worker_given_an_adapter_needs_the_setting() -> None:
    class Exchange:
        async def findings(self, id_number: str, on: object) -> list[object]:
            return []

    with pytest.raises(SettingsError, match="YUANZHU_DEPARTMENT_DATA"):
        build_worker(None, Settings(), department_adapter=Exchange())  # type: ignore[arg-type]
