"""The inbox in a real browser: an officer finds a new case's task on 待领取 with its SLA badge,
claims it and finds it under 我的; "下一件" claims a task and opens it; the page picks up a task
created while it is open (htmx polling of ``/inbox/rows``) without reloading.

The stack is shared by the whole session, so each test makes its own case with a unique
applicant name and narrows the list to it with the name filter."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login, screenshot
from tests.factories import application, make_id
from tests.stack import call, wait_until

GIVEN = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥春夏秋冬梅兰竹菊"
REGION = {"jilin-2022": "220102", "xinyu-2023": "360502", "qingxin-2024": "441803"}


def unique_name() -> str:
    return "览" + "".join(random.choice(GIVEN) for _ in range(3))


def apply(web_stack: Any, pack: str, name: str) -> str:
    birth = date(1975, 1, 1) + timedelta(days=random.randrange(7000))
    body = application(pack, name=name, id_number=make_id(birth, region=REGION[pack]))
    status, created = call("POST", f"{web_stack.base}/api/v1/applications", body)
    assert status == 201, created
    return str(created["case_id"])


async def task_of(web_stack: Any, user: str, case_id: str, kind: str) -> dict[str, Any]:
    """The case's task as the API lists it, once the workflow has opened it."""
    token = web_stack.token(user)

    def found() -> dict[str, Any] | None:
        _status, page = call(
            "GET", f"{web_stack.base}/api/v1/tasks?kind={kind}&limit=200", None, token
        )
        return next((t for t in page["items"] if t["case_id"] == case_id), None)

    task: dict[str, Any] = await asyncio.to_thread(wait_until, found, 60, f"the {kind} task")
    return task


async def test_officer_claims_a_new_task_and_it_moves_to_mine(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    case_id = apply(web_stack, "jilin-2022", name)
    task = await task_of(web_stack, "jl_officer", case_id, "acceptance")
    page = await login_as("jl_officer")
    await page.goto(f"/inbox?tab=group&q={name}")
    row = page.locator(f'tr[data-task-id="{task["id"]}"]')
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(name)
    await expect(row).to_contain_text("受理查验")
    await expect(row.locator("[data-testid=sla]")).to_have_text("正常")
    await expect(row).to_contain_text("个工作日")
    await expect(row).to_contain_text("*" * 14)
    await expect(page.locator("a[data-tab=group]")).to_have_attribute("aria-current", "page")

    await row.get_by_role("button", name="领取").click()
    await page.wait_for_url("**/inbox?*done=claimed*")
    await expect(page.get_by_test_id("notice")).to_contain_text("已领取")
    await expect(page.locator(f'tr[data-task-id="{task["id"]}"]')).to_have_count(0)

    await page.click("a[data-tab=mine]")
    await page.wait_for_url("**tab=mine**")
    mine = page.locator(f'tr[data-task-id="{task["id"]}"]')
    await expect(mine).to_have_count(1)
    await expect(mine.locator("td.assignee")).to_contain_text("赵经办")
    await screenshot(page, "inbox-mine")


async def test_next_task_claims_one_and_opens_it(login_as: Login, web_stack: Any) -> None:
    name = unique_name()
    case_id = apply(web_stack, "qingxin-2024", name)
    await task_of(web_stack, "qx_officer", case_id, "acceptance")
    page = await login_as("qx_officer")
    await page.goto("/inbox")
    await page.get_by_test_id("next-task").click()
    await page.wait_for_url("**/tasks/**")
    task_id = page.url.split("/tasks/", 1)[1]
    token = web_stack.token("qx_officer")
    _status, mine = await asyncio.to_thread(
        call, "GET", f"{web_stack.base}/api/v1/tasks?view=mine&limit=200", None, token
    )
    assert task_id in {t["id"] for t in mine["items"]}


async def test_the_page_picks_up_a_new_task_without_reloading(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    page = await login_as("xy_officer")
    await page.goto(f"/inbox?tab=group&q={name}")
    await expect(page.get_by_test_id("empty")).to_be_visible()
    await page.evaluate("window.__sameDocument = true")

    case_id = apply(web_stack, "xinyu-2023", name)
    row = page.locator(f"tr:has-text('{name}')")
    # The page polls every 20 s; the workflow opens the task within a few seconds.
    await expect(row).to_have_count(1, timeout=60_000)
    await expect(row).to_contain_text("受理查验")
    assert await page.evaluate("window.__sameDocument === true")  # no reload, a swap
    task = await task_of(web_stack, "xy_officer", case_id, "acceptance")
    assert await row.get_attribute("data-task-id") == task["id"]
    await expect(page.locator("[data-testid=count-group]")).not_to_have_text("0")
    await screenshot(page, "inbox")
