"""Free text is bounded and visible (#20 §6), by one rule (domain/text.py) in the API, the
pages and the imports: the API took a 100,000-character applicant name and names with control
characters, right-to-left overrides and zero-width characters while the form refused the long
name. Now every free-text field refuses them with a 422 naming the field (the page with the
same words in Chinese), and nothing is stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from store.models import Case
from tests.api.test_tasks_concurrency import _reviewer_task
from tests.factories import application, make_id
from tests.problems import problem
from tests.reliability.report import tally
from tests.system import System
from tests.web.test_public_form import JILIN_STREET, field_error, filled, open_form, visitor

HIDDEN = {
    "a right-to-left override": "张三\u202egpj.exe",
    "a zero-width space": "张\u200b三",
    "a control character": "张\u0007三",
    "a byte-order mark": "\ufeff张三",
}


def _refused(r: Any, field: str) -> None:
    body = problem(r, 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]], body
    tally("security", "free-text values refused (overlong or hidden characters)", 1)


async def _cases(system: System) -> int:
    async with system.sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


async def test_the_api_refuses_overlong_and_hidden_names(system: System) -> None:
    before = await _cases(system)
    for value in ("名" * 50_000, "名" * 51, *HIDDEN.values()):
        body = application(name=value, id_number=make_id())
        r = await system.http.post("/api/v1/applications", json=body)
        _refused(r, "facts.person.name")
    assert await _cases(system) == before  # nothing stored
    r = await system.http.post(
        "/api/v1/applications", json=application(name="  张 \t三  ", id_number=make_id())
    )
    assert r.status_code == 201, r.text
    case = await system.http.get(
        f"/api/v1/cases/{r.json()['case_id']}", headers=await system.login("wf_reviewer")
    )
    assert case.json()["applicant_name"] == "张 三"


async def test_the_public_form_refuses_hidden_names_in_chinese(system: System) -> None:
    async with visitor(system) as web:
        csrf = await open_form(web, JILIN_STREET)
        for value in HIDDEN.values():
            r = await web.post("/apply", data=filled(JILIN_STREET, csrf, name=value))
            assert r.status_code == 422, r.text
            assert field_error(r.text, "name") == "不能包含控制字符、文字方向控制符或不可见字符"
            tally("security", "free-text values refused (overlong or hidden characters)", 1)


async def test_notes_reasons_and_names_elsewhere_follow_the_same_rule(system: System) -> None:
    case_id, task_id = await _reviewer_task(system)
    reviewer = await system.login("wf_reviewer")
    admin = await system.login("admin")
    override = HIDDEN["a right-to-left override"]
    refusals = [
        (
            f"/api/v1/tasks/{task_id}/complete",
            {"outcome": "approve", "comment": f"已核实{override}"},
            reviewer,
            "comment",
        ),
        (
            f"/api/v1/tasks/{task_id}/complete",
            {"outcome": "refuse", "fields": {"reason": f"不符合{override}"}},
            reviewer,
            "fields.reason",
        ),
        (
            f"/api/v1/cases/{case_id}/withdraw",
            {"reason": f"申请人撤回{HIDDEN['a zero-width space']}"},
            reviewer,
            "reason",
        ),
        (
            "/api/v1/admin/users",
            {
                "username": "hidden_name_user",
                "display_name": HIDDEN["a zero-width space"],
                "role": "grassroots_officer",
                "jurisdiction_code": "370702001",
                "password": "Secret-Pass-0001",
            },
            admin,
            "display_name",
        ),
    ]
    for url, body, headers, field in refusals:
        r = await system.http.post(url, json=body, headers=headers)
        assert r.status_code == 422, (url, r.text)
        errors = [e["field"] for e in r.json().get("errors", [])]
        assert any(e == field or e.endswith(f".{field}") for e in errors), (url, r.json())
        tally("security", "free-text values refused (overlong or hidden characters)", 1)
