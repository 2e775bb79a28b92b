"""Task pages without a browser, on SQLite and PostgreSQL: each task kind renders the form its
workflow defined (outcomes, fields, choices with the pack's names) and what the officer weighs
beside it; a missing or invalid field is answered beside that field with what was typed kept;
a completed task reads back who completed it; a stale completion gets the 409 words; claim,
release and comments work from the page; nothing outside one's subtree is shown.

Form rendering uses task rows inserted into a jurisdiction tree of the test's own
(:meth:`tests.system.System.make_region`); completion runs real Jilin cases through their
workflow (acceptance → initial review → publicity with an objection)."""

from __future__ import annotations

import asyncio
import html
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from application.errors import Problem
from application.http import SESSION_COOKIE
from application.security import issue_token
from domain.policy import load_pack
from store.models import Case, Task
from tests.factories import application, pre_check_event
from tests.system import Region, System, web_login
from web.tasks import TaskForm, errors_of
from worker.demo import DEMO_PASSWORD

WEIFANG = load_pack("weifang-2023")


async def login(system: System, user: str) -> httpx.AsyncClient:
    """A browser-like client of a demo user, logged in through the login form."""
    client = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    r = await web_login(client, user, DEMO_PASSWORD)
    assert r.status_code == 303, r.text
    return client


def as_user(system: System, user_id: int) -> httpx.AsyncClient:
    """A client with the session cookie of a region user (they have no password)."""
    token = issue_token(system.settings.secret_key, user_id, datetime.now(UTC), timedelta(hours=1))
    return httpx.AsyncClient(
        transport=system.http._transport,
        base_url="http://test",
        cookies={SESSION_COOKIE: token},
    )


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def outcomes_of(page: str) -> list[str]:
    return re.findall(r'name="outcome" value="([^"]+)"', page)


def error_beside(page: str, field: str) -> str:
    """The message shown beside ``field`` (its element directly follows the field's hint)."""
    match = re.search(rf'id="error-{field}"[^>]*>([^<]*)<', page)
    assert match, f"no message beside {field}"
    return html.unescape(match.group(1))


FORMS: dict[str, dict[str, Any]] = {
    "acceptance": {"outcomes": {"accept": [], "not_accepted": ["reason"]}, "choices": {}},
    "supplement": {
        "outcomes": {"supplied": ["evidence"], "abandoned": ["reason"], "commitment": []},
        "choices": {"evidence": ["disability_certificate", "unemployment_registration"]},
    },
    "initial_review": {"outcomes": {"approve": [], "refuse": ["reason"]}, "choices": {}},
    "home_visit": {
        "outcomes": {"confirmed": ["visit_record"], "not_confirmed": ["visit_record", "reason"]},
        "choices": {},
    },
    "publicity_report": {"outcomes": {"report": []}, "choices": {}},
    "objection": {
        "outcomes": {
            "dismissed": ["explanation"],
            "upheld": ["reason"],
            "restart": ["explanation"],
            "applicant_disagrees": ["explanation"],
        },
        "choices": {},
    },
    "review": {
        "outcomes": {"approve": ["category"], "refuse": ["reason"]},
        "choices": {"category": [c.code for c in WEIFANG.categories]},
    },
    "immediate_conclusion": {
        "outcomes": {"approve": ["category"], "refuse": ["reason"]},
        "choices": {"category": [c.code for c in WEIFANG.categories]},
    },
    "inform_refusal": {"outcomes": {"informed": ["channel"]}, "choices": {}},
    "escalation": {"outcomes": {"handled": ["action"]}, "choices": {}},
}
EXTRA: dict[str, dict[str, Any]] = {
    "supplement": {
        "missing": [
            {"code": "disability_certificate", "name": "残疾证", "commitment_may_replace": True},
            {
                "code": "unemployment_registration",
                "name": "失业登记证明",
                "commitment_may_replace": False,
            },
        ],
        "round": 1,
    },
    "objection": {"content": "申请人家中有经营性收入<b>", "raised_by": "邻居张某"},
    "inform_refusal": {"reason": "不符合认定条件", "refused_at": "复审", "source": "二(三)"},
    "escalation": {
        "about_task": "x.initial_review.1",
        "about_kind": "initial_review",
        "event": "breached",
        "level": 1,
    },
}


async def kind_tasks(system: System, region: Region, **spec: Any) -> dict[str, str]:
    """One open task of every kind in the region, with its workflow's form in the payload
    (the county kinds at the county, for the reviewer)."""
    county = {"review", "immediate_conclusion"}
    ids: dict[str, str] = {}
    for kind in FORMS:
        [ids[kind]] = await system.insert_tasks(
            region,
            [
                {
                    "kind": kind,
                    "policy": "weifang-2023",
                    "name": "卢桂英",
                    "place": "county_a" if kind in county else "street_a1",
                    "role": "county_reviewer"
                    if kind in county
                    else ("supervisor" if kind == "escalation" else "grassroots_officer"),
                    **spec,
                }
            ],
        )
    async with system.sessions()() as session, session.begin():
        for kind, task_id in ids.items():
            payload = {"stage": "测试环节", "form": FORMS[kind], **EXTRA.get(kind, {})}
            await session.execute(update(Task).where(Task.id == task_id).values(payload=payload))
    return ids


async def test_each_kind_renders_its_own_form(system: System) -> None:
    region = await system.make_region()
    ids = await kind_tasks(system, region)
    officer = as_user(system, region.users["officer"])
    reviewer = as_user(system, region.users["reviewer"])
    supervisor = as_user(system, region.users["supervisor"])
    for kind, task_id in ids.items():
        client = {"review": reviewer, "immediate_conclusion": reviewer}.get(kind, officer)
        if kind == "escalation":
            client = supervisor
        r = await client.get(f"/tasks/{task_id}")
        assert r.status_code == 200, (kind, r.text)
        page = r.text
        assert outcomes_of(page) == list(FORMS[kind]["outcomes"]), kind
        fields = {f for needed in FORMS[kind]["outcomes"].values() for f in needed}
        for f in fields:
            assert f'name="f_{f}"' in page, (kind, f)
        assert 'name="idempotency_key"' in page and 'name="csrf"' in page
    # Kind by kind, what the form is about.
    page = (await officer.get(f"/tasks/{ids['supplement']}")).text
    assert 'type="checkbox" name="f_evidence" value="disability_certificate"' in page
    # The pack's name of a material; the notice's own name for one the pack does not list.
    assert "中华人民共和国残疾人证" in page and "失业登记证明" in page
    assert "可由书面承诺替代" in page and "第 1 次告知" in page
    page = (await officer.get(f"/tasks/{ids['objection']}")).text
    assert "申请人家中有经营性收入&lt;b&gt;" in page and "邻居张某" in page  # escaped
    page = (await officer.get(f"/tasks/{ids['inform_refusal']}")).text
    assert "不符合认定条件" in page and 'list="channels"' in page
    page = (await reviewer.get(f"/tasks/{ids['review']}")).text
    category = WEIFANG.categories[0]
    assert f'<option value="{category.code}">{category.name}</option>' in page
    english = (await reviewer.get(f"/tasks/{ids['review']}?lang=en")).text
    assert f'<option value="{category.code}">{category.name_en}</option>' in english
    assert "Review and identification" in english
    page = (await supervisor.get(f"/tasks/{ids['escalation']}")).text
    assert "第 1 级督办" in page and "已超时" in page
    for client in (officer, reviewer, supervisor):
        await client.aclose()


async def test_initial_review_shows_facts_findings_and_department_data(system: System) -> None:
    region = await system.make_region()
    number = "370702198006150021"
    async with system.sessions()() as session, session.begin():
        case = await session.get(Case, region.case_id)
        assert case is not None
        case.facts = {
            "person": {
                "name": "卢桂英",
                "id_number": number,
                "able_to_work": True,
                "sex": "female",
                "phone": "13812345678",
            },
            "residence": {"hukou_address": "潍坊市潍城区 胜利街 12 号"},
            "unemployment": {"registered": True, "unemployed_since": "2025-01-01"},
            "evidence": ["id_card"],
        }
        case.pre_check = {
            "eligible": False,
            "lines": [
                {
                    "kind": "base_condition",
                    "rule": "working_age",
                    "source": "一",
                    "outcome": "met",
                    "message_zh": "法定劳动年龄内：符合",
                    "message_en": "within working age: met",
                },
                {
                    "kind": "base_condition",
                    "rule": "residence",
                    "source": "一",
                    "outcome": "unknown",
                    "message_zh": "本市户籍：待核实",
                    "message_en": "local hukou: to verify",
                },
                {
                    "kind": "exclusion",
                    "rule": "pension",
                    "source": "二",
                    "outcome": "hit",
                    "message_zh": "领取养老金：存在此情形",
                    "message_en": "receives a pension",
                },
            ],
        }
        session.add(
            pre_check_event(
                region.case_id,
                {
                    "department_findings": [
                        {
                            "source": "民政低保系统",
                            "fact": "household.minimum_living_allowance",
                            "value": True,
                            "checked_on": "2026-03-02",
                        }
                    ],
                    "eligible": False,
                },
            )
        )
    [task_id] = await system.insert_tasks(region, [{"kind": "initial_review"}])
    async with system.sessions()() as session, session.begin():
        await session.execute(
            update(Task).where(Task.id == task_id).values(payload={"form": FORMS["initial_review"]})
        )
    officer = as_user(system, region.users["officer"])
    page = (await officer.get(f"/tasks/{task_id}")).text
    facts = page.split('data-testid="applicant-facts"')[1].split("</section>")[0]
    assert "卢桂英" in facts and "2025-01-01" in facts
    assert "<td>女</td>" in facts and "female" not in facts  # a code shows as its name
    assert number not in page and number[-4:] in facts  # masked: the full number is the case page's
    # The telephone is masked where the ID number is; the address (for the home visit) shows.
    assert "13812345678" not in page and "<td>138****5678</td>" in facts
    assert "联系电话" in facts and "潍坊市潍城区 胜利街 12 号" in facts
    checks = page.split('data-testid="eligibility"')[1].split("</section>")[0]
    assert re.search(r'state-met"><span class="badge">符合</span> 法定劳动年龄内', checks)
    assert re.search(r'state-verify"><span class="badge">待核实</span> 本市户籍', checks)
    assert re.search(r'state-not_met"><span class="badge">不符合</span> 领取养老金', checks)
    department = page.split('data-testid="department-data"')[1].split("</section>")[0]
    assert "民政低保系统" in department and "2026-03-02" in department and "是" in department
    english = (await officer.get(f"/tasks/{task_id}?lang=en")).text
    assert "within working age: met" in english and "To verify" in english
    await officer.aclose()


async def wait_for(predicate: Any, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def jilin_initial_review(system: System, name: str) -> tuple[str, dict[str, Any]]:
    r = await system.http.post("/api/v1/applications", json=application("jilin-2022", name=name))
    assert r.status_code in (200, 201, 202), r.text
    case_id = r.json()["case_id"]
    acceptance = await system.wait_for_task("jl_officer", case_id, "acceptance")
    headers = await system.login("jl_officer")
    r = await system.http.post(
        f"/api/v1/tasks/{acceptance['id']}/complete", headers=headers, json={"outcome": "accept"}
    )
    assert r.status_code == 200, r.text
    return case_id, await system.wait_for_task("jl_officer", case_id, "initial_review")


async def test_field_errors_in_place_then_completion_then_stale(system: System) -> None:
    case_id, task = await jilin_initial_review(system, "韩淑珍")
    web = await login(system, "jl_officer")
    page = (await web.get(f"/tasks/{task['id']}")).text
    csrf, key = hidden(page, "csrf"), hidden(page, "idempotency_key")
    url = f"/tasks/{task['id']}"

    # No outcome at all: said beside the outcomes.
    r = await web.post(url, data={"csrf": csrf, "idempotency_key": key, "comment": "看过材料"})
    assert r.status_code == 422
    assert error_beside(r.text, "outcome") == "请选择办理结果"
    # A refusal without its reason: said beside the reason; outcome and comment kept.
    r = await web.post(
        url,
        data={"csrf": csrf, "idempotency_key": key, "outcome": "refuse", "comment": "看过材料"},
    )
    assert r.status_code == 422 and 'role="alert"' in r.text
    # 初审 passes or fails; it identifies nobody (#21): 通过/不通过, not 通过/认定.
    assert error_beside(r.text, "reason") == "选择“不通过”时必须填写此项"
    assert 'value="refuse" data-fields="reason" checked' in r.text
    assert ">看过材料</textarea>" in r.text
    assert hidden(r.text, "idempotency_key") == key  # a repeat stays one decision
    # English: the same message in English, beside the same field.
    r = await web.post(
        url + "?lang=en", data={"csrf": csrf, "idempotency_key": key, "outcome": "refuse"}
    )
    assert "required when you choose" in error_beside(r.text, "reason")
    await web.get("/inbox?lang=zh-CN")

    # Approved: the task reads back who completed it.
    r = await web.post(
        url, data={"csrf": csrf, "idempotency_key": key, "outcome": "approve", "comment": "符合"}
    )
    assert r.status_code == 303, r.text
    page = (await web.get(url)).text
    assert 'data-testid="task-form"' not in page
    assert "由 赵经办（南岭街道） 于" in page and "办结" in page and "通过" in page
    assert "通过/认定" not in page

    # A second completion under a new key (another tab, an old page): the 409 words.
    r = await web.post(
        url, data={"csrf": csrf, "idempotency_key": key + "-again", "outcome": "approve"}
    )
    assert r.status_code == 409
    assert "该事项已办结" in r.text and 'data-testid="task-form"' not in r.text
    # The same key again is the same decision, answered as before (no second decision).
    r = await web.post(url, data={"csrf": csrf, "idempotency_key": key, "outcome": "approve"})
    assert r.status_code == 303

    # Publicity: an objection recorded on the case page opens an objection task.
    async def in_publicity() -> bool:
        page = (await web.get(f"/cases/{case_id}")).text
        return 'data-testid="objection-form"' in page

    await wait_for(in_publicity, "the publicity")
    case_page = (await web.get(f"/cases/{case_id}")).text
    objection_key = hidden(case_page, "key")
    r = await web.post(
        f"/cases/{case_id}/objections",
        data={"csrf": csrf, "key": objection_key, "content": "有工作", "raised_by": ""},
    )
    assert r.status_code == 422 and error_beside(r.text, "raised_by") == "此项为必填项"
    assert ">有工作</textarea>" in r.text
    r = await web.post(
        f"/cases/{case_id}/objections",
        data={"csrf": csrf, "key": objection_key, "content": "有工作", "raised_by": "邻居"},
    )
    assert r.status_code == 303, r.text
    objection_id = re.search(r"objection=([^&#]+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    notice = (await web.get(r.headers["location"])).text
    assert 'data-testid="objection-recorded"' in notice
    objection = await system.wait_for_task("jl_officer", case_id, "objection")
    assert objection["id"] == objection_id.replace("%2E", ".")
    page = (await web.get(f"/tasks/{objection['id']}")).text
    assert "有工作" in page and "邻居" in page
    assert outcomes_of(page) == ["dismissed", "upheld", "restart"]
    r = await web.post(
        f"/tasks/{objection['id']}",
        data={
            "csrf": csrf,
            "idempotency_key": hidden(page, "idempotency_key"),
            "outcome": "dismissed",
            "f_explanation": "经核实无工作",
            "f_reason": "typed for another outcome",
        },
    )
    assert r.status_code == 303, r.text
    async with system.sessions()() as session:
        done = await session.scalar(select(Task).where(Task.id == objection["id"]))
        assert done is not None and done.outcome is not None
        # Only the chosen outcome's fields are part of the decision.
        assert done.outcome["fields"] == {"explanation": "经核实无工作"}
    await web.aclose()


def test_workflow_refusals_land_beside_their_fields() -> None:
    """The problem's field errors (as ``application.services.tasks`` builds them from the
    workflow's refusal) place each message beside its field."""
    outcomes = {"approve": ["category"], "refuse": ["reason"]}
    form = TaskForm(outcome="refuse", values={"category": [], "reason": []})
    missing = [{"field": "fields.reason", "message": "required", "code": "missing"}]
    errors_of(Problem(422, "missing-fields", "x", "missing", errors=missing), form, outcomes)
    assert form.errors == {"reason": "此项为必填项"}
    form = TaskForm(outcome="approve", values={"category": ["nope"], "reason": []})
    bad = [{"field": "fields.category", "message": "not a choice", "code": "choice"}]
    errors_of(Problem(422, "bad-field", "x", "category: nope", errors=bad), form, outcomes)
    assert form.errors == {"category": "所选的值不在可选范围内"}
    form = TaskForm(outcome="zzz")
    outcome = [{"field": "outcome", "message": "not offered", "code": "choice"}]
    errors_of(Problem(422, "bad-outcome", "x", "not offered", errors=outcome), form, outcomes)
    assert set(form.errors) == {"outcome"}


async def test_claim_release_and_comments_from_the_page(system: System) -> None:
    region = await system.make_region()
    [task_id] = await system.insert_tasks(region, [{"kind": "initial_review"}])
    async with system.sessions()() as session, session.begin():
        await session.execute(
            update(Task).where(Task.id == task_id).values(payload={"form": FORMS["initial_review"]})
        )
    officer = as_user(system, region.users["officer"])
    colleague = as_user(system, region.users["officer2"])
    url = f"/tasks/{task_id}"
    page = (await officer.get(url)).text
    csrf = hidden(page, "csrf")
    assert 'data-testid="claim"' in page
    assert (await officer.post(url + "/claim", data={"csrf": "forged"})).status_code == 403
    r = await officer.post(url + "/claim", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == url
    page = (await officer.get(url)).text
    assert "officer@" in page.split('data-testid="assignee"')[1][:40]
    assert 'data-testid="unclaim"' in page and 'data-testid="task-form"' in page

    # The colleague sees who holds it, read-only; claiming it is refused with the holder.
    theirs = await colleague.get(url)
    assert 'data-testid="read-only"' in theirs.text and 'data-testid="task-form"' not in theirs.text
    r = await colleague.post(url + "/claim", data={"csrf": hidden(theirs.text, "csrf")})
    assert r.status_code == 409 and "该事项已被他人领取" in r.text and "officer@" in r.text

    # Comments: an empty one is refused in place; one is listed, escaped.
    r = await colleague.post(
        url + "/comments", data={"csrf": hidden(theirs.text, "csrf"), "body": " "}
    )
    assert r.status_code == 422 and error_beside(r.text, "comment-body") == "请填写意见内容"
    r = await colleague.post(
        url + "/comments", data={"csrf": hidden(theirs.text, "csrf"), "body": "请核对<i>户籍</i>"}
    )
    assert r.status_code == 303
    page = (await officer.get(url)).text
    comments = page.split('data-testid="comments"')[1].split("</ol>")[0]
    assert "请核对&lt;i&gt;户籍&lt;/i&gt;" in comments and "officer2@" in comments

    # Released, the task is back in the queue.
    r = await officer.post(url + "/unclaim", data={"csrf": csrf})
    assert r.status_code == 303
    assert "未领取" in (await colleague.get(url)).text
    for client in (officer, colleague):
        await client.aclose()


async def test_pages_outside_the_subtree_are_not_found(system: System) -> None:
    region = await system.make_region()
    [task_id] = await system.insert_tasks(region, [{"kind": "initial_review"}])
    outsider = as_user(system, region.users["officer_b"])  # the other county's street
    page = await outsider.get(f"/tasks/{task_id}")
    assert page.status_code == 404 and "未找到，或不在您的管辖范围内" in page.text
    assert region.case_id not in page.text.split("<main>")[1]
    assert (await outsider.get(f"/cases/{region.case_id}")).status_code == 404
    csrf = hidden((await outsider.get("/cases")).text, "csrf")
    for path, data in (
        (f"/tasks/{task_id}", {"outcome": "approve"}),
        (f"/tasks/{task_id}/claim", {}),
        (f"/tasks/{task_id}/comments", {"body": "x"}),
        (f"/cases/{region.case_id}/objections", {"content": "x", "raised_by": "y"}),
        (f"/cases/{region.case_id}/withdraw", {"reason": "x"}),
    ):
        r = await outsider.post(path, data={"csrf": csrf, **data})
        assert r.status_code == 404, (path, r.text)
    await outsider.aclose()
