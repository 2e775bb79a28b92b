"""#21 items 4 and 8 in a real browser, as an officer works: a completion lands on an inbox that
says what was done and what follows (the next task already listed, or the publicity and its
last day), with a link to the case; the handled-cases view shows the case waiting on the
publicity; the case's timeline reads in English; the login page looks like the product, with
its favicon and the one button style. Screenshots in Chinese and English are kept; axe stays
clean on each of these pages (tests/browser/test_accessibility.py covers them too)."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login, screenshot
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_tasks import accepted, apply_jilin, task_of, unique_name

BLUE = "rgb(11, 79, 138)"  # the product's blue (web/static/app.css)


async def test_acceptance_lands_on_the_next_task_never_an_empty_inbox(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    case_id, _number = await asyncio.to_thread(apply_jilin, web_stack, name)
    acceptance = await task_of(web_stack, "jl_officer", case_id, "acceptance")
    page = await login_as("jl_officer")
    await page.goto(f"/tasks/{acceptance['id']}")
    await page.check("input[name=outcome][value=accept]")
    await page.get_by_role("button", name="提交办理结果").click()
    await page.wait_for_url("**/inbox?*")
    feedback = page.get_by_test_id("feedback")
    await expect(feedback).to_have_attribute("data-state", "task")
    await expect(feedback).to_contain_text("已提交受理查验结果：受理")
    await expect(feedback).to_contain_text("下一步：初审，由南岭街道基层经办人员办理，期限")
    # The next task is already in the list the officer landed on (待领取 of their group).
    await expect(page.get_by_test_id("empty")).to_have_count(0)
    review = await task_of(web_stack, "jl_officer", case_id, "initial_review")
    await expect(page.locator(f'tr[data-task-id="{review["id"]}"]')).to_be_visible()
    await screenshot(page, "feedback-next-task-zh-CN")
    await assert_accessible(page, "the inbox after a completion")


async def test_initial_review_feedback_handled_view_and_english_timeline(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    case_id, _number = await asyncio.to_thread(apply_jilin, web_stack, name)
    task = await accepted(web_stack, case_id)
    page = await login_as("jl_officer")
    await page.goto(f"/tasks/{task['id']}")
    await page.get_by_label("通过", exact=True).check()
    await page.fill("#comment", "材料齐全")
    await page.get_by_role("button", name="提交办理结果").click()
    await page.wait_for_url("**/inbox?*")

    # What was done, what follows, a link to the case.
    feedback = page.get_by_test_id("feedback")
    await expect(feedback).to_have_attribute("data-state", "clock")
    await expect(feedback).to_contain_text("已提交初审结果：通过")
    await expect(feedback).to_contain_text("下一步：进入公示，公示期至")
    await screenshot(page, "feedback-publicity-zh-CN")
    await assert_accessible(page, "the inbox's feedback")
    await page.goto(page.url + "&lang=en")
    await expect(feedback).to_contain_text("Initial review submitted: Pass")
    await expect(feedback).to_contain_text("Next: publicity until")
    await screenshot(page, "feedback-publicity-en")
    await assert_accessible(page, "the inbox's feedback in English")

    # The case in English: the timeline's system entries translated.
    await feedback.get_by_test_id("feedback-case").click()
    await page.wait_for_url(f"**/cases/{case_id}")
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("Application accepted")
    await expect(timeline).to_contain_text("Publicity started (")
    await expect(timeline).not_to_contain_text("受理申请")
    await screenshot(page, "feedback-case-timeline-en")

    # 我经办的案件: the case waits on the publicity.
    await page.goto("/inbox/handled?lang=en")
    row = page.locator(f'tr[data-case-id="{case_id}"]')
    await expect(row).to_contain_text("Waiting for the publicity to end")
    await expect(row).to_contain_text(name)
    await screenshot(page, "handled-en")
    await assert_accessible(page, "the handled cases in English")
    await page.goto("/inbox?lang=zh-CN")
    await page.get_by_test_id("handled-link").click()
    await page.wait_for_url("**/inbox/handled")
    await expect(row).to_contain_text("等待公示期满")
    await expect(row.get_by_role("link", name=name)).to_have_attribute("href", f"/cases/{case_id}")
    await screenshot(page, "handled-zh-CN")
    await assert_accessible(page, "the handled cases")


async def test_the_login_page_looks_like_the_product(login_as: Login) -> None:
    page = await login_as(None)
    for locale, title in (("zh-CN", "工作人员登录"), ("en", "Staff sign-in")):
        await page.goto(f"/login?lang={locale}")
        await expect(page.locator("h1")).to_have_text(title)
        icon = page.locator('link[rel="icon"]')
        await expect(icon).to_have_attribute("href", "/static/favicon.svg")
        response = await page.request.get("/static/favicon.svg")
        assert response.ok and "svg" in response.headers["content-type"]
        # The one button style: the product's blue, also on the inbox.
        submit = page.locator("main button[type=submit]")
        assert await submit.evaluate("b => getComputedStyle(b).backgroundColor") == BLUE
        await screenshot(page, f"login-{locale}")
        await assert_accessible(page, f"the login page ({locale})")
    officer = await login_as("jl_officer")
    await officer.goto("/inbox?lang=zh-CN")
    who = officer.get_by_test_id("who")
    await expect(who).to_contain_text("赵经办（南岭街道）")
    assert (await who.inner_text()).count("南岭街道") == 1
    nxt = officer.get_by_test_id("next-task")
    assert await nxt.evaluate("b => getComputedStyle(b).backgroundColor") == BLUE
