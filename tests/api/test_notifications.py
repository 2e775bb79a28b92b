"""The notifications API (通知) on SQLite and PostgreSQL: who sees a notification (the user it
is addressed to, or the members of its group now — not a sibling street's officer, not another
role), per-user read state of group notifications, unread counts, keyset pages stable while
notifications arrive, read-all bounded by the newest one seen, idempotent and concurrent
"read", and 404 for anyone else's notification.

Notifications are rows inserted directly in a jurisdiction tree of the test's own
(:meth:`tests.system.System.make_region`), except the assignment one, written by the real
reassign endpoint (:func:`store.tasks_repo.notify_assignment`)."""

from __future__ import annotations

import asyncio
import base64
import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from store import notifications_repo
from store.models import Notification, NotificationRead
from tests.problems import problem
from tests.system import Region, System

URL = "/api/v1/notifications"
_keys = itertools.count(1)


async def add_notifications(
    system: System, region: Region, specs: list[dict[str, Any]]
) -> list[int]:
    """Insert notification rows; each spec gives ``user`` (a region user name) or ``role`` and
    ``place`` (a group), and optionally ``kind`` (reminder), ``message``, ``task_id``."""
    now = datetime.now(UTC)
    rows: list[Notification] = []
    async with system.sessions()() as session, session.begin():
        for spec in specs:
            user = spec.get("user")
            n = Notification(
                notification_key=f"test-{region.n}/{next(_keys)}",
                user_id=region.users[user] if user else None,
                recipient_role=None if user else spec.get("role", "grassroots_officer"),
                recipient_path=None if user else region.paths[spec.get("place", "street_a1")],
                kind=spec.get("kind", "reminder"),
                case_id=region.case_id,
                task_id=spec.get("task_id"),
                message=spec.get("message", "临期提醒：测试"),
                created_at=now,
            )
            session.add(n)
            rows.append(n)
            await session.flush()  # ids in insertion order
    return [n.id for n in rows]


async def listed(system: System, headers: dict[str, str], **params: Any) -> list[int]:
    r = await system.http.get(URL, headers=headers, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


async def counts(system: System, headers: dict[str, str]) -> dict[str, int]:
    r = await system.http.get(f"{URL}/counts", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, int] = r.json()
    return body


async def test_visibility_follows_user_and_group(system: System) -> None:
    region = await system.make_region()
    h = region.headers
    [group, mine, county_group, supervisors] = await add_notifications(
        system,
        region,
        [
            {"role": "grassroots_officer", "place": "street_a1"},
            {"user": "officer", "kind": "assignment"},
            {"role": "county_reviewer", "place": "county_a"},
            {"role": "supervisor", "place": "county_a", "kind": "escalation"},
        ],
    )
    assert await listed(system, h["officer"]) == [mine, group]
    assert await listed(system, h["officer2"]) == [group]
    # The county's grassroots officer is in the group: street_a1 lies inside county_a.
    assert await listed(system, h["county_officer"]) == [group]
    # A sibling street's officer, another county's, another role: not addressed to them.
    assert await listed(system, h["officer_a2"]) == []
    assert await listed(system, h["officer_b"]) == []
    assert await listed(system, h["reviewer"]) == [county_group]
    assert await listed(system, h["reviewer_b"]) == []
    assert await listed(system, h["supervisor"]) == [supervisors]
    assert await listed(system, h["supervisor_b"]) == []
    assert await listed(system, h["admin"]) == []

    # Anyone else's notification is answered like a missing one, for every action.
    for who, nid in [("officer2", mine), ("officer_a2", group), ("reviewer", group)]:
        for method, path in [
            ("GET", f"{URL}/{nid}"),
            ("POST", f"{URL}/{nid}/read"),
            ("POST", f"{URL}/{nid}/unread"),
        ]:
            r = await system.http.request(method, path, headers=h[who])
            problem(r, 404, "not-found")
    problem(await system.http.get(f"{URL}/{mine + 10**9}", headers=h["officer"]), 404, "not-found")
    # Ids that cannot exist are refused before the database (no 500 from the driver); a path
    # that cannot name anything is not found.
    for bad in ("0", str(2**63), "abc"):
        r = await system.http.post(f"{URL}/{bad}/read", headers=h["officer"])
        problem(r, 404, "not-found")
    # read-all is its own path (POST only), not a notification named "read-all"
    r = await system.http.get(f"{URL}/read-all", headers=h["officer"])
    assert problem(r, 405, "method-not-allowed") and r.headers["allow"] == "POST"
    problem(await system.http.get(URL), 401, "unauthorized")

    r = await system.http.get(f"{URL}/{group}", headers=h["officer"])
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["kind"] == "reminder" and item["kind_zh"] == "提醒"
    assert item["recipient"] == "group" and item["read"] is False and item["read_at"] is None
    assert item["case_id"] == region.case_id
    assert item["links"]["case"] == f"/api/v1/cases/{region.case_id}"
    assert item["links"]["case_page"] == f"/cases/{region.case_id}"


async def test_group_notification_is_read_by_each_member_separately(system: System) -> None:
    region = await system.make_region()
    h = region.headers
    [group] = await add_notifications(system, region, [{"kind": "reminder"}])

    r = await system.http.post(f"{URL}/{group}/read", headers=h["officer"])
    assert r.status_code == 200, r.text
    assert r.json()["read"] is True
    first_read_at = r.json()["read_at"]
    assert first_read_at is not None
    # Idempotent: a repeat succeeds and keeps the first instant.
    r = await system.http.post(f"{URL}/{group}/read", headers=h["officer"])
    assert r.status_code == 200 and r.json()["read_at"] == first_read_at

    assert await listed(system, h["officer"], unread="true") == []
    assert await listed(system, h["officer"], unread="false") == [group]
    # Still unread for the other members of the group.
    assert await listed(system, h["officer2"], unread="true") == [group]
    assert await listed(system, h["county_officer"], unread="true") == [group]
    assert (await counts(system, h["officer2"]))["total"] == 1
    assert (await counts(system, h["officer"]))["total"] == 0

    r = await system.http.post(f"{URL}/{group}/unread", headers=h["officer"])
    assert r.status_code == 200 and r.json()["read"] is False and r.json()["read_at"] is None
    r = await system.http.post(f"{URL}/{group}/unread", headers=h["officer"])
    assert r.status_code == 200 and r.json()["read"] is False
    assert await listed(system, h["officer"], unread="true") == [group]


async def test_concurrent_reads_never_fail(system: System) -> None:
    region = await system.make_region()
    [n] = await add_notifications(system, region, [{"user": "officer"}])
    responses = await asyncio.gather(
        *(system.http.post(f"{URL}/{n}/read", headers=region.headers["officer"]) for _ in range(8))
    )
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    assert len({r.json()["read_at"] for r in responses}) == 1
    # The repository alone: a second insert for the same (notification, user) is skipped.
    me = notifications_repo.Recipient(
        region.users["officer"], "grassroots_officer", region.paths["street_a1"]
    )
    async with system.sessions()() as session, session.begin():
        changed = await notifications_repo.mark_read(session, me, n, now=datetime.now(UTC))
        assert changed is False
        rows = await session.scalars(
            select(NotificationRead).where(NotificationRead.notification_id == n)
        )
        assert len(rows.all()) == 1


async def test_counts_per_kind(system: System) -> None:
    region = await system.make_region()
    h = region.headers
    ids = await add_notifications(
        system,
        region,
        [
            {"kind": "reminder"},
            {"kind": "reminder", "user": "officer"},
            {"kind": "assignment", "user": "officer"},
            {"kind": "escalation", "role": "supervisor", "place": "county_a"},
            {"kind": "reminder", "place": "street_a2"},
        ],
    )
    assert await counts(system, h["officer"]) == {
        "total": 3,
        "reminder": 2,
        "escalation": 0,
        "assignment": 1,
        "cap": 1000,
    }
    assert (await counts(system, h["officer_a2"]))["reminder"] == 1
    assert (await counts(system, h["supervisor"]))["escalation"] == 1
    await system.http.post(f"{URL}/{ids[0]}/read", headers=h["officer"])
    assert (await counts(system, h["officer"]))["reminder"] == 1
    r = await system.http.get(f"{URL}/counts", headers=h["officer"], params={"cap": 2})
    assert r.json()["total"] == 2 and r.json()["cap"] == 2  # two or more
    assert await listed(system, h["officer"], kind="assignment") == [ids[2]]
    r = await system.http.get(URL, headers=h["officer"], params={"kind": "bogus"})
    problem(r, 422, "validation-error")
    r = await system.http.get(f"{URL}/counts", headers=h["officer"], params={"cap": 0})
    problem(r, 422, "validation-error")


async def test_pages_are_stable_while_notifications_arrive(system: System) -> None:
    region = await system.make_region()
    h = region.headers["officer"]
    old = await add_notifications(system, region, [{"user": "officer"} for _ in range(7)])
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await system.http.get(URL, headers=h, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        pages += 1
        if pages == 1:
            # Arrivals during the walk go before the first page, never into it.
            await add_notifications(system, region, [{"user": "officer"}, {}])
        if cursor is None:
            break
    assert seen == sorted(old, reverse=True)
    assert pages == 3
    fresh = await listed(system, h)
    assert len(fresh) == 9 and fresh[2:] == seen

    junk = [base64.urlsafe_b64encode(raw).decode() for raw in (b'{"n":"a"}', b'{"n":-1}', b"[]")]
    for bad in ["not-a-cursor", "%%%", *junk]:
        problem(await system.http.get(URL, headers=h, params={"cursor": bad}), 422, "bad-cursor")
    problem(await system.http.get(URL, headers=h, params={"limit": 0}), 422, "validation-error")
    r = await system.http.get(URL, headers=h, params={"cursor": "x" * 201})
    problem(r, 422, "validation-error")


async def test_read_all_up_to_the_newest_seen(system: System) -> None:
    region = await system.make_region()
    h = region.headers
    ids = await add_notifications(
        system,
        region,
        [
            {"user": "officer", "kind": "reminder"},
            {"kind": "reminder"},
            {"user": "officer", "kind": "assignment"},
        ],
    )
    seen_top = (await listed(system, h["officer"]))[0]
    assert seen_top == ids[-1]
    # One arrives after the user looked: "read all" up to what they saw leaves it unread.
    [late] = await add_notifications(system, region, [{"user": "officer"}])

    r = await system.http.post(
        f"{URL}/read-all", headers=h["officer"], json={"up_to_id": seen_top, "kind": "reminder"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"changed": 2}
    r = await system.http.post(f"{URL}/read-all", headers=h["officer"], json={"up_to_id": seen_top})
    assert r.json() == {"changed": 1}
    r = await system.http.post(f"{URL}/read-all", headers=h["officer"], json={"up_to_id": seen_top})
    assert r.json() == {"changed": 0}
    assert await listed(system, h["officer"], unread="true") == [late]
    # The group notification was read by the officer only.
    assert await listed(system, h["officer2"], unread="true") == [ids[1]]

    # Without a bound: everything, including the late one.
    r = await system.http.post(f"{URL}/read-all", headers=h["officer"])
    assert r.status_code == 200 and r.json() == {"changed": 1}
    assert (await counts(system, h["officer"]))["total"] == 0
    for body in ({"up_to_id": 0}, {"up_to_id": 2**63}, {"kind": "x"}, {"up_to_id": "a"}):
        r = await system.http.post(f"{URL}/read-all", headers=h["officer"], json=body)
        problem(r, 422, "validation-error")


async def test_assignment_notification_links_to_the_task(system: System) -> None:
    region = await system.make_region()
    [task_id] = await system.insert_tasks(region, [{}])
    r = await system.http.post(
        f"/api/v1/tasks/{task_id}/reassign",
        headers=region.headers["supervisor"],
        json={"user_id": region.users["officer"]},
    )
    assert r.status_code == 200, r.text
    r = await system.http.get(URL, headers=region.headers["officer"], params={"kind": "assignment"})
    [item] = r.json()["items"]
    assert item["kind_zh"] == "分派" and item["recipient"] == "user"
    assert item["task_id"] == task_id and item["message"].startswith("分派：")
    assert item["links"]["task"] == f"/api/v1/tasks/{task_id}"
    assert item["links"]["task_page"] == f"/tasks/{task_id}"
    r = await system.http.get(item["links"]["task"], headers=region.headers["officer"])
    assert r.status_code == 200, r.text
    assert await listed(system, region.headers["officer2"], kind="assignment") == []
    assert (await counts(system, region.headers["officer"]))["assignment"] == 1
