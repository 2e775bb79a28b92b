"""HouseholdWorkflow (零就业家庭) on the time-skipping server: a xinyu household cleared within
its month (第四条(五)) whose member identified on the household basis goes to exit review
(第三条(一)2) while the member on another basis carries on; a weifang household breached with
its escalations up the tree and cleared late from the inbox (三(一)10); discovery from the
imported 低保 and unemployment lists, run twice without a second task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.household import HouseholdActivities
from domain.department_data import DepartmentList
from domain.department_import import ImportedRecord
from domain.policy.loader import load_pack
from domain.vocabulary import (
    PlaceRef,
    household_case_id,
    household_discovery_workflow_id,
    household_workflow_id,
)
from store import household_repo
from store.department_repo import replace_list
from store.models import Jurisdiction, Task
from store.models_household import HouseholdEventRow, HouseholdMemberRow, HouseholdRow
from tests.assistance_support import start_assistance
from tests.factories import make_id
from tests.workflows.scenario import Scenario, end_of, scenario_at, shanghai
from workflows.contracts import HouseholdDiscoveryInput, MemberEmployedRequest
from workflows.household import HouseholdDiscoveryWorkflow, HouseholdWorkflow
from workflows.payloads import HouseholdInput

XY_CHAIN = [
    PlaceRef("360502001", "/000000/360000/360500/360502/360502001/", "street", "城南街道"),
    PlaceRef("360502", "/000000/360000/360500/360502/", "county", "渝水区"),
    PlaceRef("360500", "/000000/360000/360500/", "city", "新余市"),
    PlaceRef("360000", "/000000/360000/", "province", "江西省"),
]
WF_CHAIN = [
    PlaceRef("370702001", "/000000/370000/370700/370702/370702001/", "street", "城关街道"),
    PlaceRef("370702", "/000000/370000/370700/370702/", "county", "潍城区"),
    PlaceRef("370700", "/000000/370000/370700/", "city", "潍坊市"),
    PlaceRef("370000", "/000000/370000/", "province", "山东省"),
]


def _sessions(sc: Scenario) -> async_sessionmaker[AsyncSession]:
    return sc.system.sessions()


async def identified_household(
    sc: Scenario,
    pack_id: str,
    place_code: str,
    members: list[tuple[str, str | None]],
    *,
    definition: str = "urban_zero_employment",
) -> tuple[int, list[int]]:
    """A household registered and identified now (as an officer's registration would make it),
    with its members ``(ID number, own case id)``, and its workflow started."""
    now = await sc.now()
    async with _sessions(sc)() as session, session.begin():
        place = await session.get(Jurisdiction, place_code)
        assert place is not None
        row = await household_repo.create_household(
            session,
            pack=load_pack(pack_id),
            definition_code=definition,
            urban=True,
            place=place,
            members=[
                household_repo.NewMember(id_number=n, name=f"成员{i}", case_id=c, head=i == 0)
                for i, (n, c) in enumerate(members)
            ],
            status="identified",
            source="registration",
            now=now,
        )
        row.identified_at = now
        household_id = row.id
    setup = await HouseholdActivities(_sessions(sc)).household_input(household_id)
    await sc.env.client.start_workflow(
        HouseholdWorkflow.run,
        HouseholdInput(
            household_id=setup.household_id,
            case_id=setup.case_id,
            head_name=setup.head_name,
            id_last4=setup.id_last4,
            rules=setup.rules,
            members=setup.members,
            identified_at=setup.identified_at,
        ),
        id=household_workflow_id(household_id),
        task_queue=sc.system.settings.temporal_task_queue,
    )
    return household_id, [m.member_id for m in setup.members]


async def member_case(
    sc: Scenario, pack_id: str, chain: list[PlaceRef], category: str
) -> tuple[str, str]:
    number = make_id(region=chain[0].code[:6])
    case_id, _ = await start_assistance(
        _sessions(sc),
        sc.env.client,
        sc.system.settings.temporal_task_queue,
        pack_id=pack_id,
        chain=chain,
        category=category,
        id_number=number,
        now=await sc.now(),
    )
    return case_id, number


async def household(
    sc: Scenario, household_id: int, until: Callable[[HouseholdRow], bool] = lambda r: True
) -> HouseholdRow:
    """The household row once ``until`` holds (the activities write it after the tasks)."""
    for _ in range(400):
        [row] = await sc.rows(HouseholdRow, id=household_id)
        if until(row):
            return row  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"household {household_id}: {row.status}, overdue={row.overdue}")


async def task_states(sc: Scenario, case_id: str) -> dict[str, str]:
    return {t.kind: t.state for t in await sc.tasks_of(case_id)}


async def exit_reviews(sc: Scenario, case_id: str) -> list[Task]:
    return [t for t in await sc.tasks_of(case_id) if t.kind == "exit_review"]


async def test_xinyu_household_cleared_within_the_month_sends_its_basis_members_to_review(
    tmp_path: Path,
) -> None:
    """第四条(五): the plan starts at identification and the month runs; ten days later one
    member is employed (a public-welfare post) and the household is cleared within its month.
    Member A, identified as a zero-employment household member (第一条(二)), gets an exit review
    for 第三条(一)2; member B, identified as "4050", carries on; C has no case."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_a, number_a = await member_case(
            sc, "xinyu-2023", XY_CHAIN, "zero_employment_household"
        )
        case_b, number_b = await member_case(sc, "xinyu-2023", XY_CHAIN, "age_4050")
        number_c = make_id(region="360502")
        household_id, member_ids = await identified_household(
            sc,
            "xinyu-2023",
            "360502001",
            [(number_a, case_a), (number_b, case_b), (number_c, None)],
        )
        case_id = household_case_id(household_id)
        plan = await sc.task("xy_officer", case_id, "household_plan")
        clearance = await sc.task("xy_officer", case_id, "household_clearance")
        assert plan["jurisdiction_code"] == "360502001"
        # The month runs from identification: 2026-03-02 → end of 2026-04-02 (Shanghai).
        row = await household(sc, household_id, lambda r: r.deadline_at is not None)
        assert row.status == "identified" and row.deadline_at is not None
        assert row.deadline_at == datetime.fromisoformat(clearance["deadline_at"])
        assert row.deadline_at == end_of(2026, 4, 2)

        await sc.complete("xy_officer", plan, "drawn_up", measures=["public_welfare_post"])
        await sc.env.sleep(timedelta(days=10))

        handle = sc.env.client.get_workflow_handle_for(
            HouseholdWorkflow.run, household_workflow_id(household_id)
        )
        bad = None
        try:
            await handle.execute_update(
                HouseholdWorkflow.record_member_employed,
                MemberEmployedRequest(member_id=999999, how="public_welfare_post"),
                id="employed-bad",
            )
        except WorkflowUpdateFailedError as e:
            bad = e
        assert bad is not None
        request = MemberEmployedRequest(
            member_id=member_ids[2], how="public_welfare_post", actor_name="赵经办"
        )
        first = await handle.execute_update(
            HouseholdWorkflow.record_member_employed, request, id="employed-1"
        )
        again = await handle.execute_update(
            HouseholdWorkflow.record_member_employed, request, id="employed-1"
        )
        # The same Idempotency-Key is answered with the first result (applied once).
        assert first == again and first.handling == "cleared"
        result = await handle.result()
        assert result.status == "cleared" and result.within_deadline is True

        row = await household(sc, household_id)
        assert row.status == "cleared" and not row.overdue
        assert row.clearing_member_id == member_ids[2] and row.closed_at is not None
        [c] = await sc.rows(HouseholdMemberRow, id=member_ids[2])
        assert c.employment == "public_welfare_post"
        assert await task_states(sc, case_id) == {
            "household_plan": "completed",
            "household_clearance": "completed",
        }
        kinds = [e.kind for e in await sc.rows(HouseholdEventRow, household_id=household_id)]
        assert kinds == ["identified", "cleared", "members_notified"]
        assert not await sc.breaches(case_id)

        review = await sc.task("xy_reviewer", case_a, "exit_review")
        assert review["payload"]["reason"] == "left_zero_employment_household"
        assert await exit_reviews(sc, case_b) == []
        # A repeated notice (the same key) opens nothing more.
        await sc.env.client.get_workflow_handle(f"assistance-{case_a}").signal(
            "household_cleared",
            {
                "household_id": household_id,
                "key": f"household-{household_id}/cleared",
                "reason": "left_zero_employment_household",
            },
        )
        await sc.env.sleep(timedelta(hours=1))
        assert len(await exit_reviews(sc, case_a)) == 1
        # Cleared: a second employment is refused.
        late = None
        try:
            await handle.execute_update(
                HouseholdWorkflow.record_member_employed, request, id="employed-2"
            )
        except Exception as e:  # the workflow has completed: the server refuses the update
            late = e
        assert late is not None


async def test_weifang_household_breached_escalates_up_the_tree_and_clears_late(
    tmp_path: Path,
) -> None:
    """No member employed within the month (assumed for weifang's 动态清零 五(三)): a reminder
    at about a week left, then at the end of the month the breach to the county (潍城区) and up
    to the city and the province; the household turns overdue. The officer then records the
    employment from the inbox: cleared late, and the member identified under ② goes to exit
    review for 三(一)10."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_a, number_a = await member_case(
            sc, "weifang-2023", WF_CHAIN, "urban_zero_employment_household"
        )
        case_b, number_b = await member_case(sc, "weifang-2023", WF_CHAIN, "disabled")
        household_id, member_ids = await identified_household(
            sc, "weifang-2023", "370702001", [(number_a, case_a), (number_b, case_b)]
        )
        case_id = household_case_id(household_id)
        plan = await sc.task("wf_officer", case_id, "household_plan")
        await sc.complete("wf_officer", plan, "drawn_up", measures=["enterprise_absorption"])
        clearance = await sc.task("wf_officer", case_id, "household_clearance")
        at_risk = datetime.fromisoformat(clearance["at_risk_at"])
        deadline = datetime.fromisoformat(clearance["deadline_at"])
        assert timedelta(days=6) < deadline - at_risk < timedelta(days=9)  # about a week left

        await sc.sleep_until(at_risk + timedelta(hours=1))
        assert not await sc.breaches(case_id)
        reminders = [n for n in await sc.notifications(case_id) if n.kind == "reminder"]
        assert reminders and reminders[0].recipient_path == WF_CHAIN[0].path
        assert not (await household(sc, household_id, lambda r: r.deadline_at is not None)).overdue

        await sc.sleep_until(deadline + timedelta(days=2))
        breaches = sorted(await sc.breaches(case_id), key=lambda b: b.level)
        assert [(b.event, b.jurisdiction_code, b.level) for b in breaches] == [
            ("breached", "370702", 1),
            ("past_deadline", "370700", 2),
            ("past_deadline", "370000", 3),
        ]
        assert {b.clock for b in breaches} == {"task:household_clearance"}
        escalations = [t for t in await sc.tasks_of(case_id) if t.kind == "escalation"]
        assert len(escalations) == 3
        await sc.task("wf_supervisor", case_id, "escalation")
        assert (await household(sc, household_id, lambda r: r.overdue)).overdue

        await sc.complete(
            "wf_officer",
            clearance,
            "member_employed",
            member=str(member_ids[0]),
            how="enterprise_absorption",
        )
        result = await sc.env.client.get_workflow_handle_for(
            HouseholdWorkflow.run, household_workflow_id(household_id)
        ).result()
        assert result.status == "cleared" and result.within_deadline is False
        row = await household(sc, household_id)
        assert row.status == "cleared" and row.overdue
        review = await sc.task("wf_reviewer", case_a, "exit_review")
        assert review["payload"]["reason"] == "employment_registered_other"
        assert await exit_reviews(sc, case_b) == []
        states = await task_states(sc, case_id)
        assert states["household_clearance"] == "completed"
        assert states["escalation"] == "cancelled"


def _record(kind: DepartmentList, number: str, line: int, **detail: Any) -> ImportedRecord:
    return ImportedRecord(
        line=line,
        list=kind,
        id_number=number,
        name=f"居民{line}",
        jurisdiction_code="370702001" if kind == DepartmentList.MINIMUM_LIVING_ALLOWANCE else None,
        detail={k: str(v) for k, v in detail.items()},
    )


async def import_lists(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    """Three 低保 households in 城关街道: H1 (two working-age members, both jobless, one on
    the unemployment register) looks zero-employment; H2's second member pays employer social
    insurance; H3's only working-age member is not registered as unemployed."""
    h1 = [
        make_id(region="370702", birth=date(1980, 5, 1)),
        make_id(region="370702", birth=date(1985, 2, 3)),
    ]
    h2 = [
        make_id(region="370702", birth=date(1979, 1, 1)),
        make_id(region="370702", birth=date(1990, 7, 7)),
    ]
    h3 = [make_id(region="370702", birth=date(1988, 3, 3))]
    allowance = [
        *(
            _record(DepartmentList.MINIMUM_LIVING_ALLOWANCE, n, i, 户号="H1")
            for i, n in enumerate(h1)
        ),
        *(
            _record(DepartmentList.MINIMUM_LIVING_ALLOWANCE, n, 10 + i, 户号="H2")
            for i, n in enumerate(h2)
        ),
        _record(DepartmentList.MINIMUM_LIVING_ALLOWANCE, h3[0], 20, 户号="H3"),
    ]
    registered = [
        _record(DepartmentList.UNEMPLOYMENT_REGISTRATION, n, 30 + i)
        for i, n in enumerate([h1[0], h2[0]])
    ]
    insured = [_record(DepartmentList.SOCIAL_INSURANCE, h2[1], 40)]
    async with sessions() as session, session.begin():
        for kind, records in (
            (DepartmentList.MINIMUM_LIVING_ALLOWANCE, allowance),
            (DepartmentList.UNEMPLOYMENT_REGISTRATION, registered),
            (DepartmentList.SOCIAL_INSURANCE, insured),
        ):
            await replace_list(
                session, kind, records, file_name=f"{kind}.csv", imported_by="admin", now=now
            )


async def discover(client: Client, sc: Scenario, label: str) -> list[int]:
    return await client.execute_workflow(
        HouseholdDiscoveryWorkflow.run,
        HouseholdDiscoveryInput(region_code="370702"),
        id=household_discovery_workflow_id("370702", label),
        task_queue=sc.system.settings.temporal_task_queue,
    )


async def test_discovery_from_imported_lists_opens_one_verification_task(tmp_path: Path) -> None:
    """山东 五(二) 主动发现 / 清新 三(一) 主动筛查: the imported lists flag H1 only; the street
    officer gets a verification task; a second run opens nothing. Verified, the household is
    identified and its plan and month start."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        await import_lists(_sessions(sc), await sc.now())
        started = await discover(sc.env.client, sc, "1")
        assert len(started) == 1
        [row] = await sc.rows(HouseholdRow)
        assert (row.status, row.source, row.definition_code) == (
            "discovered",
            "discovery",
            "urban_zero_employment",
        )
        assert row.facts["discovery"]["household_number"] == "H1"
        case_id = household_case_id(row.id)
        task = await sc.task("wf_officer", case_id, "household_verification")
        assert task["payload"]["discovery"]["list"] == "minimum_living_allowance"

        assert await discover(sc.env.client, sc, "2") == []
        assert len(await sc.rows(HouseholdRow)) == 1
        assert [t.kind for t in await sc.tasks_of(case_id)] == ["household_verification"]

        await sc.complete("wf_officer", task, "identified")
        await sc.task("wf_officer", case_id, "household_plan")
        await sc.task("wf_officer", case_id, "household_clearance")
        row = await household(sc, row.id, lambda r: r.status == "identified")
        assert row.identified_at is not None
        async with _sessions(sc)() as session:
            members = await session.scalars(
                select(HouseholdMemberRow).where(HouseholdMemberRow.household_id == row.id)
            )
            assert len(members.all()) == 2
