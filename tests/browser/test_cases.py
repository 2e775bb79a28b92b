"""The case page and the case search in a real browser: after an officer accepts a Jilin
application, its page shows the acceptance on the timeline (who, what, when), the
identification deadline and the open initial review's due date; the search finds the case by
its full ID number and lists it with the number masked. Screenshots of both pages are kept as
test artifacts."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import expect

from domain.ids import mask_id_number
from tests.browser.conftest import Login, screenshot
from tests.browser.test_tasks import accepted, apply_jilin, unique_name


async def test_case_page_shows_timeline_entry_and_deadlines(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    case_id, number = await asyncio.to_thread(apply_jilin, web_stack, name)
    task = await accepted(web_stack, case_id)
    page = await login_as("jl_officer")
    await page.goto(f"/cases/{case_id}")
    await expect(page.locator("h1")).to_contain_text(name)
    await expect(page.locator("[data-testid=id-number]")).to_contain_text(number)
    row = page.locator("[data-testid=timeline] tr", has_text="受理查验：受理")
    await expect(row).to_contain_text("赵经办（南岭街道）")
    await expect(row.locator("td").first).to_have_text(
        re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
    )
    deadline = page.locator("[data-testid=identification-deadline]")
    await expect(deadline).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
    open_task = page.locator("[data-testid=deadlines] tr", has_text="初审")
    await expect(open_task.locator("a")).to_have_attribute("href", f"/tasks/{task['id']}")
    await expect(open_task.locator(".sla")).to_have_text("正常")
    await screenshot(page, "case")


async def test_case_search_by_id_number(login_as: Login, web_stack: Any) -> None:
    name = unique_name()
    case_id, number = await asyncio.to_thread(apply_jilin, web_stack, name)
    page = await login_as("jl_officer")
    await page.goto("/cases")
    await page.get_by_label("身份证号（完整号码，精确查找）").fill(number)
    await page.get_by_role("button", name="查询").click()
    results = page.locator("[data-testid=case-results] tbody tr")
    await expect(results).to_have_count(1)
    await expect(results).to_contain_text(name)
    await expect(results).to_contain_text(mask_id_number(number))
    assert number not in await results.inner_text()
    await screenshot(page, "case-search")
    await results.get_by_role("link", name=case_id).click()
    await page.wait_for_url(f"**/cases/{case_id}")
