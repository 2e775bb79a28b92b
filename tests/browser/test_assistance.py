"""Assistance (就业援助) on the case page in a real browser: a Weifang applicant is identified at
once by the county (审核认定（即时办结）, through the API), their assistance starts, and the
county officer who follows them records, from the case page, the person coming in (which
restarts the contact clock) and a career guidance session, which then counts against
Weifang's standard of free public services; with every recording form open, axe-core finds
nothing to fix. A screenshot of the section is kept as a test artifact."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login, screenshot
from tests.browser.test_accessibility import axe_violations, readable
from tests.browser.test_tasks import task_of, unique_name
from tests.factories import application, make_id
from tests.stack import call, wait_until

# Weifang's applications are filed at the county (潍城区), whose officer identifies at once and
# then follows the person: the demo's county reviewer.
OFFICER = "wf_reviewer"


async def identified_in_weifang(web_stack: Any, name: str) -> str:
    """A Weifang application identified through the API; returns the case number once its
    assistance is shown by the API."""
    birth = date(1970, 1, 1) + timedelta(days=random.randrange(3000))
    body = application("weifang-2023", name=name, id_number=make_id(birth, region="370702"))
    status, created = call("POST", f"{web_stack.base}/api/v1/applications", body)
    assert status == 201, created
    case_id = str(created["case_id"])
    task = await task_of(web_stack, OFFICER, case_id, "immediate_conclusion")
    token = web_stack.token(OFFICER)
    status, done = call(
        "POST",
        f"{web_stack.base}/api/v1/tasks/{task['id']}/complete",
        {"outcome": "approve", "fields": {"category": "older_unemployed"}},
        token,
    )
    assert status == 200, done

    def in_assistance() -> bool:
        status, _view = call(
            "GET", f"{web_stack.base}/api/v1/cases/{case_id}/assistance", None, token
        )
        return status == 200

    await asyncio.to_thread(wait_until, in_assistance, 60, "the assistance to start")
    return case_id


async def test_officer_records_a_contact_and_a_service(login_as: Login, web_stack: Any) -> None:
    name = unique_name()
    case_id = await identified_in_weifang(web_stack, name)
    page = await login_as(OFFICER)
    await page.goto(f"/cases/{case_id}")
    box = page.locator("[data-testid=assistance]")
    await expect(box.locator("[data-testid=assistance-status]")).to_have_text("援助中")
    standard = box.locator("[data-testid=standards] tr", has_text="优先享受免费公共就业服务")
    await expect(standard).to_contain_text("职业指导 0/1")
    anchor_before = await box.locator("[data-testid=contact-anchor] time").get_attribute("datetime")

    # The person came in: recorded as their own contact.
    await box.get_by_text("登记联系", exact=True).first.click()
    form = box.locator("[data-testid=contact-form]")
    await form.get_by_label("联系方式").select_option(label="本人来访")
    await form.get_by_label("本人主动联系（重新计算未主动联系期限）").check()
    await form.get_by_label("情况说明").fill("本人来窗口询问公益性岗位")
    await form.get_by_role("button", name="登记联系").click()
    await page.wait_for_url(f"**/cases/{case_id}?assisted=contacts#assistance")
    await expect(page.get_by_role("status")).to_contain_text("联系记录已登记")
    row = box.locator("[data-testid=contacts] tbody tr", has_text="本人来窗口询问公益性岗位")
    await expect(row).to_contain_text("本人来访")
    await expect(row).to_contain_text("本人主动联系")
    await expect(row).to_contain_text("李审核（潍城区）")
    anchor_after = await box.locator("[data-testid=contact-anchor] time").get_attribute("datetime")
    assert anchor_before and anchor_after and anchor_after > anchor_before

    # A career guidance session: it counts against the standard.
    await box.get_by_text("登记援助服务", exact=True).click()
    form = box.locator("[data-testid=service-form]")
    await form.get_by_label("服务类型").select_option(label="职业指导")
    await form.get_by_label("情况说明").fill("制定求职计划")
    await form.get_by_role("button", name="登记服务").click()
    await page.wait_for_url(f"**/cases/{case_id}?assisted=services#assistance")
    await expect(box.locator("[data-testid=services] tbody tr").first).to_contain_text("职业指导")
    await expect(standard).to_contain_text("职业指导 1/1")
    await screenshot(page, "case-assistance")
    # Every recording form open: axe finds nothing to fix (labels, names, contrast).
    folded = box.locator(".assistance-forms details")
    for n in range(await folded.count()):
        if await folded.nth(n).get_attribute("open") is None:
            await folded.nth(n).locator("summary").click()
    await expect(box.locator("[data-testid=exit-form]")).to_be_visible()
    violations = await axe_violations(page)
    assert violations == [], readable(violations)
