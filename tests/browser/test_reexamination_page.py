"""A refusal's re-examination (复核申请) on the case page, in a real browser: a case refused at
the community under a pack that provides re-examination (the four-step test pack) shows the
re-examination as the stage map's last step — open to the applicant until the window's last
day — and what the case waits for; the county records the applicant's request on the page, and
the step becomes current on the county task's clock. Screenshots, in Chinese:
case-reexamination-window and case-reexamination-underway."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.api.test_procedure_levels import (
    PASSWORD,
    apply,
    case_state,
    decide,
    load_pack,
    open_task,
    own_clock,
)
from tests.browser.conftest import screenshot, serve
from tests.system import System
from worker.server import create_app

__all__ = ["own_clock"]  # the fixture: the system on its own time-skipping server


async def test_the_refusal_s_window_and_the_recorded_request_on_the_stage_map(
    own_clock: System, chromium: Any
) -> None:
    system = own_clock
    await load_pack(system)
    case_id, _ = await apply(system, "复核页面")
    review = await open_task(system, case_id, "initial_review")
    r = await decide(system, "fs_community", review, "refuse", reason="未办理失业登记")
    assert r.status_code == 200, r.text
    await case_state(system, case_id, "refused")

    app = create_app(system.settings, temporal_client=system.env.client)
    async with serve(app) as base:
        context = await chromium.new_context(
            base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(15_000)
        page = await context.new_page()
        try:
            await page.goto("/login")
            await page.fill("#username", "fs_county")
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_load_state()
            await page.goto(f"/cases/{case_id}")
            step = page.locator('[data-testid=stage-map] li[data-kind="reexamination"]')
            await expect(step).to_have_attribute("data-state", "next")
            await expect(step).to_contain_text("可申请，至")
            await expect(page.get_by_test_id("waiting-on")).to_contain_text(
                "申请人可在期限内申请复核"
            )
            await screenshot(page, "case-reexamination-window")

            form = page.get_by_test_id("reexamination-form")
            await form.locator("#reexamination-content").fill("已提交失业登记证明，申请复核")
            await form.locator("button[type=submit]").click()
            await expect(page.get_by_test_id("reexamination-recorded")).to_be_visible()
            task = await open_task(system, case_id, "reexamination")
            await page.goto(f"/cases/{case_id}")
            await expect(step).to_have_attribute("data-state", "current")
            await expect(page.get_by_test_id("stage-clock")).to_be_visible()
            await expect(page.get_by_test_id("waiting-on")).to_contain_text("等待经办人员办理")
            assert task.jurisdiction_code == "460105"
            # One request is taken: the form is no longer offered.
            await expect(page.get_by_test_id("reexamination-form")).to_have_count(0)
            await screenshot(page, "case-reexamination-underway")
        finally:
            await context.close()
