"""Assistance (就业援助) on the pages without a browser, on SQLite and PostgreSQL: the case page
shows the plan, the standards' progress with their deadline, services, contacts and the
contact clock, refusals in the window, subsidies against the cumulative cap, exits and
recoveries; its forms record a contact (an officer's leaves the clock alone, the person's own
restarts it), a service, a refusal, a subsidy and an exit event through the same services as
the API, with the messages beside the fields (the page's own checks and the workflow's
refusals); the assistance task kinds render their forms in Chinese with the person's
assistance beside them; nothing is shown or recorded outside one's subtree.

Each test has a region of its own (:meth:`tests.system.System.make_region`) and starts the
assistance directly (:mod:`tests.assistance_support`); the workflows run on the shared worker
and time-skipping server."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from domain.labels import (
    ASSISTANCE_FIELDS,
    CONTACT_CHANNELS,
    OUTCOMES,
    SERVICE_KINDS,
    SUBSIDY_KINDS,
    VERIFICATION_METHODS,
)
from store.models import Case, Task
from store.models_assistance import Assistance
from tests.assistance_support import region_chain, start_assistance
from tests.system import Region, System
from tests.web.test_task_pages import as_user, hidden, outcomes_of, wait_for


async def assisted(
    system: System, region: Region, pack: str = "xinyu-2023", category: str = "age_4050"
) -> str:
    """A person identified at the region's street_a1, in assistance (its projection written)."""
    case_id, _handle = await start_assistance(
        system.sessions(),
        system.env.client,
        system.settings.temporal_task_queue,
        pack_id=pack,
        chain=region_chain(region.codes, region.paths),
        category=category,
        applicant_name="援助页面",
    )

    async def projected() -> bool:
        async with system.sessions()() as session:
            return await session.get(Assistance, case_id) is not None

    await wait_for(projected, "the assistance projection")
    return case_id


def section(page: str, testid: str) -> str:
    """The element marked ``data-testid=testid`` up to the end of its table/section/dl."""
    start = page.index(f'data-testid="{testid}"')
    ends = [page.find(tag, start) for tag in ("</table>", "</section>", "</dl>", "</p>")]
    return page[start : min(e for e in ends if e > 0)]


def beside(page: str, form: str, field: str) -> str:
    match = re.search(rf'id="error-{form}-{field}"[^>]*>([^<]*)<', page)
    assert match, f"no message beside {form}.{field}"
    return html.unescape(match.group(1))


def anchor(page: str) -> datetime:
    match = re.search(r'data-testid="contact-anchor"><time datetime="([^"]+)"', page)
    assert match, "no contact clock anchor"
    return datetime.fromisoformat(match.group(1))


async def record(
    web: httpx.AsyncClient, case_id: str, what: str, data: dict[str, Any], key: str | None = None
) -> httpx.Response:
    page = (await web.get(f"/cases/{case_id}")).text
    form = page.split(f'action="/cases/{case_id}/assistance/{what}"')[1]
    body = {"csrf": hidden(page, "csrf"), "key": key or hidden(form, "key"), **data}
    return await web.post(f"/cases/{case_id}/assistance/{what}", data=body)


async def test_case_page_shows_the_assistance_and_the_plan_is_drawn_up(system: System) -> None:
    region = await system.make_region()
    case_id = await assisted(system, region)
    web = as_user(system, region.users["officer"])
    page = (await web.get(f"/cases/{case_id}")).text
    assert "已认定" in section(page, "case-status")
    box = page.split('data-testid="assistance"')[1]
    assert "援助中" in box.split("</h2>")[0]
    standards = section(box, "standards")
    # xinyu "131": 1 guidance, 3 recommendations, 1 training, none delivered, with its deadline.
    assert "“131”服务" in standards and "未达标" in standards
    assert (
        "职业指导 0/1" in standards and "岗位推荐 0/3" in standards and "职业培训 0/1" in standards
    )
    assert re.search(r"期限 <time datetime=\"[^\"]+\">\d{4}-\d{2}-\d{2}</time>", standards)
    assert "尚未制定援助计划" in box
    [plan_task] = re.findall(r'href="/tasks/([^"]+)">去制定援助计划', box)
    # The plan is an open task of the case too, with its clock.
    deadlines = page.split('data-testid="deadlines"')[1].split("</section>")[0]
    assert f'href="/tasks/{plan_task}"' in deadlines

    # The plan task: its form in Chinese, the person's assistance beside it.
    task_page = (await web.get(f"/tasks/{plan_task}")).text
    assert "制定援助计划（一人一策）" in task_page.split("</h1>")[0]
    assert outcomes_of(task_page) == ["drawn_up"] and "已制定援助计划" in task_page
    for kind, zh in SERVICE_KINDS.items():
        assert re.search(rf'name="f_services" value="{kind}"> {zh}</label>', task_page), kind
    assert ASSISTANCE_FIELDS["intentions"] in task_page
    summary = task_page.split('data-testid="assistance-summary"')[1]
    assert "职业指导 0/1" in summary and "尚未制定援助计划" in summary
    assert 'data-testid="contact-limit"' in summary

    # Intentions missing: the message beside them, the services ticked kept.
    csrf, key = hidden(task_page, "csrf"), hidden(task_page, "idempotency_key")
    form = {"csrf": csrf, "idempotency_key": key, "outcome": "drawn_up"}
    r = await web.post(
        f"/tasks/{plan_task}", data={**form, "f_services": ["career_guidance", "training"]}
    )
    assert r.status_code == 422
    assert re.search(r'id="error-intentions"[^>]*>选择“已制定援助计划”时必须填写此项', r.text)
    assert 'value="training" checked' in r.text and 'value="internship" checked' not in r.text
    r = await web.post(
        f"/tasks/{plan_task}",
        data={
            **form,
            "f_intentions": "希望从事保洁工作，愿意参加培训",
            "f_services": ["career_guidance", "training"],
        },
    )
    assert r.status_code == 303, r.text

    async def planned() -> str | None:
        text = (await web.get(f"/cases/{case_id}")).text
        return text if '<dl class="plan" data-testid="plan">' in text else None

    page = await wait_for(planned, "the plan on the case page")
    plan = section(page, "plan")
    assert "职业指导 / 职业培训" in plan and "援助计划" not in plan.split("</dl>")[0][-20:]
    timeline = section(page, "timeline")
    assert "制定援助计划（一人一策）：已制定援助计划" in timeline
    assert "选定的援助服务：职业指导 / 职业培训" in timeline
    english = (await web.get(f"/cases/{case_id}?lang=en")).text
    assert "Career guidance / Vocational training" in english
    assert "1 career guidance, 3 job recommendations, 1 training" in english
    await web.get(f"/cases/{case_id}?lang=zh-CN")
    await web.aclose()


async def test_recording_contacts_from_the_case_page(system: System) -> None:
    """An officer's contact is recorded but leaves the clock alone; the person's own contact
    (潍坊 三(一)9 主动联系) restarts it; a repeated submission is recorded once."""
    region = await system.make_region()
    case_id = await assisted(system, region)
    web = as_user(system, region.users["officer"])
    page = (await web.get(f"/cases/{case_id}")).text
    started = anchor(page)
    assert "尚无联系记录" in section(page, "contacts")

    r = await record(web, case_id, "contacts", {"channel": "phone", "own": "0", "note": "电话回访"})
    assert r.status_code == 303 and r.headers["location"].endswith("?assisted=contacts#assistance")
    page = (await web.get(r.headers["location"])).text
    assert "联系记录已登记" in section(page, "assisted")
    contacts = section(page, "contacts")
    assert "电话" in contacts and "工作人员联系" in contacts and "电话回访" in contacts
    assert "officer@" in contacts  # who recorded it
    assert anchor(page) == started  # an officer's call does not restart the clock

    key = "contact-own-" + case_id
    data = {"channel": "came_in", "own": "1", "note": "本人到窗口咨询岗位"}
    r = await record(web, case_id, "contacts", data, key=key)
    assert r.status_code == 303, r.text
    page = (await web.get(f"/cases/{case_id}")).text
    restarted = anchor(page)
    assert restarted > started
    contacts = section(page, "contacts")
    assert "本人来访" in contacts and "本人主动联系" in contacts
    # The reminder and the limit follow the new anchor (xinyu has no contact limit: weifang's
    # is checked below); the last contact is the person's own.
    assert "联系记录（共 2 次）" in page
    r = await record(web, case_id, "contacts", data, key=key)  # the same submission again
    assert r.status_code == 303
    page = (await web.get(f"/cases/{case_id}")).text
    assert "联系记录（共 2 次）" in page

    # Weifang counts six months from the person's own contact: reminder and limit are shown.
    region_w = await system.make_region()
    weifang = await assisted(system, region_w, "weifang-2023", "older_unemployed")
    web_w = as_user(system, region_w.users["officer"])
    page = (await web_w.get(f"/cases/{weifang}")).text
    limit_before = section(page, "contact-limit")
    assert re.search(r"\d{4}-\d{2}-\d{2}", limit_before)
    assert re.search(r"\d{4}-\d{2}-\d{2}", section(page, "contact-reminder"))
    before = anchor(page)
    r = await record(web_w, weifang, "contacts", {"channel": "online", "own": "1"})
    assert r.status_code == 303
    page = (await web_w.get(f"/cases/{weifang}")).text
    after = anchor(page)
    assert after > before
    limit = re.search(r'datetime="([^"]+)"', section(page, "contact-limit"))
    assert limit and datetime.fromisoformat(limit.group(1)) >= after + timedelta(days=180)
    await web.aclose()
    await web_w.aclose()


async def test_services_refusals_subsidies_and_their_errors_in_place(system: System) -> None:
    region = await system.make_region()
    case_id = await assisted(system, region)
    web = as_user(system, region.users["officer"])

    # The page's own checks: nothing chosen, what was typed kept, the form open again.
    r = await record(web, case_id, "contacts", {"note": "未选联系方式"})
    assert r.status_code == 422
    assert beside(r.text, "contacts", "channel") == "请选择联系方式"
    assert beside(r.text, "contacts", "own") == "请选择是本人主动联系还是工作人员联系"
    assert ">未选联系方式</textarea>" in r.text
    assert '<details open data-testid="contact-form-box">' in r.text
    assert 'id="contact-channel" name="channel" aria-invalid="true"' in r.text
    r = await record(
        web,
        case_id,
        "subsidies",
        {
            "kind": "social_insurance",
            "start_month": "2026-13",
            "months": "0",
            "monthly_amount": "1.234",
        },
    )
    assert r.status_code == 422
    assert beside(r.text, "subsidies", "start_month").startswith("请填写起始月份")
    assert beside(r.text, "subsidies", "months") == "请填写 1 至 120 之间的整数月数"
    assert beside(r.text, "subsidies", "monthly_amount").startswith("请填写每月金额")
    assert 'value="1.234"' in r.text
    # CSRF: a forged post is refused.
    r = await web.post(
        f"/cases/{case_id}/assistance/services", data={"csrf": "x", "kind": "training"}
    )
    assert r.status_code == 403

    # The workflow's refusals: past xinyu's cumulative cap (36 months), a reason of another
    # pack; the API's words above the form, the page's beside the field.
    r = await record(
        web,
        case_id,
        "subsidies",
        {
            "kind": "social_insurance",
            "start_month": "2025-01",
            "months": "40",
            "monthly_amount": "1000",
        },
    )
    assert r.status_code == 422
    assert beside(r.text, "subsidies", "months") == "超过累计补贴期限"
    alert = r.text.split('data-testid="case-alert"')[1].split("</div>")[0]
    assert "超过累计补贴期限" in alert and "the cap is 36" in alert
    r = await record(web, case_id, "events", {"reason": "hired"})
    assert r.status_code == 422 and beside(r.text, "events", "reason") == "所选的值不在可选范围内"

    # Recorded: a service counts against "131", a refusal in the window, a subsidy.
    r = await record(web, case_id, "services", {"kind": "training", "note": "叉车培训"})
    assert r.status_code == 303
    r = await record(web, case_id, "refusals", {"service_kind": "job_recommendation"})
    assert r.status_code == 303
    r = await record(
        web,
        case_id,
        "subsidies",
        {
            "kind": "social_insurance",
            "start_month": "2025-01",
            "months": "12",
            "monthly_amount": "1000",
        },
    )
    assert r.status_code == 303
    page = (await web.get(f"/cases/{case_id}")).text
    assert "职业培训 1/1" in section(page, "standards")
    services = section(page, "services")
    assert "职业培训" in services and "叉车培训" in services
    assert "岗位推荐" in section(page, "refusals")
    assert "近 6 个月内 1 次（达到 3 次进入退出核实）" in section(page, "refusals-in-window")
    subsidies = section(page, "subsidies")
    assert SUBSIDY_KINDS["social_insurance"] in subsidies and "2025-01" in subsidies
    assert "1000.00" in subsidies
    period = section(page, "subsidy-period")
    assert "本次认定已享受补贴 12 个月，合计 ¥12000.00" in period
    assert "历次认定累计 12 个月（此前 0 个月），累计上限 36 个月" in period
    await web.aclose()


async def test_exits_from_the_page(system: System) -> None:
    """An automatic reason (weifang: employment registration) exits at once: the case reads
    已退出 and offers no more forms. A fraud reason (xinyu) goes to the county's exit review,
    whose page asks for the day the status should have ended; confirmed, the recovery runs
    from the month after it (潍坊 五(四) worked the same way)."""
    region = await system.make_region()
    weifang = await assisted(system, region, "weifang-2023", "older_unemployed")
    web = as_user(system, region.users["officer"])
    page = (await web.get(f"/cases/{weifang}")).text
    assert '<optgroup label="自动退出' in page and 'value="hired"' in page
    r = await record(web, weifang, "events", {"reason": "hired", "detail": "已办理就业登记"})
    assert r.status_code == 303 and "handling=exiting" in r.headers["location"]

    async def exited(case_id: str) -> str | None:
        text = (await web.get(f"/cases/{case_id}")).text
        # The exit is recorded first, then the case's status changes (two activities).
        done = 'data-testid="assistance-exit"' in text and "已退出" in section(text, "case-status")
        return text if done else None

    page = await wait_for(lambda: exited(weifang), "the exit on the case page")
    assert "已退出" in section(page, "case-status")
    assert "已退出" in section(page, "assistance-status")
    exit_box = section(page, "assistance-exit")
    assert "自动退出" in exit_box and "已办理就业登记" in exit_box
    assert 'data-testid="assistance-forms"' not in page
    assert 'data-testid="withdraw-form"' not in page
    r = await record_after_exit(web, weifang, page)
    assert r.status_code == 409 and "该人员不在援助期内" in r.text

    # xinyu: a subsidy, then a fraud reason → the county's exit review.
    case_id = await assisted(system, region)
    r = await record(
        web,
        case_id,
        "subsidies",
        {
            "kind": "social_insurance",
            "start_month": "2025-01",
            "months": "12",
            "monthly_amount": "1000",
        },
    )
    assert r.status_code == 303
    r = await record(web, case_id, "events", {"reason": "false_information", "detail": "虚假材料"})
    assert r.status_code == 303 and "handling=exit_review" in r.headers["location"]
    task_id = re.search(r"task=([^&#]+)", r.headers["location"])
    assert task_id
    page = (await web.get(r.headers["location"])).text
    assert "已报县级公共就业服务机构核实退出" in section(page, "assisted")
    reviewer = as_user(system, region.users["reviewer"])
    review = (await reviewer.get(f"/tasks/{task_id.group(1)}")).text
    assert "因提供虚假信息获取就业困难人员身份" in section(review, "exit-reason")
    assert sorted(outcomes_of(review)) == ["confirm", "reject"]
    assert "确认退出" in review and "不予退出" in review
    assert 'type="date" id="f_should_have_ended_on"' in review
    assert ASSISTANCE_FIELDS["should_have_ended_on"] in review
    assert "职业指导 0/1" in section(review, "standards")  # the person's assistance beside it
    form = {
        "csrf": hidden(review, "csrf"),
        "idempotency_key": hidden(review, "idempotency_key"),
        "outcome": "confirm",
    }
    url = f"/tasks/{task_id.group(1)}"
    r = await reviewer.post(url, data=form)
    assert r.status_code == 422
    assert re.search(r'id="error-should_have_ended_on"[^>]*>选择“确认退出”时必须填写此项', r.text)
    r = await reviewer.post(url, data={**form, "f_should_have_ended_on": "2025-02-30"})
    assert r.status_code == 422
    assert re.search(r'id="error-should_have_ended_on"[^>]*>请填写有效的日期', r.text)
    r = await reviewer.post(url, data={**form, "f_should_have_ended_on": "2025-03-15"})
    assert r.status_code == 303, r.text
    page = await wait_for(lambda: exited(case_id), "the fraud exit on the case page")
    recovery = section(page, "recovery")
    # Paid January–December 2025; should have ended 15 March: April–December recovered.
    assert "自 2025-04 起" in recovery and "合计 ¥9000.00" in recovery
    assert len(re.findall(r"<tr><td>2025-\d\d</td>", recovery)) == 9
    await web.aclose()
    await reviewer.aclose()


async def record_after_exit(web: httpx.AsyncClient, case_id: str, page: str) -> httpx.Response:
    """A contact posted to an exited case (a form left open in another tab)."""
    return await web.post(
        f"/cases/{case_id}/assistance/contacts",
        data={
            "csrf": hidden(page, "csrf"),
            "key": "late-contact-" + case_id,
            "channel": "phone",
            "own": "0",
        },
    )


# The forms the assistance workflow gives its clock-driven tasks (workflows/assistance.py).
CLOCK_TASKS: dict[str, dict[str, Any]] = {
    "assistance_visit": {
        "form": {
            "outcomes": {"visited": ["visit_record"], "not_reached": ["reason"]},
            "choices": {},
        },
        "number": 2,
    },
    "contact_reminder": {
        "form": {
            "outcomes": {"contacted": ["channel"], "not_reached": ["note"]},
            "choices": {"channel": ["phone", "visit", "came_in", "online"]},
        },
        "limit_at": "2026-07-31T15:59:59.999999+00:00",
        "last_own_contact_at": "2026-01-31T02:00:00+00:00",
    },
    "cancellation_review": {
        "form": {"outcomes": {"cancel": [], "keep": ["reason"]}, "choices": {}},
        "last_own_contact_at": "2026-01-31T02:00:00+00:00",
        "limit_months": 6,
        "reason": "no_contact_six_months",
        "source": "潍人社字〔2023〕1号 三(一)9",
    },
    "service_gap": {
        "form": {"outcomes": {"planned": ["note"]}, "choices": {}},
        "missing": [
            {
                "code": "free_public_services",
                "name": "payload name",
                "missing": {"job_recommendation": 1, "training": 1},
            }
        ],
        "deadline_at": "2026-08-31T15:59:59.999999+00:00",
    },
    # 定期审验 (qingxin's quarterly verification; the form its batch writes).
    "quarterly_verification": {
        "form": {
            "outcomes": {"verified": ["method"], "exit_review": ["reason"]},
            "choices": {"method": ["phone", "visit", "data"], "reason": ["hired"]},
        },
        "period": "2026-01",
    },
}


async def test_clock_task_kinds_render_in_chinese_beside_the_assistance(system: System) -> None:
    """Visits, contact reminders, cancellation reviews and service gaps open when months pass;
    their rows are written here as the workflow writes them, to read their pages."""
    region = await system.make_region()
    case_id = await assisted(system, region, "weifang-2023", "older_unemployed")
    now = datetime.now(UTC)
    async with system.sessions()() as session, session.begin():
        case = await session.get(Case, case_id)
        assert case is not None
        for n, (kind, payload) in enumerate(CLOCK_TASKS.items()):
            session.add(
                Task(
                    id=f"assistance-{case_id}.{kind}.{90 + n}",
                    case_id=case_id,
                    workflow_id=f"assistance-{case_id}",
                    kind=kind,
                    state="open",
                    candidate_role="grassroots_officer",
                    jurisdiction_code=case.jurisdiction_code,
                    jurisdiction_path=case.jurisdiction_path,
                    policy_pack_id="weifang-2023",
                    applicant_name=case.applicant_name,
                    id_last4=case.id_last4,
                    priority=0,
                    created_at=now,
                    at_risk_at=now + timedelta(days=8),
                    due_at=now + timedelta(days=10),
                    deadline_at=now + timedelta(days=10),
                    payload=payload,
                    version=1,
                )
            )
    web = as_user(system, region.users["officer"])
    pages = {
        kind: (await web.get(f"/tasks/assistance-{case_id}.{kind}.{90 + n}")).text
        for n, kind in enumerate(CLOCK_TASKS)
    }
    for kind, page in pages.items():
        assert 'data-testid="assistance-summary"' in page, kind
        for outcome in CLOCK_TASKS[kind]["form"]["outcomes"]:
            assert f'value="{outcome}"' in page and OUTCOMES[outcome] in page
    visit = pages["assistance_visit"]
    assert "第 2 次定期走访" in visit and '<label for="f_visit_record">走访记录</label>' in visit
    reminder = pages["contact_reminder"]
    assert '<label for="f_channel">联系方式</label>' in reminder
    for code, zh in CONTACT_CHANNELS.items():
        assert f'<option value="{code}">{zh}</option>' in reminder
    assert "2026-01-31 10:00" in reminder and "2026-07-31" in reminder  # Shanghai time
    verification = pages["quarterly_verification"]
    assert '<label for="f_method">审验方式</label>' in verification
    for code, zh in VERIFICATION_METHODS.items():
        assert f'<option value="{code}">{zh}</option>' in verification
    assert '<option value="hired">' in verification  # weifang's reason, named by its pack
    review = pages["cancellation_review"]
    assert "连续 6 个月未主动" in review and "注销资格" in review and "保留资格" in review
    gap = section(pages["service_gap"], "service-gap")
    # The standard named from the pinned pack (in the reader's language), what is missing.
    assert "优先享受免费公共就业服务：还差 1 次岗位推荐、还差 1 次职业培训" in gap
    # Weifang's standards are named from its pack, in English too.
    english = (await web.get(f"/tasks/assistance-{case_id}.contact_reminder.91?lang=en")).text
    assert "Phone" in english and "Contact reminder" in english
    english = (await web.get(f"/tasks/assistance-{case_id}.service_gap.93?lang=en")).text
    assert "priority free public services" in english.split('data-testid="service-gap"')[1]
    await web.get(f"/cases/{case_id}?lang=zh-CN")
    await web.aclose()


async def test_scope_outside_is_not_found(system: System) -> None:
    region = await system.make_region()
    case_id = await assisted(system, region)
    web = as_user(system, region.users["officer"])
    page = (await web.get(f"/cases/{case_id}")).text
    csrf = hidden(page, "csrf")
    assert (
        await web.post(f"/cases/{case_id}/assistance/fax", data={"csrf": csrf})
    ).status_code == 404
    for who in ("officer_a2", "officer_b", "reviewer_b"):
        other = as_user(system, region.users[who])
        other_csrf = hidden((await other.get("/cases")).text, "csrf")  # their own token
        assert (await other.get(f"/cases/{case_id}")).status_code == 404
        r = await other.post(
            f"/cases/{case_id}/assistance/contacts",
            data={"csrf": other_csrf, "channel": "phone", "own": "1"},
        )
        assert r.status_code == 404 and "未找到" in r.text
        await other.aclose()
    # Nothing was recorded from outside.
    page = (await web.get(f"/cases/{case_id}")).text
    assert "尚无联系记录" in section(page, "contacts")
    await web.aclose()
