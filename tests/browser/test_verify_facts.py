"""Facts verified on a task in a real browser (#21 item 2): a Jilin application that says
nothing of urban residence reaches the officer's acceptance task with that fact to verify; the
officer answers 是, accepts, and the initial review (初审) then shows the fact verified by them,
with the pre-check re-run and the timeline entry on the case page. Screenshots of the form and
of the next task in Chinese and English are kept; axe stays clean on both."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login, artifacts_dir, screenshot
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_tasks import task_of, unique_name
from tests.factories import application, make_id
from tests.stack import call

URBAN = "城镇户籍或城镇常住"


def apply_without_urban(web_stack: Any, name: str) -> str:
    birth = date(1975, 1, 1) + timedelta(days=random.randrange(7000))
    body = application("jilin-2022", name=name, id_number=make_id(birth, region="220102"))
    del body["facts"]["residence"]["urban"]
    status, created = call("POST", f"{web_stack.base}/api/v1/applications", body)
    assert status == 201, created
    return str(created["case_id"])


async def test_officer_verifies_a_fact_and_the_next_stage_sees_it(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    case_id = await asyncio.to_thread(apply_without_urban, web_stack, name)
    acceptance = await task_of(web_stack, "jl_officer", case_id, "acceptance")

    # The same form in English first (nothing submitted from it).
    english = await login_as("jl_officer", locale="en")
    await english.goto(f"/tasks/{acceptance['id']}?lang=en")
    verify_en = english.locator("[data-testid=verify-facts]")
    await expect(verify_en).to_contain_text("Facts to verify")
    await expect(verify_en).to_contain_text("urban hukou or urban resident")
    await screenshot(english, "verify-task-form-en")
    await assert_accessible(english, "the task form with facts to verify (en)")

    page = await login_as("jl_officer")
    await page.goto(f"/tasks/{acceptance['id']}")
    verify = page.locator("[data-testid=verify-facts]")
    await expect(verify).to_contain_text("核实事项")
    urban = verify.locator("[data-fact='residence.urban']")
    await expect(urban).to_contain_text(URBAN)
    await screenshot(page, "verify-task-form-zh")
    # The form's part up close, for a reader of the artifacts.
    await page.locator("[data-testid=task-form]").screenshot(
        path=str(artifacts_dir() / "verify-task-form-part-zh.png")
    )
    await assert_accessible(page, "the task form with facts to verify")

    await urban.get_by_label("是", exact=True).check()
    await page.get_by_label("受理", exact=True).check()
    await page.get_by_role("button", name="提交办理结果").click()
    await page.wait_for_url("**/inbox**")

    review = await task_of(web_stack, "jl_officer", case_id, "initial_review")
    await page.goto(f"/tasks/{review['id']}")
    verified = page.locator("[data-testid=verified-facts]")
    await expect(verified).to_contain_text(URBAN)
    await expect(verified).to_contain_text("是")
    await expect(verified).to_contain_text("赵经办（南岭街道）")
    await expect(verified).to_contain_text("受理")
    # Verified, it is no longer asked for.
    await expect(page.locator("[data-fact='residence.urban']")).to_have_count(0)
    await screenshot(page, "verify-next-task-zh")
    await assert_accessible(page, "the next task with the verified fact")

    await english.goto(f"/tasks/{review['id']}?lang=en")
    verified_en = english.locator("[data-testid=verified-facts]")
    await expect(verified_en).to_contain_text("Verified facts")
    await expect(verified_en).to_contain_text("urban hukou or urban resident")
    await expect(verified_en).to_contain_text("yes")
    await screenshot(english, "verify-next-task-en")
    await verified_en.screenshot(path=str(artifacts_dir() / "verify-verified-part-en.png"))
    await assert_accessible(english, "the next task with the verified fact (en)")

    # The case's timeline says who verified what; the pre-check ran again after it.
    await page.goto(f"/cases/{case_id}")
    timeline = page.locator("[data-testid=timeline]")
    await expect(timeline).to_contain_text(f"经办人 赵经办（南岭街道） 核实：{URBAN} = 是")
    await screenshot(page, "verify-case-timeline-zh")
