"""The home visit (入户核实) on a phone, in a real browser: a 360×740 touch viewport with a
phone's user agent. The officer signs in, opens a Xinyu case's home visit task, takes a photo
(the camera input, given a file as the camera would), writes the visit record and notes,
chooses the outcome and submits; the page never scrolls sideways, its controls are a thumb's
size, it weighs little, and the decision is recorded with the photo. Screenshots (in Chinese)
of the form and of the recorded visit are kept as test artifacts."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_tasks import task_of, unique_name
from tests.factories import application
from tests.materials_support import jpeg
from tests.stack import call
from worker.demo import DEMO_PASSWORD

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36"
    ),
}
# The visit page and everything it loads, as the phone received it (see test_visit_pages).
PAGE_BUDGET_BYTES = 120 * 1024


def home_visit_of(web_stack: Any, name: str) -> tuple[str, str]:
    status, created = call(
        "POST", f"{web_stack.base}/api/v1/applications", application("xinyu-2023", name=name)
    )
    assert status == 201, created
    return str(created["case_id"]), name


async def overflow(page: Any) -> int:
    width: int = await page.evaluate("document.scrollingElement.scrollWidth")
    if width > 360:  # name what sticks out, for the failure's message
        wide = await page.evaluate(
            """() => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > 361)
              .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"""
        )
        raise AssertionError(f"{page.url} is {width} px wide: {wide}")
    return width


async def small_targets(page: Any) -> list[str]:
    """The form's visible controls smaller than 44 px high (a thumb's size)."""
    found: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll(
            'form.task-form button, form.task-form label.choice, form.task-form textarea,'
            + ' form.task-form input[type=file]')]
          .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
          .map(e => e.outerHTML.slice(0, 80))"""
    )
    return found


async def page_weight(page: Any) -> int:
    total: int = await page.evaluate(
        """() => performance.getEntriesByType('navigation')
              .concat(performance.getEntriesByType('resource'))
              .reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)"""
    )
    return total


async def test_an_officer_records_a_home_visit_on_a_phone(browser: Any, web_stack: Any) -> None:
    name = unique_name()
    case_id, _ = await asyncio.to_thread(home_visit_of, web_stack, name)
    acceptance = await task_of(web_stack, "xy_officer", case_id, "acceptance")
    status, body = call(
        "POST",
        f"{web_stack.base}/api/v1/tasks/{acceptance['id']}/complete",
        {"outcome": "accept"},
        web_stack.token("xy_officer"),
    )
    assert status == 200, body
    visit = await task_of(web_stack, "xy_officer", case_id, "home_visit")

    context = await browser.new_context(
        base_url=web_stack.base, locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE
    )
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        await page.goto("/login")
        await page.fill("#username", "xy_officer")
        await page.fill("#password", DEMO_PASSWORD)
        async with page.expect_navigation():
            await page.tap("main button[type=submit]")
        assert await overflow(page) <= 360

        await page.goto(f"/tasks/{visit['id']}")
        await page.wait_for_load_state("load")
        await expect(page.locator("h1")).to_contain_text(name)
        assert await overflow(page) <= 360
        weight = await page_weight(page)
        assert 0 < weight <= PAGE_BUDGET_BYTES, weight
        camera = page.get_by_test_id("photo-input")
        await expect(camera).to_have_attribute("capture", "environment")
        await expect(camera).to_have_attribute("accept", "image/*")

        await page.get_by_label("核实属实", exact=True).tap()
        await camera.set_input_files(
            {
                "name": "门口.jpg",
                "mimeType": "image/jpeg",
                "buffer": jpeg(1200, 900, taken="2026:12:05 14:30:00"),
            }
        )
        await page.fill("#f_visit_record", "入户核实：本人在家，无业，家中无经营迹象")
        await page.fill("#comment", "邻居证实长期在家")
        assert await small_targets(page) == []
        submit = page.get_by_role("button", name="提交办理结果")
        await submit.scroll_into_view_if_needed()
        await expect(submit).to_be_in_viewport()
        assert await overflow(page) <= 360
        await screenshot(page, "visit-phone-form")
        await submit.tap()
        await page.wait_for_url("**/inbox?*")
        assert await overflow(page) <= 360

        await page.goto(f"/tasks/{visit['id']}")
        result = page.get_by_test_id("task-result")
        await expect(result).to_contain_text("周经办（城南街道）")
        await expect(result).to_contain_text("核实属实")
        await expect(result).to_contain_text("入户核实：本人在家")
        materials = page.get_by_test_id("materials")
        await expect(materials).to_contain_text("走访现场照片")
        await expect(materials).to_contain_text("拍摄于 2026-12-05 14:30")
        assert await overflow(page) <= 360
        await screenshot(page, "visit-phone-recorded")
    finally:
        await context.close()
