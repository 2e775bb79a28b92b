"""Weifang (潍人社字〔2023〕1号): a single stage at the county PES — the system checks the
provincial data (二(一)), the county reviews and concludes on the spot (即时办结, 二(二)); there is
no acceptance stage, no publicity. Data sharing replaces paper and a written integrity
commitment (诚信申报承诺) may stand in for what neither covers (二(一)).

Weifang is a Shandong city: shandong-2021 frames assistance but delegates identification to the
cities, so a case can only be opened under weifang-2023 (which extends it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.policy import load_pack
from domain.vocabulary import PlaceRef
from tests.workflows.scenario import end_of, instant, scenario_at, shanghai, timeline_kinds
from workflows.rules import case_rules

PACK = "weifang-2023"
# The demo tree: 山东省 370000 maps to shandong-2021, 潍坊市 370700 to weifang-2023.
CHAIN = [
    PlaceRef("370702", "/000000/370000/370700/370702/", "county", "潍城区"),
    PlaceRef("370700", "/000000/370000/370700/", "city", "潍坊市"),
    PlaceRef("370000", "/000000/370000/", "province", "山东省"),
]


def test_shandong_2021_delegates_identification_to_cities_no_case_opens_under_it() -> None:
    """山东省人社厅 (2021-11-03) sets up the assistance system and leaves identification to the
    cities: its pack has no procedure, so no case can be opened under it directly."""
    with pytest.raises(ValueError, match="delegates identification to its cities") as raised:
        case_rules(load_pack("shandong-2021"), CHAIN)
    assert "shandong-2021" in str(raised.value)
    assert "city's pack" in str(raised.value)
    # Weifang's own pack (extending the province's) does give a procedure.
    rules = case_rules(load_pack(PACK), CHAIN)
    assert [s.kind for s in rules.stages] == ["data_check", "immediate_conclusion"]


async def test_happy_path_immediate_conclusion_by_the_county(tmp_path: Path) -> None:
    """潍人社字〔2023〕1号 二(二): 县级以上公共就业服务机构……符合认定条件的即时办结. The case is
    accepted on receipt (no acceptance stage) and pinned to weifang-2023, not shandong-2021."""
    # Wed 30 Sep 2026: the 1-working-day clock of 即时办结 runs to the end of Thu 8 Oct,
    # the first working day after the National Day holiday (1–7 Oct).
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        task = await sc.task("wf_reviewer", case_id, "immediate_conclusion")
        assert task["jurisdiction_code"] == "370702"
        assert instant(task["due_at"]) == end_of(2026, 10, 8)
        case = await sc.wait_case(
            case_id, lambda c: c["identification_deadline"] is not None, "the deadline"
        )
        assert case["policy_pack_id"] == PACK
        assert case["policy_pack_ref"].startswith("weifang-2023@")
        # Accepted on receipt, straight into the single stage.
        assert (case["status"], case["stage"]) == ("under_review", "immediate_conclusion")
        assert case["accepted_at"] is not None
        assert case["identification_deadline"] == "2026-10-08"

        await sc.complete("wf_reviewer", task, "approve", category="older_unemployed")
        case = await sc.closed(case_id)
        assert case["status"] == "identified"
        assert case["category_code"] == "older_unemployed"
        assert case["identifying_agency"].startswith("370702")
        assert "acceptance" not in {t.kind for t in await sc.tasks_of(case_id)}
        assert "accepted" in timeline_kinds(case) and "identified" in timeline_kinds(case)
        # The notice of identification, written with the decision (activities/cases.py).
        [notice] = case["notices"]
        assert (notice["kind"], notice["body"]["category"]) == (
            "identification",
            "older_unemployed",
        )


async def test_refusal_at_immediate_conclusion_informs_basis_and_reasons(tmp_path: Path) -> None:
    """潍人社字〔2023〕1号 二(二): 经审查不符合认定条件的，公共就业服务机构应通过系统提示、现场或
    书面形式告知本人不予认定的依据和理由 — the refusal serves a notice with reason and basis."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("wf_reviewer", case_id, "immediate_conclusion", "refuse", reason="已有稳定收入")
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        assert case["outcome_reason"] == "已有稳定收入"
        [notice] = case["notices"]
        assert notice["kind"] == "refusal"
        assert notice["title"] == "不予认定告知"
        assert notice["body"]["reason"] == "已有稳定收入"
        assert notice["body"]["basis"] == "潍人社字〔2023〕1号 二(二)"
        assert notice["body"]["agency"].startswith("370702")
        assert {t.state for t in await sc.tasks_of(case_id)} == {"completed"}


async def test_missing_evidence_one_time_notice_then_written_commitment(tmp_path: Path) -> None:
    """潍人社字〔2023〕1号 二(一): no paper where data sharing confirms the fact; otherwise the
    applicant may sign a written integrity commitment (书面承诺) instead. Everything missing is
    notified at once (一次性告知)."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        # Only the ID card is handed in; the applicant receives 低保 (category ⑤), so the 低保
        # certificate and the household register / residence permit are missing. No
        # department list is imported in this system, so data sharing confirms neither.
        case_id = await sc.submit(
            PACK, evidence=["id_card"], household={"minimum_living_allowance": True}
        )
        task = await sc.task("wf_reviewer", case_id, "supplement")
        missing = {"household_register_or_residence_permit", "minimum_living_allowance_certificate"}
        case = await sc.wait_case(
            case_id, lambda c: c["status"] == "awaiting_materials", "the one-time notice"
        )
        [notice] = case["notices"]
        assert notice["kind"] == "missing_materials"
        assert {i["code"] for i in notice["body"]["items"]} == missing
        assert len(notice["body"]["items"]) == len(missing)
        assert all(i["commitment_may_replace"] for i in notice["body"]["items"])
        assert notice["body"]["commitment_can_stand_in"] is True
        assert {m["code"] for m in task["payload"]["missing"]} == missing
        # The supplement's clock: 10 working days from 30 Sep is Tue 20 Oct (1–7 Oct off,
        # Sat 10 Oct a make-up working day).
        assert instant(task["due_at"]) == end_of(2026, 10, 20)

        # The commitment is offered here (the pack lets it replace every missing item).
        assert set(task["payload"]["form"]["outcomes"]) == {"supplied", "abandoned", "commitment"}
        assert set(task["payload"]["form"]["choices"]["evidence"]) == missing
        await sc.complete("wf_reviewer", task, "commitment")
        conclusion = await sc.task("wf_reviewer", case_id, "immediate_conclusion")
        case = await sc.case(case_id)
        assert case["facts"]["written_commitment"] is True
        assert case["status"] == "under_review"
        assert [n["kind"] for n in case["notices"]] == ["missing_materials"]  # no second round

        await sc.complete("wf_reviewer", conclusion, "approve", category="minimum_living_allowance")
        case = await sc.closed(case_id)
        assert case["status"] == "identified"
        assert case["category_code"] == "minimum_living_allowance"
