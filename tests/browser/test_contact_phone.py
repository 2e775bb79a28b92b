"""The contact task (联系提醒: the person has not been in touch for five months, the county
calls them) on a phone, in a real browser, through the visit page's photo form: a 360×740 touch
viewport with a phone's user agent. The reviewer opens the reminder, takes a photo (the camera
input, given a file as the camera would), chooses 已联系 with the channel and writes a note,
then taps 提交 twice on a weak network (the first answer is slow to come back): the page never
scrolls sideways, its controls are a thumb's size, two submissions reach the server and one
decision and one photo are recorded. Screenshots (in Chinese) of the form and of the recorded
contact are kept as test artifacts.

The reminder opens five months into the assistance (潍坊 三(一)9, six months without contact,
the reminder a month before): this test runs its own system in-process on the Temporal
time-skipping server (as the journey test does) and skips the clock there."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError, expect
from sqlalchemy import func, select

from domain.vocabulary import VISIT_PHOTO
from store.models import CaseEvent, Task
from store.models_materials import CaseMaterial
from tests.browser.conftest import screenshot
from tests.browser.test_journey import served
from tests.browser.test_visit_phone import PHONE, overflow, small_targets
from tests.materials_support import jpeg
from tests.workflows.scenario import scenario_at
from tests.workflows.test_assistance import wait_assistance, weifang_person
from worker.demo import DEMO_PASSWORD

REVIEWER = "wf_reviewer"  # the county's reviewer gets Weifang's contact reminders


async def test_a_reviewer_records_a_contact_on_a_phone_and_a_double_submit_counts_once(
    chromium: Any, tmp_path: Path
) -> None:
    async with scenario_at(datetime.now(UTC), tmp_path) as sc, served(sc) as base:
        case_id, a = await weifang_person(sc)
        remind_at = datetime.fromisoformat(a["clocks"]["contact_reminder_at"])
        await sc.sleep_until(remind_at + timedelta(hours=2))
        reminder = await sc.task(REVIEWER, case_id, "contact_reminder")

        context = await chromium.new_context(
            base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE
        )
        context.set_default_timeout(15_000)
        posts: list[str] = []
        held = asyncio.Event()
        resent = asyncio.Event()

        async def weak_network(route: Any) -> None:
            """The first submission reaches the server, its answer comes back late (the
            officer taps again meanwhile); the second goes through as it is."""
            if route.request.method != "POST":
                await route.continue_()
                return
            posts.append(route.request.url)
            if len(posts) == 1:
                answer = await route.fetch(max_redirects=0)
                held.set()
                await asyncio.sleep(2)
                # The browser has given up on it for the second by now: nothing to deliver.
                with contextlib.suppress(PlaywrightError):
                    await route.fulfill(response=answer)
            else:
                resent.set()
                await route.continue_()

        try:
            page = await context.new_page()
            await page.goto("/login")
            await page.fill("#username", REVIEWER)
            await page.fill("#password", DEMO_PASSWORD)
            async with page.expect_navigation():
                await page.tap("main button[type=submit]")

            await page.goto(f"/tasks/{reminder['id']}")
            await expect(page.locator("h1")).to_contain_text("联系提醒")
            assert await overflow(page) <= 360
            camera = page.get_by_test_id("photo-input")
            await expect(camera).to_have_attribute("capture", "environment")
            await page.get_by_label("已联系", exact=True).tap()
            await page.select_option("#f_channel", "phone")
            await camera.set_input_files(
                {
                    "name": "通话记录.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg(900, 1600, taken="2026:12:05 10:15:00"),
                }
            )
            await page.fill("#comment", "电话联系本人，下周到站参加招聘会")
            assert await small_targets(page) == []
            submit = page.get_by_role("button", name="提交办理结果")
            await submit.scroll_into_view_if_needed()
            await expect(submit).to_be_in_viewport()
            assert await overflow(page) <= 360
            await screenshot(page, "contact-phone-form")

            box = await submit.bounding_box()
            assert box is not None
            await page.route(f"**/tasks/{reminder['id']}", weak_network)
            await submit.tap(no_wait_after=True)
            await asyncio.wait_for(held.wait(), 15)
            # The answer has not come: the officer taps the same button again (a tap on the
            # screen: Playwright's own tap would wait for the first navigation to end).
            await page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            await asyncio.wait_for(resent.wait(), 15)
            # Polled, not awaited as a navigation: the first submission's navigation is
            # aborted by the second, and that abort may land after a navigation wait began
            # (ERR_ABORTED, as CI once saw). Where the page ends up is what counts.
            await expect(page).to_have_url(re.compile(r"/inbox\?"), timeout=20_000)
            await page.unroute(f"**/tasks/{reminder['id']}")
            assert len(posts) == 2, posts

            await page.goto(f"/tasks/{reminder['id']}")
            result = page.get_by_test_id("task-result")
            await expect(result).to_contain_text("已联系")
            await expect(result).to_contain_text("电话联系本人")
            materials = page.get_by_test_id("materials")
            await expect(materials).to_contain_text("走访现场照片")
            await expect(materials).to_contain_text("拍摄于 2026-12-05 10:15")
            await expect(materials.get_by_test_id("material")).to_have_count(1)
            # The photo's preview is served and shown (loaded lazily: scrolled to first).
            preview = materials.locator("img.material-preview")
            await preview.scroll_into_view_if_needed()
            await expect(preview).to_have_js_property("complete", True)
            assert await preview.evaluate("i => i.naturalWidth") > 0
            assert await overflow(page) <= 360
            await screenshot(page, "contact-phone-recorded")
        finally:
            await context.close()

        # One decision, one photo: the resend was the same submission.
        async with sc.system.sessions()() as session:
            task = await session.get(Task, reminder["id"])
            assert task is not None and task.state == "completed"
            completions = await session.scalar(
                select(func.count())
                .select_from(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == "task_completed")
                .where(CaseEvent.after["task_id"].as_string() == reminder["id"])
            )
            photos = await session.scalar(
                select(func.count())
                .select_from(CaseMaterial)
                .where(CaseMaterial.case_id == case_id, CaseMaterial.evidence_code == VISIT_PHOTO)
            )
        assert (completions, photos) == (1, 1)
        a = await wait_assistance(sc, case_id, lambda a: a["contact_count"] >= 1, "the contact")
        assert a["contact_count"] == 1
