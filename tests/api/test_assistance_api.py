"""The assistance API (/api/v1/cases/{id}/assistance) on SQLite and PostgreSQL: scope (404
outside the caller's subtree), validation (problem+json with field errors), idempotency (a
request repeated with its Idempotency-Key is recorded once), a case not in assistance (409),
and re-identification at the application: the cooldown after an exit (xinyu 第三条(二)) and the
reasons that forbid it (weifang 三(二): 第 4、5 类).

Each test has a region of its own (tests.system.Region); the assistance runs on the shared
worker and time-skipping server."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from store import repos
from store.models import Case
from store.models_assistance import AssistanceEntry, AssistanceExit
from tests.assistance_support import region_chain, start_assistance
from tests.factories import application, make_id, pinned_ref
from tests.problems import problem
from tests.system import Region, System

_seq = itertools.count(1)


async def assisted(system: System, region: Region) -> str:
    case_id, _ = await start_assistance(
        system.sessions(),
        system.env.client,
        system.settings.temporal_task_queue,
        pack_id="xinyu-2023",
        chain=region_chain(region.codes, region.paths),
        category="age_4050",
    )
    for _ in range(200):
        r = await system.http.get(
            f"/api/v1/cases/{case_id}/assistance", headers=region.headers["officer"]
        )
        if r.status_code == 200:
            return case_id
        import asyncio

        await asyncio.sleep(0.05)
    raise AssertionError(r.text)


async def test_scope_outside_is_not_found_and_inside_is_shown(system: System) -> None:
    region = await system.make_region()
    case_id = await assisted(system, region)
    mine = await system.http.get(
        f"/api/v1/cases/{case_id}/assistance", headers=region.headers["officer"]
    )
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["status"] == "active" and body["policy_pack_ref"].startswith("xinyu-2023@")
    assert body["standards"][0]["code"] == "service_131"
    assert [t["kind"] for t in body["open_tasks"]] == ["assistance_plan"]
    for who in ("officer_a2", "officer_b", "reviewer_b", "supervisor_b"):
        r = await system.http.get(
            f"/api/v1/cases/{case_id}/assistance", headers=region.headers[who]
        )
        problem(r, 404, "not-found")
        r = await system.http.post(
            f"/api/v1/cases/{case_id}/assistance/contacts",
            headers=region.headers[who],
            json={"channel": "phone", "own": True},
        )
        problem(r, 404, "not-found")


async def test_validation_names_the_fields(system: System) -> None:
    region = await system.make_region()
    case_id = await assisted(system, region)
    h = region.headers["officer"]
    r = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/contacts", headers=h, json={"channel": "fax"}
    )
    body = problem(r, 422, "validation-error")
    assert {e["field"] for e in body["errors"]} >= {"channel", "own"}
    r = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/subsidies",
        headers=h,
        json={
            "kind": "social_insurance",
            "start_month": "2026-13",
            "months": 0,
            "monthly_amount": "1.234",
        },
    )
    body = problem(r, 422, "validation-error")
    assert {e["field"] for e in body["errors"]} >= {"start_month", "months", "monthly_amount"}
    r = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/events", headers=h, json={"reason": "hired"}
    )
    body = problem(r, 422, "bad-field")  # weifang's reason; this person is under xinyu
    assert body["errors"][0]["field"] == "reason"


async def test_a_repeated_request_is_recorded_once(system: System) -> None:
    region = await system.make_region()
    case_id = await assisted(system, region)
    h = {**region.headers["officer"], "Idempotency-Key": f"svc-{case_id}"}
    first = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/services", headers=h, json={"kind": "training"}
    )
    again = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/services", headers=h, json={"kind": "training"}
    )
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["id"] == again.json()["id"] == f"svc-{case_id}"
    view = await system.http.get(
        f"/api/v1/cases/{case_id}/assistance", headers=region.headers["officer"]
    )
    assert view.json()["services_delivered"] == {"training": 1}
    assert len(view.json()["services"]) == 1
    async with system.sessions()() as session:
        assert await session.get(AssistanceEntry, f"svc-{case_id}") is not None
    # The same key for another request is refused, not answered with the first result.
    other = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/services", headers=h, json={"kind": "career_guidance"}
    )
    problem(other, 422, "idempotency-key-reused")
    contact = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/contacts",
        headers=h,
        json={"channel": "phone", "own": False},
    )
    problem(contact, 422, "idempotency-key-reused")
    view = await system.http.get(
        f"/api/v1/cases/{case_id}/assistance", headers=region.headers["officer"]
    )
    assert view.json()["services_delivered"] == {"training": 1}
    assert view.json()["contact_count"] == 0


async def test_a_case_not_in_assistance_is_a_conflict(system: System) -> None:
    region = await system.make_region()
    r = await system.http.get(
        f"/api/v1/cases/{region.case_id}/assistance", headers=region.headers["officer"]
    )
    problem(r, 409, "not-in-assistance")
    r = await system.http.post(
        f"/api/v1/cases/{region.case_id}/assistance/refusals",
        headers=region.headers["officer"],
        json={"service_kind": "training"},
    )
    problem(r, 409, "not-in-assistance")


async def exited(
    system: System, pack: str, number: str, reason: str, may_reapply: bool, on: date
) -> str:
    """An earlier case of this person (at the pack's place: weifang's county, xinyu's street),
    closed by an exit on ``on``; its id."""
    n = next(_seq)
    now = datetime.now(UTC)
    case_id = f"EX{n:06d}-{number[-4:]}"
    place = {"xinyu-2023": "360502001", "weifang-2023": "370702"}[pack]
    async with system.sessions()() as session, session.begin():
        where = await repos.get_jurisdiction(session, place)
        assert where is not None
        session.add(
            Case(
                id=case_id,
                workflow_id=f"no-workflow-{case_id}",
                policy_pack_id=pack,
                policy_pack_ref=await pinned_ref(session, pack),
                jurisdiction_code=place,
                jurisdiction_path=where.path,
                applicant_name="再次申请",
                id_number=number,
                id_last4=number[-4:],
                facts={},
                channel="window",
                status="exited",
                submitted_at=now,
                updated_at=now,
                closed_at=now,
            )
        )
        await session.flush()
        session.add(
            AssistanceExit(
                case_id=case_id,
                id_number=number,
                policy_pack_id=pack,
                reason_code=reason,
                reason_name=reason,
                mode="manual",
                may_reapply=may_reapply,
                fraud=False,
                exited_on=on,
                at=now,
                decided_by="test",
                detail="",
                source="test",
            )
        )
    return case_id


async def test_reidentification_honours_the_xinyu_cooldown(system: System) -> None:
    """第三条(二): 自就业困难人员资格被退出之日起满 3 个月的...可再次按程序申请. Told to staff whose
    area holds the earlier case (anyone else: tests/security/test_application_refusals.py)."""
    today = datetime.now(UTC).date()
    officer = await system.login("xy_officer")
    inside = make_id(region="360502")
    await exited(
        system, "xinyu-2023", inside, "left_labour_market", True, today - timedelta(days=40)
    )
    r = await system.http.post(
        "/api/v1/applications", json=application("xinyu-2023", id_number=inside), headers=officer
    )
    body = problem(r, 409, "reidentification-cooldown")
    assert body["may_apply_from"] > today.isoformat()
    after = make_id(region="360502")
    await exited(
        system, "xinyu-2023", after, "left_labour_market", True, today - timedelta(days=100)
    )
    r = await system.http.post(
        "/api/v1/applications", json=application("xinyu-2023", id_number=after)
    )
    assert r.status_code == 201, r.text


async def test_reidentification_forbidden_after_pension_weifang(system: System) -> None:
    """三(二): 除第 4、5 类人员外，被注销...的人员，再次符合认定条件的，可重新按规定申请认定."""
    reviewer = await system.login("wf_reviewer")
    number = make_id(region="370702")
    await exited(system, "weifang-2023", number, "receiving_pension", False, date(2020, 1, 1))
    r = await system.http.post(
        "/api/v1/applications", json=application("weifang-2023", id_number=number), headers=reviewer
    )
    body = problem(r, 422, "reapplication-forbidden")
    assert body["reason"] == "receiving_pension"
    other = make_id(region="370702")
    await exited(system, "weifang-2023", other, "hired", True, datetime.now(UTC).date())
    r = await system.http.post(
        "/api/v1/applications", json=application("weifang-2023", id_number=other)
    )
    assert r.status_code == 201, r.text  # weifang has no cooldown
