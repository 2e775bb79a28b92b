"""Xinyu (余人社字[2023]82号, 试行): the street/township station or community accepts (第二条(一)),
compares the ID number online and verifies by a home visit (线下入户核实, 第二条(二)), signs the
initial review, and the county PES re-examines and confirms (第二条(三)). No publicity; the
document gives no stage times (限时办结制, 第七条(三)), so the pack's are administrator settings."""

from __future__ import annotations

from pathlib import Path

from tests.workflows.scenario import end_of, instant, scenario_at, shanghai, timeline_kinds

PACK = "xinyu-2023"


async def test_happy_path_with_home_visit_by_the_street(tmp_path: Path) -> None:
    """余人社字[2023]82号 第二条(二) 线下入户核实 then 第二条(三) 县(区)公共就业服务机构对初审
    通过人员进行复审. The visit is a community-level step; the demo case is filed at 城南街道
    (no community below it in the tree), so the street officer (xy_officer) makes it."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("xy_officer", case_id, "acceptance", "accept")
        visit = await sc.task("xy_officer", case_id, "home_visit")
        assert visit["jurisdiction_code"] == "360502001"
        assert visit["payload"]["source"] == "余人社字[2023]82号 第二条(二)"
        # The visit's 3/5 working days (administrator setting) from 30 Sep: 8, 9, 10 Oct (the
        # make-up Saturday) for the goal, then 12 and 13 Oct for the deadline.
        assert instant(visit["due_at"]) == end_of(2026, 10, 10)
        assert instant(visit["deadline_at"]) == end_of(2026, 10, 13)
        # Outcome fields are checked before anything enters history.
        r = await sc.post_complete("xy_officer", visit["id"], "confirmed")
        assert (r.status_code, r.json()["type"]) == (422, "/problems/missing-fields")
        await sc.complete("xy_officer", visit, "confirmed", visit_record="入户核实：无业在家")

        await sc.do("xy_officer", case_id, "initial_review", "approve")
        review = await sc.task("xy_reviewer", case_id, "review")
        assert review["jurisdiction_code"] == "360502"
        await sc.complete("xy_reviewer", review, "approve", category="age_4050")
        case = await sc.closed(case_id)
        assert case["status"] == "identified"
        assert case["category_code"] == "age_4050"
        assert case["identifying_agency"].startswith("360502")
        assert "publicity" not in timeline_kinds(case)  # Xinyu has no publicity stage
        assert case["identification_deadline"] == "2026-10-20"  # 10 working days from 30 Sep


async def test_refusal_at_home_visit_not_confirmed(tmp_path: Path) -> None:
    """余人社字[2023]82号 第二条(二): 线下入户核实 — what the visit does not confirm ends the
    case refused before the initial review; the pack names no notice for Xinyu."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("xy_officer", case_id, "acceptance", "accept")
        await sc.do(
            "xy_officer",
            case_id,
            "home_visit",
            "not_confirmed",
            visit_record="入户核实：已在本地企业就业",
            reason="入户核实发现已就业",
        )
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        assert case["outcome_reason"] == "入户核实发现已就业"
        assert case["notices"] == []
        assert {t.kind for t in await sc.tasks_of(case_id)} == {"acceptance", "home_visit"}


async def test_refusal_at_county_review(tmp_path: Path) -> None:
    """余人社字[2023]82号 第二条(三): 县(区)公共就业服务机构对初审通过人员进行复审 — the county
    refuses and the case closes refused at once (Xinyu does not return it to the street)."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("xy_officer", case_id, "acceptance", "accept")
        await sc.do("xy_officer", case_id, "home_visit", "confirmed", visit_record="属实")
        await sc.do("xy_officer", case_id, "initial_review", "approve")
        await sc.do("xy_reviewer", case_id, "review", "refuse", reason="未进行失业登记")
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        assert case["outcome_reason"] == "未进行失业登记"
        kinds = [t.kind for t in await sc.tasks_of(case_id)]
        assert "inform_refusal" not in kinds
        assert {t.state for t in await sc.tasks_of(case_id)} == {"completed"}
