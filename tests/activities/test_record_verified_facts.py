"""The ``record_verified_facts`` activity (#21 item 2) on a real case row: a retry records
nothing twice (one timeline entry, one audit record), and facts that no longer fit the case
(changed meanwhile) are said on the timeline instead of failing the officer's decision."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.cases import CaseActivities
from store.models import AuditEntry, Case, CaseEvent
from tests.factories import application
from tests.system import System
from workflows.contracts import VerifiedFactsInput


async def _case(system: System) -> str:
    body = application("weifang-2023")
    r = await system.http.post("/api/v1/applications", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


def _input(case_id: str, task_id: str, facts: dict[str, object]) -> VerifiedFactsInput:
    return VerifiedFactsInput(
        case_id=case_id,
        task_id=task_id,
        task_kind="immediate_conclusion",
        facts=facts,
        actor_id=1,
        actor_name="李审核",
        at=datetime.now(UTC),
    )


async def _events(system: System, case_id: str) -> list[CaseEvent]:
    async with system.sessions()() as session:
        return list(
            (
                await session.scalars(
                    select(CaseEvent).where(
                        CaseEvent.case_id == case_id, CaseEvent.kind == "facts_verified"
                    )
                )
            ).all()
        )


async def test_a_retry_records_nothing_twice(system: System) -> None:
    case_id = await _case(system)
    activities = CaseActivities(system.sessions())
    inp = _input(case_id, f"{case_id}-t1", {"person.children_birth_dates": ["2015-01-02"]})
    env = ActivityEnvironment()
    await env.run(activities.record_verified_facts, inp)
    await env.run(activities.record_verified_facts, inp)
    events = await _events(system, case_id)
    assert [e.summary for e in events] == [
        "经办人 李审核 核实：所抚养子女的出生日期 = 2015年1月2日"
    ]
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.facts["person"]["children_birth_dates"] == ["2015-01-02"]
        audit = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "facts_verified", AuditEntry.object_id == case_id
                )
            )
        ).all()
    assert len(audit) == 1


async def test_facts_that_no_longer_fit_are_said_not_retried(system: System) -> None:
    case_id = await _case(system)
    activities = CaseActivities(system.sessions())
    conflicting = {
        "residence.local_social_insurance_months": 3,
        "residence.local_social_insurance_back_paid_months": 4,
    }
    await ActivityEnvironment().run(
        activities.record_verified_facts, _input(case_id, f"{case_id}-t2", conflicting)
    )
    events = await _events(system, case_id)
    assert [e.summary for e in events] == ["经办人 李审核 核实的事项未能记入（与申请信息冲突）"]
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert case.facts["residence"].get("local_social_insurance_months") is None
