"""The enrolment pages (山东 二: /emergencies, /emergencies/{id}, /enrol) without a browser, on
SQLite and PostgreSQL, driven as users would: a supervisor declares an emergency (field errors
beside the fields, a double declaration refused in Chinese) and it is listed for the officers it
covers; an officer enrols a person under it and lands on the case page (已纳入援助); a refused
enrolment shows the group's reasons in Chinese beside their fields; a bad list shows its line
errors and enrols nobody, a good one shows its batch (here and, as 纳入, among the ledger
imports); another region's user gets the 404 page.

The data are the enrolment API tests' (:mod:`tests.api.test_enrolment`)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx

from application.services.reference import today
from tests.api.test_enrolment import _enrolment_cases, shandong_region
from tests.api.test_ledger import csv
from tests.factories import make_id
from tests.system import Region, System
from tests.web.test_admin_pages import csrf_of
from tests.web.test_dashboard_pages import client
from tests.web.test_ledger_pages import import_rows, line_errors, problem_of


def field_errors(html: str) -> dict[str, str]:
    """The messages beside the fields: field -> text."""
    return {
        name: re.sub(r"<[^>]+>", "", text).strip()
        for name, text in re.findall(
            r'<p class="field-error"[^>]*data-field="(\w+)">(.*?)</p>', html, re.S
        )
    }


def emergency_rows(html: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for eid, body in re.findall(r'<tr data-emergency-id="(\d+)">(.*?)</tr>', html, re.S):
        cells = re.findall(r'<td data-col="(\w+)">(.*?)</td>', body, re.S)
        out[eid] = {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in cells}
    return out


async def post_form(
    web: httpx.AsyncClient, page_url: str, action: str, fields: dict[str, str]
) -> httpx.Response:
    page = await web.get(page_url)
    assert page.status_code == 200, page.text
    return await web.post(action, data={"csrf": csrf_of(page.text), **fields})


def declaration(region: Region, **overrides: str) -> dict[str, str]:
    return {
        "kind": "disaster",
        "name": f"台风“页面{region.n}”",
        "jurisdiction": region.codes["city"],
        "starts_on": (today() - timedelta(days=1)).isoformat(),
        "ends_on": (today() + timedelta(days=30)).isoformat(),
        "description": "台风灾害影响就业",
        **overrides,
    }


async def declared(system: System, region: Region, **overrides: str) -> str:
    async with client(system, region, "supervisor") as web:
        r = await post_form(web, "/emergencies", "/emergencies", declaration(region, **overrides))
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/emergencies/(\d+)\?declared=1", r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


async def test_declare_see_enrol_and_land_on_the_case_page(system: System) -> None:
    region = await shandong_region(system)
    # Field errors beside the fields, in Chinese; what was typed is kept.
    async with client(system, region, "supervisor") as web:
        r = await post_form(
            web,
            "/emergencies",
            "/emergencies",
            declaration(region, kind="", starts_on="2026-02-30"),
        )
    assert r.status_code == 422
    errors = field_errors(r.text)
    assert errors["kind"] == "请选择突发事件类型" and "开始日期" in errors["starts_on"]
    assert f"台风“页面{region.n}”" in r.text

    emergency_id = await declared(system, region)
    async with client(system, region, "supervisor") as web:
        page = await web.get(f"/emergencies/{emergency_id}?declared=1")
        listing = await web.get("/emergencies")
        again = await post_form(web, "/emergencies", "/emergencies", declaration(region))
    assert page.status_code == 200 and 'data-testid="declared"' in page.text
    assert 'data-testid="upload-not-allowed"' in page.text  # a supervisor declares, not enrols
    row = emergency_rows(listing.text)[emergency_id]
    assert (row["kind"], row["enrolled"], row["in_assistance"]) == ("重大自然灾害", "0", "0")
    assert row["active"] == "进行中" and row["place"] == f"测试city{region.n}"
    assert again.status_code == 409 and problem_of(again.text) == "emergency-exists"
    assert "该突发事件已经发布" in again.text

    # The officer below the city sees it, has the links, and enrols a person under it.
    async with client(system, region, "officer") as web:
        listing = await web.get("/emergencies")
        assert emergency_id in emergency_rows(listing.text)
        assert 'href="/enrol"' in listing.text and 'action="/emergencies"' not in listing.text
        form = await web.get(f"/enrol?emergency={emergency_id}")
        assert f'<option value="{emergency_id}" selected>' in form.text
        assert 'value="temporary_assistance" checked' in form.text
        r = await web.post(
            "/enrol",
            data={
                "csrf": csrf_of(form.text),
                "target_group": "temporary_assistance",
                "name": "孙受灾",
                "id_number": make_id(date(1979, 9, 9), region="370702"),
                "jurisdiction": region.codes["street_a1"],
                "phone": "13800000001",
                "emergency_id": emergency_id,
                # Another group's condition typed by mistake: not sent.
                "willing": "0",
            },
        )
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        assert re.fullmatch(r"/cases/EN[0-9A-Z]+-000001", location), location
        case = await web.get(location)
    assert case.status_code == 200
    status = re.search(r'data-testid="case-status">(.*?)</p>', case.text, re.S)
    assert status and "已纳入援助" in status.group(1)
    assert "纳入援助" in case.text and "孙受灾" in case.text
    async with client(system, region, "officer") as web:
        english = await web.get(f"{location}?lang=en")
    assert "Enrolled in assistance" in english.text


async def test_a_refused_enrolment_shows_the_reasons_in_chinese(system: System) -> None:
    region = await shandong_region(system)
    number = make_id(date(1975, 5, 5), region="370702")
    person = {
        "target_group": "rural_surplus_labour",
        "name": "张农民",
        "id_number": number,
        "jurisdiction": region.codes["street_a1"],
    }
    async with client(system, region, "officer") as web:
        # Not answered: the page asks, before the service is called.
        r = await post_form(web, "/enrol", "/enrol", {**person, "willing": "1"})
        assert r.status_code == 422
        assert field_errors(r.text) == {
            "able": "请选择是否有就业能力",
            "transferred": "请选择是否已转移就业",
        }
        # The service's refusal: each condition beside its field.
        r = await post_form(
            web, "/enrol", "/enrol", {**person, "willing": "0", "able": "0", "transferred": "1"}
        )
        assert r.status_code == 422 and problem_of(r.text) == "enrolment-conditions-not-met"
        assert "不符合纳入条件" in r.text
        assert field_errors(r.text) == {
            "willing": "未认定有就业意愿",
            "able": "未认定有就业能力",
            "transferred": "已转移就业",
        }
        assert 'value="张农民"' in r.text  # what was typed is kept
        # A wrong check digit: the reason beside the ID number.
        bad = number[:-1] + ("0" if number[-1] != "0" else "1")
        ok = {"willing": "1", "able": "1", "transferred": "0"}
        r = await post_form(web, "/enrol", "/enrol", {**person, **ok, "id_number": bad})
        assert r.status_code == 422 and "id_number" in field_errors(r.text)
        # A graduate long out of school.
        grad = {
            **person,
            "target_group": "low_income_graduate",
            "id_number": make_id(date(2001, 1, 1), region="370702"),
            "low_income_family": "1",
            "left_school_on": (today() - timedelta(days=4 * 366)).isoformat(),
        }
        r = await post_form(web, "/enrol", "/enrol", grad)
        assert field_errors(r.text) == {"left_school_on": "不在择业期内"}
        # Enrolled, then enrolled again: refused, naming the case.
        r = await post_form(web, "/enrol", "/enrol", {**person, **ok})
        assert r.status_code == 303, r.text
        case_id = r.headers["location"].rsplit("/", 1)[1]
        r = await post_form(web, "/enrol", "/enrol", {**person, **ok})
        assert r.status_code == 409 and problem_of(r.text) == "already-enrolled"
        assert "该人员已纳入或已在援助中" in r.text and f'href="/cases/{case_id}"' in r.text
        # Without the CSRF token: refused, nothing enrolled.
        r = await web.post("/enrol", data={**person, **ok})
        assert r.status_code == 403 and problem_of(r.text) == "csrf"
    assert await _enrolment_cases(system, region) == 1
    # A supervisor declares but does not enrol.
    async with client(system, region, "supervisor") as web:
        r = await web.get("/enrol")
        nav = await web.get("/emergencies")
    assert r.status_code == 403 and problem_of(r.text) == "actor-not-allowed"
    assert 'href="/emergencies"' in nav.text and 'href="/enrol"' not in nav.text


async def upload(
    web: httpx.AsyncClient, emergency_id: str, region: Region, data: bytes
) -> httpx.Response:
    page = await web.get(f"/emergencies/{emergency_id}")
    assert page.status_code == 200, page.text
    return await web.post(
        f"/emergencies/{emergency_id}/enrolments",
        data={"csrf": csrf_of(page.text), "jurisdiction": region.codes["street_a1"]},
        files={"file": ("受灾人员名单.csv", data)},
    )


async def test_an_emergency_list_bad_then_good(system: System) -> None:
    region = await shandong_region(system)
    emergency_id = await declared(system, region)
    ids = [make_id(date(1981 + i, 2, 1 + i), region="370702") for i in range(2)]
    broken = csv(
        "姓名,身份证号,所属镇街代码,联系电话",
        f"甲,{ids[0]},,13800000000",
        f"乙,{ids[1][:-1]}{'0' if ids[1][-1] != '0' else '1'},,",
        f"丙,{ids[0]},999999,电话",
    )
    async with client(system, region, "reviewer") as web:
        r = await upload(web, emergency_id, region, broken)
    assert r.status_code == 422 and problem_of(r.text) == "enrolment-file-invalid"
    assert "名单文件有误，未纳入任何人员" in r.text
    lines = {(line, column) for line, column, _ in line_errors(r.text)}
    assert {("3", "身份证号"), ("4", "所属镇街代码"), ("4", "联系电话")} <= lines
    assert all(re.search(r"[\u4e00-\u9fff]", m) for _, _, m in line_errors(r.text))
    assert await _enrolment_cases(system, region) == 0

    good = csv(
        "姓名,身份证号,所属镇街代码,联系电话,备注",
        f"甲,{ids[0]},,13800000000,",
        f"乙,{ids[1]},{region.codes['street_a2']},,厂房受损停工",
    )
    async with client(system, region, "reviewer") as web:
        r = await upload(web, emergency_id, region, good)
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        batch_id = re.search(r"uploaded=(\d+)", location)
        assert batch_id
        page = await web.get(location)
        ledger = await web.get("/ledger")
    assert 'data-testid="uploaded"' in page.text
    assert "已导入 受灾人员名单.csv：纳入 2 人，已纳入或已在援助中 0 人。" in page.text
    row = import_rows(page.text)[batch_id.group(1)]
    assert (row["created"], row["already_present"]) == ("2", "0")
    assert row["status"] in ("待启动", "启动中", "已完成")
    assert import_rows(ledger.text)[batch_id.group(1)]["kind"] == "纳入"
    assert await _enrolment_cases(system, region) == 2


async def test_another_region_gets_not_found(system: System) -> None:
    region = await shandong_region(system)
    emergency_id = await declared(system, region)
    other = await shandong_region(system)
    async with client(system, other, "officer") as web:
        page = await web.get(f"/emergencies/{emergency_id}")
        listing = await web.get("/emergencies")
        r = await web.post(
            f"/emergencies/{emergency_id}/enrolments",
            files={"file": ("a.csv", b"x")},
        )
        nonsense = await web.get("/emergencies/abc")
    assert page.status_code == 404 and problem_of(page.text) == "not-found"
    assert emergency_id not in emergency_rows(listing.text)
    assert r.status_code == 404
    assert nonsense.status_code == 404
    # A sibling county's officer: outside the county-level emergency.
    county_emergency = await declared(
        system, region, name="县级", jurisdiction=region.codes["county_a"]
    )
    async with client(system, region, "officer_b") as web:
        page = await web.get(f"/emergencies/{county_emergency}")
    assert page.status_code == 404
