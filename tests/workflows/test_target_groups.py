"""Shandong's four target groups (山东省人社厅《关于健全就业援助体系的通知》(2021) 二) in the
AssistanceWorkflow, over simulated time: a low-income-family graduate given the one-time
job-seeking subsidy, a targeted post and an internship (三(三)3); a rural labourer whose
standard is the village public-welfare post (三(三)1); the temporary assistance persons of an
emergency (二(四)) all exiting when its period ends (``emergency_ended``, assumed). The
enrolment conditions themselves (domain/target_groups.py) are checked without Temporal."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from application.services.reference import today
from domain.policy.loader import load_pack
from domain.target_groups import (
    EMERGENCY_ENDED,
    LOW_INCOME_GRADUATE,
    RURAL_SURPLUS_LABOUR,
    TEMPORARY_ASSISTANCE,
    check_enrolment,
    job_seeking_period_end,
)
from domain.vocabulary import PlaceRef
from store.models import Case, Task
from store.models_assistance import AssistanceExit
from tests.api.test_enrolment import assistance_of, declare, enrol, shandong_region
from tests.assistance_support import start_assistance
from tests.factories import make_id
from tests.sizes import size
from tests.workflows.scenario import Scenario, scenario_at, shanghai
from tests.workflows.test_assistance import WEIFANG, WF_CHAIN, post, wait_assistance
from workflows.rules import assistance_rules

WF_PLACE = WF_CHAIN[0]
# A declared emergency's list, enrolled at once (tests/sizes.py).
EMERGENCY_PERSONS = size("YUANZHU_EMERGENCY_PERSONS", small=60, full=500)


def _codes(group: str) -> set[str]:
    pack = load_pack(WEIFANG)
    rules = assistance_rules(pack, WF_CHAIN, WF_PLACE, None, group)
    return {s.code for s in rules.standards}


def test_group_standards_apply_only_to_their_group() -> None:
    """三(三)1、3 name their groups: a difficulty person's plan no longer offers the graduates'
    package, a graduate gets it without choosing it, and only a temporary assistance can end
    with its emergency."""
    assert "low_income_graduate_support" not in _codes("difficulty_person")
    assert "rural_public_welfare_post" not in _codes("difficulty_person")
    assert "low_income_graduate_support" in _codes(LOW_INCOME_GRADUATE)
    assert "rural_public_welfare_post" in _codes(RURAL_SURPLUS_LABOUR)
    pack = load_pack(WEIFANG)
    grad = assistance_rules(pack, WF_CHAIN, WF_PLACE, None, LOW_INCOME_GRADUATE)
    assert all(s.applies_to is None for s in grad.standards if s.code.startswith("low_income"))
    temp = assistance_rules(pack, WF_CHAIN, WF_PLACE, None, TEMPORARY_ASSISTANCE)
    assert EMERGENCY_ENDED in {r.code for r in temp.exit_reasons}
    assert EMERGENCY_ENDED not in {r.code for r in grad.exit_reasons}


def test_enrolment_conditions() -> None:
    pack = load_pack(WEIFANG)
    today = date(2026, 3, 2)
    # 择业期 (assumed 24 months from leaving school).
    assert job_seeking_period_end(pack, date(2024, 6, 30)) == date(2026, 6, 30)
    ok = {"low_income_family": True, "left_school_on": date(2025, 6, 30)}
    assert check_enrolment(pack, LOW_INCOME_GRADUATE, ok, today) == []
    late = {**ok, "left_school_on": date(2023, 6, 30)}
    assert [p.field for p in check_enrolment(pack, LOW_INCOME_GRADUATE, late, today)] == [
        "left_school_on"
    ]
    poor = {**ok, "low_income_family": False}
    assert [p.field for p in check_enrolment(pack, LOW_INCOME_GRADUATE, poor, today)] == [
        "low_income_family"
    ]
    rural = {"willing": True, "able": True, "transferred": False}
    assert check_enrolment(pack, RURAL_SURPLUS_LABOUR, rural, today) == []
    moved = {**rural, "transferred": True}
    assert [p.field for p in check_enrolment(pack, RURAL_SURPLUS_LABOUR, moved, today)] == [
        "transferred"
    ]
    assert check_enrolment(pack, "difficulty_person", {}, today)[0].field == "target_group"
    period = (date(2026, 3, 1), date(2026, 5, 31))
    assert check_enrolment(pack, TEMPORARY_ASSISTANCE, {}, today, period) == []
    assert check_enrolment(pack, TEMPORARY_ASSISTANCE, {}, today)[0].field == "emergency"
    after = date(2026, 6, 1)
    assert check_enrolment(pack, TEMPORARY_ASSISTANCE, {}, after, period)[0].field == "emergency"


async def _enrol(sc: Scenario, group: str, chain: list[PlaceRef], **kw: object) -> str:
    case_id, _ = await start_assistance(
        sc.system.sessions(),
        sc.env.client,
        sc.system.settings.temporal_task_queue,
        pack_id=WEIFANG,
        chain=chain,
        category=None,
        now=await sc.now(),
        target_group=group,
        **kw,  # type: ignore[arg-type]
    )
    return case_id


async def test_graduate_given_subsidy_post_and_internship(tmp_path: Path) -> None:
    """三(三)3 一次性求职创业补贴、针对性岗位、见习: the graduates' package applies to the
    graduate without a choice in the plan; the three services meet it."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_id = await _enrol(sc, LOW_INCOME_GRADUATE, WF_CHAIN)
        a = await wait_assistance(sc, case_id, lambda a: True, "the start")
        assert a["target_group"] == LOW_INCOME_GRADUATE
        pkg = next(s for s in a["standards"] if s["code"] == "low_income_graduate_support")
        assert pkg["applies"] is True and pkg["met"] is False
        assert not any(s["code"] == "rural_public_welfare_post" for s in a["standards"])
        await sc.sleep_until(shanghai(2026, 3, 10, 9, 0))
        for kind in ("job_seeking_subsidy", "job_recommendation", "internship"):
            r = await post(sc, "wf_reviewer", case_id, "services", {"kind": kind})
            assert r.status_code == 201, r.text
        a = await wait_assistance(
            sc,
            case_id,
            lambda a: next(s for s in a["standards"] if s["code"] == "low_income_graduate_support")[
                "met"
            ],
            "the graduates' package met",
        )
        assert a["services_delivered"]["internship"] == 1
        assert a["status"] == "active"


async def test_rural_labourer_enrolled(tmp_path: Path) -> None:
    """三(三)1 乡村公益性岗位: the rural labourer's placement standard is counted and met by the
    placement; the plan task is opened as for everyone."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_id = await _enrol(sc, RURAL_SURPLUS_LABOUR, WF_CHAIN)
        a = await wait_assistance(sc, case_id, lambda a: True, "the start")
        post_std = next(s for s in a["standards"] if s["code"] == "rural_public_welfare_post")
        assert post_std["applies"] is True and post_std["met"] is False
        plan = await sc.task("wf_reviewer", case_id, "assistance_plan")
        assert plan["payload"]["agreement"] is True
        r = await post(sc, "wf_reviewer", case_id, "services", {"kind": "public_welfare_post"})
        assert r.status_code == 201, r.text
        await wait_assistance(
            sc,
            case_id,
            lambda a: next(s for s in a["standards"] if s["code"] == "rural_public_welfare_post")[
                "met"
            ],
            "the placement counted",
        )


async def test_emergency_period_end_exits_every_temporary_assistance(tmp_path: Path) -> None:
    """二(四) 临时就业援助人员: the persons enrolled for an emergency from 2 March to 31 May (500
    under `make reliability`, fewer in `make test`); each gets its plan task; when the period
    ends every assistance exits (``emergency_ended``), its open tasks are cancelled and the
    case shows exited. No exit before the end."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        ends = shanghai(2026, 6, 1, 0, 0)
        # A few at a time: on SQLite every enrolment waits for the one write lock, which the
        # worker's activities want too; 50 at once on a loaded machine waited past the 30 s
        # busy timeout. (What is tested is the period's end, not the enrolment's concurrency.)
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> str:
            async with gate:
                return await _enrol(
                    sc, TEMPORARY_ASSISTANCE, WF_CHAIN, ends_at=ends, applicant_name=f"临援{i:03d}"
                )

        # The first alone: it records the pinned pack version the others find.
        first = await one(0)
        cases = [first, *await asyncio.gather(*(one(i) for i in range(1, EMERGENCY_PERSONS)))]
        await wait_assistance(sc, cases[-1], lambda a: a["ends_at"] is not None, "the start")
        for _ in range(400):
            tasks = await sc.rows(Task, kind="assistance_plan")
            if len({t.case_id for t in tasks}) == EMERGENCY_PERSONS:
                break
            await asyncio.sleep(0.05)
        assert {t.case_id for t in tasks} == set(cases)
        await sc.sleep_until(shanghai(2026, 5, 31, 23, 0))
        assert await sc.rows(AssistanceExit) == []
        await sc.sleep_until(shanghai(2026, 6, 1, 1, 0))
        for _ in range(600):
            exits = await sc.rows(AssistanceExit, reason_code=EMERGENCY_ENDED)
            if len(exits) == EMERGENCY_PERSONS:
                break
            await asyncio.sleep(0.05)
        assert {x.case_id for x in exits} == set(cases)
        assert {x.exited_on for x in exits} == {date(2026, 6, 1)}
        assert all(x.may_reapply for x in exits)
        open_plans = [t for t in await sc.rows(Task, kind="assistance_plan") if t.state == "open"]
        assert open_plans == []
        cases_rows = await sc.rows(Case)
        assert {c.status for c in cases_rows if c.id in set(cases)} == {"exited"}


async def test_an_enrolled_temporary_assistance_runs_until_its_emergency_ends(
    tmp_path: Path,
) -> None:
    """Declared and enrolled through the API: the assistance started by the enrolment batch
    carries the emergency's end (midnight after its last day, Shanghai) and is still running
    late on the last day. (The exit at that instant is the previous test's, on assistances
    started directly: in our runs the time-skipping test server stopped skipping once an
    assistance started as the child of a finished batch workflow had completed, so the exit
    is not skipped to here.)"""
    async with scenario_at(datetime.now(UTC), tmp_path) as sc:
        system = sc.system
        region = await shandong_region(system)
        last_day = today() + timedelta(days=3)
        e = (await declare(system, region, ends_on=last_day.isoformat())).json()
        r = await enrol(
            system,
            region,
            target_group="temporary_assistance",
            id_number=make_id(region="370702"),
            emergency_id=e["id"],
        )
        case_id = r.json()["case_id"]
        a = await assistance_of(system, region, case_id)
        assert a["ends_at"].replace("Z", "+00:00") == f"{last_day.isoformat()}T16:00:00+00:00"
        await sc.sleep_until(shanghai(last_day.year, last_day.month, last_day.day, 23, 0))
        a = await assistance_of(system, region, case_id)
        assert a["status"] == "active" and a["exit"] is None
