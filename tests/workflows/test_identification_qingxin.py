"""Qingxin (清远市清新区人社局实施方案, 2024): the township PES accepts, reviews and publicises
(二); an objection the applicant still disputes after verification and explanation goes to the
district PES (三(二)); the district reviews (二) and a refusal is written on the form with a
《不予认定就业困难人员告知书》 served on the applicant (三(二)). Publicity length (5 working
days) and clocks come from the Guangdong measures, not in the seed: administrator settings."""

from __future__ import annotations

from pathlib import Path

from tests.workflows.scenario import end_of, instant, scenario_at, shanghai

PACK = "qingxin-2024"
REFUSAL_NOTICE = "《不予认定就业困难人员告知书》"


async def test_happy_path_five_working_day_publicity_over_national_day(tmp_path: Path) -> None:
    """清新区人社局实施方案(2024) 二: 各镇公共就业服务机构负责……认定申请、初审、公示 and 区级
    审核. From Wed 30 Sep 2026 the 5 working days of publicity are 8, 9, 10 (make-up
    Saturday), 12 and 13 Oct: it ends at the end of Tue 13 Oct."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("qx_officer", case_id, "acceptance", "accept")
        await sc.do("qx_officer", case_id, "initial_review", "approve")
        case = await sc.in_publicity(case_id)
        [started] = [e for e in case["timeline"] if e["kind"] == "publicity"]
        assert instant(started["after"]["ends_at"]) == end_of(2026, 10, 13)
        case = await sc.wait_case(
            case_id, lambda c: c["identification_deadline"] is not None, "the deadline"
        )
        assert case["identification_deadline"] == "2026-11-03"  # 20 working days from 30 Sep

        await sc.sleep_until(shanghai(2026, 10, 13, 20, 0))
        assert (await sc.case(case_id))["status"] == "in_publicity"
        await sc.sleep_until(shanghai(2026, 10, 14, 0, 5))
        await sc.do("qx_officer", case_id, "publicity_report", "report")
        review = await sc.task("qx_reviewer", case_id, "review")
        assert review["jurisdiction_code"] == "441803"
        await sc.complete("qx_reviewer", review, "approve", category="older_unemployed")
        case = await sc.closed(case_id)
        assert case["status"] == "identified"
        assert case["identifying_agency"].startswith("441803")
        assert [n["kind"] for n in case["notices"]] == ["identification"]


async def test_objection_disputed_goes_to_district_upheld_serves_refusal_notice(
    tmp_path: Path,
) -> None:
    """清新区人社局实施方案(2024) 三(二): 审核、公示环节有异议经核实、解释后申请人仍不服的，应报区级
    公共就业服务机构进行处理 — the district upholds the objection, which refuses identification:
    审核未通过的……出具《不予认定就业困难人员告知书》依法送达本人."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("qx_officer", case_id, "acceptance", "accept")
        await sc.do("qx_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        r = await sc.object("qx_officer", case_id, content="申请人系企业法人", raised_by="群众来电")
        assert r.status_code == 201, r.text
        township = await sc.task("qx_officer", case_id, "objection")
        assert township["id"] == r.json()["task_id"]
        assert township["jurisdiction_code"] == "441803100"
        await sc.complete(
            "qx_officer", township, "applicant_disagrees", explanation="已核实并解释，申请人仍不服"
        )

        escalated = await sc.task("qx_reviewer", case_id, "objection")
        assert escalated["id"] != township["id"]
        assert escalated["jurisdiction_code"] == "441803"
        assert escalated["candidate_role"] == "county_reviewer"
        assert escalated["payload"]["escalated_from"] == township["id"]
        assert (await sc.case(case_id))["status"] == "in_publicity"
        # The township can no longer decide it.
        r = await sc.post_complete("qx_officer", escalated["id"], "dismissed", explanation="x")
        assert r.status_code in (403, 404), r.text

        await sc.complete("qx_reviewer", escalated, "upheld", reason="经查申请人为企业法定代表人")
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        assert case["outcome_reason"] == "经查申请人为企业法定代表人"
        [notice] = case["notices"]
        assert (notice["kind"], notice["title"]) == ("refusal", REFUSAL_NOTICE)
        assert notice["body"]["reason"] == "经查申请人为企业法定代表人"
        assert notice["body"]["agency"].startswith("441803 ")  # served by the district
        # The basis is the refusal's clause (三(二)), not the publicity stage's.
        assert notice["body"]["basis"] == "清新区人社局实施方案(2024) 三(二)"
        assert "review" not in {t.kind for t in await sc.tasks_of(case_id)}


async def test_refusal_at_district_review_serves_refusal_notice(tmp_path: Path) -> None:
    """清新区人社局实施方案(2024) 三(二): 审核未通过的，应当在《广东省就业困难人员认定申请表》上注明
    原因，并出具《不予认定就业困难人员告知书》依法送达本人."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("qx_officer", case_id, "acceptance", "accept")
        await sc.do("qx_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        await sc.sleep_until(shanghai(2026, 10, 14, 0, 5))  # 5 working days after 30 Sep
        await sc.do("qx_officer", case_id, "publicity_report", "report")
        await sc.do("qx_reviewer", case_id, "review", "refuse", reason="非本省户籍")
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        [notice] = case["notices"]
        assert (notice["kind"], notice["title"]) == ("refusal", REFUSAL_NOTICE)
        assert notice["body"]["reason"] == "非本省户籍"
        assert notice["body"]["stage"] == "区级审核"
        # 依据: the refusal's own clause, not the review stage's (二: which office reviews).
        assert notice["body"]["basis"] == "清新区人社局实施方案(2024) 三(二)"
