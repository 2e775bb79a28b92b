"""Jilin (吉人社发〔2022〕10号): acceptance, initial review, publicity of 3 working days
(二(二)), county review (二(三)) within 10 working days of acceptance (二(四)); run on a
time-skipping server whose clock starts before the 2026 National Day holiday."""

from __future__ import annotations

from pathlib import Path

from tests.workflows.scenario import scenario_at, shanghai

PACK = "jilin-2022"


async def test_happy_path_publicity_spans_national_day_to_make_up_saturday(tmp_path: Path) -> None:
    # Wednesday 30 Sep 2026, 09:00: 1–7 Oct are off, Sat 10 Oct is a make-up working day, so the
    # publicity's 3 working days are 8, 9 and 10 Oct and it ends at the end of Saturday 10 Oct.
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "approve")
        case = await sc.wait_case(case_id, lambda c: c["status"] == "in_publicity", "publicity")
        assert case["identification_deadline"] == "2026-10-20"  # 10 working days from 30 Sep

        await sc.sleep_until(shanghai(2026, 10, 10, 20, 0))  # still the make-up Saturday
        case = await sc.case(case_id)
        assert case["status"] == "in_publicity"

        await sc.sleep_until(shanghai(2026, 10, 11, 0, 5))
        task = await sc.task("jl_officer", case_id, "publicity_report")
        await sc.complete("jl_officer", task, "report")
        review = await sc.task("jl_reviewer", case_id, "review")
        await sc.complete("jl_reviewer", review, "approve", category="older_unemployed")
        assert await sc.result(case_id) == "identified"
        case = await sc.case(case_id)
        assert case["category_code"] == "older_unemployed"
        assert case["identifying_agency"].startswith("220102")
        assert case["identified_by"]


async def test_ten_working_day_deadline_breached_escalates_up_the_tree(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.task("jl_officer", case_id, "initial_review")
        # Nobody acts. The deadline is the end of 20 Oct; escalation climbs a level a day.
        await sc.sleep_until(shanghai(2026, 10, 23, 12, 0))
        deadline = [b for b in await sc.breaches(case_id) if b.clock == "identification_deadline"]
        assert [
            (b.level, b.jurisdiction_code) for b in sorted(deadline, key=lambda b: b.level)
        ] == [
            (1, "220102"),  # 南关区 (district supervisor)
            (2, "220100"),  # 长春市
            (3, "220000"),  # 吉林省
        ]
        supervisor = await sc.system.login("jl_supervisor")
        r = await sc.http.get(
            "/api/v1/tasks", headers=supervisor, params={"kind": "escalation", "limit": 200}
        )
        mine = [t for t in r.json()["items"] if t["case_id"] == case_id]
        # The city supervisor sees the district's and the city's escalations, not the province's.
        assert {t["jurisdiction_code"] for t in mine} >= {"220102", "220100"}
        assert "220000" not in {t["jurisdiction_code"] for t in mine}
        r = await sc.http.get("/api/v1/supervision/breaches", headers=supervisor)
        assert any(b["case_id"] == case_id for b in r.json())
        # The initial review task's own SLA (1/2 working days) breached too, and only once each.
        task_breaches = [b for b in await sc.breaches(case_id) if b.clock == "task:initial_review"]
        assert len({(b.event, b.level) for b in task_breaches}) == len(task_breaches) >= 2
