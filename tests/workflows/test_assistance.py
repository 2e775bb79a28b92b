"""AssistanceWorkflow over years of simulated time (time-skipping server under libfaketime):
a person served to employment, the six-month contact clock (weifang 三(一)9), three refusals in
half a year (xinyu 第三条(一)3), fraud with subsidies recovered (weifang 五(四)), the cumulative
subsidy cap (xinyu 第三条(二)) and continue-as-new under a stream of updates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.vocabulary import PlaceRef
from store.db import make_engine, make_sessionmaker
from store.models import SlaBreach, Task
from store.models_assistance import AssistanceEntry, SubsidyGrantRow
from tests.assistance_support import start_assistance
from tests.workflows.scenario import Scenario, scenario_at, shanghai

WEIFANG = "weifang-2023"
XINYU = "xinyu-2023"
WF_CHAIN = [
    PlaceRef("370702", "/000000/370000/370700/370702/", "county", "潍城区"),
    PlaceRef("370700", "/000000/370000/370700/", "city", "潍坊市"),
    PlaceRef("370000", "/000000/370000/", "province", "山东省"),
]
XY_CHAIN = [
    PlaceRef("360502001", "/000000/360000/360500/360502/360502001/", "street", "城南街道"),
    PlaceRef("360502", "/000000/360000/360500/360502/", "county", "渝水区"),
    PlaceRef("360500", "/000000/360000/360500/", "city", "新余市"),
    PlaceRef("360000", "/000000/360000/", "province", "江西省"),
]


async def assistance(sc: Scenario, case_id: str, user: str = "admin") -> dict[str, Any]:
    r = await sc.http.get(
        f"/api/v1/cases/{case_id}/assistance", headers=await sc.system.login(user)
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def wait_assistance(sc: Scenario, case_id: str, predicate: Any, what: str) -> dict[str, Any]:
    for _ in range(400):
        r = await sc.http.get(
            f"/api/v1/cases/{case_id}/assistance", headers=await sc.system.login("admin")
        )
        if r.status_code == 200 and predicate(r.json()):
            return r.json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id}: timed out waiting for {what}: {r.text[:1500]}")


async def weifang_person(sc: Scenario) -> tuple[str, dict[str, Any]]:
    """A Weifang person (older unemployed, 潍城区) in assistance from the scenario's now: the
    case and its first view."""
    case_id, _ = await start_assistance(
        sc.system.sessions(),
        sc.env.client,
        sc.system.settings.temporal_task_queue,
        pack_id=WEIFANG,
        chain=WF_CHAIN,
        category="older_unemployed",
        now=await sc.now(),
    )
    return case_id, await wait_assistance(sc, case_id, lambda a: True, "the start")


async def post(
    sc: Scenario, user: str, case_id: str, what: str, body: dict[str, Any], key: str | None = None
) -> Any:
    headers = await sc.system.login(user)
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return await sc.http.post(
        f"/api/v1/cases/{case_id}/assistance/{what}", headers=headers, json=body
    )


async def test_weifang_person_served_to_employment(tmp_path: Path) -> None:
    """Identified on the spot (二(二)), the county draws up the plan by agreement (一人一策,
    山东 五(四) 援助协议), services are counted against 四 1 (one each of 政策咨询, 职业介绍,
    职业指导, 职业培训), and the employment registration ends the status automatically
    (三(二)1) — the person is told, the case shows exited, and may apply again later."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(WEIFANG)
        await sc.do(
            "wf_reviewer", case_id, "immediate_conclusion", "approve", category="older_unemployed"
        )
        plan = await sc.task("wf_reviewer", case_id, "assistance_plan")
        assert plan["jurisdiction_code"] == "370702"
        assert plan["payload"]["agreement"] is True
        bad = await sc.complete(
            "wf_reviewer",
            plan,
            "agreement_signed",
            expect=422,
            intentions="保洁",
            services=["space_travel"],
        )
        assert bad["type"] == "/problems/bad-field"
        await sc.complete(
            "wf_reviewer",
            plan,
            "agreement_signed",
            intentions="希望从事保洁工作",
            services=["job_recommendation", "training"],
        )
        a = await wait_assistance(sc, case_id, lambda a: a["plan"] is not None, "the plan")
        assert a["plan"]["services"] == ["job_recommendation", "training"]
        free = next(s for s in a["standards"] if s["code"] == "free_public_services")
        assert free["applies"] and not free["met"]
        # Four services of 四 1 delivered, months apart.
        for kind in ("policy_consultation", "job_recommendation", "career_guidance", "training"):
            r = await post(sc, "wf_reviewer", case_id, "services", {"kind": kind})
            assert r.status_code == 201, r.text
            await sc.env.sleep(30 * 86400)
        a = await assistance(sc, case_id)
        free = next(s for s in a["standards"] if s["code"] == "free_public_services")
        assert free["met"], free
        assert a["services_delivered"]["training"] == 1
        # A visit task opened after three months (assistance_visit_interval, assumed).
        visit = await sc.task("wf_reviewer", case_id, "assistance_visit")
        await sc.complete("wf_reviewer", visit, "visited", visit_record="家访，正在求职")
        await wait_assistance(sc, case_id, lambda a: a["visit_count"] == 1, "the visit")

        r = await post(
            sc, "wf_reviewer", case_id, "events", {"reason": "hired", "detail": "就业登记"}
        )
        assert r.status_code == 202 and r.json()["handling"] == "exiting", r.text
        a = await wait_assistance(sc, case_id, lambda a: a["status"] == "exited", "the exit")
        assert a["exit"]["reason_code"] == "hired" and a["exit"]["mode"] == "automatic"
        assert a["open_tasks"] == []
        case = await sc.wait_case(case_id, lambda c: c["status"] == "exited", "exited")
        assert case["closed_at"] is not None
        assert any(n["kind"] == "exit" for n in case["notices"])
        assert "assistance_started" in [e["kind"] for e in case["timeline"]]
        # Closed: the person may apply again (weifang bars only grounds 4 and 5).
        number = case["id_number"]
        again = await sc.http.post("/api/v1/applications", json=application_for(WEIFANG, number))
        assert again.status_code == 201, again.text


def application_for(pack: str, id_number: str) -> dict[str, Any]:
    from tests.factories import application

    return application(pack, id_number=id_number)


async def test_weifang_contact_clock_reset_by_own_contacts_and_expiring_without(
    tmp_path: Path,
) -> None:
    """三(一)9 连续6个月未主动与公共就业人才服务机构联系: the person's own contact resets the
    clock; an officer's call does not; a reminder comes a month before the limit
    (contact_reminder_lead, assumed) and at the limit a cancellation review; cancelling exits
    with the ⑨ reason."""
    start = shanghai(2026, 1, 5, 9, 0)
    async with scenario_at(start, tmp_path) as sc:
        case_id, a = await weifang_person(sc)
        assert a["clocks"]["contact_limit_at"].startswith("2026-07-06")
        # Three months on the person comes in: the clock runs from here.
        await sc.sleep_until(shanghai(2026, 4, 1, 10, 0))
        r = await post(sc, "admin", case_id, "contacts", {"channel": "came_in", "own": True})
        assert r.status_code == 201, r.text
        a = await assistance(sc, case_id)
        assert a["clocks"]["contact_limit_at"].startswith("2026-10-02")
        # An officer's call in June is recorded but resets nothing.
        await sc.sleep_until(shanghai(2026, 6, 10, 10, 0))
        r = await post(sc, "admin", case_id, "contacts", {"channel": "phone", "own": False})
        assert r.status_code == 201
        a = await assistance(sc, case_id)
        assert a["contact_count"] == 2
        assert a["clocks"]["contact_limit_at"].startswith("2026-10-02")
        # The reminder a month before the limit.
        await sc.sleep_until(shanghai(2026, 9, 3, 9, 0))
        reminder = await sc.task("wf_reviewer", case_id, "contact_reminder")
        assert reminder["payload"]["limit_at"].startswith("2026-10-02")
        await sc.complete("wf_reviewer", reminder, "not_reached", note="电话无人接听")
        # The limit: a cancellation review for the county.
        await sc.sleep_until(shanghai(2026, 10, 3, 9, 0))
        review = await sc.task("wf_reviewer", case_id, "cancellation_review")
        assert review["payload"]["reason"] == "no_contact_six_months"
        await sc.complete("wf_reviewer", review, "cancel")
        a = await wait_assistance(sc, case_id, lambda a: a["status"] == "exited", "exit")
        assert a["exit"]["reason_code"] == "no_contact_six_months"
        assert a["exit"]["may_reapply"] is True


async def test_xinyu_three_refusals_in_half_a_year_open_an_exit_review(tmp_path: Path) -> None:
    """第三条(一)3 半年内 3 次拒绝公共就业服务: two refusals, then one seven months later (the
    first has left the window), then two more: the third in the window opens an exit review."""
    async with scenario_at(shanghai(2026, 1, 5, 9, 0), tmp_path) as sc:
        case_id, _ = await start_assistance(
            sc.system.sessions(),
            sc.env.client,
            sc.system.settings.temporal_task_queue,
            pack_id=XINYU,
            chain=XY_CHAIN,
            category="age_4050",
            now=await sc.now(),
        )
        await wait_assistance(sc, case_id, lambda a: True, "the start")
        for when in (shanghai(2026, 1, 20, 9), shanghai(2026, 2, 20, 9), shanghai(2026, 9, 1, 9)):
            await sc.sleep_until(when)
            r = await post(sc, "xy_officer", case_id, "refusals", {"service_kind": "training"})
            assert r.status_code == 201, r.text
        a = await assistance(sc, case_id)
        assert a["clocks"]["refusals_in_window"] == 1
        assert "exit_review" not in [t["kind"] for t in a["open_tasks"]]
        for when in (shanghai(2026, 10, 1, 9), shanghai(2026, 11, 2, 9)):
            await sc.sleep_until(when)
            await post(
                sc, "xy_officer", case_id, "refusals", {"service_kind": "job_recommendation"}
            )
        review = await sc.task("xy_reviewer", case_id, "exit_review")
        assert review["payload"]["reason"] == "exit_request_or_refusals"
        assert review["jurisdiction_code"] == "360502"
        await sc.complete("xy_reviewer", review, "confirm")
        a = await wait_assistance(sc, case_id, lambda a: a["status"] == "exited", "exit")
        assert a["exit"]["reason_code"] == "exit_request_or_refusals"


async def test_weifang_false_information_recovers_subsidies_from_the_month_after(
    tmp_path: Path,
) -> None:
    """五(四) 追回自其应注销资格次月起已发放的补贴资金: ¥800 a month from February 2026; the status
    should have ended on 20 March 2026 (a spot check finds the false commitment); cancelled in
    June: April, May and June are recovered, ¥2,400, and the recovery is shown."""
    async with scenario_at(shanghai(2026, 1, 12, 9, 0), tmp_path) as sc:
        case_id, _ = await start_assistance(
            sc.system.sessions(),
            sc.env.client,
            sc.system.settings.temporal_task_queue,
            pack_id=WEIFANG,
            chain=WF_CHAIN,
            category="older_unemployed",
            now=await sc.now(),
        )
        await wait_assistance(sc, case_id, lambda a: True, "the start")
        r = await post(
            sc,
            "wf_reviewer",
            case_id,
            "subsidies",
            {
                "kind": "social_insurance",
                "start_month": "2026-02",
                "months": 12,
                "monthly_amount": "800.00",
            },
        )
        assert r.status_code == 201, r.text
        await sc.sleep_until(shanghai(2026, 6, 15, 9, 0))
        r = await post(
            sc,
            "wf_reviewer",
            case_id,
            "events",
            {"reason": "false_information", "detail": "抽查发现承诺不实"},
        )
        assert r.status_code == 202 and r.json()["handling"] == "exit_review", r.text
        task = await sc.task("wf_reviewer", case_id, "exit_review")
        missing = await sc.complete("wf_reviewer", task, "confirm", expect=422)
        assert missing["type"] == "/problems/missing-fields"
        await sc.complete("wf_reviewer", task, "confirm", should_have_ended_on="2026-03-20")
        a = await wait_assistance(sc, case_id, lambda a: a["recovery"] is not None, "recovery")
        assert a["exit"]["fraud"] is True
        rec = a["recovery"]
        assert rec["from_month"] == "2026-04-01" and rec["total_amount"] == "2400.00"
        assert [x["month"] for x in rec["lines"]] == ["2026-04-01", "2026-05-01", "2026-06-01"]
        assert rec["rule"] == "month_after_due_exit"


async def test_xinyu_cumulative_subsidy_cap_across_identifications(tmp_path: Path) -> None:
    """第三条(二) 二次认定的...累计享受的援助政策补贴期限不得超过援助政策规定的补贴期限 (36 months,
    assumed): 30 months in an earlier identification leave 6."""
    from tests.factories import make_id

    number = make_id(region="360502")
    async with scenario_at(shanghai(2026, 1, 5, 9, 0), tmp_path) as sc:
        sessions = sc.system.sessions()
        first, handle = await start_assistance(
            sessions,
            sc.env.client,
            sc.system.settings.temporal_task_queue,
            pack_id=XINYU,
            chain=XY_CHAIN,
            category="age_4050",
            id_number=number,
            now=await sc.now(),
        )
        await wait_assistance(sc, first, lambda a: True, "the start")
        r = await post(
            sc,
            "xy_officer",
            first,
            "subsidies",
            {
                "kind": "public_welfare_post",
                "start_month": "2026-01",
                "months": 30,
                "monthly_amount": "1500",
            },
        )
        assert r.status_code == 201, r.text
        await post(sc, "xy_officer", first, "events", {"reason": "left_labour_market"})
        await handle.terminate("the test moves on to a second identification")
        async with sessions() as session, session.begin():
            from store.models import Case

            c = await session.get(Case, first)
            assert c is not None
            c.open_key = None
        second, _ = await start_assistance(
            sessions,
            sc.env.client,
            sc.system.settings.temporal_task_queue,
            pack_id=XINYU,
            chain=XY_CHAIN,
            category="age_4050",
            id_number=number,
            now=await sc.now(),
        )
        a = await wait_assistance(sc, second, lambda a: True, "the start")
        assert a["subsidy_period"] == {
            "months_this_identification": 0,
            "months_before": 30,
            "cap_months": 36,
            "cumulative": True,
        }
        over = await post(
            sc,
            "xy_officer",
            second,
            "subsidies",
            {
                "kind": "social_insurance",
                "start_month": "2027-01",
                "months": 7,
                "monthly_amount": "500",
            },
        )
        assert over.status_code == 422, over.text
        assert over.json()["type"] == "/problems/subsidy-cap-exceeded"
        assert over.json()["errors"][0]["field"] == "months"
        ok = await post(
            sc,
            "xy_officer",
            second,
            "subsidies",
            {
                "kind": "social_insurance",
                "start_month": "2027-01",
                "months": 6,
                "monthly_amount": "500",
            },
        )
        assert ok.status_code == 201, ok.text


async def test_continue_as_new_under_a_stream_of_contacts_loses_and_doubles_none(
    tmp_path: Path,
) -> None:
    """Contacts recorded ten at a time (Temporal admits ten updates in flight), each request
    sent twice with the same Idempotency-Key, while the run continues as new every ~60 history
    events: every contact is recorded exactly once and the state carried across the runs."""
    async with scenario_at(shanghai(2026, 1, 5, 9, 0), tmp_path, assistance_history_limit=60) as sc:
        case_id, handle = await start_assistance(
            sc.system.sessions(),
            sc.env.client,
            sc.system.settings.temporal_task_queue,
            pack_id=WEIFANG,
            chain=WF_CHAIN,
            category="older_unemployed",
            now=await sc.now(),
            history_limit=60,
        )
        await wait_assistance(sc, case_id, lambda a: True, "the start")
        total = 60

        async def contact(i: int) -> Any:
            return await post(
                sc,
                "wf_reviewer",
                case_id,
                "contacts",
                {"channel": "phone", "own": i % 2 == 0, "note": f"第{i}次"},
                key=f"contact-{case_id}-{i}",
            )

        for batch in range(0, total, 5):
            rs = await asyncio.gather(
                *(contact(i) for i in range(batch, batch + 5) for _ in (0, 1))
            )
            for r in rs:
                assert r.status_code == 201, r.text
        # Repeats of the first keys, long after their run ended.
        for i in range(3):
            r = await contact(i)
            assert r.status_code == 201 and r.json()["id"] == f"contact-{case_id}-{i}"
        a = await wait_assistance(sc, case_id, lambda a: a["contact_count"] == total, "contacts")
        assert len(a["contacts"]) == total
        engine = make_engine(sc.system.settings.effective_database_url)
        async with make_sessionmaker(engine)() as session:
            rows = (
                await session.scalars(
                    select(AssistanceEntry).where(AssistanceEntry.case_id == case_id)
                )
            ).all()
            assert len(rows) == total == len({r.id for r in rows})
            assert not (await session.scalars(select(SubsidyGrantRow))).all()
        await engine.dispose()
        # It continued as new several times: a later run than the first is running.
        assert (await handle.describe()).run_id != handle.first_execution_run_id
        assert await _runs(sc, case_id) >= 3
        # Still alive and working after the hand-overs.
        r = await post(sc, "wf_reviewer", case_id, "services", {"kind": "training"})
        assert r.status_code == 201, r.text


async def _runs(sc: Scenario, case_id: str) -> int:
    from store.models_assistance import Assistance

    engine = make_engine(sc.system.settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            row = await session.get(Assistance, case_id)
            assert row is not None
            return int(row.snapshot["runs"])
    finally:
        await engine.dispose()


async def test_xinyu_131_not_met_a_month_before_its_deadline_raises_a_service_gap(
    tmp_path: Path,
) -> None:
    """第四条(三) "131" (1 guidance, 3 recommendations, 1 training) within six months
    (service_standard_deadline, assumed); one month before (service_gap_lead) what is missing
    goes to the officer as a task; a standard met in time raises none."""
    async with scenario_at(shanghai(2026, 1, 5, 9, 0), tmp_path) as sc:
        sessions, client = sc.system.sessions(), sc.env.client
        queue = sc.system.settings.temporal_task_queue
        lagging, _ = await start_assistance(
            sessions,
            client,
            queue,
            pack_id=XINYU,
            chain=XY_CHAIN,
            category="age_4050",
            now=await sc.now(),
        )
        served, _ = await start_assistance(
            sessions,
            client,
            queue,
            pack_id=XINYU,
            chain=XY_CHAIN,
            category="age_4050",
            now=await sc.now(),
        )
        await wait_assistance(sc, served, lambda a: True, "the start")
        await wait_assistance(sc, lagging, lambda a: True, "the start")
        for kind in (
            "career_guidance",
            "job_recommendation",
            "job_recommendation",
            "job_recommendation",
            "training",
            "policy_consultation",
        ):
            assert (
                await post(sc, "xy_officer", served, "services", {"kind": kind})
            ).status_code == 201
        await post(sc, "xy_officer", lagging, "services", {"kind": "job_recommendation"})
        a = await assistance(sc, served)
        assert next(s for s in a["standards"] if s["code"] == "service_131")["met"]
        await sc.sleep_until(shanghai(2026, 6, 7, 9, 0))
        gap = await sc.task("xy_officer", lagging, "service_gap")
        missing = {m["code"]: m["missing"] for m in gap["payload"]["missing"]}
        assert missing["service_131"] == {
            "career_guidance": 1,
            "job_recommendation": 2,
            "training": 1,
        }
        assert "public_welfare_fallback" not in missing  # conditional, not chosen in a plan
        a = await assistance(sc, served)
        assert "service_gap" not in [t["kind"] for t in a["open_tasks"]]


async def test_weifang_plan_never_drawn_up_escalates_each_level_once(tmp_path: Path) -> None:
    """The plan task left undone for four months climbs the tree one level at a time, each
    level at its own clock event, recorded once with its own escalation task. (The plan task
    used to be followed by two coroutines: two levels fired together at the goal, and one
    level's breach record could be lost.)"""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_id = await sc.submit(WEIFANG)
        await sc.do(
            "wf_reviewer", case_id, "immediate_conclusion", "approve", category="older_unemployed"
        )
        plan = await sc.task("wf_reviewer", case_id, "assistance_plan")
        await sc.env.sleep(120 * 86400)
        async with sc.system.sessions()() as session:
            breaches = (
                await session.scalars(
                    select(SlaBreach)
                    .where(SlaBreach.task_id == plan["id"])
                    .order_by(SlaBreach.level)
                )
            ).all()
            escalations = [
                t
                for t in await session.scalars(select(Task).where(Task.kind == "escalation"))
                if t.payload["about_task"] == plan["id"]
            ]
        levels = [b.level for b in breaches if b.escalation_task_id]
        assert levels == list(range(1, len(levels) + 1)) and len(levels) >= 2, levels
        # One level per clock event: the goal, the deadline, then a goal span apart.
        at = [b.at for b in breaches if b.escalation_task_id]
        assert at == sorted(set(at)), at
        assert [b.breach_key for b in breaches if b.escalation_task_id] == [
            f"{plan['id']}/{'breached' if n == 1 else 'past_deadline'}/{n}" for n in levels
        ]
        assert {b.escalation_task_id: b.level for b in breaches if b.escalation_task_id} == {
            t.id: t.payload["level"] for t in escalations
        }
