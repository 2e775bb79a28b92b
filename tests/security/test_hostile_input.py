"""Hostile input, on both databases:

- markup in every free-text field that reaches a page — applicants' and household heads' names,
  users' display names, saved views' names, emergencies' names, notifications, task comments,
  case objections — is shown as text on every page that shows it, never as markup;
- SQL metacharacters in every string filter of every API list answer 200 or 4xx, never 5xx,
  and never widen what a list shows.

- an emergency's enrolment list with wrong columns, an unreadable encoding, formulas or too
  many bytes is refused whole, formulas named by line and column, nobody enrolled.

(The ledger's and the department lists' imports are refused the same way in
tests/api/test_ledger.py, tests/api/test_reference_department.py,
tests/domain/test_department_import.py and tests/domain/test_ledger.py; a cell starting with
= + - @ is refused, never stored; exports prefix formula-like text with ' so that a spreadsheet
shows it as text: tests/domain/test_ledger.py::test_export_text_is_inert.)"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
from markupsafe import escape

from tests.api.test_authz_matrix import (
    ACTORS,
    World,
    emergency_params,
    make_case,
    make_filter,
    make_notification,
    make_task,
    make_user,
)
from tests.api.test_households_api import make_household
from tests.factories import make_id
from tests.problems import problem
from tests.reliability.report import tally
from tests.system import System

SCRIPT = "<script>alert('{tag}')</script>"
IMG = "\"><img src=x onerror=alert('{tag}')>"


def payloads(tag: str) -> str:
    """Both payloads in one value, tagged so that a page can be traced to its field."""
    return SCRIPT.format(tag=tag) + IMG.format(tag=tag)


def assert_inert(page: str, value: str, where: str) -> None:
    """No raw markup of ``value`` in the page, and its text shown as Jinja escapes it."""
    assert "<script>alert(" not in page, f"{where}: a script tag got through"
    assert "<img src=x" not in page, f"{where}: an img tag got through"
    assert str(escape(value)) in page, f"{where}: the text is not shown (escaped)"


def browser(system: System, world: World, user: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    token = world.regions[0].headers[user]["Authorization"].removeprefix("Bearer ")
    client.cookies.set("yz_session", token)
    return client


async def test_markup_in_free_text_is_inert_on_pages(system: System) -> None:
    region = await system.make_region()
    world = World(system, [region])
    values = {
        field: payloads(field)
        for field in (
            "case",
            "task",
            "user",
            "view",
            "emergency",
            "household",
            "notice",
            "comment",
            "objection",
        )
    }
    case_id = await make_case(world, 0, "street_a1", values["case"])
    task_id = await make_task(world, 0, "street_a1", "grassroots_officer", values["task"])
    user_id = await make_user(world, 0, "street_a1", "grassroots_officer", values["user"])
    await make_filter(world, 0, "street_a1", "grassroots_officer", values["view"])
    emergency = await emergency_params(world, ACTORS[0], 0, "street_a1", values["emergency"])
    household_id, _ = await make_household(system, region, "street_a1", values["household"])
    await make_notification(world, 0, "street_a1", "grassroots_officer", values["notice"])

    # Through the API, as an officer would type them.
    officer = region.headers["officer"]
    r = await system.http.post(
        f"/api/v1/tasks/{task_id}/comments", headers=officer, json={"body": values["comment"]}
    )
    assert r.status_code == 201, r.text
    assert r.json()["body"] == values["comment"]  # stored as typed: escaping is the page's job

    pages: list[tuple[str, str, list[str]]] = [
        ("officer", "/inbox?view=scope", ["task", "view"]),
        ("officer", f"/tasks/{task_id}", ["task", "comment"]),
        ("officer", "/cases?q=alert", ["case"]),
        ("officer", f"/cases/{case_id}", ["case"]),
        ("officer", "/households", ["household"]),
        ("officer", f"/households/{household_id}", ["household"]),
        ("officer", "/emergencies", ["emergency"]),
        ("officer", f"/emergencies/{emergency['emergency_id']}", ["emergency"]),
        ("admin", "/admin/users?q=alert", ["user"]),
        ("admin", f"/admin/users/{user_id}", ["user"]),
    ]
    for user, path, fields in pages:
        async with browser(system, world, user) as web:
            r = await web.get(path)
        assert r.status_code == 200, f"{path}: {r.status_code}"
        for field in fields:
            value = values[field]
            assert_inert(r.text, value, f"{path} ({field})")


async def test_markup_in_an_application_is_inert(system: System) -> None:
    """A name typed into the public form: refused as a name, or shown as text, never run."""
    value = payloads("applicant")
    r = await system.http.post(
        "/api/v1/applications",
        json={
            "jurisdiction_code": "370702001",
            "facts": {
                "person": {
                    "name": value,
                    "id_number": "11010519491231002X",
                    "able_to_work": True,
                    "willing_to_work": True,
                },
                "unemployment": {"registered": True},
            },
        },
    )
    assert r.status_code in (201, 202, 422), r.text
    if r.status_code == 422:
        return
    case_id = r.json()["case_id"]
    headers = await system.login("wf_officer")
    async with httpx.AsyncClient(transport=system.http._transport, base_url="http://test") as web:
        web.cookies.set("yz_session", headers["Authorization"].removeprefix("Bearer "))
        page = await web.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert_inert(page.text, value, "the case page")


# --- SQL metacharacters in list filters ---------------------------------------------------------

META = ("' OR 1=1 --", "%", "_", "\\", "%' OR '1'='1", '"; DROP TABLE cases; --', "％", "\x00")


def string_filters(system: System) -> list[tuple[str, str]]:
    """(path, parameter) of every free string query parameter of the API's GET lists."""
    app = system.http._transport.app  # type: ignore[attr-defined]
    found = []
    for path, item in app.openapi()["paths"].items():
        op = item.get("get")
        if op is None or "{" in path or not path.startswith("/api/"):
            continue
        for p in op.get("parameters", []):
            schema = p.get("schema", {})
            kinds = [schema, *schema.get("anyOf", [])]
            if p["in"] == "query" and any(
                k.get("type") == "string" and not k.get("enum") for k in kinds
            ):
                found.append((path, p["name"]))
    return found


def items_of(r: httpx.Response) -> list[Any] | None:
    body = r.json()
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"]  # type: ignore[no-any-return]
    return body if isinstance(body, list) else None


BASE_PARAMS: dict[str, dict[str, str]] = {"/api/v1/ledger": {"format": "json"}}


@pytest.mark.parametrize("meta", META, ids=repr)
async def test_sql_metacharacters_in_filters(system: System, meta: str) -> None:
    region = await system.make_region()
    world = World(system, [region])
    await make_case(world, 0, "street_a1", "普通的名字")
    await make_task(world, 0, "street_a1", "admin", "普通的名字")
    filters = string_filters(system)
    assert len(filters) > 30
    admin = region.headers["admin"]
    for path, name in filters:
        base = BASE_PARAMS.get(path, {})
        r = await system.http.get(path, headers=admin, params={**base, name: meta})
        where = f"GET {path}?{name}={meta!r}: {r.status_code} {r.text[:300]}"
        tally("security", "list filters given SQL metacharacters")
        tally("security", "server errors (5xx) from SQL metacharacters", int(r.status_code >= 500))
        assert r.status_code < 500, where
        assert r.status_code in (200, 400, 404, 422), where
        if r.status_code != 200:
            continue
        shown = items_of(r)
        # A wildcard taken as a pattern would widen the list: every row shown must hold the
        # value literally (the users' names of the test regions do hold "_").
        literal = json.dumps(meta, ensure_ascii=False)[1:-1]
        for item in shown or []:
            assert literal in json.dumps(item, ensure_ascii=False), f"{where}: {item}"


# --- malformed lists (the emergency enrolment list; the ledger's are in tests/api/test_ledger.py)


async def test_malformed_enrolment_lists_are_refused_whole(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    import application.services.ledger as ledger_service
    from tests.api.test_enrolment import _bulk, _enrolment_cases, declare, shandong_region

    region = await shandong_region(system)
    emergency = (await declare(system, region)).json()
    person = make_id(date(1981, 5, 5), region="370702")

    wrong_columns = await _bulk(system, region, emergency["id"], b"name,id\nA,1\n")
    body = problem(wrong_columns, 422, "enrolment-file-invalid")
    assert body["errors"] and body["errors"][0]["line"] == 1, body

    undecodable = await _bulk(system, region, emergency["id"], b"\xff\xfe\xfa" + b"\x81" * 50)
    problem(undecodable, 422, "enrolment-file-invalid")

    # A formula in any cell: that line's error, and nothing of the valid line is enrolled.
    formulas = (
        "姓名,身份证号,所属镇街代码,联系电话\n"
        f"甲,{person},,13800000000\n"
        f"乙,{make_id(date(1982, 6, 6), region='370702')},,=1+2\n"
        f"@SUM(A1),{make_id(date(1983, 7, 7), region='370702')},,\n"
    ).encode()
    body = problem(
        await _bulk(system, region, emergency["id"], formulas), 422, "enrolment-file-invalid"
    )
    assert {(e["line"], e["column"]) for e in body["errors"]} == {(3, "联系电话"), (4, "姓名")}

    monkeypatch.setattr(ledger_service, "MAX_UPLOAD_BYTES", 1024)
    huge = ("姓名,身份证号\n" + f"甲,{person}\n" * 200).encode()
    problem(await _bulk(system, region, emergency["id"], huge), 413, "payload-too-large")
    assert await _enrolment_cases(system, region) == 0
