"""The supervisor's dashboard without a browser (SQLite and PostgreSQL): every figure on the
page is the supervision API's figure (both call the same services), the charts carry a bar
per place that links to that place's dashboard, counts link to their lists (the breach
records, a page at a time; the inbox; the case pages), a supervisor never sees outside their
subtree (a drill-down outside it is the 404 page), and a bad period is refused next to its
field.

Tasks, cases and breach records are rows inserted directly in a jurisdiction tree of the
test's own (:meth:`tests.system.System.make_region`), as the supervision API tests do."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import update

from application.services import supervision
from domain.calendar import local_date
from store.models import Case, SlaBreach, Task
from tests.factories import pinned_ref
from tests.system import Region, System
from web import dashboard, i18n

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
API = "/api/v1/supervision"
_seq = itertools.count(1)


# --- building the region ---------------------------------------------------------------------


async def set_task(system: System, task_id: str, **values: Any) -> None:
    async with system.sessions()() as session, session.begin():
        await session.execute(update(Task).where(Task.id == task_id).values(**values))


async def add_breach(
    system: System,
    region: Region,
    place: str,
    at: datetime,
    *,
    clock: str = "task:acceptance",
    event: str = "breached",
    level: int = 1,
    escalation_task_id: str | None = None,
) -> int:
    async with system.sessions()() as session, session.begin():
        row = SlaBreach(
            breach_key=f"web-{region.n}-{next(_seq)}",
            case_id=region.case_id,
            task_id=None,
            clock=clock,
            event=event,
            level=level,
            jurisdiction_code=region.codes[place],
            jurisdiction_path=region.paths[place],
            escalation_task_id=escalation_task_id,
            at=at,
        )
        session.add(row)
        await session.flush()
        return row.id


async def add_case(
    system: System, region: Region, place: str, deadline: date, **fields: Any
) -> str:
    case_id = f"WEB-{region.n:05d}-{next(_seq)}"
    async with system.sessions()() as session, session.begin():
        session.add(
            Case(
                id=case_id,
                workflow_id=f"no-workflow-{case_id}",
                policy_pack_id="test-pack",
                policy_pack_ref=await pinned_ref(session),
                jurisdiction_code=region.codes[place],
                jurisdiction_path=region.paths[place],
                applicant_name="测试",
                id_number="000000000000000000",
                id_last4="0000",
                facts={},
                channel="test",
                status=fields.pop("status", "accepted"),
                submitted_at=NOW - 30 * DAY,
                accepted_at=NOW - 30 * DAY,
                identification_deadline=deadline,
                updated_at=NOW,
                **fields,
            )
        )
    return case_id


def shanghai_day(days_from_today: int) -> date:
    return local_date(datetime.now(UTC)) + timedelta(days=days_from_today)


async def busy_region(system: System) -> Region:
    """Open tasks in every SLA state at both districts and at a district office itself,
    tasks of several ages, escalations open and handled, breach records in and before the
    period, and cases whose identification deadline falls in it."""
    region = await system.make_region()
    u = region.users
    ids = await system.insert_tasks(
        region,
        [
            {"kind": "acceptance", "due_at": NOW + 3 * DAY},
            {
                "kind": "review",
                "assignee": "officer",
                "due_at": NOW + 12 * HOUR,
                "at_risk_at": NOW - 12 * HOUR,
            },
            {
                "place": "street_a2",
                "kind": "acceptance",
                "due_at": NOW - DAY,
                "deadline_at": NOW + 2 * DAY,
            },
            {
                "place": "street_a2",
                "kind": "initial_review",
                "assignee": "officer_a2",
                "due_at": NOW - 3 * DAY,
                "deadline_at": NOW - DAY,
            },
            {"place": "county_a", "kind": "home_visit", "due_at": NOW - HOUR},
            {"place": "street_b1", "kind": "acceptance", "assignee": "officer_b"},
            {"state": "completed", "assignee": "officer", "due_at": NOW - DAY},
        ],
    )
    # Ages: 20 days and 40 days waiting.
    await set_task(system, ids[2], created_at=NOW - 20 * DAY)
    await set_task(system, ids[3], created_at=NOW - 40 * DAY)
    await set_task(system, ids[6], completed_at=NOW - 2 * HOUR, completed_by=u["officer"])
    spec = {"kind": "escalation", "role": "supervisor", "place": "county_a"}
    e_open, e_handled = await system.insert_tasks(region, [spec, spec])
    await set_task(
        system,
        e_open,
        created_at=NOW - 3 * HOUR,
        payload={"about_kind": "review", "event": "breached", "level": 1},
    )
    await set_task(
        system,
        e_handled,
        created_at=NOW - 2 * HOUR,
        state="completed",
        completed_at=NOW - HOUR,
        completed_by=u["supervisor"],
        outcome={"outcome": "handled", "fields": {"action": "已电话督促"}, "comment": ""},
        payload={"about": "identification_deadline", "level": 2},
    )
    await add_breach(system, region, "county_a", NOW - HOUR)
    await add_breach(system, region, "county_a", NOW - 2 * HOUR, clock="task:initial_review")
    await add_breach(
        system,
        region,
        "city",
        NOW - DAY,
        clock="identification_deadline",
        event="past_deadline",
        level=2,
        escalation_task_id=e_handled,
    )
    await add_breach(system, region, "county_b", NOW - 60 * DAY)  # before the period
    d = shanghai_day(-5)
    end = datetime.combine(d, datetime.min.time(), tzinfo=UTC) + 16 * HOUR  # Shanghai 24:00
    await add_case(system, region, "street_a1", d, identified_at=end - HOUR)
    await add_case(system, region, "street_a1", d, identified_at=end + DAY)
    await add_case(system, region, "street_a2", d, closed_at=end - DAY)
    await add_case(system, region, "street_a2", shanghai_day(-1))  # pending past its deadline
    await add_case(system, region, "street_b1", d, identified_at=end + HOUR)
    return region


# --- reading the page --------------------------------------------------------------------------


class Page(HTMLParser):
    """The figures tables (``data-table`` > ``data-row`` > ``data-col``), the chart bars
    (``data-chart`` > ``data-name`` with their link and segments), the links and the field
    messages of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, dict[str, str]]] = {}
        self.charts: dict[str, dict[str, dict[str, Any]]] = {}
        self.links: list[tuple[str, str]] = []
        self.errors: dict[str, str] = {}
        self._table = self._row = self._col = self._chart = self._bar = None
        self._link: str | None = None
        self._text: list[str] = []
        self._error: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-table" in a:
            self._table = a["data-table"]
            self.tables[self._table] = {}
        elif "data-row" in a and self._table:
            self._row = a["data-row"]
            self.tables[self._table][self._row] = {}
        elif "data-col" in a and self._row is not None:
            self._col = a["data-col"]
            self._text = []
        if "data-chart" in a:
            self._chart = a["data-chart"]
            self.charts[self._chart] = {}
        elif "data-name" in a and self._chart:
            self._bar = a["data-name"]
            self.charts[self._chart][self._bar] = {"href": None, "segments": {}}
        if tag == "a" and self._bar and self._chart:
            self.charts[self._chart][self._bar]["href"] = a.get("href")
        if tag == "rect" and self._bar and self._chart and "data-value" in a:
            key = a["class"].split()[-1].removeprefix("seg-")
            self.charts[self._chart][self._bar]["segments"][key] = float(a["data-value"])
        if tag == "a":
            self._link = a.get("href")
            self._link_text: list[str] = []
        if "data-field" in a:
            self._error = a["data-field"]
            self._error_text: list[str] = []

    def handle_data(self, data: str) -> None:
        if self._col is not None:
            self._text.append(data)
        if self._link is not None:
            self._link_text.append(data)
        if self._error is not None:
            self._error_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._col is not None and self._table and self._row is not None:
            self.tables[self._table][self._row][self._col] = "".join(self._text).strip()
            self._col = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "g":
            self._bar = None
        elif tag == "svg":
            self._chart = None
        if tag == "a" and self._link is not None:
            self.links.append(("".join(self._link_text).strip(), self._link))
            self._link = None
        if tag == "span" and self._error is not None:
            self.errors[self._error] = "".join(self._error_text).strip()
            self._error = None

    def numbers(self, table: str) -> dict[str, dict[str, int]]:
        return {
            row: {col: int(v) for col, v in cols.items() if v.isdigit()}
            for row, cols in self.tables[table].items()
        }

    def href(self, text: str) -> str:
        found = [h for t, h in self.links if t == text]
        assert found, f"no link {text!r} in {self.links}"
        return found[0]


def client(system: System, region: Region, user: str) -> httpx.AsyncClient:
    """A browser-like client: the session cookie, as the login page sets it."""
    token = region.headers[user]["Authorization"].removeprefix("Bearer ")
    return httpx.AsyncClient(
        transport=system.http._transport,
        base_url="http://test",
        cookies={"yz_session": token},
    )


async def api(system: System, region: Region, path: str, **params: Any) -> Any:
    r = await system.http.get(f"{API}/{path}", headers=region.headers["supervisor"], params=params)
    assert r.status_code == 200, r.text
    return r.json()


OVERVIEW_COLS = ("open", "at_risk", "breached", "past_deadline", "unassigned", "breaches")
DEADLINE_COLS = ("cases", "concluded", "on_time", "late", "pending_overdue", "pending_within")


# --- tests ---------------------------------------------------------------------------------


async def test_every_figure_is_the_services_figure(system: System) -> None:
    region = await busy_region(system)
    codes = region.codes
    period = {"from": shanghai_day(-29).isoformat(), "to": shanghai_day(0).isoformat()}
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard")
    assert r.status_code == 200, r.text
    page = Page(r.text)
    assert f"测试city{region.n}" in r.text

    # Open tasks and breach records by place and by kind.
    for group_by, table, key in (
        ("jurisdiction", "sla-place", "code"),
        ("kind", "sla-kind", "kind"),
    ):
        body = await api(system, region, "overview", group_by=group_by, **period)
        shown = page.numbers(table)
        for row in body["rows"]:
            assert shown[row[key]] == {c: row[c] for c in OVERVIEW_COLS}, row
        assert len(shown) == len(body["rows"]) + (table == "sla-place")  # + the totals row
    totals = (await api(system, region, "overview", **period))["total"]
    assert page.numbers("sla-place")["total"] == {c: totals[c] for c in OVERVIEW_COLS}
    assert totals["open"] == 7 and totals["breaches"] == 3

    # Aging buckets by place and kind.
    keys = [b for b, _label in supervision.AGE_BUCKETS]
    for by, table, key in (("jurisdiction", "aging-place", "code"), ("kind", "aging-kind", "kind")):
        body = await api(system, region, "aging", by=by)
        shown = page.numbers(table)
        for row in body["rows"]:
            assert [shown[row[key]][k] for k in keys] == row["counts"], row
            assert shown[row[key]]["total"] == row["total"]
    aging = await api(system, region, "aging", by="kind")
    assert aging["total"]["counts"][keys.index("15_30d")] == 1
    assert aging["total"]["counts"][keys.index("ge_30d")] == 1

    # Officers' load and completions.
    body = await api(system, region, "workload", **period)
    shown = page.numbers("workload")
    for officer in body["officers"]:
        row = shown[str(officer["user_id"])]
        assert row["open_assigned"] == officer["open_assigned"]
        assert row["at_risk"] == officer["at_risk"] and row["breached"] == officer["breached"]
        assert row["completed"] == officer["completed"]
    assert shown[str(region.users["officer"])]["completed"] == 1

    # Escalations opened in the period by their state; the open and handled lists.
    body = await api(system, region, "escalations", state="handled", **period)
    assert page.numbers("escalation-counts")["counts"] == body["counts"]
    assert body["counts"] == {"opened": 2, "open": 1, "handled": 1, "cancelled": 0}
    assert set(page.tables["escalations-handled"]) == {e["task_id"] for e in body["items"]}
    assert "已电话督促" in r.text
    opened = await api(system, region, "escalations", state="open")
    assert set(page.tables["escalations-open"]) == {e["task_id"] for e in opened["items"]}

    # The identification deadline hit rate per district, as a bar and as a table.
    body = await api(system, region, "identification-deadlines", **period)
    shown = page.numbers("deadlines")
    for row in body["districts"]:
        assert shown[row["code"]] == {c: row[c] for c in DEADLINE_COLS}, row
    rate = {r["code"]: r["on_time_rate"] for r in body["districts"]}
    assert rate == {codes["county_a"]: 0.6667, codes["county_b"]: 0.0}
    assert page.tables["deadlines"][codes["county_a"]]["on_time_rate"] == "66.7%"
    bars = page.charts["deadlines"]
    assert bars[f"测试county_a{region.n}"]["segments"] == {"on_time": 0.6667}
    assert bars[f"测试county_b{region.n}"]["segments"] == {}  # 0%: no bar, the figure says so


async def test_charts_drill_down_to_a_street_and_the_breach_records(system: System) -> None:
    region = await busy_region(system)
    codes, n = region.codes, region.n
    async with client(system, region, "supervisor") as web:
        page = Page((await web.get("/dashboard")).text)
        # A bar per district, its length the open tasks by SLA state, linking to the district.
        county_a = page.charts["sla-place"][f"测试county_a{n}"]
        assert county_a["segments"] == {
            "on_track": 2,  # an acceptance and the open escalation at the district office
            "at_risk": 1,
            "breached": 2,
            "past_deadline": 1,
        }
        assert county_a["href"] == f"/dashboard?jurisdiction={codes['county_a']}"
        assert page.charts["sla-place"][f"测试county_b{n}"]["segments"] == {"on_track": 1}

        r = await web.get(county_a["href"])
        assert r.status_code == 200
        district = Page(r.text)
        # The breadcrumb leads back up to the supervisor's own place.
        assert district.href(f"测试city{n}") == "/dashboard"
        assert '<span aria-current="page">测试county_a' in r.text
        # The district office's own task is its own row, next to the streets.
        assert set(district.tables["sla-place"]) == {
            codes["county_a"],
            codes["street_a1"],
            codes["street_a2"],
            "total",
        }
        street = district.charts["sla-place"][f"测试street_a2{n}"]
        assert street["segments"] == {"breached": 1, "past_deadline": 1}
        assert district.charts["sla-place"][f"测试county_a{n}（本级）"]["href"] is None
        # Per street from the district down: the hit rate of the streets.
        assert district.tables["deadlines"][codes["street_a1"]]["on_time_rate"] == "50.0%"

        r = await web.get(street["href"])
        assert r.status_code == 200
        street_page = Page(r.text)
        assert (
            street_page.href(f"测试county_a{n}") == f"/dashboard?jurisdiction={codes['county_a']}"
        )
        assert "sla-place" not in street_page.tables  # nothing below a street
        assert street_page.numbers("sla-kind")["initial_review"]["breached"] == 1

        # The breach records behind the district's count, filtered like the count.
        district_breaches = district.tables["sla-place"][codes["county_a"]]["breaches"]
        link = next(h for t, h in district.links if t == district_breaches and "breaches" in h)
        query = parse_qs(urlsplit(link).query)
        assert query["jurisdiction"] == [codes["county_a"]]
        assert query["from"] == [shanghai_day(-29).isoformat()]
        r = await web.get(link)
        assert r.status_code == 200
        listed = Page(r.text).tables["breaches"]
        api_items = await api(
            system,
            region,
            "breaches",
            jurisdiction=codes["county_a"],
            **{"from": query["from"][0], "to": query["to"][0]},
        )
        assert list(listed) == [str(b["id"]) for b in api_items["items"]]
        assert len(listed) == int(district_breaches) == 2
        assert f"/cases/{region.case_id}" in r.text and "初审" in r.text

        # By kind: the breach records of one clock; the inbox's breached tab for the kind.
        city = page
        kind_link = city.tables["sla-kind"]["initial_review"]
        assert kind_link["breaches"] == "1"
        links = dict((h, t) for t, h in city.links)
        assert "/inbox?tab=breached&kind=initial_review" in links
        clock_link = next(h for h in links if "clock=task%3Ainitial_review" in h)
        listed = Page((await web.get(clock_link)).text).tables["breaches"]
        assert len(listed) == 1
        # The oldest task links to its case.
        assert f'href="/cases/{region.case_id}"' in (await web.get("/dashboard")).text


async def test_breach_records_a_page_at_a_time(system: System) -> None:
    region = await system.make_region()
    ids = [
        await add_breach(system, region, "street_a1", NOW - i * timedelta(minutes=1))
        for i in range(dashboard.BREACH_PAGE + 3)
    ]
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard/breaches")
        assert r.status_code == 200
        first = Page(r.text)
        assert list(first.tables["breaches"]) == [str(i) for i in ids[: dashboard.BREACH_PAGE]]
        # A record added meanwhile never makes the next page repeat one.
        await add_breach(system, region, "street_a1", NOW + HOUR)
        r = await web.get(first.href("下一页"))
        second = Page(r.text)
        assert list(second.tables["breaches"]) == [str(i) for i in ids[dashboard.BREACH_PAGE :]]
        assert "下一页" not in [t for t, _h in second.links]
        assert second.href("第一页").startswith("/dashboard/breaches?jurisdiction=")
        # Filtered by event: none past the deadline.
        r = await web.get("/dashboard/breaches", params={"event": "past_deadline"})
        assert "breaches" not in Page(r.text).tables and "没有符合条件的超时记录" in r.text
        # A cursor of another list: the API's words on the error page.
        bad = supervision.encode_cursor("escalations", NOW, "x")
        r = await web.get("/dashboard/breaches", params={"cursor": bad})
        assert r.status_code == 422 and "分页参数无效" in r.text


async def test_the_workload_charts_show_the_busiest_officers_and_the_table_everyone(
    system: System,
) -> None:
    region = await system.make_region(extra_officers=dashboard.CHART_OFFICERS + 2)
    await system.insert_tasks(
        region, [{"assignee": "officer_3"}, {"assignee": "officer_3"}, {"assignee": "officer_7"}]
    )
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard")
    page = Page(r.text)
    body = await api(system, region, "workload")
    assert set(page.tables["workload"]) == {str(o["user_id"]) for o in body["officers"]}
    bars = page.charts["workload"]
    assert len(bars) == dashboard.CHART_OFFICERS < len(body["officers"])
    assert list(bars)[:2] == [f"officer_3@{region.n}", f"officer_7@{region.n}"]
    assert bars[f"officer_3@{region.n}"]["segments"] == {"on_track": 2}
    assert "图中只列出最多的 20 人" in r.text


async def test_a_supervisor_sees_only_their_subtree(system: System) -> None:
    region = await busy_region(system)
    codes, n = region.codes, region.n
    async with client(system, region, "supervisor_b") as web:
        r = await web.get("/dashboard")
        assert r.status_code == 200
        assert f"测试county_a{n}" not in r.text and f"测试street_a1{n}" not in r.text
        page = Page(r.text)
        assert set(page.tables["deadlines"]) == {codes["street_b1"], "total"}
        # The breadcrumb starts at their own district, not the city above it.
        assert f"测试city{n}" not in r.text
        for path in ("/dashboard", "/dashboard/breaches"):
            for place in ("county_a", "street_a1", "city"):
                r = await web.get(path, params={"jurisdiction": codes[place]})
                assert r.status_code == 404 and "未找到" in r.text, (path, place)
        # Their own breach records: all time by default, none in the last 30 days.
        r = await web.get("/dashboard/breaches", params={"jurisdiction": codes["county_b"]})
        assert r.status_code == 200 and len(Page(r.text).tables["breaches"]) == 1
        r = await web.get("/dashboard/breaches", params={"from": shanghai_day(-29).isoformat()})
        assert r.status_code == 200 and "没有符合条件的超时记录" in r.text
    # Officers and reviewers have no dashboard; a visitor is sent to log in.
    async with client(system, region, "reviewer") as web:
        r = await web.get("/dashboard")
        assert r.status_code == 403 and "您的角色无权进行此操作" in r.text
    r = await system.http.get("/dashboard?jurisdiction=" + codes["city"])
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fdashboard")
    # An administrator reads the figures of their subtree too.
    async with client(system, region, "admin_b") as web:
        r = await web.get("/dashboard")
        assert r.status_code == 200 and f"测试street_b1{n}" in r.text
        # ...without links to an inbox they do not have.
        assert "/inbox?tab=" not in r.text


async def test_a_bad_period_is_refused_next_to_its_field(system: System) -> None:
    region = await system.make_region()
    await system.insert_tasks(region, [{"place": "county_a"}])
    async with client(system, region, "supervisor") as web:
        cases = [
            ({"from": "2024-13-01"}, "from", "年-月-日"),
            ({"to": "yesterday"}, "to", "年-月-日"),
            ({"from": "2024-03-10", "to": "2024-03-01"}, "from", "开始日期不能晚于结束日期"),
            ({"from": "2001-01-01", "to": "2024-01-01"}, "to", "期间不能超过 1098 天"),
            ({"from": "1999-12-31", "to": "2000-01-05"}, "from", "2000-01-01 至 2099-12-31"),
        ]
        for params, field, words in cases:
            r = await web.get("/dashboard", params=params)
            assert r.status_code == 422, params
            page = Page(r.text)
            assert list(page.errors) == [field] and words in page.errors[field], page.errors
            assert f'aria-describedby="period-{field}-error"' in r.text
            # What was typed stays in the form; no figures for a period nobody asked for.
            assert "sla-kind" not in page.tables and "请更正统计期间后查看" in r.text
        r = await web.get("/dashboard/breaches", params={"to": "2024-02-30"})
        assert r.status_code == 422 and "to" in Page(r.text).errors
        # A good period: the figures of that period, the dates kept in the drill-down links.
        r = await web.get("/dashboard", params={"from": "2024-03-01", "to": "2024-03-31"})
        assert r.status_code == 200 and "2024年3月1日至3月31日" in r.text
        page = Page(r.text)
        county = page.charts["sla-place"][f"测试county_a{region.n}"]["href"]
        assert "from=2024-03-01" in county and "to=2024-03-31" in county
        # Empty fields (a cleared form) mean the default period.
        r = await web.get("/dashboard", params={"from": "", "to": "", "jurisdiction": ""})
        assert r.status_code == 200


async def test_the_dashboard_speaks_english(system: System) -> None:
    region = await busy_region(system)
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard", params={"lang": "en"})
    assert r.status_code == 200
    assert "Breaches and at-risk tasks" in r.text and "Identification deadline" in r.text
    assert "Initial review" in r.text and "Total" in r.text and "30 days or more" in r.text
    # Nothing of the page's own wording is left in Chinese (place names are data).
    text = re.sub(r"<[^>]+>", " ", r.text)
    text = re.sub(r"测试\w*|申请人\d+|已电话督促|中文", "", text)  # data; the switch
    leftover = re.findall(r"[\u3400-\u9fff]+", text)
    assert leftover == [], leftover


def test_every_label_the_dashboard_takes_from_the_service_has_english() -> None:
    english = i18n.catalog("en")
    labels = [
        *dashboard.SERVICE_LABELS,
        *(s.title for s in dashboard.SECTIONS),
        *dashboard.SLA_LEGEND.values(),
        *dashboard.DONE_LEGEND.values(),
        *dashboard.BREACH_LEGEND.values(),
        *dashboard.RATE_LEGEND.values(),
        *dashboard.ESCALATION_LEGEND.values(),
        *dashboard.STAGE_LEGEND.values(),
        *dashboard.WAITS_ON_ZH.values(),
        *dashboard.CASE_LIST_TITLES.values(),
        *(p.name for p in dashboard.presets(date(2026, 12, 6))),
        *(s.empty for s in dashboard.SECTIONS),
    ]
    assert [label for label in labels if label not in english] == []


# --- the headline, collapsing, the period in words -----------------------------------------------


def tiles(html: str) -> dict[str, tuple[str, str | None]]:
    """The headline's figures: key -> (the number as shown, the link behind it)."""
    found = {}
    for key, body in re.findall(r'<li class="tile[^"]*" data-tile="(\w+)">(.*?)</li>', html, re.S):
        number = re.search(r'<span class="n">(?:<a href="([^"]*)">)?([^<]*)', body)
        assert number, body
        found[key] = (number.group(2), number.group(1) or None)
    return found


async def test_the_headline_counts_cases_waiting_and_links_to_their_lists(system: System) -> None:
    region = await busy_region(system)
    n = region.n
    publicity = [
        await add_case(
            system, region, place, shanghai_day(4), status="in_publicity", stage="publicity"
        )
        for place in ("street_a1", "street_b1")
    ]
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard")
        assert r.status_code == 200
        figures = await api(system, region, "headline")
        top = tiles(r.text)
        assert top["overdue"][0] == str(figures["overdue"]) == "3"
        assert top["at_risk"][0] == str(figures["at_risk"])
        assert top["breaches"][0] == str(figures["breaches"]) == "3"
        # The period's decisions: one identified on time, two late (a closed case that was not
        # refused is no decision).
        assert top["on_time"][0] == "33.3%"
        assert top["open_cases"][0] == str(figures["open_cases"])
        assert top["cases_past_deadline"][0] == str(figures["cases_past_deadline"])
        # Each figure leads to the list behind it.
        assert top["overdue"][1] == "/inbox?tab=breached"
        assert top["breaches"][1].startswith("/dashboard/breaches?")
        # Two cases in publicity have no task: they count, as waiting on the clock.
        stages = Page(r.text).tables["stages"]
        assert stages["publicity"]["cases"] == "2"
        assert stages["publicity"]["with_task"] == "0"
        assert (
            stages["publicity"]["waiting"].startswith("2")
            and "等待期满" in stages["publicity"]["waiting"]
        )
        href = dict(Page(r.text).links)["公示"]
        listed = await web.get(href)
        assert listed.status_code == 200 and "认定中的案件：公示" in listed.text
        rows = Page(listed.text).tables["cases"]
        assert set(rows) == set(publicity)
        assert {row["task"] for row in rows.values()} == {"无（等待中）"}
        # The on-time rate's list: the decisions of the period, on time or late.
        decided = await web.get(top["on_time"][1] or "")
        assert decided.status_code == 200
        verdicts = sorted(row["on_time"] for row in Page(decided.text).tables["cases"].values())
        assert verdicts == ["按时", "超时", "超时"]
        # A district supervisor's headline and lists are their district's.
    async with client(system, region, "supervisor_b") as web:
        r = await web.get("/dashboard")
        assert Page(r.text).tables["stages"]["publicity"]["cases"] == "1"
        listed = await web.get("/dashboard/cases", params={"which": "stage", "stage": "publicity"})
        assert set(Page(listed.text).tables["cases"]) == {publicity[1]}
        outside = await web.get(
            "/dashboard/cases",
            params={"which": "past_deadline", "jurisdiction": region.codes["county_a"]},
        )
        assert outside.status_code == 404
        bad = await web.get("/dashboard/cases", params={"which": "stage"})
        assert bad.status_code == 422 and "请选择一个环节" in bad.text
    assert f"测试county_a{n}" not in Page(r.text).tables["stages"]


async def test_empty_sections_collapse_and_the_period_is_stated(system: System) -> None:
    region = await system.make_region()
    today = shanghai_day(0)
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard")
    assert r.status_code == 200
    # Every section with nothing to show is one line; no chart is drawn without data.
    collapsed = re.findall(r'<section id="(\w+)" class="dash-section collapsed"', r.text)
    assert collapsed == [s.key for s in dashboard.SECTIONS]
    assert "本期无督办，没有待处理的督办" in r.text and "没有未办结事项" in r.text
    # The region's one case (accepted, no stage stored) is in the headline: the stage chart
    # is the only one drawn.
    assert tiles(r.text)["open_cases"][0] == "1"
    assert re.findall(r'data-chart="([\w-]+)"', r.text) == ["stages"]
    # The period in use: named, in words, and in the fields.
    first = today - timedelta(days=29)
    words = f"{first.year}年{first.month}月{first.day}日至{today.month}月{today.day}日"
    if first.year != today.year:
        words = words.replace("至", f"至{today.year}年")
    assert f"<strong>近30天 {words}</strong>" in r.text
    assert f'name="from" value="{first.isoformat()}"' in r.text
    assert f'name="to" value="{today.isoformat()}"' in r.text
    assert '<span class="current" aria-current="true">近30天</span>' in r.text
    # A preset link gives this month, named as such.
    async with client(system, region, "supervisor") as web:
        month = await web.get(
            "/dashboard",
            params={"from": today.replace(day=1).isoformat(), "to": today.isoformat()},
        )
    assert '<span class="current" aria-current="true">本月</span>' in month.text
    # In English the period reads in English.
    async with client(system, region, "supervisor") as web:
        en = await web.get("/dashboard", params={"lang": "en"})
    assert f"Last 30 days {first.day} {first:%B %Y} – {today.day} {today:%B %Y}" in en.text
    assert "No open tasks, no breaches in the period" in en.text


def test_a_household_inside_its_month_is_not_a_missed_target() -> None:
    """Open households still within their month are 期限未到, never 未达标; those past it
    and those cleared late are missed."""
    row = dashboard.households_service.HouseholdFiguresRow(
        name="x", identified=3, due_soon=1, overdue=1, cleared_within=2, cleared_late=1
    )
    assert dashboard.household_verdicts(row) == dashboard.Verdicts(met=2, missed=2, not_due=2)
