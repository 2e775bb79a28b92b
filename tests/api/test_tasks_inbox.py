"""The task inbox API on SQLite and PostgreSQL: views and filters, keyset pagination (also
while tasks are added), 404 for everything outside one's subtree, claims, reassign / return,
bulk actions, next task, comments, saved filters and counts.

Tasks here are rows inserted directly (no workflow behind them) in a jurisdiction tree of the
test's own (:meth:`tests.system.System.make_region`), so tests sharing the database never see
each other's tasks. Completion through real workflows is in test_tasks_concurrency.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from store import tasks_repo
from tests.problems import problem
from tests.system import System

NOW = datetime.now(UTC)


def ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


async def listing(system: System, headers: dict[str, str], **params: Any) -> list[str]:
    return ids(await system.http.get("/api/v1/tasks", headers=headers, params=params))


async def test_views(system: System) -> None:
    region = await system.make_region()
    day = timedelta(days=1)
    [mine, group, sibling, reviewer_task, breached, at_risk, done] = await system.insert_tasks(
        region,
        [
            {"assignee": "officer", "due_at": NOW + 5 * day},
            {"due_at": NOW + 4 * day},
            {"place": "street_a2", "due_at": NOW + 3 * day},
            {"place": "county_a", "role": "county_reviewer", "due_at": NOW + 6 * day},
            {"due_at": NOW - day},
            {"due_at": NOW + day / 2, "at_risk_at": NOW - day / 2},
            {"state": "completed", "assignee": "officer"},
        ],
    )
    officer, reviewer = region.headers["officer"], region.headers["reviewer"]
    supervisor = region.headers["supervisor"]

    assert await listing(system, officer, view="mine") == [mine]
    assert await listing(system, officer, view="mine", state="completed") == [done]
    # Group: my role, unassigned, in my subtree (not the sibling street's, not the county's).
    assert await listing(system, officer, view="group") == [breached, at_risk, group]
    # Scope, the default: everything open in my subtree, soonest due first.
    assert await listing(system, officer) == [breached, at_risk, group, mine]
    assert await listing(system, officer, view="at_risk") == [at_risk]
    assert await listing(system, officer, view="breached") == [breached]
    assert await listing(system, reviewer, view="group") == [reviewer_task]
    assert await listing(system, reviewer) == [
        breached,
        at_risk,
        sibling,
        group,
        mine,
        reviewer_task,
    ]
    assert await listing(system, supervisor, view="group") == []
    assert await listing(system, supervisor, view="breached") == [breached]

    r = await system.http.get(
        "/api/v1/tasks", headers=officer, params={"view": "group", "state": "completed"}
    )
    problem(r, 422, "validation-error")
    r = await system.http.get("/api/v1/tasks", headers=officer, params={"view": "nobody"})
    problem(r, 422, "validation-error")

    # The SLA state shown agrees with the views.
    r = await system.http.get("/api/v1/tasks", headers=officer)
    states = {t["id"]: t["sla_state"] for t in r.json()["items"]}
    assert states[breached] == "breached" and states[at_risk] == "at_risk"
    assert states[group] == "on_track"
    mine_item = next(t for t in r.json()["items"] if t["id"] == mine)
    assert mine_item["assignee_name"] == f"officer@{region.n}"


async def test_filters(system: System) -> None:
    region = await system.make_region()
    day = timedelta(days=1)
    [a, b, c, d] = await system.insert_tasks(
        region,
        [
            {"kind": "acceptance", "name": "王小明", "last4": "123X", "due_at": NOW + day},
            {"kind": "review", "name": "李小红", "last4": "5678", "due_at": NOW + 2 * day},
            {
                "kind": "review",
                "name": "王%_芳",
                "category": "older_unemployed",
                "policy": "other-pack",
                "due_at": NOW + 3 * day,
            },
            {"kind": "acceptance", "name": "赵六", "priority": 8, "due_at": NOW + 4 * day},
        ],
    )
    h = region.headers["officer"]
    assert await listing(system, h, kind="review") == [b, c]
    assert await listing(system, h, q="王") == [a, c]
    assert await listing(system, h, q="%_") == [c]  # LIKE wildcards are literal
    assert await listing(system, h, q="123x") == [a]  # the last characters of the ID number
    assert await listing(system, h, q="5678") == [b]
    assert await listing(system, h, category="older_unemployed") == [c]
    assert await listing(system, h, policy="other-pack") == [c]
    lo, hi = (NOW + day + timedelta(hours=1)).isoformat(), (NOW + 3 * day).isoformat()
    assert await listing(system, h, due_from=lo, due_to=hi) == [b, c]
    # A due bound without an offset is Shanghai time.
    naive = (NOW + 3 * day + timedelta(hours=8)).replace(tzinfo=None).isoformat()
    assert await listing(system, h, due_to=naive) == [a, b, c]
    r = await system.http.get("/api/v1/tasks", headers=h, params={"due_from": hi, "due_to": lo})
    problem(r, 422, "validation-error")
    assert await listing(system, h, sort="priority") == [d, a, b, c]
    assert await listing(system, h, sort="priority", kind="acceptance", limit=1) == [d]


async def test_jurisdiction_narrows_the_list_inside_the_callers_subtree(system: System) -> None:
    """The dashboard's drill-down: ``jurisdiction`` keeps the tasks at or under a place of the
    caller's subtree; a place outside it is 404, like any object out of scope."""
    region = await system.make_region()
    [a1, a2, b1] = await system.insert_tasks(
        region, [{"place": "street_a1"}, {"place": "street_a2"}, {"place": "street_b1"}]
    )
    sup, c = region.headers["supervisor"], region.codes
    assert set(await listing(system, sup, view="scope")) >= {a1, a2, b1}
    assert set(await listing(system, sup, jurisdiction=c["county_a"])) >= {a1, a2}
    assert b1 not in await listing(system, sup, jurisdiction=c["county_a"])
    assert await listing(system, sup, jurisdiction=c["street_a2"]) == [a2]
    r = await system.http.get(
        "/api/v1/tasks",
        headers=region.headers["supervisor_b"],
        params={"jurisdiction": c["county_a"]},
    )
    problem(r, 404, "not-found")
    r = await system.http.get("/api/v1/tasks", headers=sup, params={"jurisdiction": "x y"})
    problem(r, 422, "validation-error")


async def test_keyset_pages_and_cursors(system: System) -> None:
    region = await system.make_region()
    same_due = NOW + timedelta(days=2)
    specs: list[dict[str, Any]] = [{"due_at": same_due} for _ in range(5)]
    specs += [{"due_at": NOW + timedelta(hours=i), "priority": (0, 5, 9)[i % 3]} for i in range(9)]
    await system.insert_tasks(region, specs)
    h = region.headers["officer"]
    for sort in ("due", "priority"):
        everything = await listing(system, h, sort=sort, limit=200)
        assert len(everything) == 14
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 4}
            if cursor:
                params["cursor"] = cursor
            r = await system.http.get("/api/v1/tasks", headers=h, params=params)
            seen += ids(r)
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == everything

    r = await system.http.get("/api/v1/tasks", headers=h, params={"limit": 2})
    due_cursor = r.json()["next_cursor"]
    r = await system.http.get(
        "/api/v1/tasks", headers=h, params={"sort": "priority", "cursor": due_cursor}
    )
    body = problem(r, 422, "bad-cursor")
    assert "sort=due" in body["detail"]
    for bad in ("not-a-cursor", "e30", "eyJzIjoiZHVlIiwiayI6WzFdfQ"):
        r = await system.http.get("/api/v1/tasks", headers=h, params={"cursor": bad})
        problem(r, 422, "bad-cursor")


async def test_pagination_never_skips_or_repeats_while_tasks_are_added(system: System) -> None:
    region = await system.make_region()
    base = NOW + timedelta(days=1)
    originals = await system.insert_tasks(
        region, [{"due_at": base + timedelta(minutes=10 * i)} for i in range(40)]
    )
    h = region.headers["officer"]
    seen: list[str] = []
    added_after: list[str] = []
    cursor = None
    step = 0
    while True:
        params: dict[str, Any] = {"limit": 6}
        if cursor:
            params["cursor"] = cursor
        r = await system.http.get("/api/v1/tasks", headers=h, params=params)
        page = r.json()["items"]
        seen += [t["id"] for t in page]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
        # Between pages, tasks arrive due before the page's end (never shown: already passed),
        # exactly at the cursor's due instant, and after it (shown later).
        last_due = datetime.fromisoformat(page[-1]["due_at"])
        step += 1
        await system.insert_tasks(
            region,
            [
                {"due_at": last_due - timedelta(minutes=1)},
                {"due_at": base - timedelta(hours=step)},
            ],
        )
        added_after += await system.insert_tasks(
            region,
            [
                {"due_at": last_due},
                {"due_at": last_due + timedelta(minutes=3)},
                {"due_at": base + timedelta(days=3, minutes=step)},
            ],
        )
    assert len(seen) == len(set(seen)), "a task was repeated"
    assert set(originals) <= set(seen), "a task was skipped"
    # Ids are ordered after the cursor's id at an equal due instant only if they sort after
    # it; rows added strictly after the cursor's due instant are all seen.
    strictly_after = [t for t in added_after if t in seen]
    assert len(strictly_after) >= 2 * step


async def test_out_of_scope_is_404_on_every_endpoint(system: System) -> None:
    region = await system.make_region()
    [street_task] = await system.insert_tasks(region, [{}])
    [county_task] = await system.insert_tasks(
        region, [{"place": "county_a", "role": "grassroots_officer"}]
    )
    other = await system.login("wf_supervisor")  # another province
    cases = [
        (region.headers["officer_b"], street_task),  # a sibling district's officer
        (region.headers["supervisor_b"], street_task),  # a sibling district's supervisor
        (region.headers["officer_a2"], street_task),  # a sibling street
        (region.headers["officer"], county_task),  # the parent's task
        (other, street_task),
    ]
    for headers, task_id in cases:
        base = f"/api/v1/tasks/{task_id}"
        calls = [
            system.http.get(base, headers=headers),
            system.http.post(f"{base}/claim", headers=headers),
            system.http.post(f"{base}/unclaim", headers=headers),
            system.http.post(
                f"{base}/reassign", headers=headers, json={"user_id": region.users["officer"]}
            ),
            system.http.post(f"{base}/return", headers=headers),
            system.http.get(f"{base}/comments", headers=headers),
            system.http.post(f"{base}/comments", headers=headers, json={"body": "hi"}),
            system.http.post(
                f"{base}/complete",
                headers=headers | {"Idempotency-Key": f"oos-{task_id}-{id(headers)}"},
                json={"outcome": "approve"},
            ),
        ]
        for call in calls:
            r = await call
            body = problem(r, 404, "not-found")
            assert task_id in body["detail"]
        r = await system.http.post(
            "/api/v1/tasks/bulk/claim", headers=headers, json={"task_ids": [task_id]}
        )
        assert r.json()["results"] == [
            {"task_id": task_id, "result": "not_found", "reason": None, "holder": None}
        ]
        assert task_id not in await listing(system, headers, limit=200)
        if headers is not other:  # (next would claim a real task of the demo region)
            r = await system.http.post("/api/v1/tasks/next", headers=headers)
            assert r.status_code == 204 or r.json()["id"] != task_id, r.text
    # Bulk reassign by a supervisor of a sibling district: the task is not found.
    r = await system.http.post(
        "/api/v1/tasks/bulk/reassign",
        headers=region.headers["supervisor_b"],
        json={"task_ids": [street_task], "user_id": region.users["officer_b"]},
    )
    assert r.json()["results"][0]["result"] == "not_found"


async def test_claim_unclaim_and_complete_rules(system: System) -> None:
    region = await system.make_region()
    [task] = await system.insert_tasks(region, [{}])
    url = f"/api/v1/tasks/{task}"
    h = region.headers
    # In scope but not in the task's group (another role): 403.
    for who in ("reviewer", "supervisor", "county_officer"):
        r = await system.http.post(f"{url}/claim", headers=h[who])
        if who == "county_officer":  # same role, the street is in the county: a member
            assert r.status_code == 200, r.text
            r = await system.http.post(f"{url}/unclaim", headers=h[who])
            assert r.status_code == 200 and r.json()["assignee_id"] is None
        else:
            problem(r, 403, "actor-not-allowed")

    r = await system.http.post(f"{url}/claim", headers=h["officer"])
    assert r.status_code == 200 and r.json()["assignee_id"] == region.users["officer"]
    version = r.json()["version"]
    r = await system.http.post(f"{url}/claim", headers=h["officer"])  # mine already: no-op
    assert r.status_code == 200 and r.json()["version"] == version
    r = await system.http.post(f"{url}/claim", headers=h["officer2"])
    body = problem(r, 409, "task-claimed")
    assert body["holder"] == {"id": region.users["officer"], "display_name": f"officer@{region.n}"}
    # Completing a task someone else holds: 409 before anything reaches the workflow.
    r = await system.http.post(
        f"{url}/complete",
        headers=h["officer2"] | {"Idempotency-Key": f"claimed-{task}"},
        json={"outcome": "approve"},
    )
    problem(r, 409, "task-claimed")
    r = await system.http.post(f"{url}/unclaim", headers=h["officer2"])
    problem(r, 403, "actor-not-allowed")
    r = await system.http.post(f"{url}/unclaim", headers=h["supervisor"])
    assert r.status_code == 200 and r.json()["assignee_id"] is None
    r = await system.http.post(f"{url}/unclaim", headers=h["officer2"])  # nothing to release
    assert r.status_code == 200
    r = await system.http.post(f"{url}/claim", headers=h["officer2"])
    assert r.status_code == 200 and r.json()["version"] > version

    [closed] = await system.insert_tasks(region, [{"state": "completed"}])
    r = await system.http.post(f"/api/v1/tasks/{closed}/claim", headers=h["officer"])
    problem(r, 409, "task-closed")


async def test_reassign_and_return_by_supervisors(system: System) -> None:
    region = await system.make_region()
    [task] = await system.insert_tasks(region, [{"assignee": "officer"}])
    url = f"/api/v1/tasks/{task}"
    h, users = region.headers, region.users
    for who in ("officer", "officer2", "reviewer"):
        r = await system.http.post(
            f"{url}/reassign", headers=h[who], json={"user_id": users["officer2"]}
        )
        problem(r, 403, "actor-not-allowed")
        r = await system.http.post(f"{url}/return", headers=h[who])
        problem(r, 403, "actor-not-allowed")

    r = await system.http.post(
        f"{url}/reassign", headers=h["supervisor"], json={"user_id": users["officer2"]}
    )
    assert r.status_code == 200 and r.json()["assignee_id"] == users["officer2"]
    assert r.json()["assignee_name"] == f"officer2@{region.n}"
    # Not in the task's group: another role, a sibling street, unknown, outside the subtree.
    for target in (users["reviewer"], users["officer_a2"], users["officer_b"], 10**9):
        r = await system.http.post(
            f"{url}/reassign", headers=h["supervisor"], json={"user_id": target}
        )
        problem(r, 422, "bad-assignee")
    r = await system.http.post(f"{url}/return", headers=h["supervisor"])
    assert r.status_code == 200 and r.json()["assignee_id"] is None
    assert task in await listing(system, h["officer"], view="group")
    r = await system.http.post(f"{url}/return", headers=h["supervisor"])  # already: no-op
    assert r.status_code == 200
    # The admin (whole country) is a supervisor too.
    r = await system.http.post(
        f"{url}/reassign", headers=await system.login("admin"), json={"user_id": users["officer"]}
    )
    assert r.status_code == 200 and r.json()["assignee_id"] == users["officer"]


async def test_bulk_claim_and_reassign(system: System) -> None:
    region = await system.make_region()
    h, users = region.headers, region.users
    [free, held, closed, foreign, not_mine] = await system.insert_tasks(
        region,
        [
            {},
            {"assignee": "officer2"},
            {"state": "completed"},
            {"place": "street_b1"},
            {"place": "county_a", "role": "county_reviewer"},
        ],
    )
    r = await system.http.post(
        "/api/v1/tasks/bulk/claim",
        headers=h["officer"],
        json={"task_ids": [held, free, closed, foreign, "nope", free]},
    )
    assert r.status_code == 200, r.text
    results = {x["task_id"]: x for x in r.json()["results"]}
    assert [x["task_id"] for x in r.json()["results"]] == [held, free, closed, foreign, "nope"]
    assert results[free]["result"] == "claimed"
    assert results[held]["result"] == "conflict"
    assert results[held]["holder"]["id"] == users["officer2"]
    assert (results[closed]["result"], results[closed]["reason"]) == (
        "conflict",
        "/problems/task-closed",
    )
    assert results[foreign]["result"] == "not_found" and results["nope"]["result"] == "not_found"
    r = await system.http.post(
        "/api/v1/tasks/bulk/claim", headers=h["reviewer"], json={"task_ids": [not_mine, free]}
    )
    results = {x["task_id"]: x for x in r.json()["results"]}
    assert results[not_mine]["result"] == "claimed"
    assert results[free]["result"] == "not_allowed"

    body = {"task_ids": [free, held, not_mine, foreign], "user_id": users["officer2"]}
    r = await system.http.post("/api/v1/tasks/bulk/reassign", headers=h["officer"], json=body)
    problem(r, 403, "actor-not-allowed")
    r = await system.http.post("/api/v1/tasks/bulk/reassign", headers=h["supervisor"], json=body)
    results = {x["task_id"]: x["result"] for x in r.json()["results"]}
    assert results == {
        free: "reassigned",
        held: "reassigned",  # already theirs
        not_mine: "not_allowed",  # officer2 is not in a county reviewer task's group
        foreign: "not_allowed",  # in the supervisor's city, not in officer2's street
    }
    r = await system.http.post(
        "/api/v1/tasks/bulk/reassign",
        headers=h["supervisor_b"],
        json={"task_ids": [foreign], "user_id": users["officer"]},
    )
    problem(r, 422, "bad-assignee")  # officer is outside county_b
    r = await system.http.post(
        "/api/v1/tasks/bulk/claim", headers=h["officer"], json={"task_ids": []}
    )
    problem(r, 422, "validation-error")


async def test_next_takes_the_most_urgent_of_my_groups(system: System) -> None:
    region = await system.make_region()
    day = timedelta(days=1)
    [late, urgent, soon, _other_role, _held] = await system.insert_tasks(
        region,
        [
            {"due_at": NOW + 3 * day},
            {"due_at": NOW + 5 * day, "priority": 8},
            {"due_at": NOW + day},
            {"place": "county_a", "role": "county_reviewer", "priority": 9},
            {"assignee": "officer2", "priority": 9},
        ],
    )
    h = region.headers["officer"]
    got = []
    for _ in range(3):
        r = await system.http.post("/api/v1/tasks/next", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["assignee_id"] == region.users["officer"]
        got.append(r.json()["id"])
    assert got == [urgent, soon, late]
    r = await system.http.post("/api/v1/tasks/next", headers=h)
    assert r.status_code == 204 and r.content == b""
    assert await listing(system, h, view="mine") == [soon, late, urgent]


async def test_comments(system: System) -> None:
    region = await system.make_region()
    [task] = await system.insert_tasks(region, [{}])
    url = f"/api/v1/tasks/{task}/comments"
    h = region.headers
    markup = '<script>alert("x")</script> & 申请人已电话联系'
    r = await system.http.post(url, headers=h["officer"], json={"body": markup})
    assert r.status_code == 201, r.text
    assert r.json()["body"] == markup and r.json()["author"] == f"officer@{region.n}"
    r = await system.http.post(url, headers=h["supervisor"], json={"body": "请尽快办理"})
    assert r.status_code == 201
    r = await system.http.get(url, headers=h["reviewer"])
    assert [(c["body"], c["user_id"]) for c in r.json()] == [
        (markup, region.users["officer"]),
        ("请尽快办理", region.users["supervisor"]),
    ]
    r = await system.http.post(url, headers=h["officer"], json={"body": "长" * 2000})
    assert r.status_code == 201
    r = await system.http.post(url, headers=h["officer"], json={"body": "长" * 2001})
    problem(r, 422, "validation-error")
    r = await system.http.post(url, headers=h["officer"], json={"body": "  \n "})
    problem(r, 422, "validation-error")


async def _filter(
    system: System, headers: dict[str, str], name: str, query: Any, shared: bool = False
) -> httpx.Response:
    return await system.http.post(
        "/api/v1/filters",
        headers=headers,
        json={"name": name, "query": query, "shared_with_group": shared},
    )


async def test_saved_filters_and_sharing(system: System) -> None:
    region = await system.make_region()
    h = region.headers
    r = await _filter(system, h["officer"], "我的临期", {"view": "at_risk", "kind": "review"})
    assert r.status_code == 201, r.text
    private = r.json()
    assert private["query"] == {"view": "at_risk", "kind": "review"}
    assert not private["shared_with_group"]
    r = await _filter(system, h["officer"], "本街道超时", {"view": "breached"}, shared=True)
    shared = r.json()
    assert shared["shared_role"] == "grassroots_officer"
    assert shared["shared_path"] == region.paths["street_a1"]

    async def names(who: str) -> list[str]:
        r = await system.http.get("/api/v1/filters", headers=h[who])
        assert r.status_code == 200, r.text
        return [f["name"] for f in r.json()]

    assert await names("officer") == sorted(["我的临期", "本街道超时"])
    assert await names("officer2") == ["本街道超时"]  # same group
    assert await names("county_officer") == ["本街道超时"]  # same role, street in subtree
    for outsider in ("officer_a2", "officer_b", "reviewer", "supervisor"):
        assert await names(outsider) == []

    # Validated against the list's parameters; names are unique per owner.
    for bad in ({"view": "nobody"}, {"limit": 0}, {"cursor": "x"}, {"colour": "red"}):
        r = await _filter(system, h["officer"], "bad", bad)
        problem(r, 422, "validation-error")
    r = await _filter(system, h["officer"], "我的临期", {})
    problem(r, 409, "filter-name-taken")
    r = await _filter(system, h["officer2"], "我的临期", {})
    assert r.status_code == 201

    # Only the owner deletes; someone who cannot see it gets 404.
    r = await system.http.delete(f"/api/v1/filters/{shared['id']}", headers=h["officer2"])
    problem(r, 403, "not-owner")
    r = await system.http.delete(f"/api/v1/filters/{shared['id']}", headers=h["officer_b"])
    problem(r, 404, "not-found")
    r = await system.http.delete(f"/api/v1/filters/{shared['id']}", headers=h["officer"])
    assert r.status_code == 204
    assert await names("officer2") == ["我的临期"]


async def test_counts(system: System) -> None:
    region = await system.make_region()
    day = timedelta(days=1)
    await system.insert_tasks(
        region,
        [
            {"assignee": "officer"},
            {"assignee": "officer", "due_at": NOW - day},
            {},
            {"due_at": NOW + day / 2, "at_risk_at": NOW - day / 2},
            {"place": "street_a2"},
            {"place": "county_a", "role": "county_reviewer", "due_at": NOW - day},
            {"state": "completed"},
        ],
    )
    r = await system.http.get("/api/v1/tasks/counts", headers=region.headers["officer"])
    assert r.json() == {"mine": 2, "group": 2, "scope": 4, "at_risk": 1, "breached": 1, "cap": 1000}
    r = await system.http.get("/api/v1/tasks/counts", headers=region.headers["reviewer"])
    assert r.json() == {"mine": 0, "group": 1, "scope": 6, "at_risk": 1, "breached": 2, "cap": 1000}
    r = await system.http.get(
        "/api/v1/tasks/counts", headers=region.headers["supervisor"], params={"cap": 3}
    )
    assert r.json() == {"mine": 0, "group": 0, "scope": 3, "at_risk": 1, "breached": 2, "cap": 3}


async def test_sqlite_plans_follow_the_inbox_indexes(system: System) -> None:
    """The index design, checked where it is decided by the code: SQLite without statistics
    (PostgreSQL's planner chooses from its statistics). Large subtrees walk a sort-key index
    and never sort; small ones range over the path."""
    if not system.settings.effective_database_url.startswith("sqlite"):
        pytest.skip("SQLite query plans (PostgreSQL's depend on its statistics)")
    region = await system.make_region()
    viewer = tasks_repo.Viewer(region.users["reviewer"], "county_reviewer", region.paths["city"])
    expected = {
        "scope": "ix_tasks_due",
        "at_risk": "ix_tasks_due",
        "breached": "ix_tasks_due",
        "group": "ix_tasks_group",
        "mine": "ix_tasks_assignee",
    }
    cases = [(tasks_repo.TaskFilter(view=v), None, index) for v, index in expected.items()]
    cases += [
        (tasks_repo.TaskFilter(id_last4="1234"), None, "ix_tasks_last4"),
        (tasks_repo.TaskFilter(), 5, "ix_tasks_priority"),
        (tasks_repo.TaskFilter(view="group"), 5, "ix_tasks_group_next"),
    ]
    async with system.sessions()() as session:
        for flt, level, index in cases:
            for plan in (tasks_repo.SORT_FIRST, tasks_repo.PATH_FIRST):
                conds = tasks_repo.view_conditions(viewer, flt, NOW, plan)
                if level is not None:
                    conds.append(plan.priority() == level)
                after = (NOW, "x")
                q = tasks_repo.page_statement(plan, conds, after, 50)
                sql = str(q.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
                rows = (await session.execute(text("EXPLAIN QUERY PLAN " + sql))).all()
                detail = " ; ".join(str(r[3]) for r in rows)
                if plan is tasks_repo.SORT_FIRST:
                    assert f"INDEX {index} " in detail, (flt, detail)
                    assert "TEMP B-TREE" not in detail, (flt, detail)
                elif flt.view != "mine" and not flt.id_last4:
                    assert "INDEX ix_tasks_inbox " in detail, (flt, detail)
