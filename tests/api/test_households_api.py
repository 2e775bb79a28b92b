"""Zero-employment households (零就业家庭) through the API, on SQLite and PostgreSQL: an officer
registers a weifang household judged by the urban definition (refusals: a member employed, a bad
ID number, a member already in an open household, a supervisor, a place outside the area); the
plan and clearance tasks open for the street; staff read it with masked ID numbers, the deadline
and days left; a member recorded employed clears it (once per Idempotency-Key, which stands for
that request only; not a member 422; closed 409); the rural definition (weifang 一(三)) and
xinyu's wider urban one judge the same facts differently; discovery from imported lists opens a
verification; supervisors read the figures by place."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from domain.calendar import local_date
from domain.department_data import DepartmentList
from domain.department_import import ImportedRecord
from domain.policy.loader import load_pack
from store import household_repo
from store.department_repo import replace_list
from store.models import Jurisdiction
from tests.api.test_ledger import with_pack
from tests.factories import make_id
from tests.problems import problem
from tests.system import Region, System


async def region_with(system: System, pack: str) -> Region:
    region = await system.make_region()
    await with_pack(system, region, pack)
    return region


def member(name: str, number: str, **facts: Any) -> dict[str, Any]:
    return {"name": name, "id_number": number, **facts}


async def register(
    system: System,
    region: Region,
    members: list[dict[str, Any]],
    user: str = "officer",
    **body: Any,
) -> Any:
    payload = {"jurisdiction": region.codes["street_a1"], "members": members, **body}
    return await system.http.post("/api/v1/households", headers=region.headers[user], json=payload)


def days_until(deadline_at: str) -> int:
    """Calendar days from today to the deadline's day, both in Shanghai."""
    deadline = datetime.fromisoformat(deadline_at.replace("Z", "+00:00"))
    return (local_date(deadline) - local_date(datetime.now(UTC))).days


def wrong_check_digit(number: str) -> str:
    """The number with another check character (never the right one)."""
    return number[:-1] + ("1" if number[-1] == "0" else "0")


async def household(
    system: System, region: Region, household_id: int, until: Any = lambda h: True
) -> dict[str, Any]:
    for _ in range(400):
        r = await system.http.get(
            f"/api/v1/households/{household_id}", headers=region.headers["officer"]
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if until(body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"household {household_id}: {body}")


async def test_register_read_and_clear_a_household(system: System) -> None:
    region = await region_with(system, "weifang-2023")
    a, b = make_id(birth=date(1980, 5, 1)), make_id(birth=date(1985, 2, 3), female=False)
    members = [member("王大", a, head=True), member("王二", b)]

    # Refusals first: a member employed; a bad number; a supervisor; a place outside.
    r = await register(system, region, [member("王大", a), member("王二", b, employed=True)])
    body = problem(r, 422, "not-zero-employment")
    assert any("已就业" in e["message_zh"] for e in body["errors"]), body
    bad = problem(
        await register(system, region, [member("王大", wrong_check_digit(a))]),
        422,
        "validation-error",
    )
    assert bad["errors"][0]["field"] == "body.members.0.id_number"
    problem(await register(system, region, members, "supervisor"), 403, "actor-not-allowed")
    outside = await system.http.post(
        "/api/v1/households",
        headers=region.headers["officer_b"],
        json={"jurisdiction": region.codes["street_a1"], "members": members},
    )
    problem(outside, 404, "not-found")

    r = await register(system, region, members)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "identified" and created["workflow_started"] is True
    assert created["definition"] == "urban_zero_employment"
    assert created["head_name"] == "王大"
    assert a not in r.text and b not in r.text  # masked
    assert created["members"][0]["id_number"] == a[:3] + "*" * 11 + a[-4:]
    household_id = created["id"]
    problem(await register(system, region, [member("王二", b)]), 409, "household-exists")

    h = await household(system, region, household_id, lambda h: h["deadline_at"] is not None)
    assert h["days_left"] == days_until(h["deadline_at"])
    # A month from identification, extended past a holiday or weekend at its end.
    assert 27 <= h["days_left"] <= 36
    assert {t["kind"] for t in h["open_tasks"]} >= {"household_plan", "household_clearance"}
    assert [e["kind"] for e in h["history"]][:1] == ["identified"]

    # The list: in scope for the street officer and the county reviewer, not for officer_b.
    for user, seen in (("officer", True), ("reviewer", True), ("officer_b", False)):
        r = await system.http.get(
            "/api/v1/households", headers=region.headers[user], params={"status": "identified"}
        )
        assert r.status_code == 200, r.text
        assert (household_id in [i["id"] for i in r.json()["items"]]) is seen, user
        assert a not in r.text
    problem(
        await system.http.get(
            f"/api/v1/households/{household_id}", headers=region.headers["officer_b"]
        ),
        404,
        "not-found",
    )
    problem(
        await system.http.get(
            "/api/v1/households",
            headers=region.headers["officer"],
            params={"jurisdiction": region.codes["street_b1"]},
        ),
        404,
        "not-found",
    )

    figures = await system.http.get(
        "/api/v1/supervision/households", headers=region.headers["supervisor"]
    )
    assert figures.status_code == 200, figures.text
    total = figures.json()["total"]
    assert (total["open"], total["identified"], total["overdue"]) == (1, 1, 0)
    assert total["min_days_left"] == days_until(h["deadline_at"])
    [county] = [row for row in figures.json()["rows"] if row["code"] == region.codes["county_a"]]
    assert county["identified"] == 1
    problem(
        await system.http.get("/api/v1/supervision/households", headers=region.headers["officer"]),
        403,
        "actor-not-allowed",
    )

    # A member employed clears the household; the same key is applied once.
    url = f"/api/v1/households/{household_id}/employment"
    headers = {**region.headers["officer"], "Idempotency-Key": f"hh-{household_id}-1"}
    problem(
        await system.http.post(url, headers=headers, json={"member_id": 999999, "how": "other"}),
        422,
        "not-a-member",
    )
    problem(
        await system.http.post(
            url, headers=region.headers["supervisor"], json={"member_id": 1, "how": "other"}
        ),
        403,
        "actor-not-allowed",
    )
    member_b = created["members"][1]["id"]
    employed = {"member_id": member_b, "how": "public_welfare_post", "note": "公益性岗位"}
    r = await system.http.post(url, headers=headers, json=employed)
    assert r.status_code == 201, r.text
    assert r.json()["handling"] == "cleared"
    h = await household(system, region, household_id, lambda h: h["status"] == "cleared")
    assert h["clearing_member_id"] == member_b and h["days_left"] is None
    again = await system.http.post(url, headers=headers, json=employed)
    assert again.status_code == 201 and again.json()["handling"] == "duplicate", again.text
    # The same key for another request is refused, not answered as the first.
    problem(
        await system.http.post(url, headers=headers, json={**employed, "note": "另一份工作"}),
        422,
        "idempotency-key-reused",
    )
    problem(
        await system.http.post(
            url,
            headers={**region.headers["officer"], "Idempotency-Key": "another"},
            json={"member_id": created["members"][0]["id"], "how": "other"},
        ),
        409,
        "household-closed",
    )
    figures = await system.http.get(
        "/api/v1/supervision/households", headers=region.headers["supervisor"]
    )
    total = figures.json()["total"]
    assert (total["open"], total["cleared_within"], total["cleared_late"]) == (0, 1, 0)
    assert total["clearance_rate"] == 1.0


async def test_definitions_differ_by_residence_and_pack(system: System) -> None:
    """weifang's rural definition asks for income and transfer registration; xinyu's urban one
    counts a member unwilling to work whom weifang's leaves out."""
    weifang = await region_with(system, "weifang-2023")
    a = make_id(birth=date(1990, 1, 1), female=False)
    rural = await register(system, weifang, [member("李农", a)], urban=False)
    reasons = [e["message_zh"] for e in problem(rural, 422, "not-zero-employment")["errors"]]
    assert any("年人均收入" in m for m in reasons) and any("转移就业登记" in m for m in reasons)
    r = await register(
        system,
        weifang,
        [member("李农", a, transfer_registered=True)],
        urban=False,
        annual_income_per_capita=3000,
        local_average_annual_income_per_capita=20000,
    )
    assert r.status_code == 201, r.text
    assert r.json()["definition"] == "rural_zero_transfer"

    # An unwilling member alone: weifang counts nobody; xinyu counts the working-age member.
    lone = [member("周某", make_id(birth=date(1982, 3, 3)), willing_to_work=False)]
    problem(await register(system, weifang, lone), 422, "not-zero-employment")
    xinyu = await region_with(system, "xinyu-2023")
    lone = [member("周某", make_id(birth=date(1982, 3, 3), region="360502"), willing_to_work=False)]
    r = await register(system, xinyu, lone)
    assert r.status_code == 201, r.text
    assert r.json()["policy_pack_id"] == "xinyu-2023"


def _record(kind: DepartmentList, number: str, line: int, place: str | None, **d: str) -> Any:
    return ImportedRecord(
        line=line,
        list=kind,
        id_number=number,
        name=f"居民{line}",
        jurisdiction_code=place,
        detail=d,
    )


async def test_discovery_from_imported_lists(system: System) -> None:
    region = await region_with(system, "weifang-2023")
    street = region.codes["street_a1"]
    h1 = [make_id(birth=date(1980, 5, 1)), make_id(birth=date(1986, 2, 3))]
    now = datetime.now(UTC)
    async with system.sessions()() as session, session.begin():
        for kind, records in (
            (
                DepartmentList.MINIMUM_LIVING_ALLOWANCE,
                [
                    _record(DepartmentList.MINIMUM_LIVING_ALLOWANCE, n, i, street, 户号="D1")
                    for i, n in enumerate(h1)
                ],
            ),
            (
                DepartmentList.UNEMPLOYMENT_REGISTRATION,
                [_record(DepartmentList.UNEMPLOYMENT_REGISTRATION, h1[0], 10, None)],
            ),
        ):
            await replace_list(
                session, kind, records, file_name=f"{kind}.csv", imported_by="test", now=now
            )
    problem(
        await system.http.post(
            "/api/v1/households/discovery", headers=region.headers["officer"], json={}
        ),
        403,
        "actor-not-allowed",
    )
    problem(
        await system.http.post(
            "/api/v1/households/discovery",
            headers=region.headers["reviewer"],
            json={"jurisdiction": region.codes["county_b"]},
        ),
        404,
        "not-found",
    )
    r = await system.http.post(
        "/api/v1/households/discovery", headers=region.headers["reviewer"], json={}
    )
    assert r.status_code == 200, r.text
    [household_id] = r.json()["started"]
    h = await household(system, region, household_id, lambda h: bool(h["open_tasks"]))
    assert h["status"] == "discovered" and h["source"] == "discovery"
    assert [t["kind"] for t in h["open_tasks"]] == ["household_verification"]
    # A second run opens nothing twice.
    r = await system.http.post(
        "/api/v1/households/discovery", headers=region.headers["reviewer"], json={}
    )
    assert r.status_code == 200 and r.json()["started"] == [], r.text
    problem(
        await system.http.post(
            f"/api/v1/households/{household_id}/employment",
            headers=region.headers["officer"],
            json={"member_id": h["members"][0]["id"], "how": "other"},
        ),
        409,
        "household-closed",
    )
    figures = await system.http.get(
        "/api/v1/supervision/households",
        headers=region.headers["supervisor"],
        params={"jurisdiction": region.codes["county_a"]},
    )
    assert figures.status_code == 200, figures.text
    assert figures.json()["total"]["discovered"] == 1


async def make_household(
    system: System, region: Region, place: str, head_name: str
) -> tuple[int, int]:
    """A household identified now at ``place`` without a workflow (for the authorization
    matrix): its id and its one member's id."""
    now = datetime.now(UTC)
    async with system.sessions()() as session, session.begin():
        j = await session.get(Jurisdiction, region.codes[place])
        assert j is not None
        row = await household_repo.create_household(
            session,
            pack=load_pack("weifang-2023"),
            definition_code="urban_zero_employment",
            urban=True,
            place=j,
            members=[household_repo.NewMember(id_number=make_id(), name=head_name, head=True)],
            status="identified",
            source="registration",
            now=now,
        )
        row.identified_at = now
        [m] = await household_repo.members_of(session, row.id)
        return row.id, m.id
