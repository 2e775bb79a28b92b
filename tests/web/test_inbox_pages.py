"""The inbox page without a browser (SQLite and PostgreSQL through the ``system`` fixture):
tabs and their counts, due-soonest rows with SLA badges and masked ID numbers, filters with
their errors in place, claim (and the holder named on a conflict), "下一件", bulk claim,
supervisors' bulk reassign and return, saved views (personal and shared), keyset pages, the
polled fragment, and scope (an officer never sees another street's task).

Each test makes its own jurisdiction tree (:meth:`tests.system.System.make_region`) and task
rows, so it never depends on what other tests left in the shared database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx

from application.http import SESSION_COOKIE
from domain.calendar import SHANGHAI as ZONE
from tests.factories import application
from tests.system import Region, System, web_login
from web import i18n
from web.inbox import TAB_ZH
from worker.demo import DEMO_PASSWORD

ROW = re.compile(r'<tr data-task-id="([^"]+)">(.*?)</tr>', re.S)


async def client_for(system: System, region: Region, user: str) -> httpx.AsyncClient:
    """A browser-like client of a region user (they have no password: the session cookie is
    the token the login form would set)."""
    client = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    token = region.headers[user]["Authorization"].removeprefix("Bearer ")
    client.cookies.set(SESSION_COOKIE, token)
    return client


def rows(html: str) -> list[str]:
    """The task ids of the inbox table, in order."""
    table = html.split('id="inbox-rows"', 1)[1]
    return [task_id for task_id, _ in ROW.findall(table)]


def row(html: str, task_id: str) -> str:
    table = html.split('id="inbox-rows"', 1)[1]
    return next(body for tid, body in ROW.findall(table) if tid == task_id)


def saved_views(html: str) -> dict[str, tuple[str, str]]:
    """name -> (shared "true"/"false", the link that applies it)."""
    found = re.findall(
        r'data-testid="saved-view" data-shared="(\w+)">\s*<a href="([^"]+)">([^<]+)</a>', html
    )
    return {name: (flag, href.replace("&amp;", "&")) for flag, href, name in found}


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found
    return found.group(1)


def count(html: str, tab: str) -> str:
    found = re.search(rf'data-testid="count-{tab}">([^<]*)<', html)
    assert found, tab
    return found.group(1)


async def post(client: httpx.AsyncClient, url: str, data: dict[str, object]) -> httpx.Response:
    page = await client.get("/inbox")
    return await client.post(url, data={"csrf": csrf_of(page.text), **data})


def now() -> datetime:
    return datetime.now(UTC)


async def test_tabs_counts_order_badges_masking_and_scope(system: System) -> None:
    region = await system.make_region()
    free, at_risk, breached, mine, other_street, reviewer_task = await system.insert_tasks(
        region,
        [
            {"name": "甲正常", "last4": "123X", "due_at": now() + timedelta(days=9)},
            {
                "name": "乙临期",
                "at_risk_at": now() - timedelta(hours=1),
                "due_at": now() + timedelta(days=1),
            },
            {"name": "丙超时", "due_at": now() - timedelta(days=4)},
            {"name": "丁我的", "assignee": "officer"},
            {"name": "戊别街", "place": "street_b1"},
            {"name": "己审核", "place": "county_a", "role": "county_reviewer"},
        ],
    )
    web = await client_for(system, region, "officer")
    page = await web.get("/inbox")
    assert page.status_code == 200
    # The default tab of an officer is the queue: unassigned tasks of the group, due first.
    assert 'data-tab="group" aria-current="page"' in page.text
    assert rows(page.text) == [breached, at_risk, free]
    assert (count(page.text, "mine"), count(page.text, "group")) == ("1", "3")
    assert (count(page.text, "at_risk"), count(page.text, "breached")) == ("1", "1")
    assert count(page.text, "scope") == "4"  # the street's four; not the county's, not b1's

    first = row(page.text, free)
    assert "**************123X" in first and "甲正常" in first and "未领取" in first
    assert 'data-sla="on_track"' in first and "正常" in first
    assert re.search(r"剩余 \d+ 个工作日", first)
    due_day = (now() + timedelta(days=9)).astimezone(ZONE).date().isoformat()
    assert f'<time datetime="{due_day}">' in first
    assert 'data-sla="at_risk"' in row(page.text, at_risk) and "临期" in row(page.text, at_risk)
    late = row(page.text, breached)
    assert 'data-sla="breached"' in late and "已超时" in late
    assert 'value="claim:' in first  # the officer is in the task's group

    mine_page = await web.get("/inbox?tab=mine")
    assert rows(mine_page.text) == [mine]
    assert "丁我的" in mine_page.text and 'value="release:' in mine_page.text
    everything = await web.get("/inbox?tab=scope")
    assert set(rows(everything.text)) == {free, at_risk, breached, mine}
    assert other_street not in everything.text and reviewer_task not in everything.text
    assert rows((await web.get("/inbox?tab=at_risk")).text) == [at_risk]
    assert rows((await web.get("/inbox?tab=breached")).text) == [breached]

    # The other street's officer sees only their own street.
    other = await client_for(system, region, "officer_b")
    for tab in ("mine", "group", "at_risk", "breached", "scope"):
        seen = await other.get(f"/inbox?tab={tab}")
        assert free not in seen.text and breached not in seen.text
    assert rows((await other.get("/inbox?tab=scope")).text) == [other_street]
    # The county's reviewer sees their own task in their queue, and no claim on officers'.
    reviewer = await client_for(system, region, "reviewer")
    queue = await reviewer.get("/inbox")
    assert rows(queue.text) == [reviewer_task]
    scope = await reviewer.get("/inbox?tab=scope")
    assert free in rows(scope.text) and 'value="claim:' not in row(scope.text, free)
    for client in (web, other, reviewer):
        await client.aclose()


async def test_filters_and_their_errors_in_place(system: System) -> None:
    region = await system.make_region()
    soon = now() + timedelta(days=2)
    later = now() + timedelta(days=20)
    a, b, c, done = await system.insert_tasks(
        region,
        [
            {
                "name": "张三丰",
                "kind": "initial_review",
                "last4": "4321",
                "due_at": soon,
                "category": "older_unemployed",
            },
            {"name": "李四", "kind": "home_visit", "last4": "8765", "due_at": later},
            {
                "name": "张小凡",
                "kind": "home_visit",
                "last4": "1111",
                "due_at": later,
                "category": "disabled",
            },
            {"name": "王完成", "state": "completed", "assignee": "officer"},
        ],
    )
    web = await client_for(system, region, "officer")

    async def ids(query: str) -> list[str]:
        page = await web.get(f"/inbox?tab=scope&{query}")
        assert page.status_code == 200, page.text
        return rows(page.text)

    assert await ids("kind=home_visit") == [b, c]
    assert await ids("q=张") == [a, c]
    assert await ids("q=8765") == [b]
    assert await ids("category=disabled") == [c]
    day = soon.astimezone(ZONE).date()
    assert await ids(f"due_from={day}&due_to={day}") == [a]
    assert await ids(f"due_from={day + timedelta(days=1)}") == [b, c]
    assert await ids("state=completed") == [done]
    # The form shows what was asked.
    page = await web.get("/inbox?tab=scope&kind=home_visit&q=张")
    assert '<option value="home_visit" selected>' in page.text and 'value="张"' in page.text
    assert "入户核实" in row(page.text, c)

    # Errors next to their fields, not a crash.
    # 已办结 on an open-only tab: the tab follows the filter to 全部 (#21).
    moved = await web.get("/inbox?tab=group&state=completed")
    assert moved.status_code == 200 and 'id="e-state"' not in moved.text
    assert 'data-tab="scope" aria-current="page"' in moved.text
    assert row(moved.text, done)
    bad = await web.get("/inbox?tab=scope&due_from=2025-13-01")
    assert bad.status_code == 422 and 'id="e-due_from"' in bad.text
    bad = await web.get("/inbox?tab=scope&due_from=2025-03-02&due_to=2025-03-01")
    assert bad.status_code == 422 and "截止日期不能早于起始日期" in bad.text
    await web.aclose()


async def test_claim_conflict_names_the_holder_and_claim_moves_the_task(system: System) -> None:
    region = await system.make_region()
    first, second = await system.insert_tasks(region, [{"name": "赵一"}, {"name": "钱二"}])
    r = await system.http.post(f"/api/v1/tasks/{first}/claim", headers=region.headers["officer2"])
    assert r.status_code == 200
    web = await client_for(system, region, "officer")
    conflict = await post(web, "/inbox?tab=group", {"op": f"claim:{first}"})
    assert conflict.status_code == 409
    assert f"该事项已被 officer2@{region.n} 领取" in conflict.text
    assert 'role="alert"' in conflict.text

    claimed = await post(web, "/inbox?tab=group&q=钱", {"op": f"claim:{second}"})
    assert claimed.status_code == 303
    location = urlsplit(claimed.headers["location"])
    assert location.path == "/inbox"
    assert parse_qs(location.query) == {
        "tab": ["group"],
        "q": ["钱"],
        "done": ["claimed"],
        "task": [second],
    }
    back = await web.get(claimed.headers["location"])
    assert "已领取" in back.text and second not in rows(back.text)
    mine = await web.get("/inbox?tab=mine")
    assert rows(mine.text) == [second]
    # Releasing puts it back in the queue.
    released = await post(web, "/inbox?tab=mine", {"op": f"release:{second}"})
    assert released.status_code == 303
    assert second in rows((await web.get("/inbox?tab=group")).text)
    # A forged form is refused.
    forged = await web.post("/inbox", data={"csrf": "x", "op": f"claim:{second}"})
    assert forged.status_code == 403 and "表单已过期" in forged.text
    await web.aclose()


async def test_next_task_claims_the_most_urgent_and_opens_it(system: System) -> None:
    region = await system.make_region()
    later, urgent, other = await system.insert_tasks(
        region,
        [
            {"name": "孙后", "due_at": now() + timedelta(days=2)},
            {"name": "周急", "due_at": now() + timedelta(days=5), "priority": 5},
            {"name": "吴别街", "place": "street_b1", "priority": 9},
        ],
    )
    web = await client_for(system, region, "officer")
    first = await post(web, "/inbox", {"op": "next"})
    assert first.status_code == 303 and first.headers["location"] == f"/tasks/{urgent}"
    second = await post(web, "/inbox", {"op": "next"})
    assert second.headers["location"] == f"/tasks/{later}"
    assert rows((await web.get("/inbox?tab=mine")).text) == [later, urgent]
    none_left = await post(web, "/inbox", {"op": "next"})
    assert none_left.status_code == 200 and "您所在的组暂无待领取的事项" in none_left.text
    assert other not in none_left.text
    await web.aclose()


async def test_bulk_claim_reports_each_task(system: System) -> None:
    region = await system.make_region()
    free, taken, elsewhere = await system.insert_tasks(
        region,
        [{"name": "郑甲"}, {"name": "王乙", "assignee": "officer2"}, {"place": "street_b1"}],
    )
    web = await client_for(system, region, "officer")
    page = await post(
        web, "/inbox?tab=scope", {"op": "bulk_claim", "task_ids": [free, taken, elsewhere]}
    )
    assert page.status_code == 200
    results = page.text.split('data-testid="bulk-results"', 1)[1].split("</section>", 1)[0]
    lines = dict(re.findall(r'data-task-id="([^"]+)" data-ok="(true|false)"', results))
    assert lines == {free: "true", taken: "false", elsewhere: "false"}
    assert "已领取" in results and f"该事项已被 officer2@{region.n} 领取" in results
    assert "未找到，或不在您的管辖范围内" in results
    assert "郑甲" in results
    assert rows((await web.get("/inbox?tab=mine")).text) == [free]

    nothing = await post(web, "/inbox", {"op": "bulk_claim"})
    assert nothing.status_code == 422 and "请先勾选事项" in nothing.text
    # Reassigning is for supervisors.
    refused = await post(
        web,
        "/inbox",
        {"op": "bulk_reassign", "task_ids": [free], "assignee": region.users["officer2"]},
    )
    assert refused.status_code == 403 and "您的角色无权进行此操作" in refused.text
    await web.aclose()


async def test_supervisor_bulk_reassigns_and_returns(system: System) -> None:
    region = await system.make_region()
    a1, b1 = await system.insert_tasks(
        region, [{"name": "冯甲"}, {"name": "陈乙", "place": "street_b1"}]
    )
    boss = await client_for(system, region, "supervisor")
    page = await boss.get("/inbox")
    assert 'data-tab="scope" aria-current="page"' in page.text
    options = re.findall(r'<option value="(\d+)">([^<]+)</option>', page.text)
    names = {name.split("（")[0] for _, name in options}
    assert f"officer@{region.n}" in names and f"officer_b@{region.n}" in names
    assert f"admin@{region.n}" not in names  # administrators hold no tasks

    missing = await post(boss, "/inbox?tab=scope", {"op": "bulk_reassign", "task_ids": [a1]})
    assert missing.status_code == 422 and 'id="e-assignee"' in missing.text

    done = await post(
        boss,
        "/inbox?tab=scope",
        {"op": "bulk_reassign", "task_ids": [a1, b1], "assignee": region.users["officer"]},
    )
    assert done.status_code == 200
    results = done.text.split('data-testid="bulk-results"', 1)[1].split("</section>", 1)[0]
    assert dict(re.findall(r'data-task-id="([^"]+)" data-ok="(true|false)"', results)) == {
        a1: "true",
        b1: "false",
    }
    assert "已转交" in results and "不能转交给该人员" in results
    officer = await client_for(system, region, "officer")
    assert rows((await officer.get("/inbox?tab=mine")).text) == [a1]

    returned = await post(boss, "/inbox?tab=scope", {"op": "bulk_return", "task_ids": [a1]})
    assert returned.status_code == 200 and "已退回待领取" in returned.text
    assert rows((await officer.get("/inbox?tab=mine")).text) == []
    assert a1 in rows((await officer.get("/inbox?tab=group")).text)
    for client in (boss, officer):
        await client.aclose()


async def test_saved_views_personal_and_shared(system: System) -> None:
    region = await system.make_region()
    home, review = await system.insert_tasks(
        region, [{"kind": "home_visit", "name": "褚家"}, {"kind": "initial_review"}]
    )
    web = await client_for(system, region, "officer")
    query = "tab=scope&kind=home_visit&due_from=2020-01-01"
    saved = await post(web, f"/inbox/views?{query}", {"name": "入户"})
    assert saved.status_code == 303 and "done=saved" in saved.headers["location"]
    shared = await post(web, "/inbox/views?tab=group", {"name": "组内队列", "shared": "1"})
    assert shared.status_code == 303
    taken = await post(web, f"/inbox/views?{query}", {"name": "入户"})
    assert taken.status_code == 409 and "已有同名的视图" in taken.text
    assert 'id="e-view-name"' in taken.text
    blank = await post(web, "/inbox/views?tab=group", {"name": "  "})
    assert blank.status_code == 422 and "请填写视图名称" in blank.text

    # The API sees the same saved filters (same service, same storage).
    api = await system.http.get("/api/v1/filters", headers=region.headers["officer"])
    stored = {f["name"]: f for f in api.json()}
    assert stored["入户"]["query"]["view"] == "scope"
    assert stored["入户"]["query"]["kind"] == "home_visit"
    assert stored["组内队列"]["shared_with_group"] is True

    by_name = saved_views((await web.get("/inbox")).text)
    assert by_name["组内队列"][0] == "true" and by_name["入户"][0] == "false"
    applied = await web.get(by_name["入户"][1])
    assert rows(applied.text) == [home]
    assert 'value="2020-01-01"' in applied.text  # the day comes back as typed

    # A colleague of the group sees the shared view (marked, with its owner), not the other.
    colleague = await client_for(system, region, "officer2")
    theirs = await colleague.get("/inbox")
    assert set(saved_views(theirs.text)) == {"组内队列"}
    assert f"来自 officer@{region.n}" in theirs.text
    shared_id = stored["组内队列"]["id"]
    refused = await post(colleague, f"/inbox/views/{shared_id}/delete", {})
    assert refused.status_code == 403

    gone = await post(web, f"/inbox/views/{stored['入户']['id']}/delete?tab=scope", {})
    assert gone.status_code == 303
    assert set(saved_views((await web.get("/inbox")).text)) == {"组内队列"}
    for client in (web, colleague):
        await client.aclose()
    assert review


async def test_keyset_pages_and_the_polled_fragment(system: System) -> None:
    region = await system.make_region()
    ids = await system.insert_tasks(
        region, [{"due_at": now() + timedelta(days=d)} for d in (1, 2, 3, 4, 5)]
    )
    web = await client_for(system, region, "officer")
    seen: list[str] = []
    url = "/inbox?tab=group&limit=2"
    while url:
        page = await web.get(url)
        seen += rows(page.text)
        found = re.search(r'<a href="([^"]+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert not found or "下一页" in page.text
    assert seen == ids

    fragment = await web.get("/inbox/rows?tab=group", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="inbox-tabs" class="tabs"' in fragment.text and 'hx-swap-oob="true"' in fragment.text
    assert 'hx-trigger="every 20s"' in fragment.text
    version = re.search(r'data-version="(\w+)"', fragment.text).group(1)  # type: ignore[union-attr]
    same = await web.get(f"/inbox/rows?tab=group&v={version}", headers={"HX-Request": "true"})
    assert same.status_code == 204  # nothing changed: the page keeps its focus
    (new,) = await system.insert_tasks(
        region, [{"name": "新来的", "due_at": now() + timedelta(hours=30)}]
    )
    changed = await web.get(f"/inbox/rows?tab=group&v={version}", headers={"HX-Request": "true"})
    assert changed.status_code == 200 and new in rows(changed.text)
    assert re.search(r'data-testid="count-group">6<', changed.text)

    # A session that ended sends the whole page to the login form.
    visitor = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    out = await visitor.get("/inbox/rows?tab=group", headers={"HX-Request": "true"})
    assert out.headers["HX-Redirect"].startswith("/login?next=%2Finbox")
    await visitor.aclose()
    await web.aclose()


async def test_reviewer_sees_a_new_case_with_the_id_masked_and_english(system: System) -> None:
    body = application(name="蒋依依")
    number = body["facts"]["person"]["id_number"]
    r = await system.http.post("/api/v1/applications", json=body)
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    web = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    login = await web_login(web, "wf_reviewer", DEMO_PASSWORD)
    assert login.status_code == 303
    page = await web.get("/inbox?q=蒋依依")
    assert task["id"] in rows(page.text)
    line = row(page.text, task["id"])
    assert "*" * 14 + number[-4:] in line and number not in page.text
    assert "潍坊" in line  # the pack's name
    english = await web.get("/inbox?q=蒋依依&lang=en")
    assert "Claim" in english.text and "Next task" in english.text
    assert "working day" in row(english.text, task["id"])
    await web.get("/inbox?lang=zh-CN")
    await web.aclose()


def test_tab_names_have_english() -> None:
    # They reach the templates through a variable, which the msgid extraction cannot see.
    english = i18n.catalog("en")
    assert [m for m in TAB_ZH.values() if m not in english] == []


async def test_a_supervisor_narrows_the_inbox_to_a_place_from_the_dashboard(
    system: System,
) -> None:
    """The dashboard's drill-down lands on the inbox narrowed to the place: only its tasks,
    said above the table with a way back to the whole jurisdiction; a place outside the
    supervisor's subtree is the 404 page."""
    region = await system.make_region()
    a1, b1 = await system.insert_tasks(region, [{"place": "street_a1"}, {"place": "street_b1"}])
    async with await client_for(system, region, "supervisor") as web:
        page = (await web.get("/dashboard", params={"jurisdiction": region.codes["county_a"]})).text
        link = re.search(r'href="(/inbox\?tab=breached[^"]*)"', page)
        assert link is not None and f"jurisdiction={region.codes['county_a']}" in link.group(1)
        r = await web.get(
            "/inbox", params={"tab": "scope", "jurisdiction": region.codes["street_a1"]}
        )
        assert r.status_code == 200
        assert a1 in rows(r.text) and b1 not in rows(r.text)
        assert 'data-testid="narrowed"' in r.text and "显示全部辖区" in r.text
        r = await web.get("/inbox", params={"tab": "scope"})
        assert {a1, b1} <= set(rows(r.text))
    async with await client_for(system, region, "supervisor_b") as web:
        r = await web.get("/inbox", params={"jurisdiction": region.codes["street_a1"]})
        assert r.status_code == 404
