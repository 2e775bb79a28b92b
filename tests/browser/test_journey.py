"""A case from application to identification entirely in the browser, in Chinese, and the
supervisor seeing a breach after time passes.

Jilin (吉人社发〔2022〕10号) is the shortest path through both an initial review and a review
with a supervisor in the demo data: acceptance, initial review (初审), 3 working days of
publicity (公示), the street's report (签署意见并上报) and the county's review and
identification (复核认定). Xinyu has no publicity but no supervisor either; Weifang has no
initial review.

Time passes by skipping, not waiting: this test runs its own system in-process on the Temporal
time-skipping server, its clock started at the wall clock's now (so the app's clock and the
workflows' agree until the skip), and serves the app with uvicorn in the test's event loop for
Chromium. Every step is a page; the API is read only to wait for the workflows (which open
tasks asynchronously) with bounded polls.

1. Two applicants apply through the public form and get their receipts: 甲 (worked through to
   identification) and 乙 (whose application nobody touches).
2. The street officer claims 甲's acceptance in the inbox and accepts, then claims and approves
   the initial review; the case goes into publicity.
3. The server's clock skips past the end of the publicity (working days) — and past the end of
   乙's acceptance deadline.
4. The officer signs the publicity report; the county reviewer claims the review and
   identifies 甲 as 大龄失业人员; the case page says 已认定 with the category.
5. The city supervisor's dashboard lists the open escalation (督办) about 乙's acceptance, and
   the breach records (``/dashboard/breaches``, all time: the records carry the workflows'
   skipped-ahead clock, past the dashboard's period, which ends at the wall clock's now) list
   乙's case as 已超时.

A screenshot of each page on the way is kept as a test artifact (``journey-*.png``).
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from domain.labels import outcome_label
from tests.browser.conftest import open_page, screenshot, serve
from tests.factories import make_id
from tests.workflows.scenario import Scenario, instant, scenario_at
from worker.server import create_app

JILIN_STREET = "220102001"
OFFICER, REVIEWER, SUPERVISOR = "jl_officer", "jl_reviewer", "jl_supervisor"
APPLICANT, UNTOUCHED = "贾甲申", "易乙酉"
BIRTH = date(1980, 6, 15)  # a woman of 40+: 大龄失业人员 in Jilin
CATEGORY = "older_unemployed"


def served(sc: Scenario) -> AbstractAsyncContextManager[str]:
    """The app on the scenario's database and Temporal client, served over HTTP in this event
    loop; yields its base URL."""
    return serve(create_app(sc.system.settings, temporal_client=sc.env.client))


async def apply(visitor: Any, name: str, id_number: str, shot: str | None = None) -> str:
    """Fill and send the public form for the Jilin street; returns the receipt's case number."""
    await visitor.goto("/apply")
    await visitor.select_option("#place", JILIN_STREET)
    # htmx brings the region's form in without a page load.
    await expect(visitor.locator("#apply-form[data-pack='jilin-2022']")).to_be_visible()
    await visitor.fill("#name", name)
    await visitor.fill("#id_number", id_number)
    await expect(visitor.locator("[data-testid=id-check] [data-valid=true]")).to_be_visible()
    await visitor.check("input[name=sex][value=female]")
    await visitor.fill("#unemployed_since", "2025-01-01")
    await visitor.check(f"input[name=category][value={CATEGORY}]")
    for material in ("id_card", "household_register_or_urban_residence_proof"):
        await visitor.check(f"input[name=evidence][value={material}]")
    await visitor.check("input[name=employment_intentions][value=job_referral]")
    if shot:
        await screenshot(visitor, shot)
    await visitor.click("#apply-form button[type=submit]")
    await visitor.wait_for_url(re.compile(r"/apply/receipt/YZ"))
    case_id = (await visitor.text_content("[data-testid=case-id]") or "").strip()
    assert re.fullmatch(r"YZ\d{8}-[A-Z2-9]{8}", case_id), case_id
    await expect(visitor.locator("main")).to_contain_text(name)
    return case_id


async def claim_and_open(page: Any, task: dict[str, Any], name: str, shot: str) -> None:
    """From the inbox's 待领取 tab, narrowed to the applicant: claim the task on its row, then
    follow the notice's link to the task page."""
    await page.goto(f"/inbox?tab=group&q={name}")
    row = page.locator(f'tr[data-task-id="{task["id"]}"]')
    await expect(row).to_have_count(1)
    await screenshot(page, shot)
    await row.get_by_role("button", name=f"领取：{name}").click()
    await page.wait_for_url("**/inbox?*done=claimed*")
    await page.get_by_test_id("notice").locator(f'a[href="/tasks/{task["id"]}"]').click()
    await page.wait_for_url(f"**/tasks/{task['id']}")
    await expect(page.get_by_test_id("assignee")).not_to_have_text("未领取")


async def complete(
    page: Any, task: dict[str, Any], outcome: str, shot: str | None = None, **selects: str
) -> None:
    """On the open task page: choose the outcome (and the fields' options) and submit; the
    officer lands back in the inbox, and the task page then reads back the result."""
    await page.check(f"input[name=outcome][value={outcome}]")
    for field, value in selects.items():
        await page.select_option(f"#f_{field}", value)
    await page.fill("#comment", "材料齐全，情况属实")
    if shot:
        await screenshot(page, shot)
    await page.get_by_role("button", name="提交办理结果").click()
    await page.wait_for_url("**/inbox*")
    await page.goto(f"/tasks/{task['id']}")
    await expect(page.get_by_test_id("task-result")).to_contain_text(
        outcome_label(task["kind"], outcome)
    )


async def escalated(sc: Scenario, case_id: str, timeout: float = 20) -> None:
    """Wait until the case's acceptance has a breach record with its escalation task."""
    deadline = time.monotonic() + timeout
    while not any(
        b.clock == "task:acceptance" and b.escalation_task_id for b in await sc.breaches(case_id)
    ):
        assert time.monotonic() < deadline, f"no escalated breach of {case_id}'s acceptance"
        await asyncio.sleep(0.1)


async def test_application_to_identification_and_a_breach_after_time_passes(
    chromium: Any, tmp_path: Path
) -> None:
    began = time.monotonic()
    async with scenario_at(datetime.now(UTC), tmp_path) as sc, served(sc) as base:
        contexts: list[Any] = []

        async def as_user(user: str | None) -> Any:
            context, page = await open_page(chromium, base, user)
            contexts.append(context)
            return page

        try:
            # 1. Two applicants apply online; nobody needs to log in.
            visitor = await as_user(None)
            case_id = await apply(
                visitor, APPLICANT, make_id(BIRTH, region="220102"), shot="journey-01-apply"
            )
            await screenshot(visitor, "journey-02-receipt")
            untouched = await apply(await as_user(None), UNTOUCHED, make_id(BIRTH, region="220102"))

            # 2. The street officer accepts and reviews (初审).
            officer = await as_user(OFFICER)
            assert officer.url.endswith("/inbox")
            task = await sc.task(OFFICER, case_id, "acceptance")
            await claim_and_open(officer, task, APPLICANT, "journey-03-inbox")
            await complete(officer, task, "accept")

            task = await sc.task(OFFICER, case_id, "initial_review")
            await claim_and_open(officer, task, APPLICANT, "journey-04-inbox-initial-review")
            # The initial review shows the applicant's facts beside the pre-check.
            await expect(officer.get_by_test_id("applicant-facts")).to_contain_text(APPLICANT)
            await expect(officer.locator("[data-testid=eligibility] li").first).to_be_visible()
            await complete(officer, task, "approve", shot="journey-05-task-initial-review")

            case = await sc.in_publicity(case_id)
            await officer.goto(f"/cases/{case_id}")
            await expect(officer.get_by_test_id("case-status")).to_contain_text("公示中")
            await screenshot(officer, "journey-06-case-in-publicity")

            # 3. The publicity runs 3 working days: skip the server's clock past its end. 乙's
            # acceptance, 1 working day, runs out meanwhile.
            [publicity] = [e for e in case["timeline"] if e["kind"] == "publicity"]
            ends = instant(publicity["after"]["ends_at"])
            await sc.sleep_until(ends + timedelta(minutes=5))

            # 4. The street signs its opinion and reports up; the county identifies.
            task = await sc.task(OFFICER, case_id, "publicity_report")
            await claim_and_open(officer, task, APPLICANT, "journey-07-inbox-publicity-report")
            await complete(officer, task, "report")

            reviewer = await as_user(REVIEWER)
            task = await sc.task(REVIEWER, case_id, "review")
            await claim_and_open(reviewer, task, APPLICANT, "journey-08-inbox-review")
            await complete(
                reviewer, task, "approve", shot="journey-09-task-review", category=CATEGORY
            )

            await sc.wait_case(case_id, lambda c: c["status"] == "identified", "identification")
            await reviewer.goto(f"/cases/{case_id}")
            await expect(reviewer.get_by_test_id("case-status")).to_contain_text("已认定")
            facts = reviewer.get_by_test_id("case-facts")
            await expect(facts).to_contain_text("大龄失业人员")
            timeline = reviewer.get_by_test_id("timeline")
            for step in ("受理", "初审：通过", "签署意见并上报", "复核认定：认定"):
                await expect(timeline).to_contain_text(step)
            await expect(timeline).to_contain_text("赵经办（南岭街道）")
            await expect(timeline).to_contain_text("钱审核（南关区）")
            await screenshot(reviewer, "journey-10-case-identified")

            # The application form (认定表) as filled, printed.
            await reviewer.goto(f"/documents/cases/{case_id}/application")
            await expect(reviewer.locator("article.document")).to_contain_text(APPLICANT)
            await reviewer.emulate_media(media="print")
            await screenshot(reviewer, "journey-11-document-application")

            # 5. The city supervisor sees the breach of 乙's untouched acceptance, once the
            # workflow has recorded it and opened the escalation (activities, asynchronous).
            await escalated(sc, untouched)
            supervisor = await as_user(SUPERVISOR)
            assert supervisor.url.endswith("/dashboard")
            escalation = supervisor.locator("[data-table=escalations-open] tr", has_text=UNTOUCHED)
            # The first escalation (超时, level 1) went to the district; later ones climb.
            await expect(escalation.filter(has_text="已超时").first).to_contain_text("受理查验")
            await expect(escalation.filter(has_text="第 1 级").first).to_contain_text("南关区")
            await screenshot(supervisor, "journey-12-dashboard")

            await supervisor.goto("/dashboard/breaches")
            await expect(supervisor.locator(".as-of")).to_contain_text("期间：全部")
            records = supervisor.locator("[data-table=breaches] tbody tr", has_text=untouched)
            await expect(records.first).to_be_visible()
            await expect(records.filter(has_text="已超时").first).to_contain_text("受理查验")
            # Nothing of 甲's: it was worked on time.
            await expect(
                supervisor.locator("[data-table=breaches] tbody tr", has_text=case_id)
            ).to_have_count(0)
            await screenshot(supervisor, "journey-13-breaches")
            await records.first.get_by_role("link", name=untouched).click()
            await supervisor.wait_for_url(f"**/cases/{untouched}")
            await expect(supervisor.get_by_test_id("case-status")).to_contain_text("已申请")
        finally:
            for context in contexts:
                await context.close()
    print(f"\njourney took {time.monotonic() - began:.1f} s")
