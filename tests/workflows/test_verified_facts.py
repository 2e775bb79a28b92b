"""A fact verified at one stage is what the next stage decides on (#21 item 2), run through the
identification workflow on the time-skipping server: the issue's Jilin applicant, a woman born
1978 applying as 大龄失业人员 (吉人社发〔2022〕10号 一(二)2) whose urban residence is unknown, is
待核实 at intake; the acceptance verifies 城镇户籍或城镇常住 = 是, the workflow records it and
re-runs the pre-check before the initial review opens, so the initial review's task carries the
new pre-check (category met) and no longer asks for the fact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from application.services.tasks import verification_inputs
from store.models import Task
from tests.factories import make_id
from tests.workflows.scenario import scenario_at, shanghai, timeline_kinds


async def test_next_stage_sees_the_verified_fact_and_the_re_run_pre_check(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 12, 1, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(
            "jilin-2022",
            id_number=make_id(date(1978, 5, 4), female=True, region="220102"),
            requested_category="older_unemployed",
            residence={"hukou_region_code": "220102", "hukou_local": True},
        )
        acceptance = await sc.task("jl_officer", case_id, "acceptance")
        assert acceptance["payload"]["pre_check"]["categories_met"] == []
        async with sc.system.sessions()() as session:
            row = await session.get(Task, acceptance["id"])
            assert row is not None
            offered = [i.path for i in await verification_inputs(session, row)]
        # Only the open point of the category applied for: the age branch already holds.
        assert offered == ["residence.urban"]

        headers = await sc.system.login("jl_officer")
        r = await sc.http.post(
            f"/api/v1/tasks/{acceptance['id']}/complete",
            headers=headers,
            json={"outcome": "accept", "verified_facts": {"residence.urban": True}},
        )
        assert r.status_code == 200, r.text

        review = await sc.task("jl_officer", case_id, "initial_review")
        pre_check = review["payload"]["pre_check"]
        assert pre_check["categories_met"] == ["older_unemployed"]
        assert "大龄失业人员" in pre_check["summary_zh"]
        async with sc.system.sessions()() as session:
            row = await session.get(Task, review["id"])
            assert row is not None
            assert [i.path for i in await verification_inputs(session, row)] == []

        case = await sc.case(case_id)
        kinds = timeline_kinds(case)
        # Recorded in the completion, before the next stage opened.
        done = kinds.index("task_completed")
        assert kinds[done : done + 3] == ["task_completed", "facts_verified", "pre_check"]
        assert kinds.index("pre_check", done) < kinds.index("stage")
        assert case["facts"]["residence"]["urban"] is True
        assert case["pre_check"]["requested_category_met"] is True
