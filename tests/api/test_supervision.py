"""The supervision API (督导) on SQLite and PostgreSQL: the overview by place, kind and officer,
aging, workload, escalations, the identification-deadline hit rate (at the Shanghai day
boundary) and the breach records (filters, keyset pages while records are added); scoping
(a district supervisor sees nothing of a sibling district, drill-down outside one's subtree is
404) and roles (officers and reviewers get 403).

Tasks, cases and breach records are rows inserted directly (no workflows) in a jurisdiction
tree of the test's own (:meth:`tests.system.System.make_region`), so every figure is exact."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from application.services.supervision import encode_cursor
from domain.calendar import deadline_end, local_date, start_of_day
from store.models import Case, SlaBreach, Task
from tests.factories import pinned_ref
from tests.problems import problem
from tests.system import Region, System

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
BASE = "/api/v1/supervision"
ENDPOINTS = (
    "headline",
    "overview",
    "aging",
    "workload",
    "escalations",
    "identification-deadlines",
    "breaches",
)
_seq = itertools.count(1)


async def get(system: System, headers: dict[str, str], path: str, **params: Any) -> Any:
    r = await system.http.get(f"{BASE}/{path}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


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
    task_id: str | None = None,
    escalation_task_id: str | None = None,
    case_id: str | None = None,
) -> int:
    async with system.sessions()() as session, session.begin():
        row = SlaBreach(
            breach_key=f"test-{region.n}-{next(_seq)}",
            case_id=case_id or region.case_id,
            task_id=task_id,
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
    system: System,
    region: Region,
    place: str,
    deadline: date | None,
    *,
    identified_at: datetime | None = None,
    closed_at: datetime | None = None,
    status: str = "accepted",
    stage: str | None = None,
) -> str:
    case_id = f"TEST-{region.n:05d}-{next(_seq)}"
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
                status=status,
                stage=stage,
                submitted_at=NOW - 30 * DAY,
                accepted_at=NOW - 30 * DAY,
                identification_deadline=deadline,
                identified_at=identified_at,
                closed_at=closed_at,
                updated_at=NOW,
            )
        )
    return case_id


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    """(open, at_risk, breached, past_deadline, unassigned, breaches) of an overview row."""
    keys = ("open", "at_risk", "breached", "past_deadline", "unassigned", "breaches")
    return tuple(row[k] for k in keys)


def shanghai_day(days_from_today: int) -> date:
    return local_date(datetime.now(UTC)) + timedelta(days=days_from_today)


# --- overview --------------------------------------------------------------------------------


async def overview_region(system: System) -> tuple[Region, dict[str, str]]:
    region = await system.make_region()
    a, b, c, d, e, f, _g = await system.insert_tasks(
        region,
        [
            {"kind": "acceptance", "due_at": NOW + 3 * DAY},  # on track
            {
                "kind": "review",
                "assignee": "officer",
                "due_at": NOW + 12 * HOUR,
                "at_risk_at": NOW - 12 * HOUR,
            },  # at risk
            {
                "place": "street_a2",
                "kind": "acceptance",
                "due_at": NOW - DAY,
                "deadline_at": NOW + 2 * DAY,
            },  # breached
            {
                "place": "street_a2",
                "kind": "initial_review",
                "assignee": "officer_a2",
                "due_at": NOW - 3 * DAY,
                "deadline_at": NOW - DAY,
            },  # breached and past the deadline
            {
                "place": "county_a",
                "kind": "escalation",
                "role": "supervisor",
                "due_at": NOW + DAY,
                "at_risk_at": NOW + 12 * HOUR,
            },
            {"place": "street_b1", "kind": "acceptance", "assignee": "officer_b"},
            {"state": "completed", "assignee": "officer", "due_at": NOW - DAY},  # not counted
        ],
    )
    await add_breach(
        system, region, "county_a", NOW - 2 * DAY, clock="task:initial_review", task_id=d
    )
    await add_breach(
        system,
        region,
        "city",
        NOW - DAY,
        clock="identification_deadline",
        event="past_deadline",
        level=2,
    )
    await add_breach(system, region, "county_b", NOW - 60 * DAY, task_id=f)  # before the period
    await add_breach(system, region, "county_a", NOW - HOUR, task_id=c)
    return region, {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


async def test_overview_by_place(system: System) -> None:
    region, _ = await overview_region(system)
    n, codes = region.n, region.codes
    body = await get(system, region.headers["supervisor"], "overview")
    assert body["group_by"] == "jurisdiction"
    assert body["place"] == {"code": codes["city"], "name": f"测试city{n}", "level": "city"}
    assert body["period"]["to_date"] == local_date(datetime.now(UTC)).isoformat()
    rows = [(r["code"], r["name"], counts(r)) for r in body["rows"]]
    assert rows == [
        (codes["city"], f"测试city{n}", (0, 0, 0, 0, 0, 1)),  # the place itself: a breach
        (codes["county_a"], f"测试county_a{n}", (5, 1, 2, 1, 3, 2)),
        (codes["county_b"], f"测试county_b{n}", (1, 0, 0, 0, 0, 0)),
    ]
    assert counts(body["total"]) == (6, 1, 2, 1, 3, 3)
    assert body["total"]["name"] == "合计"

    # A longer period takes the old breach in.
    start = (NOW - 70 * DAY).astimezone(UTC).date().isoformat()
    body = await get(system, region.headers["supervisor"], "overview", **{"from": start})
    assert counts(body["total"]) == (6, 1, 2, 1, 3, 4)

    # Drill-down into county_a: its streets, and the county itself (the escalation task and
    # the breaches recorded there) first.
    body = await get(
        system, region.headers["supervisor"], "overview", jurisdiction=codes["county_a"]
    )
    rows = [(r["code"], counts(r)) for r in body["rows"]]
    assert rows == [
        (codes["county_a"], (1, 0, 0, 0, 1, 2)),
        (codes["street_a1"], (2, 1, 0, 0, 1, 0)),
        (codes["street_a2"], (2, 0, 2, 1, 1, 0)),
    ]
    assert counts(body["total"]) == (5, 1, 2, 1, 3, 2)
    # A street drill-down: the street itself (it has no children).
    body = await get(
        system, region.headers["supervisor_b"], "overview", jurisdiction=codes["street_b1"]
    )
    assert [(r["code"], counts(r)) for r in body["rows"]] == [
        (codes["street_b1"], (1, 0, 0, 0, 0, 0))
    ]


async def test_overview_by_kind_and_officer(system: System) -> None:
    region, _ = await overview_region(system)
    n = region.n
    h = region.headers["supervisor"]
    body = await get(system, h, "overview", group_by="kind")
    rows = [(r["kind"], r["name"], counts(r)) for r in body["rows"]]
    assert rows == [
        ("acceptance", "受理查验", (3, 0, 1, 0, 2, 1)),
        ("initial_review", "初审", (1, 0, 1, 1, 0, 1)),
        ("review", "复核认定", (1, 1, 0, 0, 0, 0)),
        ("escalation", "督办", (1, 0, 0, 0, 1, 0)),
        ("identification_deadline", "认定办结时限", (0, 0, 0, 0, 0, 1)),
    ]
    assert counts(body["total"]) == (6, 1, 2, 1, 3, 3)

    body = await get(system, h, "overview", group_by="officer")
    rows = [(r["user_id"], r["name"], counts(r)) for r in body["rows"]]
    assert rows == [
        (region.users["officer"], f"officer@{n}", (1, 1, 0, 0, 0, 0)),
        (region.users["officer_a2"], f"officer_a2@{n}", (1, 0, 1, 1, 0, 1)),
        (region.users["officer_b"], f"officer_b@{n}", (1, 0, 0, 0, 0, 0)),
        # Unassigned tasks, and the breaches of unassigned tasks and of case-level clocks.
        (None, "未分配", (3, 0, 1, 0, 3, 2)),
    ]
    assert counts(body["total"]) == (6, 1, 2, 1, 3, 3)


async def test_scoping_and_roles(system: System) -> None:
    region, _ = await overview_region(system)
    codes, h = region.codes, region.headers
    # A district supervisor sees their district only.
    body = await get(system, h["supervisor_b"], "overview")
    assert body["place"]["code"] == codes["county_b"]
    assert [(r["code"], counts(r)) for r in body["rows"]] == [
        (codes["street_b1"], (1, 0, 0, 0, 0, 0))
    ]
    assert counts(body["total"]) == (1, 0, 0, 0, 0, 0)
    for who in ("supervisor_b", "admin_b"):
        for path in ENDPOINTS:
            for code in (codes["county_a"], codes["street_a1"], codes["city"], "999999999"):
                r = await system.http.get(
                    f"{BASE}/{path}", headers=h[who], params={"jurisdiction": code}
                )
                body = problem(r, 404, "not-found")
                assert code in body["detail"]
    other = await system.login("wf_supervisor")  # another province
    r = await system.http.get(
        f"{BASE}/overview", headers=other, params={"jurisdiction": codes["county_a"]}
    )
    problem(r, 404, "not-found")
    # Roles: officers and reviewers may not; an administrator may read.
    for who in ("officer", "county_officer", "reviewer"):
        for path in ENDPOINTS:
            r = await system.http.get(f"{BASE}/{path}", headers=h[who])
            problem(r, 403, "actor-not-allowed")
    for path in ENDPOINTS:
        r = await system.http.get(f"{BASE}/{path}", headers=h["admin"])
        assert r.status_code == 200, r.text
        r = await system.http.get(f"{BASE}/{path}")
        problem(r, 401, "unauthorized")


async def test_parameters_are_validated(system: System) -> None:
    region = await system.make_region()
    h = region.headers["supervisor"]
    bad: list[tuple[str, dict[str, Any]]] = [
        ("overview", {"from": "2025-03-02", "to": "2025-03-01"}),
        ("overview", {"from": "2020-01-01", "to": "2023-12-31"}),  # over three years
        ("workload", {"from": "1999-12-31", "to": "2000-01-31"}),
        ("workload", {"to": "9999-12-31"}),
        ("identification-deadlines", {"from": "yesterday"}),
        ("overview", {"group_by": "street"}),
        ("aging", {"by": "officer"}),
        ("aging", {"oldest": 1000}),
        ("escalations", {"state": "closed"}),
        ("escalations", {"limit": 0}),
        ("breaches", {"event": "at_risk"}),
        ("breaches", {"clock": "DROP TABLE"}),
        ("breaches", {"jurisdiction": "../370000"}),
        ("breaches", {"cursor": "x" * 401}),
    ]
    for path, params in bad:
        r = await system.http.get(f"{BASE}/{path}", headers=h, params=params)
        body = problem(r, 422, "validation-error")
        assert body["errors"], body
    body = await get(
        system, h, "overview", **{"from": "2023-01-01", "to": "2025-12-31"}
    )  # three years is allowed
    assert body["period"]["from_date"] == "2023-01-01"
    start = datetime.fromisoformat(body["period"]["start"])
    assert start == datetime(2022, 12, 31, 16, tzinfo=UTC)
    for path in ("escalations", "breaches"):
        for cursor in ("not-a-cursor", "e30", "eyJsIjoiYnJlYWNoZXMiLCJrIjpbMV19"):
            r = await system.http.get(f"{BASE}/{path}", headers=h, params={"cursor": cursor})
            problem(r, 422, "bad-cursor")


# --- aging -----------------------------------------------------------------------------------


async def test_aging(system: System) -> None:
    region = await system.make_region()
    n = region.n
    # Ages count from a `now` taken here, not at import: the server's clock runs on while the
    # suite does, and a task just under a day old must stay under a day when the request lands.
    now = datetime.now(UTC)
    waits = {
        "street_a1": [0.5 * DAY, DAY - timedelta(minutes=10), DAY, 5 * DAY, 40 * DAY],
        "street_a2": [2 * DAY, 10 * DAY, 20 * DAY],
        "county_a": [31 * DAY],
        "street_b1": [HOUR],
    }
    created: dict[str, datetime] = {}
    for place, ages in waits.items():
        for age in ages:
            [task] = await system.insert_tasks(
                region,
                [
                    {
                        "place": place,
                        "kind": "review" if age > 15 * DAY else "acceptance",
                        "name": f"申请人{place}",
                        "last4": "123X",
                        "assignee": "officer" if age == 40 * DAY else None,
                    }
                ],
            )
            created[task] = now - age
            await set_task(system, task, created_at=now - age)
    [done] = await system.insert_tasks(region, [{"state": "completed"}])
    await set_task(system, done, created_at=now - 100 * DAY)  # closed: not waiting

    h = region.headers["supervisor"]
    body = await get(system, h, "aging", oldest=3)
    assert [b["key"] for b in body["buckets"]] == [
        "lt_1d",
        "1_3d",
        "3_7d",
        "7_15d",
        "15_30d",
        "ge_30d",
    ]
    assert body["buckets"][0] == {"key": "lt_1d", "label": "不足1天", "min_days": 0, "max_days": 1}
    assert body["buckets"][-1]["max_days"] is None
    rows = [(r["code"], r["counts"], r["total"]) for r in body["rows"]]
    assert rows == [
        (region.codes["county_a"], [2, 2, 1, 1, 1, 2], 9),
        (region.codes["county_b"], [1, 0, 0, 0, 0, 0], 1),
    ]
    assert body["total"]["counts"] == [3, 2, 1, 1, 1, 2] and body["total"]["total"] == 10
    oldest = body["oldest"]
    assert [t["waited_days"] for t in oldest] == [40.0, 31.0, 20.0]
    first = oldest[0]
    assert first["kind"] == "review" and first["kind_name"] == "复核认定"
    assert first["applicant_name"] == "申请人street_a1"
    assert first["assignee_name"] == f"officer@{n}"
    assert first["case_id"] == region.case_id
    assert "id_number" not in str(body) and "123X" not in str(body)

    body = await get(system, h, "aging", by="jurisdiction", jurisdiction=region.codes["county_a"])
    rows = [(r["code"], r["counts"]) for r in body["rows"]]
    assert rows == [
        (region.codes["county_a"], [0, 0, 0, 0, 0, 1]),
        (region.codes["street_a1"], [2, 1, 1, 0, 0, 1]),
        (region.codes["street_a2"], [0, 1, 0, 1, 1, 0]),
    ]
    body = await get(system, h, "aging", by="kind", oldest=0)
    rows = [(r["kind"], r["name"], r["counts"]) for r in body["rows"]]
    assert rows == [
        ("acceptance", "受理查验", [3, 2, 1, 1, 0, 0]),
        ("review", "复核认定", [0, 0, 0, 0, 1, 2]),
    ]
    assert body["oldest"] == []


# --- workload --------------------------------------------------------------------------------


async def complete(
    system: System, region: Region, who: str, hours: float, *, ago: timedelta = DAY, **spec: Any
) -> str:
    [task] = await system.insert_tasks(region, [{"state": "completed", **spec}])
    done_at = NOW - ago
    await set_task(
        system,
        task,
        completed_by=region.users[who],
        completed_at=done_at,
        created_at=done_at - timedelta(hours=hours),
    )
    return task


async def test_workload(system: System) -> None:
    region = await system.make_region()
    u, n = region.users, region.n
    await system.insert_tasks(
        region,
        [
            {"assignee": "officer", "due_at": NOW + 12 * HOUR, "at_risk_at": NOW - HOUR},
            {"assignee": "officer", "due_at": NOW - HOUR, "deadline_at": NOW - 1 * HOUR},
            {"assignee": "officer", "due_at": NOW + 3 * DAY},
            {"assignee": "officer_b", "place": "street_b1"},
            {"place": "street_a2"},  # unassigned: nobody's load
        ],
    )
    for hours in (2, 9, 4):
        await complete(system, region, "officer2", hours)
    for hours in (1, 4):
        await complete(system, region, "officer_a2", hours, place="street_a2")
    await complete(system, region, "officer2", 100, ago=60 * DAY)  # before the period
    cancelled = await complete(system, region, "officer2", 1)
    await set_task(system, cancelled, state="cancelled")
    # A supervisor who completed a task of the area is listed too.
    await complete(system, region, "supervisor", 3, place="county_a", role="supervisor")

    h = region.headers["supervisor"]
    body = await get(system, h, "workload", jurisdiction=region.codes["county_a"])
    rows = [
        (
            r["display_name"],
            r["open_assigned"],
            r["at_risk"],
            r["breached"],
            r["past_deadline"],
            r["completed"],
            r["median_hours_to_complete"],
        )
        for r in body["officers"]
    ]
    # By place (city, county_a, street_a1, street_a2), then name; zero loads listed too.
    assert rows == [
        (f"supervisor@{n}", 0, 0, 0, 0, 1, 3.0),
        (f"county_officer@{n}", 0, 0, 0, 0, 0, None),
        (f"reviewer@{n}", 0, 0, 0, 0, 0, None),
        (f"officer2@{n}", 0, 0, 0, 0, 3, 4.0),
        (f"officer@{n}", 3, 1, 1, 1, 0, None),
        (f"officer_a2@{n}", 0, 0, 0, 0, 2, 2.5),
    ]
    officer = next(r for r in body["officers"] if r["user_id"] == u["officer"])
    assert officer["role"] == "grassroots_officer" and officer["active"] is True
    assert officer["jurisdiction_code"] == region.codes["street_a1"]

    start = (NOW - 70 * DAY).astimezone(UTC).date().isoformat()
    body = await get(system, h, "workload", **{"from": start})
    officer2 = next(r for r in body["officers"] if r["user_id"] == u["officer2"])
    assert (officer2["completed"], officer2["median_hours_to_complete"]) == (4, 6.5)
    names = [r["display_name"] for r in body["officers"]]
    assert f"officer_b@{n}" in names and f"reviewer_b@{n}" in names
    body = await get(system, region.headers["supervisor_b"], "workload")
    assert [r["display_name"] for r in body["officers"]] == [f"reviewer_b@{n}", f"officer_b@{n}"]
    assert body["officers"][1]["open_assigned"] == 1


# --- escalations -----------------------------------------------------------------------------


async def test_escalations(system: System) -> None:
    region = await system.make_region()
    u, n = region.users, region.n
    [about] = await system.insert_tasks(region, [{"kind": "review"}])
    spec = {"kind": "escalation", "role": "supervisor", "place": "county_a"}
    e_open, e_handled, e_cancelled, e_fresh, e_old = await system.insert_tasks(
        region, [spec, {**spec, "place": "city"}, spec, spec, spec]
    )
    [e_other] = await system.insert_tasks(region, [{**spec, "place": "county_b"}])
    await set_task(
        system,
        e_open,
        created_at=NOW - 3 * HOUR,
        payload={"about_task": about, "about_kind": "review", "event": "breached", "level": 1},
    )
    await add_breach(
        system,
        region,
        "county_a",
        NOW - 3 * HOUR,
        clock="task:review",
        task_id=about,
        escalation_task_id=e_open,
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
    await add_breach(
        system,
        region,
        "city",
        NOW - 2 * HOUR,
        clock="identification_deadline",
        event="past_deadline",
        level=2,
        escalation_task_id=e_handled,
    )
    await set_task(system, e_cancelled, created_at=NOW - 90 * HOUR, state="cancelled")
    # No breach record yet (it is written just after the task): the payload tells.
    await set_task(
        system,
        e_fresh,
        created_at=NOW - HOUR,
        assignee_id=u["supervisor"],
        payload={"about_task": about, "about_kind": "review", "event": "past_deadline", "level": 2},
    )
    await set_task(system, e_old, created_at=NOW - 60 * DAY)

    h = region.headers["supervisor"]
    body = await get(system, h, "escalations")
    # Open ones, newest first (county_b is in the city too).
    assert [e["task_id"] for e in body["items"]] == [e_fresh, e_open, e_other, e_old]
    assert body["period"] is None
    assert body["counts"] == {"opened": 6, "open": 4, "handled": 1, "cancelled": 1}
    fresh, opened = body["items"][0], body["items"][1]
    assert opened["clock"] == "task:review" and opened["event"] == "breached"
    assert opened["level"] == 1 and opened["about_task_id"] == about
    assert opened["about_kind"] == "review" and opened["about_kind_name"] == "复核认定"
    assert opened["handled_at"] is None and opened["handled_by"] is None
    assert (fresh["clock"], fresh["event"], fresh["level"]) == ("task:review", "past_deadline", 2)
    assert fresh["assignee"] == {"id": u["supervisor"], "display_name": f"supervisor@{n}"}

    body = await get(system, h, "escalations", state="handled")
    [handled] = body["items"]
    assert handled["task_id"] == e_handled and handled["jurisdiction_code"] == region.codes["city"]
    assert (handled["clock"], handled["event"], handled["level"]) == (
        "identification_deadline",
        "past_deadline",
        2,
    )
    assert handled["about_task_id"] is None and handled["about_kind"] is None
    assert handled["handled_by"] == {"id": u["supervisor"], "display_name": f"supervisor@{n}"}
    assert handled["action"] == "已电话督促"
    assert datetime.fromisoformat(handled["handled_at"]) == NOW - HOUR

    # All states, a page at a time; and a period (the last 30 days) for list and counts.
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"state": "all", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await get(system, h, "escalations", **params)
        seen += [e["task_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e_fresh, e_handled, e_open, e_other, e_cancelled, e_old]
    body = await get(
        system, h, "escalations", state="all", **{"from": shanghai_day(-29).isoformat()}
    )
    assert [e["task_id"] for e in body["items"]] == [
        e_fresh,
        e_handled,
        e_open,
        e_other,
        e_cancelled,
    ]
    assert body["counts"] == {"opened": 5, "open": 3, "handled": 1, "cancelled": 1}
    # A district supervisor: their district's only; a drill-down to the county.
    body = await get(system, region.headers["supervisor_b"], "escalations", state="all")
    assert [e["task_id"] for e in body["items"]] == [e_other]
    body = await get(system, h, "escalations", state="all", jurisdiction=region.codes["county_a"])
    assert e_handled not in [e["task_id"] for e in body["items"]]
    assert body["counts"]["opened"] == 4
    # A cursor of another list is refused.
    r = await system.http.get(
        f"{BASE}/breaches", headers=h, params={"cursor": encode_cursor("escalations", NOW, "x")}
    )
    problem(r, 422, "bad-cursor")


# --- identification deadlines ----------------------------------------------------------------


async def test_identification_deadline_hit_rate_at_the_shanghai_day_boundary(
    system: System,
) -> None:
    region = await system.make_region()
    codes = region.codes
    d = shanghai_day(-5)
    end = deadline_end(d)  # 00:00 of the next day, Shanghai (16:00 UTC of d)
    assert end == datetime.combine(d, datetime.min.time(), tzinfo=UTC) + 16 * HOUR
    us = timedelta(microseconds=1)
    cases = [
        # street_a1: on time at the last microsecond; late at the end instant; late half an
        # hour after Shanghai midnight although it is still day d in UTC.
        ("street_a1", d, {"identified_at": end - us}),
        ("street_a1", d, {"identified_at": end}),
        ("street_a1", d, {"closed_at": end + 30 * timedelta(minutes=1)}),
        # street_a2: closed (refused) early on day d in Shanghai (day d-1 in UTC): on time;
        # identified on time and closed later (exit): the identification counts.
        ("street_a2", d, {"closed_at": start_of_day(d) + 7 * HOUR}),
        ("street_a2", d, {"identified_at": end - HOUR, "closed_at": end + 5 * DAY}),
        # Pending: the deadline day was yesterday (past) or is today (within).
        ("street_a2", shanghai_day(-1), {}),
        ("street_a1", shanghai_day(0), {}),
        ("street_a1", shanghai_day(3), {}),
        # At the county itself, and in the other district.
        ("county_a", d, {"closed_at": end - DAY}),
        ("street_b1", d, {"identified_at": end + DAY}),
        # Outside the period, and without a deadline (not accepted): not counted.
        ("street_a1", d - timedelta(days=40), {}),
        ("street_a1", None, {"closed_at": end}),
    ]
    for place, deadline, fields in cases:
        await add_case(system, region, place, deadline, **fields)
    params = {"from": (d - timedelta(days=10)).isoformat(), "to": shanghai_day(5).isoformat()}

    def figures(row: dict[str, Any]) -> tuple[Any, ...]:
        keys = ("cases", "concluded", "on_time", "late", "pending_overdue", "pending_within")
        return (row["code"], *(row[k] for k in keys), row["on_time_rate"])

    body = await get(system, region.headers["supervisor"], "identification-deadlines", **params)
    assert [figures(r) for r in body["districts"]] == [
        (codes["county_a"], 9, 6, 4, 2, 1, 2, 0.6667),
        (codes["county_b"], 1, 1, 0, 1, 0, 0, 0.0),
    ]
    assert [figures(r) for r in body["children"]] == [figures(r) for r in body["districts"]]
    assert figures(body["total"]) == (None, 10, 7, 4, 3, 1, 2, 0.5714)

    # A district supervisor's view: their district, and by street (the county's own case
    # first).
    body = await get(
        system,
        region.headers["supervisor"],
        "identification-deadlines",
        jurisdiction=codes["county_a"],
        **params,
    )
    assert [figures(r) for r in body["districts"]] == [
        (codes["county_a"], 9, 6, 4, 2, 1, 2, 0.6667)
    ]
    assert [figures(r) for r in body["children"]] == [
        (codes["county_a"], 1, 1, 1, 0, 0, 0, 1.0),
        (codes["street_a1"], 5, 3, 1, 2, 0, 2, 0.3333),
        (codes["street_a2"], 3, 2, 2, 0, 1, 0, 1.0),
    ]
    body = await get(system, region.headers["supervisor_b"], "identification-deadlines", **params)
    assert [figures(r) for r in body["districts"]] == [(codes["county_b"], 1, 1, 0, 1, 0, 0, 0.0)]
    assert [figures(r) for r in body["children"]] == [(codes["street_b1"], 1, 1, 0, 1, 0, 0, 0.0)]
    # A period with nothing in it: no rate.
    body = await get(
        system,
        region.headers["supervisor_b"],
        "identification-deadlines",
        **{"from": "2001-01-01", "to": "2001-01-31"},
    )
    assert body["total"]["cases"] == 0 and body["total"]["on_time_rate"] is None


# --- breach records --------------------------------------------------------------------------


async def test_breach_filters(system: System) -> None:
    region = await system.make_region()
    codes = region.codes
    b_a = await add_breach(system, region, "county_a", NOW - HOUR)
    b_city = await add_breach(
        system,
        region,
        "city",
        NOW - 2 * HOUR,
        clock="identification_deadline",
        event="past_deadline",
        level=2,
    )
    b_old = await add_breach(system, region, "county_a", NOW - 40 * DAY, clock="task:review")
    b_b = await add_breach(system, region, "county_b", NOW - 3 * HOUR)

    async def ids(headers: dict[str, str], **params: Any) -> list[int]:
        return [b["id"] for b in (await get(system, headers, "breaches", **params))["items"]]

    h = region.headers["supervisor"]
    assert await ids(h) == [b_a, b_city, b_b, b_old]
    assert await ids(h, **{"from": shanghai_day(-29).isoformat()}) == [b_a, b_city, b_b]
    assert await ids(h, to=shanghai_day(-30).isoformat()) == [b_old]
    assert await ids(h, clock="task:review") == [b_old]
    assert await ids(h, event="past_deadline") == [b_city]
    assert await ids(h, jurisdiction=codes["county_a"]) == [b_a, b_old]
    assert await ids(h, jurisdiction=codes["street_a1"]) == []
    assert await ids(region.headers["supervisor_b"]) == [b_b]
    body = await get(system, h, "breaches", limit=1)
    [item] = body["items"]
    assert item["jurisdiction_code"] == codes["county_a"] and item["case_id"] == region.case_id
    assert item["clock"] == "task:acceptance" and item["level"] == 1
    assert body["next_cursor"]


async def test_breach_pages_never_skip_or_repeat_while_records_are_added(system: System) -> None:
    region = await system.make_region()
    originals = [
        await add_breach(system, region, "county_a", NOW - DAY - timedelta(minutes=10 * i))
        for i in range(20)
    ]
    # Records sharing one instant are ordered by id.
    same = NOW - DAY - timedelta(minutes=45)
    originals += [await add_breach(system, region, "county_a", same) for _ in range(4)]
    h = region.headers["supervisor"]
    seen: list[int] = []
    cursor = None
    step = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = await get(system, h, "breaches", **params)
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # Between pages, records arrive newer than everything (never shown: the walk is
        # past them), at the last row's instant, and older than everything (shown later).
        step += 1
        last_at = datetime.fromisoformat(page["items"][-1]["at"])
        await add_breach(system, region, "county_a", NOW - timedelta(minutes=step))
        await add_breach(system, region, "county_a", last_at)
        await add_breach(system, region, "county_a", NOW - 10 * DAY - timedelta(minutes=step))
    assert len(seen) == len(set(seen)), "a record was repeated"
    assert set(originals) <= set(seen), "a record was skipped"
    # Newest first; records of one instant by id, the newest first.
    assert [i for i in seen if i in originals] == [
        *originals[:5],
        *sorted(originals[20:], reverse=True),
        *originals[5:20],
    ]
    assert len(seen) - len(originals) == step  # the older ones added meanwhile


async def test_no_parameter_value_makes_a_server_error(system: System) -> None:
    """Whatever the query string holds, the answer is 2xx or a 4xx problem, never a 500."""
    region = await system.make_region()
    h = region.headers["supervisor"]
    nasty = [
        "",
        " ",
        "0",
        "-1",
        "9" * 30,
        "1e308",
        "null",
        "2024-02-30",
        "0001-01-01",
        "9999-12-31T23:59:59+14:00",
        "../../etc",
        "%00",
        "测试",
        "' OR 1=1 --",
        "x" * 500,
        encode_cursor("breaches", datetime(1, 1, 1, tzinfo=UTC), 2**70),
        encode_cursor("escalations", datetime(9999, 12, 31, tzinfo=UTC), "y" * 300),
    ]
    params = (
        "from",
        "to",
        "jurisdiction",
        "group_by",
        "by",
        "oldest",
        "state",
        "clock",
        "event",
        "cursor",
        "limit",
    )
    for path in ENDPOINTS:
        for name in params:
            for value in nasty:
                r = await system.http.get(f"{BASE}/{path}", headers=h, params={name: value})
                assert r.status_code < 500, (path, name, value, r.text)
                if r.status_code >= 400:
                    assert r.headers["content-type"].startswith("application/problem+json")


# --- the headline ---------------------------------------------------------------------------


async def test_headline_counts_cases_waiting_with_no_task(system: System) -> None:
    """Cases in publicity and waiting for a supplement count by their stored stage, although
    no task stands for them; tasks give overdue and at risk; breaches are the period's."""
    region, tasks = await overview_region(system)
    h = region.headers["supervisor"]
    # The region's own case (accepted, stored without a stage) holds the region's tasks.
    publicity = [
        await add_case(
            system, region, place, shanghai_day(5), status="in_publicity", stage="publicity"
        )
        for place in ("street_a1", "street_b1")
    ]
    supplement = await add_case(
        system,
        region,
        "street_a2",
        shanghai_day(-1),
        status="awaiting_materials",
        stage="supplement",
    )
    await set_task(system, tasks["c"], case_id=supplement)
    # Decided and closed cases are not in identification.
    await add_case(
        system,
        region,
        "street_a1",
        shanghai_day(3),
        identified_at=NOW - DAY,
        status="identified",
        stage="identified",
    )
    body = await get(system, h, "headline")
    assert body["place"]["code"] == region.codes["city"]
    assert (body["overdue"], body["past_deadline"], body["at_risk"], body["breaches"]) == (
        2,
        1,
        1,
        3,
    )
    stages = [
        (
            s["stage"],
            s["name"],
            s["cases"],
            s["with_task"],
            s["waiting"],
            s["waits_on"],
            s["past_deadline"],
        )
        for s in body["stages"]
    ]
    assert stages == [
        ("supplement", "补充材料", 1, 1, 0, "applicant", 1),
        ("publicity", "公示", 2, 0, 2, "clock", 0),
        ("accepted", "已受理", 1, 1, 0, None, 0),
    ]
    assert (body["open_cases"], body["cases_waiting"], body["cases_past_deadline"]) == (4, 2, 1)

    # A district supervisor: their district only (one case in publicity, no tasks there
    # but the one of county_b).
    body = await get(system, region.headers["supervisor_b"], "headline")
    assert [(s["stage"], s["cases"], s["waiting"]) for s in body["stages"]] == [("publicity", 1, 1)]
    assert body["open_cases"] == 1

    # The list behind a stage's figure: the two cases in publicity, scoped.
    listed = await get(system, h, "cases", which="stage", stage="publicity")
    assert sorted(c["case_id"] for c in listed["items"]) == sorted(publicity)
    assert {c["stage_name"] for c in listed["items"]} == {"公示"}
    assert not any(c["has_open_task"] for c in listed["items"])
    listed = await get(
        system, region.headers["supervisor_b"], "cases", which="stage", stage="publicity"
    )
    assert [c["case_id"] for c in listed["items"]] == [publicity[1]]
    listed = await get(system, h, "cases", which="past_deadline")
    assert [c["case_id"] for c in listed["items"]] == [supplement]
    # Each open case carries its current clock field (null here: rows without a timeline).
    assert "clock" in listed["items"][0]
    # A stage list without a stage is refused precisely.
    r = await system.http.get(f"{BASE}/cases", headers=h, params={"which": "stage"})
    assert problem(r, 422, "validation-error")["errors"][0]["field"] == "query.stage"


async def test_headline_on_time_rate_of_the_decisions_in_the_period(system: System) -> None:
    """Identified or refused within the deadline's last day (Shanghai) is on time; the rate is
    over the cases decided in the period; withdrawn cases and pending ones are not decided."""
    region = await system.make_region()
    h = region.headers["supervisor"]
    today = shanghai_day(0)
    last_day_end = deadline_end(today - 2 * DAY)
    on_time = await add_case(
        system,
        region,
        "street_a1",
        today - 2 * DAY,
        identified_at=last_day_end - timedelta(minutes=1),
        status="identified",
        stage="identified",
    )
    await add_case(
        system,
        region,
        "street_a1",
        today - 2 * DAY,
        identified_at=last_day_end,
        status="enrolled",
        stage="assistance",
    )  # late
    refused = await add_case(
        system,
        region,
        "street_b1",
        today + 3 * DAY,
        closed_at=NOW - HOUR,
        status="refused",
        stage="closed",
    )
    await add_case(
        system,
        region,
        "street_a1",
        today - 2 * DAY,
        closed_at=NOW - HOUR,
        status="withdrawn",
        stage="closed",
    )  # not a decision
    await add_case(
        system,
        region,
        "street_a1",
        None,
        identified_at=NOW - HOUR,
        status="identified",
        stage="identified",
    )  # no deadline stored
    await add_case(
        system,
        region,
        "street_a1",
        today - 5 * DAY,
        identified_at=NOW - 90 * DAY,
        status="identified",
    )  # before the period
    body = await get(system, h, "headline")
    assert body["identification"] == {
        "decided": 4,
        "on_time": 2,
        "late": 1,
        "without_deadline": 1,
        "rate": 0.6667,
    }
    body = await get(system, region.headers["supervisor_b"], "headline")
    assert body["identification"]["on_time"] == 1
    assert body["identification"]["rate"] == 1.0
    # A period without decisions has no rate (not 0%).
    early = (today - 200 * DAY).isoformat()
    body = await get(system, h, "headline", **{"from": early, "to": early})
    assert body["identification"] == {
        "decided": 0,
        "on_time": 0,
        "late": 0,
        "without_deadline": 0,
        "rate": None,
    }
    listed = await get(system, h, "cases", which="decided")
    assert len(listed["items"]) == 4
    flags = {c["case_id"]: c["on_time"] for c in listed["items"]}
    assert flags[on_time] is True and flags[refused] is True


def test_the_headline_is_documented(system: System) -> None:
    """Integrators read the headline's figures from the OpenAPI document."""
    doc = system.http._transport.app.openapi()  # type: ignore[attr-defined]
    op = doc["paths"]["/api/v1/supervision/headline"]["get"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HeadlineOut"
    }
    fields = doc["components"]["schemas"]["HeadlineOut"]["properties"]
    for name in ("overdue", "at_risk", "breaches", "identification", "stages", "open_cases"):
        assert name in fields, name
    assert "waits_on" in doc["components"]["schemas"]["StageOut"]["properties"]
    assert {p["name"] for p in doc["paths"]["/api/v1/supervision/cases"]["get"]["parameters"]} >= {
        "which",
        "stage",
        "jurisdiction",
        "from",
        "to",
    }
