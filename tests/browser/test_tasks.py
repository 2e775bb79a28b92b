"""Task pages in a real browser: an officer opens a Jilin case's initial review (初审), sees
the applicant's facts, the pre-check and the department data side by side, submits a refusal
without its reason and finds the message beside the reason field with what they typed kept,
then completes it; the task then reads back who completed it. A screenshot of the task page
with its messages is kept as a test artifact.

The stack is shared by the whole session: each test makes its own case with a unique name."""

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


def unique_name() -> str:
    return "任" + "".join(random.choice(GIVEN) for _ in range(3))


def apply_jilin(web_stack: Any, name: str) -> tuple[str, str]:
    """A Jilin application (acceptance → initial review → publicity → review); returns the
    case number and the applicant's ID number."""
    birth = date(1975, 1, 1) + timedelta(days=random.randrange(7000))
    number = make_id(birth, region="220102")
    body = application("jilin-2022", name=name, id_number=number)
    status, created = call("POST", f"{web_stack.base}/api/v1/applications", body)
    assert status == 201, created
    return str(created["case_id"]), number


async def task_of(web_stack: Any, user: str, case_id: str, kind: str) -> dict[str, Any]:
    token = web_stack.token(user)

    def found() -> dict[str, Any] | None:
        _status, page = call(
            "GET", f"{web_stack.base}/api/v1/tasks?kind={kind}&limit=200", None, token
        )
        return next((t for t in page["items"] if t["case_id"] == case_id), None)

    task: dict[str, Any] = await asyncio.to_thread(wait_until, found, 60, f"the {kind} task")
    return task


async def accepted(web_stack: Any, case_id: str) -> dict[str, Any]:
    """Accept the application through the API; returns the initial review task."""
    acceptance = await task_of(web_stack, "jl_officer", case_id, "acceptance")
    status, body = call(
        "POST",
        f"{web_stack.base}/api/v1/tasks/{acceptance['id']}/complete",
        {"outcome": "accept"},
        web_stack.token("jl_officer"),
    )
    assert status == 200, body
    return await task_of(web_stack, "jl_officer", case_id, "initial_review")


async def test_initial_review_missing_reason_then_completed(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    case_id, number = await asyncio.to_thread(apply_jilin, web_stack, name)
    task = await accepted(web_stack, case_id)
    page = await login_as("jl_officer")
    await page.goto(f"/tasks/{task['id']}")
    await expect(page.locator("h1")).to_contain_text(name)
    # Side by side: what the applicant stated (ID masked), the pre-check, department data.
    facts = page.locator("[data-testid=applicant-facts]")
    await expect(facts).to_contain_text(name)
    await expect(facts).to_contain_text(number[-4:])
    assert number not in (await facts.inner_text())
    await expect(page.locator("[data-testid=eligibility] li").first).to_be_visible()
    await expect(page.locator("[data-testid=department-data]")).to_be_visible()

    # A refusal without its reason: the message beside the reason, what was typed kept.
    await page.get_by_label("不通过", exact=True).check()
    await expect(page.locator("#f_reason")).to_be_visible()
    await page.fill("#comment", "已核对户籍与失业登记")
    await page.get_by_role("button", name="提交办理结果").click()
    error = page.locator("#error-reason")
    await expect(error).to_have_text("选择“不通过”时必须填写此项")
    await expect(page.locator("#f_reason")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#comment")).to_have_value("已核对户籍与失业登记")
    await expect(page.get_by_label("不通过", exact=True)).to_be_checked()
    await expect(page.get_by_role("alert")).to_contain_text("填写的内容有误")
    await screenshot(page, "task-field-error")

    # Corrected: the officer approves instead (the reason field is hidden for it).
    await page.get_by_label("通过", exact=True).check()
    await expect(page.locator("#f_reason")).to_be_hidden()
    await page.get_by_role("button", name="提交办理结果").click()
    await page.wait_for_url("**/inbox?*")
    await page.goto(f"/tasks/{task['id']}")
    result = page.locator("[data-testid=task-result]")
    await expect(result).to_contain_text("赵经办（南岭街道）")
    await expect(result).to_contain_text("通过")
    await expect(result).to_contain_text("已核对户籍与失业登记")
    await expect(page.locator("[data-testid=task-form]")).to_have_count(0)
    await screenshot(page, "task-completed")
