"""The quarterly verification pages (定期审验) without a browser, on SQLite and PostgreSQL: the
batches a user may see with the service's figures and status, one batch by township with the
overdue mark once its clock escalated, each township's open tasks one click away in the inbox
(and the inbox then lists exactly those), and the scope — a batch is seen from its district and
above, never from a township or a sibling district (the 404 page for its own page).

The batches are the verification API tests' (:func:`tests.api.test_verification_api.make_batch`:
rows written directly, no workflow behind them)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from sqlalchemy import update

from domain.calendar import deadline_end
from store.models import Task
from store.models_verification import VerificationBatch
from tests.api.test_verification_api import make_batch
from tests.system import Region, System
from tests.web.test_dashboard_pages import Page, client

DUE_ON = date(2101, 1, 31)  # make_batch's due date


async def get(system: System, region: Region, user: str, url: str) -> tuple[int, str]:
    async with client(system, region, user) as web:
        r = await web.get(url)
    return r.status_code, r.text


def inbox_links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'<a href="([^"]+)" data-testid="inbox-link"', html)]


async def test_a_batch_and_its_progress_by_township(system: System) -> None:
    region = await system.make_region()
    batch_id, ids = await make_batch(system, region)
    # The tasks fall due when the batch does (as the batch's activity opens them).
    async with system.sessions()() as session, session.begin():
        await session.execute(
            update(Task).where(Task.id.in_(ids)).values(due_at=deadline_end(DUE_ON))
        )
    a1, a2 = region.codes["street_a1"], region.codes["street_a2"]

    status, html = await get(system, region, "reviewer", "/verification")
    assert status == 200, html
    assert 'href="/verification"' in html  # the nav link for a county reviewer
    row = Page(html).tables["batches"][batch_id]
    assert row["period"] == batch_id.split("-", 1)[1] and row["due_on"] == DUE_ON.isoformat()
    assert (row["found"], row["created"], row["completed"], row["left"]) == ("3", "3", "0", "3")
    assert row["status"] == "进行中" and row["done"] == "0%"

    status, html = await get(system, region, "reviewer", f"/verification/{batch_id}")
    assert status == 200, html
    towns = Page(html).tables["townships"]
    assert list(towns) == [a1, a2, "total"]  # the district office has nobody: not listed
    assert (towns[a1]["created"], towns[a1]["left"], towns[a2]["left"]) == ("2", "2", "1")
    assert 'data-testid="overdue"' not in html
    links = inbox_links(html)
    assert len(links) == 2
    assert all(
        "kind=quarterly_verification" in h and f"due_from={DUE_ON}" in h and "tab=scope" in h
        for h in links
    )
    assert f"jurisdiction={a1}" in links[0] and f"jurisdiction={a2}" in links[1]

    # Following the link: the township's open verification tasks, nothing else.
    status, inbox = await get(system, region, "reviewer", links[0])
    assert status == 200, inbox
    assert sorted(re.findall(r'<tr data-task-id="([^"]+)"', inbox)) == sorted(ids[:2])

    # One completed, one cancelled (the person exited), the due date passed and escalated.
    async with system.sessions()() as session, session.begin():
        await session.execute(update(Task).where(Task.id == ids[0]).values(state="completed"))
        await session.execute(update(Task).where(Task.id == ids[2]).values(state="cancelled"))
        await session.execute(
            update(VerificationBatch)
            .where(VerificationBatch.id == batch_id)
            .values(status="escalated")
        )
    status, html = await get(system, region, "supervisor", f"/verification/{batch_id}")
    towns = Page(html).tables["townships"]
    assert (towns[a1]["completed"], towns[a1]["left"], towns[a2]["cancelled"]) == ("1", "1", "1")
    assert (towns["total"]["completed"], towns["total"]["cancelled"]) == ("1", "1")
    assert towns["total"]["left"] == "1" and towns["total"]["done"] == "67%"
    assert 'data-testid="overdue"' in html and "已逾期督办" in html
    assert [f"jurisdiction={a1}" in h for h in inbox_links(html)] == [True]  # a2 has none left
    status, listed = await get(system, region, "supervisor", "/verification")
    assert Page(listed).tables["batches"][batch_id]["left"] == "1"

    # An administrator sees the batch but has no inbox to link to.
    status, html = await get(system, region, "admin", f"/verification/{batch_id}")
    assert status == 200 and inbox_links(html) == [] and "/inbox?" not in html


async def test_scope_and_filters(system: System) -> None:
    region = await system.make_region()
    other = await system.make_region()
    batch_id, _ = await make_batch(system, region)
    period = batch_id.split("-", 1)[1]

    for user in ("reviewer", "supervisor", "admin"):  # the district and above
        status, html = await get(system, region, user, "/verification")
        assert batch_id in Page(html).tables["batches"], user
    # A township officer works the tasks in the inbox: no batch, and no nav link.
    status, html = await get(system, region, "officer", "/verification")
    assert status == 200 and 'data-testid="no-batches"' in html and batch_id not in html
    assert 'href="/verification"' not in html
    for r, user in ((region, "officer"), (region, "reviewer_b"), (other, "admin")):
        status, html = await get(system, r, user, "/verification")
        assert batch_id not in html, user
        status, html = await get(system, r, user, f"/verification/{batch_id}")
        assert status == 404 and 'data-problem="not-found"' in html, user

    # Filters: a district (in the list only above a county), a period.
    status, html = await get(system, region, "supervisor", "/verification")
    assert f'<option value="{region.codes["county_b"]}"' in html
    url = f"/verification?district={region.codes['county_b']}"
    assert batch_id not in Page((await get(system, region, "supervisor", url))[1]).tables["batches"]
    url = f"/verification?district={region.codes['county_a']}&period={period}"
    assert list(Page((await get(system, region, "supervisor", url))[1]).tables["batches"]) == [
        batch_id
    ]
    status, html = await get(
        system, region, "supervisor", f"/verification?district={other.codes['county_a']}"
    )
    assert status == 404  # a place outside the subtree, as the dashboard's drill-down
    status, html = await get(system, region, "supervisor", "/verification?period=2026-13")
    assert status == 422 and 'data-field="period"' in html
    for bad in ("nope", "441803-2026-13", "x" * 41):
        status, _ = await get(system, region, "admin", f"/verification/{bad}")
        assert status == 404, bad


async def test_the_pages_in_english(system: System) -> None:
    region = await system.make_region()
    batch_id, _ = await make_batch(system, region)
    status, html = await get(system, region, "reviewer", f"/verification/{batch_id}?lang=en")
    assert status == 200
    for text in ("Progress by township", "Cancelled (exited)", "Open"):
        assert text in html
    status, html = await get(system, region, "reviewer", "/verification?lang=en")
    assert "Verification month" in html and "审验月份" not in html
