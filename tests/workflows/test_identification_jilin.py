"""Jilin (吉人社发〔2022〕10号): acceptance, initial review, publicity of 3 working days
(二(二)), county review (二(三)) within 10 working days of acceptance (二(四)); run on a
time-skipping server whose clock starts before the 2026 National Day holiday."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from tests.workflows.scenario import end_of, instant, scenario_at, shanghai, timeline_kinds
from workflows.steps import PATCHES_MEMO, STARTED_WITH_THESE_PATCHES

PACK = "jilin-2022"


async def test_happy_path_publicity_spans_national_day_to_make_up_saturday(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(二) 在辖区内公示3个工作日 and 二(三) 复核认定: the publicity counts
    working days only, so it spans the National Day holiday and ends on the make-up Saturday."""
    # Wednesday 30 Sep 2026, 09:00: 1–7 Oct are off, Sat 10 Oct is a make-up working day, so the
    # publicity's 3 working days are 8, 9 and 10 Oct and it ends at the end of Saturday 10 Oct.
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "approve")
        # The deadline is written by the case's clock, alongside the stages: wait for both.
        case = await sc.wait_case(
            case_id,
            lambda c: c["status"] == "in_publicity" and c["identification_deadline"] is not None,
            "publicity and the deadline",
        )
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
    """吉人社发〔2022〕10号 二(四): 应在受理后10个工作日内完成就业困难人员认定 — past the deadline
    the breach is escalated a level of the jurisdiction tree a day (督办逐级上报)."""
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
        r = await sc.http.get(
            "/api/v1/supervision/breaches", headers=supervisor, params={"limit": 200}
        )
        assert any(b["case_id"] == case_id for b in r.json()["items"])
        # The initial review task's own SLA (1/2 working days) breached too, and only once each.
        task_breaches = [b for b in await sc.breaches(case_id) if b.clock == "task:initial_review"]
        assert len({(b.event, b.level) for b in task_breaches}) == len(task_breaches) >= 2


async def test_not_accepted_at_acceptance_serves_notice(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(二): 基层公共就业服务平台受理后……对认定表填写内容的完整性和准确性予以
    查验 — an application the platform does not accept closes as not accepted, with a notice."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "not_accepted", reason="认定表填写不完整")
        case = await sc.closed(case_id)
        assert case["status"] == "not_accepted"
        assert case["outcome_reason"] == "认定表填写不完整"
        assert case["accepted_at"] is None and case["identification_deadline"] is None
        [notice] = case["notices"]
        assert (notice["kind"], notice["title"]) == ("not_accepted", "不予受理告知书")
        assert notice["body"]["reason"] == "认定表填写不完整"
        assert notice["body"]["basis"] == "吉人社发〔2022〕10号 二(二)"
        # The person may apply again at once.
        await sc.submit(PACK, id_number=case["id_number"])


async def test_refusal_at_initial_review_informs_the_applicant(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(二): 对不符合认定条件的，在认定表上注明原因，并告知申请人 —
    the street refuses and the applicant is told the reason and basis (a notice), no county
    involved."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "refuse", reason="有营业执照")
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        assert case["outcome_reason"] == "有营业执照"
        [notice] = case["notices"]
        assert (notice["kind"], notice["title"]) == ("refusal", "不予认定告知")
        assert notice["body"]["basis"] == "吉人社发〔2022〕10号 二(二)"
        assert notice["body"]["agency"].startswith("220102001")
        kinds = {t.kind for t in await sc.tasks_of(case_id)}
        assert kinds == {"acceptance", "initial_review"}  # no publicity, no review


async def test_refusal_at_review_returns_to_the_street_which_informs(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(三): 复审未通过的，在认定表上注明原因，系统中退回并由初审的
    基层公共就业服务平台及时告知申请人 — the case closes refused only once the street has
    informed."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        # 3 working days after 30 Sep end with the make-up Saturday 10 Oct.
        await sc.sleep_until(shanghai(2026, 10, 11, 0, 5))
        await sc.do("jl_officer", case_id, "publicity_report", "report")
        await sc.do("jl_reviewer", case_id, "review", "refuse", reason="系统比对有社保缴费记录")

        inform = await sc.task("jl_officer", case_id, "inform_refusal")
        assert inform["jurisdiction_code"] == "220102001"  # back to the street that reviewed first
        assert inform["payload"]["reason"] == "系统比对有社保缴费记录"
        assert inform["payload"]["refused_at"] == "复核认定"
        case = await sc.case(case_id)
        assert case["status"] == "under_review" and case["closed_at"] is None
        # The county cannot tell the applicant in the street's place.
        r = await sc.post_complete("jl_reviewer", inform["id"], "informed", channel="电话")
        assert r.status_code == 403, r.text

        await sc.complete("jl_officer", inform, "informed", channel="电话")
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        assert case["outcome_reason"] == "系统比对有社保缴费记录"
        assert case["notices"] == []  # the street informs; no formal notice in Jilin


async def test_missing_evidence_notice_then_supplied_and_accepted(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(一) lists the papers; a written commitment does not replace them
    here (一(三) verifies, see the pack). Missing papers are notified at once, the street
    collects them, the re-assessment passes and the acceptance task opens."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK, evidence=["application_form"])
        task = await sc.task("jl_officer", case_id, "supplement")
        missing = {"id_card", "household_register_or_urban_residence_proof"}
        case = await sc.wait_case(
            case_id, lambda c: c["status"] == "awaiting_materials", "the one-time notice"
        )
        [notice] = case["notices"]
        assert {i["code"] for i in notice["body"]["items"]} == missing
        assert notice["body"]["commitment_can_stand_in"] is False
        # A commitment is not offered, nor evidence the notice did not ask for.
        assert set(task["payload"]["form"]["outcomes"]) == {"supplied", "abandoned"}
        r = await sc.post_complete("jl_officer", task["id"], "commitment")
        assert (r.status_code, r.json()["type"]) == (422, "/problems/bad-outcome")
        r = await sc.post_complete("jl_officer", task["id"], "supplied", evidence=["diploma"])
        assert (r.status_code, r.json()["type"]) == (422, "/problems/bad-field")

        await sc.complete("jl_officer", task, "supplied", evidence=sorted(missing))
        await sc.task("jl_officer", case_id, "acceptance")
        case = await sc.case(case_id)
        assert set(case["facts"]["evidence"]) == {"application_form", *missing}
        assert timeline_kinds(case).count("pre_check") == 2  # assessed again after the supplement
        assert case["pre_check"]["evidence_missing"] == []
        assert case["identification_deadline"] is None  # the clock starts at acceptance


async def test_objection_dismissed_publicity_ends_on_time(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(二): 公示3个工作日。公示无异议…… An objection is taken only
    during the publicity; once dismissed, the publicity still ends at the end of Sat 10 Oct
    (the 3rd working day after 30 Sep: 1–7 Oct off, 10 Oct a make-up working day)."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.task("jl_officer", case_id, "initial_review")
        r = await sc.object("jl_officer", case_id)  # before the publicity
        assert (r.status_code, r.json()["type"]) == (409, "/problems/not-in-publicity")

        await sc.do("jl_officer", case_id, "initial_review", "approve")
        case = await sc.in_publicity(case_id)
        [started] = [e for e in case["timeline"] if e["kind"] == "publicity"]
        assert instant(started["after"]["ends_at"]) == end_of(2026, 10, 10)
        # Two objections at once (one recorded at the window, one sent in): each is its own
        # task and its own timeline entry.
        first, second = await asyncio.gather(
            sc.object("jl_officer", case_id, content="申请人在外地打工", raised_by="邻居"),
            sc.object("jl_officer", case_id, content="申请人有营业执照", raised_by="来信"),
        )
        assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
        assert first.json()["task_id"] != second.json()["task_id"]
        case = await sc.wait_case(
            case_id,
            lambda c: timeline_kinds(c).count("objection") == 2,
            "both objections on the timeline",
        )
        for r in (first, second):
            [row] = [t for t in await sc.tasks_of(case_id) if t.id == r.json()["task_id"]]
            assert row.kind == "objection"
            await sc.complete(
                "jl_officer", {"id": row.id}, "dismissed", explanation="经核实无此情况"
            )

        await sc.sleep_until(shanghai(2026, 10, 10, 20, 0))
        assert (await sc.case(case_id))["status"] == "in_publicity"
        await sc.sleep_until(shanghai(2026, 10, 11, 0, 5))
        await sc.task("jl_officer", case_id, "publicity_report")
        case = await sc.case(case_id)
        assert case["stage"] == "publicity_report"
        r = await sc.object("jl_officer", case_id)  # after the publicity
        assert (r.status_code, r.json()["type"]) == (409, "/problems/not-in-publicity")


async def test_objection_restarts_publicity_end_moves(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(二): 公示3个工作日 — an objection whose handling restarts the
    publicity gives it 3 full working days again: restarted on Fri 9 Oct it ends at the end of
    Tue 13 Oct (10 Oct is a make-up working day, 11 Oct a Sunday), not on 10 Oct."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        await sc.sleep_until(shanghai(2026, 10, 9, 10, 0))
        r = await sc.object("jl_officer", case_id)
        assert r.status_code == 201, r.text
        await sc.do(
            "jl_officer", case_id, "objection", "restart", explanation="公示内容有误，重新公示"
        )
        case = await sc.wait_case(
            case_id,
            lambda c: "publicity_restart" in timeline_kinds(c),
            "the publicity restart",
        )
        [restart] = [e for e in case["timeline"] if e["kind"] == "publicity_restart"]
        assert instant(restart["after"]["ends_at"]) == end_of(2026, 10, 13)

        await sc.sleep_until(shanghai(2026, 10, 11, 0, 5))  # the original end has passed
        assert (await sc.case(case_id))["status"] == "in_publicity"
        await sc.sleep_until(shanghai(2026, 10, 13, 20, 0))
        assert (await sc.case(case_id))["status"] == "in_publicity"
        assert "publicity_report" not in {t.kind for t in await sc.tasks_of(case_id)}
        await sc.sleep_until(shanghai(2026, 10, 14, 0, 5))
        await sc.task("jl_officer", case_id, "publicity_report")


async def test_objection_upheld_refuses_and_the_street_informs(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(二): only a publicity without objection is reported up; an objection
    the street upholds refuses identification, told as the street tells its own refusals
    (对不符合认定条件的，在认定表上注明原因，并告知申请人)."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        r = await sc.object("jl_officer", case_id, content="申请人在企业任监事")
        assert r.status_code == 201, r.text
        objection = await sc.task("jl_officer", case_id, "objection")
        # Jilin does not take a disputed objection to the county.
        assert set(objection["payload"]["form"]["outcomes"]) == {"dismissed", "upheld", "restart"}
        await sc.complete("jl_officer", objection, "upheld", reason="经核实申请人任企业监事")
        case = await sc.closed(case_id)
        assert case["status"] == "refused"
        [notice] = case["notices"]
        assert (notice["kind"], notice["title"]) == ("refusal", "不予认定告知")
        assert notice["body"]["reason"] == "经核实申请人任企业监事"
        assert notice["body"]["agency"].startswith("220102001 ")
        assert {t.kind for t in await sc.tasks_of(case_id)} == {
            "acceptance",
            "initial_review",
            "objection",
        }


async def test_objection_raised_as_publicity_ends_is_not_lost(tmp_path: Path) -> None:
    """吉人社发〔2022〕10号 二(二): only a publicity without objection (公示无异议) is reported up.
    An objection admitted in the last instant of the publicity must hold the report back even
    if the publicity's end passes while the objection task is still being opened."""
    # Recording the objection on the timeline takes 3 real seconds, so the end of the
    # publicity (the end of Sat 10 Oct) passes while the objection's handler is in it.
    async with (
        scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path, worker=False) as sc,
        sc.worker(slow_events={"objection": 3.0}),
    ):
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        await sc.sleep_until(shanghai(2026, 10, 10, 23, 59, 59))
        r = await sc.object("jl_officer", case_id)
        assert r.status_code == 201, r.text
        assert await sc.now() > end_of(2026, 10, 10)
        objection = await sc.task("jl_officer", case_id, "objection")
        case = await sc.case(case_id)
        assert case["status"] == "in_publicity"
        assert "publicity_report" not in {t.kind for t in await sc.tasks_of(case_id)}

        await sc.complete("jl_officer", objection, "dismissed", explanation="经核实无此情况")
        await sc.task("jl_officer", case_id, "publicity_report")


async def test_a_decision_answers_after_one_local_step(tmp_path: Path) -> None:
    """#22: an officer's answer leaves with the workflow task that records what follows the
    decision. Accepting a Jilin case takes one local step there — the initial review's
    opening, which writes 受理申请, 认定办结时限开始计算 and 进入初审 with the task's row — where
    it took four, each entry a step of its own, and then two: the deadline (二(四)) is computed
    by the acceptance's closing, from the acceptance's time. Approving the initial review
    likewise: the publicity's end (二(二), 3 working days) is computed by its closing, and the
    one step writes 公示开始 with it."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.task("jl_officer", case_id, "initial_review")
        handle = sc.env.client.get_workflow_handle(f"identification-{case_id}")
        assert local_steps_after_last_update(await handle.fetch_history()) == ["open_task"]
        case = await sc.case(case_id)
        kinds = timeline_kinds(case)
        assert kinds.index("accepted") < kinds.index("deadline") < kinds.index("stage")
        assert case["status"] == "under_review"
        assert case["identification_deadline"] == "2026-10-20"

        await sc.do("jl_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        assert local_steps_after_last_update(await handle.fetch_history()) == ["update_case"]
        publicity = next(
            e for e in (await sc.case(case_id))["timeline"] if e["kind"] == "publicity"
        )
        # Three working days after 30 September, across the National Day holiday: 8, 9 and the
        # make-up Saturday 10 October, to its end (see the happy path above).
        assert publicity["summary"] == "公示开始（3个工作日，至2026-10-11T00:00:00+08:00）"


def local_steps_after_last_update(history: WorkflowHistory) -> list[str]:
    """The local activities recorded with the workflow task that answered the last update."""
    events = list(history.events)
    answered = max(
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    )
    steps: list[str] = []
    for e in events[answered + 1 :]:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            break
        attrs = e.marker_recorded_event_attributes
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and "data" in attrs.details:
            steps.append(json.loads(attrs.details["data"].payloads[0].data)["activity_type"])
    return steps


async def test_a_new_case_answers_every_patch_from_its_memo(tmp_path: Path) -> None:
    """#22: a run started on today's code carries the patch set it was started with in its
    memo, and is answered yes for every patch of ``workflows.steps.PATCHES_AT_START`` with no
    marker at all, so no upsert of TemporalChangeVersion either (each cost the server a
    history event and a visibility write). A Jilin case in its publicity had asked four
    patches (local steps, held entries, the deadline started before the stages, its watcher
    told by a flag) and takes their new paths: the deadline on the timeline before the first
    stage, say."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(PACK)
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        await sc.do("jl_officer", case_id, "initial_review", "approve")
        await sc.in_publicity(case_id)
        handle = sc.env.client.get_workflow_handle(f"identification-{case_id}")
        history = await handle.fetch_history()
        assert patch_markers(history) == []
        upserts = [
            e
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        ]
        assert upserts == []
        memo = await (await handle.describe()).memo()
        assert memo == {PATCHES_MEMO: STARTED_WITH_THESE_PATCHES}
        kinds = timeline_kinds(await sc.case(case_id))
        assert kinds.index("deadline") < kinds.index("stage")


def patch_markers(history: WorkflowHistory) -> list[str]:
    """The ids of the patch markers a history holds, in order."""
    found: list[str] = []
    for e in history.events:
        attrs = e.marker_recorded_event_attributes
        marker = e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        if marker and attrs.marker_name == "core_patch":
            details = next(iter(attrs.details.values()))
            found.append(json.loads(details.payloads[0].data)["id"])
    return found
