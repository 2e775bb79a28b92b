"""The working-day calendar API on SQLite and PostgreSQL: the years known, a year's days with
holiday names, working-day arithmetic and "why" for a day, and loading a year (root
administrator only; validated; stored; provisional deadlines recomputed, or 202 when the
workflow engine cannot be reached).

The calendar is global to the database the tests share, so the years loaded here (2093-2095)
are used by no other test, and every row written is deleted again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from application.services import reference as reference_service
from store.models import AuditEntry
from store.models_calendar import CalendarYear
from tests.problems import problem
from tests.system import System

LOADED, INVALID, PENDING = 2093, 2094, 2095


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def first_weekday(year: int, month: int, weekday: int) -> date:
    d = date(year, month, 1)
    while d.weekday() != weekday:
        d += timedelta(days=1)
    return d


@pytest.fixture
async def own_years(system: System) -> AsyncIterator[None]:
    """Deletes the rows of this module's years before and after the test."""

    async def clean() -> None:
        async with system.sessions()() as session, session.begin():
            await session.execute(
                delete(CalendarYear).where(CalendarYear.year.in_((LOADED, INVALID, PENDING)))
            )

    await clean()
    yield
    await clean()


async def stored(system: System, year: int) -> CalendarYear | None:
    async with system.sessions()() as session:
        return await session.get(CalendarYear, year)


async def test_years_and_a_seeded_year(system: System) -> None:
    region = await system.make_region()
    officer = region.headers["officer"]
    years = ok(await system.http.get("/api/v1/calendar/years", headers=officer))["items"]
    by_year = {y["year"]: y for y in years}
    assert [y["year"] for y in years] == sorted(by_year)
    seeded = by_year[2024]
    assert seeded["origin"] == "seed" and seeded["provisional"] is False
    assert "chinese-calendar" in seeded["source"]
    assert seeded["holiday_count"] > 20 and seeded["workday_count"] == 8
    assert seeded["loaded_by"] is None and seeded["replaces_seed"] is False
    # Through next year at least; a year without a table is provisional (weekends only).
    assert years[-1]["year"] >= reference_service.today().year + 1
    for y in years:
        assert y["provisional"] == (y["origin"] == "none")

    detail = ok(await system.http.get("/api/v1/calendar/years/2024", headers=officer))
    holidays = {d["date"]: d for d in detail["holidays"]}
    assert holidays["2024-10-01"] == {
        "date": "2024-10-01",
        "name": "National Day",
        "name_zh": "国庆节",
    }
    assert holidays["2024-02-10"]["name_zh"] == "春节"
    assert [d["date"] for d in detail["workdays"]][:2] == ["2024-02-04", "2024-02-18"]
    assert detail["workdays"][0]["name_zh"] == "春节"

    far = ok(await system.http.get("/api/v1/calendar/years/2150", headers=officer))
    assert far["provisional"] is True and far["origin"] == "none"
    assert far["holidays"] == [] and far["workdays"] == [] and far["source"] is None

    # A path that cannot name a year is not found (the app's rule for path parameters).
    for bad in ("1899", "2201", "x"):
        problem(
            await system.http.get(f"/api/v1/calendar/years/{bad}", headers=officer),
            404,
            "not-found",
        )
    problem(await system.http.get("/api/v1/calendar/years"), 401, "unauthorized")


async def test_days_and_working_days(system: System) -> None:
    region = await system.make_region()
    officer = region.headers["officer"]

    async def day(text: str) -> dict[str, Any]:
        data: dict[str, Any] = ok(
            await system.http.get(f"/api/v1/calendar/days/{text}", headers=officer)
        )
        return data

    national = await day("2024-10-01")
    assert national == {
        "date": "2024-10-01",
        "workday": False,
        "provisional": False,
        "reason": "holiday",
        "reason_zh": "法定节假日休息",
        "holiday": "National Day",
        "holiday_zh": "国庆节",
    }
    makeup = await day("2024-09-29")  # a Sunday worked for the National Day holiday
    assert makeup["workday"] is True and makeup["reason"] == "makeup_workday"
    assert makeup["reason_zh"] == "调休上班" and makeup["holiday_zh"] == "国庆节"
    assert (await day("2024-10-08"))["reason"] == "weekday"
    assert (await day("2024-10-19"))["reason"] == "weekend"
    far = await day("2150-01-05")
    assert far["provisional"] is True and far["holiday"] is None

    r = await system.http.get(
        "/api/v1/calendar/working-days",
        headers=officer,
        params={"start": "2024-09-27", "n": 3},
    )
    assert ok(r) == {
        "start": "2024-09-27",
        "n": 3,
        "date": "2024-10-08",
        "provisional": False,
        "provisional_years": [],
        "days": ["2024-09-29", "2024-09-30", "2024-10-08"],
    }
    zero = ok(
        await system.http.get(
            "/api/v1/calendar/working-days", headers=officer, params={"start": "2024-09-27", "n": 0}
        )
    )
    assert zero["date"] == "2024-09-27" and zero["days"] == []
    default = ok(
        await system.http.get(
            "/api/v1/calendar/working-days", headers=officer, params={"start": "2150-01-01"}
        )
    )
    assert default["n"] == 10 and len(default["days"]) == 10
    assert default["provisional"] is True and default["provisional_years"] == [2150]

    for params in (
        {"start": "2024-02-30"},
        {"start": "20240101"},
        {"start": "2024-01-01", "n": -1},
        {"start": "2024-01-01", "n": 1001},
        {"start": "9999-12-30", "n": 5},
        {},
    ):
        r = await system.http.get("/api/v1/calendar/working-days", headers=officer, params=params)
        assert problem(r, 422, "validation-error")["errors"], params
    for bad in ("2024-02-30", "tomorrow", "0000-01-01"):
        problem(
            await system.http.get(f"/api/v1/calendar/days/{bad}", headers=officer),
            404,
            "not-found",
        )
    unknown = await system.http.get(
        "/api/v1/calendar/working-days",
        headers=officer,
        params={"start": "2024-01-01", "days": 3},
    )
    assert problem(unknown, 422, "validation-error")["errors"][0]["field"] == "query.days"


async def test_a_loaded_year_changes_the_answers(system: System, own_years: None) -> None:
    region = await system.make_region()
    officer = region.headers["officer"]
    root = await system.login("admin")  # 系统管理员 at 000000
    tuesday = first_weekday(LOADED, 3, 1)
    wednesday, saturday = tuesday + timedelta(days=1), tuesday + timedelta(days=4)

    async def next_day() -> dict[str, Any]:
        data: dict[str, Any] = ok(
            await system.http.get(
                "/api/v1/calendar/working-days",
                headers=officer,
                params={"start": tuesday.isoformat(), "n": 4},
            )
        )
        return data

    before = await next_day()
    assert before["provisional"] is True and before["provisional_years"] == [LOADED]
    assert before["date"] == (tuesday + timedelta(days=6)).isoformat()  # Wed Thu Fri Mon

    table = {
        "year": LOADED,
        "holidays": [wednesday.isoformat()],
        "workdays": [saturday.isoformat()],
        "note": "测试用表，非官方",
    }
    r = await system.http.put(f"/api/v1/calendar/years/{LOADED}", headers=root, json=table)
    loaded = ok(r)
    assert loaded["recompute"]["status"] == "done"
    assert isinstance(loaded["recompute"]["signalled"], int)
    year = loaded["year"]
    assert year["year"] == LOADED and year["origin"] == "imported"
    assert year["provisional"] is False and year["replaces_seed"] is False
    assert year["holiday_count"] == 1 and year["workday_count"] == 1
    assert year["loaded_by"] == "admin"
    assert year["source"] == "imported through the API: 测试用表，非官方"

    # Wednesday is now off and Saturday worked: Thu, Fri, Sat, Mon.
    after = await next_day()
    assert after["provisional"] is False and after["provisional_years"] == []
    assert after["days"] == [(tuesday + timedelta(days=k)).isoformat() for k in (2, 3, 4, 6)]
    off = ok(await system.http.get(f"/api/v1/calendar/days/{wednesday}", headers=officer))
    assert off["workday"] is False and off["reason"] == "holiday" and off["holiday"] is None

    years = ok(await system.http.get("/api/v1/calendar/years", headers=officer))["items"]
    listed = next(y for y in years if y["year"] == LOADED)
    assert listed["origin"] == "imported" and listed["loaded_by"] == "admin"
    detail = ok(await system.http.get(f"/api/v1/calendar/years/{LOADED}", headers=officer))
    assert detail["holidays"] == [{"date": wednesday.isoformat(), "name": None, "name_zh": None}]
    assert [d["date"] for d in detail["workdays"]] == [saturday.isoformat()]

    async with system.sessions()() as session:
        audit = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "calendar_year_loaded",
                    AuditEntry.object_id == str(LOADED),
                )
            )
        ).all()
    assert len(audit) == 1 and audit[0].detail is not None
    assert audit[0].detail["holidays"] == 1 and audit[0].detail["by"] == "admin"

    # Loading the year again replaces the table (here: back to weekends only).
    again = ok(
        await system.http.put(
            f"/api/v1/calendar/years/{LOADED}", headers=root, json={"year": LOADED, "holidays": []}
        )
    )
    assert again["year"]["holiday_count"] == 0 and again["year"]["source"] == (
        "imported through the API"
    )
    assert (await next_day())["date"] == before["date"]


async def test_only_a_root_administrator_loads_a_year(system: System, own_years: None) -> None:
    region = await system.make_region()
    table = {"year": LOADED, "holidays": [f"{LOADED}-01-01"]}
    url = f"/api/v1/calendar/years/{LOADED}"
    body = problem(
        await system.http.put(url, headers=region.headers["admin"], json=table),
        403,
        "actor-not-allowed",
    )
    assert "root jurisdiction 000000" in body["detail"] and "national" in body["detail"]
    problem(
        await system.http.put(url, headers=region.headers["admin_b"], json=table),
        403,
        "actor-not-allowed",
    )
    for user in ("officer", "supervisor", "reviewer"):
        problem(
            await system.http.put(url, headers=region.headers[user], json=table),
            403,
            "actor-not-allowed",
        )
    problem(await system.http.put(url, json=table), 401, "unauthorized")
    assert await stored(system, LOADED) is None


async def test_load_validation(system: System, own_years: None) -> None:
    root = await system.login("admin")
    url = f"/api/v1/calendar/years/{INVALID}"

    async def rejected(content: bytes | str) -> dict[str, Any]:
        r = await system.http.put(
            url, headers={**root, "Content-Type": "application/json"}, content=content
        )
        body = problem(r, 422, "validation-error")
        assert body["errors"], body
        return body

    syntax = await rejected('{\n  "year": 2094,\n  "holidays": [,]\n}')
    assert syntax["errors"][0]["field"] == "body"
    assert syntax["errors"][0]["line"] == 3 and syntax["errors"][0]["column"] == 16

    def table(**fields: Any) -> str:
        return json.dumps({"year": INVALID, "holidays": [], **fields})

    not_a_date = await rejected(table(holidays=[f"{INVALID}-01-01", f"{INVALID}-02-30"]))
    assert not_a_date["errors"][0]["field"] == "holidays[1]"
    assert "is not a date" in not_a_date["errors"][0]["message"]
    other_year = await rejected(table(holidays=["2093-01-01"]))
    assert other_year["errors"][0]["field"] == "holidays[0]"
    weekday = first_weekday(INVALID, 5, 0)
    makeup = await rejected(table(workdays=[weekday.isoformat()]))
    assert makeup["errors"][0]["field"] == "workdays[0]"
    assert "not a Saturday or Sunday" in makeup["errors"][0]["message"]
    unknown = await rejected(table(holiday=[]))
    assert "unknown field 'holiday'" in unknown["detail"]
    mismatch = await rejected(json.dumps({"year": LOADED, "holidays": []}))
    assert mismatch["errors"][0]["field"] == "year" and "path says 2094" in mismatch["detail"]
    await rejected("[]")
    await rejected(json.dumps({"year": "2094", "holidays": []}))
    await rejected(b"\xff\xfe\x00")
    await rejected("[" * 60_000)
    await rejected("")

    too_big = await system.http.put(
        url,
        headers={**root, "Content-Type": "application/json"},
        content=b" " * (reference_service.MAX_TABLE_BYTES + 1),
    )
    problem(too_big, 413, "payload-too-large")
    as_text = await system.http.put(
        url,
        headers={**root, "Content-Type": "text/plain"},
        content=json.dumps({"year": INVALID, "holidays": []}),
    )
    problem(as_text, 415, "unsupported-media-type")
    out_of_range = await system.http.put(
        "/api/v1/calendar/years/2201", headers=root, json={"year": 2201, "holidays": []}
    )
    problem(out_of_range, 404, "not-found")
    assert await stored(system, INVALID) is None


async def test_load_when_the_workflow_engine_is_unreachable(
    system: System, own_years: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*_args: object) -> int:
        raise ConnectionError("temporal is down")

    monkeypatch.setattr(reference_service, "signal_provisional_clocks", unreachable)
    root = await system.login("admin")
    r = await system.http.put(
        f"/api/v1/calendar/years/{PENDING}",
        headers=root,
        json={"year": PENDING, "holidays": [f"{PENDING}-01-01"]},
    )
    body = ok(r, 202)
    assert body["recompute"]["status"] == "pending" and body["recompute"]["signalled"] is None
    assert "yuanzhu calendar recompute" in body["recompute"]["detail"]
    row = await stored(system, PENDING)
    assert row is not None and row.holidays == [f"{PENDING}-01-01"]
