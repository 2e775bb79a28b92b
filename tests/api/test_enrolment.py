"""Shandong's other target groups through the API (山东 二(二)–(四)), on SQLite and PostgreSQL:
a supervisor declares an emergency (refusals: a double submission, a period that is over, a
place whose policy has no temporary assistance, an officer); officers see it where it covers
them; an officer enrols a rural labourer, a low-income-family graduate and a temporary
assistance person one at a time (each group's conditions refused by field, a second enrolment
refused) and their assistance starts with the group's standards; an emergency's list is
enrolled in bulk, all or nothing with line errors, skipping those already enrolled. (The end of
an emergency's period, skipped on a time-skipping server of its own:
tests/workflows/test_target_groups.py.)"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from application.services.reference import today
from store.models import Case
from tests.api.test_ledger import csv, with_pack
from tests.factories import make_id
from tests.problems import problem
from tests.system import Region, System

PACK = "weifang-2023"


async def shandong_region(system: System) -> Region:
    region = await system.make_region()
    await with_pack(system, region, PACK)
    return region


async def declare(
    system: System, region: Region, user: str = "supervisor", **overrides: Any
) -> Any:
    body = {
        "kind": "disaster",
        "name": f"台风“测试{region.n}”",
        "jurisdiction": region.codes["city"],
        "starts_on": (today() - timedelta(days=2)).isoformat(),
        "ends_on": (today() + timedelta(days=30)).isoformat(),
        "description": "台风灾害影响就业",
    }
    body.update(overrides)
    return await system.http.post("/api/v1/emergencies", headers=region.headers[user], json=body)


async def enrol(system: System, region: Region, user: str = "officer", **fields: Any) -> Any:
    body = {"name": "张纳入", "jurisdiction": region.codes["street_a1"], **fields}
    return await system.http.post("/api/v1/enrolments", headers=region.headers[user], json=body)


async def assistance_of(system: System, region: Region, case_id: str) -> dict[str, Any]:
    """The case's assistance once its batch has started it (eventually consistent)."""
    for _ in range(400):
        r = await system.http.get(
            f"/api/v1/cases/{case_id}/assistance", headers=region.headers["officer"]
        )
        if r.status_code == 200:
            return r.json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no assistance for {case_id}: {r.text}")


async def test_declaring_and_seeing_emergencies(system: System) -> None:
    region = await shandong_region(system)
    r = await declare(system, region)
    assert r.status_code == 201, r.text
    emergency = r.json()
    assert emergency["kind_name"] == "重大自然灾害" and emergency["active"] is True
    # A double submission, an officer, a period already over, a reversed period.
    problem(await declare(system, region), 409, "emergency-exists")
    problem(await declare(system, region, "officer"), 403, "actor-not-allowed")
    over = (today() - timedelta(days=1)).isoformat()
    problem(await declare(system, region, name="旧", ends_on=over), 422, "validation-error")
    problem(
        await declare(system, region, name="反", starts_on="2026-12-31", ends_on="2026-12-01"),
        422,
        "validation-error",
    )
    # A place whose pack has no temporary assistance (xinyu).
    other = await system.make_region()
    await with_pack(system, other, "xinyu-2023")
    problem(await declare(system, other), 422, "target-group-not-in-pack")
    # Officers below the city see it (it covers them); another region's officer does not.
    for user in ("officer", "officer_b", "reviewer"):
        listed = await system.http.get(
            "/api/v1/emergencies", headers=region.headers[user], params={"active": "true"}
        )
        assert emergency["id"] in [e["id"] for e in listed.json()["items"]], user
    problem(
        await system.http.get(
            f"/api/v1/emergencies/{emergency['id']}", headers=other.headers["officer"]
        ),
        404,
        "not-found",
    )
    detail = await system.http.get(
        f"/api/v1/emergencies/{emergency['id']}", headers=region.headers["officer"]
    )
    assert detail.json()["enrolled"] == 0


async def test_enrolling_one_person_of_each_group(system: System) -> None:
    region = await shandong_region(system)
    number = make_id(date(1975, 5, 5), region="370702")
    rural = {"target_group": "rural_surplus_labour", "id_number": number}
    # The PES assessment must find the person willing and able, and not transferred.
    r = await enrol(system, region, **rural, willing=True, able=False, transferred=False)
    body = problem(r, 422, "enrolment-conditions-not-met")
    assert [e["field"] for e in body["errors"]] == ["body.able"]
    assert body["errors"][0]["message_zh"] == "未认定有就业能力"
    problem(await enrol(system, region, "supervisor", **rural), 403, "actor-not-allowed")
    bad = {**rural, "id_number": number[:-1] + ("0" if number[-1] != "0" else "1")}
    r = await enrol(system, region, **bad, willing=True, able=True, transferred=False)
    assert problem(r, 422, "validation-error")["errors"][0]["field"] == "body.id_number"

    r = await enrol(system, region, **rural, willing=True, able=True, transferred=False)
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    assert case_id.startswith("EN") and r.json()["batch"]["kind"] == "enrolment"
    a = await assistance_of(system, region, case_id)
    assert a["target_group"] == "rural_surplus_labour"
    assert "rural_public_welfare_post" in [s["code"] for s in a["standards"]]
    tasks = await system.http.get(
        "/api/v1/tasks",
        headers=region.headers["officer"],
        params={"kind": "assistance_plan", "view": "scope"},
    )
    assert case_id in [t["case_id"] for t in tasks.json()["items"]], tasks.text
    case = await system.http.get(f"/api/v1/cases/{case_id}", headers=region.headers["officer"])
    assert case.json()["status"] == "enrolled"
    # Enrolled already: refused, naming the case.
    again = await enrol(system, region, **rural, willing=True, able=True, transferred=False)
    assert problem(again, 409, "already-enrolled")["case_id"] == case_id

    # A graduate: from a low-income family, within the job-seeking period.
    grad = {
        "target_group": "low_income_graduate",
        "id_number": make_id(date(2002, 3, 3), region="370702"),
        "low_income_family": True,
    }
    long_ago = (today() - timedelta(days=3 * 366)).isoformat()
    r = await enrol(system, region, **grad, left_school_on=long_ago)
    body = problem(r, 422, "enrolment-conditions-not-met")
    assert body["errors"][0]["message_zh"] == "不在择业期内"
    recent = (today() - timedelta(days=60)).isoformat()
    r = await enrol(system, region, **grad, left_school_on=recent)
    assert r.status_code == 201, r.text
    a = await assistance_of(system, region, r.json()["case_id"])
    assert a["target_group"] == "low_income_graduate"
    assert "low_income_graduate_support" in [s["code"] for s in a["standards"]]

    # Temporary assistance: only under an emergency covering the place.
    temp: dict[str, Any] = {
        "target_group": "temporary_assistance",
        "id_number": make_id(region="370702"),
    }
    problem(await enrol(system, region, **temp), 422, "validation-error")
    e = (await declare(system, region, jurisdiction=region.codes["county_a"])).json()
    # The city's administrator may enrol in county_b, but the emergency is county_a's.
    outside = await enrol(
        system,
        region,
        "admin",
        **temp,
        emergency_id=e["id"],
        jurisdiction=region.codes["street_b1"],
    )
    assert problem(outside, 422, "validation-error")["errors"][0]["field"] == "body.jurisdiction"
    r = await enrol(system, region, **temp, emergency_id=e["id"])
    assert r.status_code == 201, r.text
    a = await assistance_of(system, region, r.json()["case_id"])
    assert a["target_group"] == "temporary_assistance"
    # Midnight after the last day, in Shanghai.
    assert a["ends_at"].replace("Z", "+00:00") == f"{e['ends_on']}T16:00:00+00:00"


async def _bulk(system: System, region: Region, emergency_id: int, data: bytes) -> Any:
    # The county's reviewer: the list spans two of its townships.
    return await system.http.post(
        f"/api/v1/emergencies/{emergency_id}/enrolments",
        headers=region.headers["reviewer"],
        files={"file": ("受灾人员名单.csv", data)},
        data={"jurisdiction": region.codes["street_a1"]},
    )


async def _enrolment_cases(system: System, region: Region) -> int:
    async with system.sessions()() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Case)
                .where(
                    Case.channel == "enrolment",
                    Case.jurisdiction_path.startswith(region.paths["city"]),
                )
            )
            or 0
        )


async def test_an_emergency_list_is_enrolled_all_or_nothing(system: System) -> None:
    region = await shandong_region(system)
    e = (await declare(system, region)).json()
    ids = [make_id(date(1980 + i, 1, 1 + i), region="370702") for i in range(3)]
    broken = csv(
        "姓名,身份证号,所属镇街代码,联系电话",
        f"甲,{ids[0]},,13800000000",
        f"乙,{ids[1][:-1]}{'0' if ids[1][-1] != '0' else '1'},,",
        f"丙,{ids[2]},999999,",
        f"丁,{ids[0]},,电话",
        "=HYPERLINK(1),,,",
    )
    body = problem(await _bulk(system, region, e["id"], broken), 422, "enrolment-file-invalid")
    lines = {(x["line"], x["column"]) for x in body["errors"]}
    assert {
        (3, "身份证号"),
        (4, "所属镇街代码"),
        (5, "身份证号"),
        (5, "联系电话"),
        (6, "姓名"),
    } <= lines
    assert all(x["message_zh"] for x in body["errors"])
    assert await _enrolment_cases(system, region) == 0

    # One of them enrolled already, one at a time.
    first = await enrol(
        system, region, target_group="temporary_assistance", id_number=ids[0], emergency_id=e["id"]
    )
    assert first.status_code == 201, first.text
    good = csv(
        "姓名,身份证号,所属镇街代码,联系电话,备注",
        f"甲,{ids[0]},,13800000000,",
        f"乙,{ids[1]},,,",
        f"丙,{ids[2]},{region.codes['street_a2']},0536-1234567,厂房受损停工",
    )
    r = await _bulk(system, region, e["id"], good)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert (batch["kind"], batch["created"], batch["already_present"]) == ("enrolment", 2, 1)
    assert batch["emergency_id"] == e["id"]
    for _ in range(400):
        imports = await system.http.get("/api/v1/ledger/imports", headers=region.headers["officer"])
        mine = next(i for i in imports.json()["items"] if i["id"] == batch["id"])
        if mine["status"] == "done":
            break
        await asyncio.sleep(0.05)
    assert mine["started"] == 2
    # Each assistance writes its own projection as it starts.
    for _ in range(400):
        detail = await system.http.get(
            f"/api/v1/emergencies/{e['id']}", headers=region.headers["officer"]
        )
        if detail.json()["in_assistance"] == 3:
            break
        await asyncio.sleep(0.05)
    assert (detail.json()["enrolled"], detail.json()["in_assistance"]) == (3, 3)
    # A re-upload of the same list enrols nobody twice.
    again = await _bulk(system, region, e["id"], good)
    assert (again.json()["created"], again.json()["already_present"]) == (0, 3)
