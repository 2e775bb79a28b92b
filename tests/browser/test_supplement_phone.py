"""The online supplement after the one-time notice (``/supplement``, #24 item 2) on a phone, in
a real browser: a 360×740 touch viewport, in Chinese. A Weifang applicant's papers are
incomplete, so the office prints the one-time notice with its supplement code. The applicant
types the case number, the ID number's last six and a wrong code — the one message any wrong
answer gets, nothing of the case — then the right code (typed loosely), sees only the names of
the missing items (not their name or ID number), takes a photo for one item and picks a PDF
scan for the other, and is told the papers arrived. Through the API: the case holds the files
(source ``supplement``) and the supplement task was completed as ``supplied``, so the case
moved on. The page never scrolls sideways. Screenshots (in Chinese) are kept as test
artifacts: the wrong code, the missing items, the confirmation."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_tasks import task_of
from tests.browser.test_visit_phone import PHONE, overflow
from tests.factories import application
from tests.materials_support import jpeg, scan_pdf
from tests.stack import call

# Only the ID card is handed in and the applicant receives 低保: two materials are missing.
MISSING = {"evidence": ["id_card"], "household": {"minimum_living_allowance": True}}
GENERIC = "案件编号、身份证号码后六位或补正码不正确，或该案件目前无需补充材料。"
REVIEWER = "wf_reviewer"


def applied(web_stack: Any) -> tuple[str, str]:
    """An application missing two papers: its case number and the ID number."""
    body = application(name="补正申请人", **MISSING)
    status, created = call("POST", f"{web_stack.base}/api/v1/applications", body)
    assert status == 201, created
    return str(created["case_id"]), str(body["facts"]["person"]["id_number"])


def printed_code(web_stack: Any, case_id: str) -> str:
    """The supplement code as the office prints it on the one-time notice."""
    token = web_stack.token(REVIEWER)
    status, case = call("GET", f"{web_stack.base}/api/v1/cases/{case_id}", None, token)
    assert status == 200, case
    [notice] = [n for n in case["notices"] if n["kind"] == "missing_materials"]
    status, printed = call(
        "GET", f"{web_stack.base}/api/v1/cases/{case_id}/notices/{notice['id']}", None, token
    )
    assert status == 200
    match = re.search(r"补正码 <strong>([A-Z2-9]{4}-[A-Z2-9]{4})</strong>", str(printed))
    assert match, "the printed notice carries the supplement code"
    return match.group(1)


async def ask(page: Any, case_id: str, id_tail: str, code: str) -> None:
    await page.goto("/supplement")
    await page.fill("#case_id", case_id)
    await page.fill("#id_tail", id_tail)
    await page.fill("#code", code)
    await page.get_by_role("button", name="查看需补充的材料").tap()
    await page.wait_for_load_state()


async def test_an_applicant_hands_in_the_missing_papers_from_a_phone(
    browser: Any, web_stack: Any
) -> None:
    case_id, id_number = await asyncio.to_thread(applied, web_stack)
    supplement = await task_of(web_stack, REVIEWER, case_id, "supplement")
    missing = [m["code"] for m in supplement["payload"]["missing"]]
    assert len(missing) == 2, missing
    code = await asyncio.to_thread(printed_code, web_stack, case_id)

    context = await browser.new_context(
        base_url=web_stack.base, locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE
    )
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        # A wrong code: the one message, whatever was wrong, and nothing of the case.
        wrong = "AAAA-AAAA" if code != "AAAA-AAAA" else "BBBB-BBBB"
        await ask(page, case_id, id_number[-6:], wrong)
        await expect(page.get_by_test_id("form-alert")).to_have_text(GENERIC)
        await expect(page.locator("#case_id")).to_have_value(case_id)  # kept to correct
        assert "补正申请人" not in await page.content()
        assert await overflow(page) <= 360
        await screenshot(page, "supplement-phone-wrong-code", full_page=False)
        # A wrong ID tail reads the same.
        await ask(page, case_id, "000000", code)
        await expect(page.get_by_test_id("form-alert")).to_have_text(GENERIC)

        # The right three, the code typed as it is read out (lower case, a space).
        await ask(page, case_id, id_number[-6:], code.replace("-", " ").lower())
        listed = page.get_by_test_id("missing")
        await expect(listed.locator("li")).to_have_count(2)
        await expect(listed).to_contain_text("低保证")
        for item in missing:
            await expect(page.locator(f"#file-{item}")).to_be_visible()
        await expect(page.locator("#file-id_card")).to_have_count(0)  # handed in: not asked
        content = await page.content()
        assert "补正申请人" not in content and id_number not in content
        assert await overflow(page) <= 360
        await screenshot(page, "supplement-phone-missing")

        photo, scan = missing
        await page.locator(f"#file-{photo}").set_input_files(
            {"name": "低保证.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1600, 1200)}
        )
        await page.locator(f"#file-{scan}").set_input_files(
            {
                "name": "户口簿.pdf",
                "mimeType": "application/pdf",
                "buffer": scan_pdf(("常住人口登记卡", "户主：补正申请人")),
            }
        )
        await page.get_by_role("button", name="提交补充材料").tap()
        await expect(page.get_by_test_id("supplement-done")).to_contain_text("材料已提交")
        assert await overflow(page) <= 360
        await screenshot(page, "supplement-phone-done")
    finally:
        await context.close()

    # The supplement task woke with the files: completed as supplied, the files the case's.
    token = web_stack.token(REVIEWER)

    def task_state() -> dict[str, Any]:
        status, task = call("GET", f"{web_stack.base}/api/v1/tasks/{supplement['id']}", None, token)
        assert status == 200, task
        return dict(task)

    task = await asyncio.to_thread(task_state)
    assert task["state"] == "completed", task
    assert task["outcome"]["outcome"] == "supplied", task["outcome"]
    status, held = await asyncio.to_thread(
        call, "GET", f"{web_stack.base}/api/v1/cases/{case_id}/materials", None, token
    )
    assert status == 200, held
    items = held["items"]
    assert sorted((m["evidence_code"], m["source"]) for m in items) == sorted(
        (item, "supplement") for item in missing
    )
    # The PDF scan has its first page as a preview, the photo its own.
    assert all(m["preview_url"] for m in items), items
