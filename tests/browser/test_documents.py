"""Printable documents in a real browser: on screen the site's header and the document's
toolbar (print button, back link) frame an A4 sheet; printed, only the sheet remains. The
publicity list reached from a case in publicity, the 认定表 with the initial review's opinion,
the notice of identification from an identified case — in Chinese and English pages (the
documents themselves stay Chinese), axe clean, screenshots kept."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any

import pytest
from playwright.async_api import expect

from domain.calendar import SHANGHAI
from domain.ids import mask_id_number
from tests.browser.conftest import Login, screenshot
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_tasks import accepted, apply_jilin, task_of, unique_name
from tests.factories import application
from tests.stack import call, wait_until


async def test_printing_a_document_leaves_out_the_navigation(
    login_as: Login, web_stack: Any
) -> None:
    status, body = call(
        "POST",
        f"{web_stack.base}/api/v1/applications",
        application("jilin-2022", name="打印测试人"),
    )
    assert status == 201, body
    page = await login_as("jl_officer")
    await page.goto(f"/documents/cases/{body['case_id']}/application")
    sheet = page.locator("article.document")
    await expect(sheet.locator("h1")).to_have_text("吉林省就业困难人员申请认定表")
    await expect(page.locator("header.top nav")).to_be_visible()
    await expect(page.locator(".doc-toolbar [data-print]")).to_be_visible()

    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()
    await expect(page.locator(".doc-toolbar")).to_be_hidden()
    await expect(sheet).to_be_visible()
    await expect(sheet).to_contain_text("打印测试人")
    await screenshot(page, "document-application-print")

    await page.emulate_media(media="screen")
    await expect(page.locator("header.top nav")).to_be_visible()


def complete(web_stack: Any, user: str, task: dict[str, Any], outcome: str, **extra: Any) -> None:
    status, body = call(
        "POST",
        f"{web_stack.base}/api/v1/tasks/{task['id']}/complete",
        {"outcome": outcome, **extra},
        web_stack.token(user),
    )
    assert status == 200, body


def case_status(web_stack: Any, user: str, case_id: str) -> str:
    status, body = call(
        "GET", f"{web_stack.base}/api/v1/cases/{case_id}", None, web_stack.token(user)
    )
    assert status == 200, body
    return str(body["status"])


TEXTS = {
    "zh-CN": {"list": "公示名单（打印）", "print": "打印"},
    "en": {"list": "Publicity list (print)", "print": "Print"},
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_officer_prints_the_publicity_list_and_the_filled_form(
    login_as: Login, web_stack: Any, locale: str
) -> None:
    """A Jilin case through its initial review into publicity: from the case page the officer
    opens the publicity list (masked ID number, the period, where to object), then the 认定表
    with the initial review's opinion filled; both printable, axe clean."""
    name = unique_name()
    case_id, number = await asyncio.to_thread(apply_jilin, web_stack, name)
    review = await accepted(web_stack, case_id)
    complete(web_stack, "jl_officer", review, "approve", comment="材料齐全")
    await asyncio.to_thread(
        wait_until,
        lambda: case_status(web_stack, "jl_officer", case_id) == "in_publicity",
        60,
        "the publicity",
    )
    page = await login_as("jl_officer", locale=locale)
    await page.goto(f"/cases/{case_id}" + ("?lang=en" if locale == "en" else ""))
    await page.get_by_role("link", name=TEXTS[locale]["list"]).click()
    await page.wait_for_url(re.compile(r"/documents/publicity"))
    row = page.locator(f"tr[data-case='{case_id}']")
    await expect(row).to_contain_text(name)
    await expect(row.locator("td.id")).to_have_text(mask_id_number(number))
    await expect(page.locator("body")).not_to_contain_text(number)
    today = datetime.now(SHANGHAI).date().isoformat()
    await expect(page.locator("input[name=from]")).to_have_value(today)  # the period in use
    await expect(page.locator("[data-testid=objection]").first).to_contain_text("南岭街道")
    await assert_accessible(page, f"the publicity list ({locale})")
    await screenshot(page, f"document-publicity-{locale}")
    await page.emulate_media(media="print")
    await expect(page.locator("[data-testid=publicity-picker]")).to_be_hidden()
    await screenshot(page, f"document-publicity-print-{locale}")
    await page.emulate_media(media="screen")

    await page.goto(f"/documents/cases/{case_id}/application")
    initial = page.locator("[data-testid=opinion]").first
    await expect(initial).to_contain_text("初审通过。备注：材料齐全")
    await expect(initial).to_contain_text("依据吉人社发〔2022〕10号 二(二)")
    await assert_accessible(page, f"the filled application form ({locale})")
    await page.emulate_media(media="print")
    await screenshot(page, f"document-application-opinions-{locale}")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_reviewer_prints_the_notice_of_identification(
    login_as: Login, web_stack: Any, locale: str
) -> None:
    """A Weifang case identified at once (即时办结): the case lists the notice of
    identification, which prints with the category, its clauses and the person's rights."""
    status, body = call(
        "POST",
        f"{web_stack.base}/api/v1/applications",
        application("weifang-2023", name=unique_name()),
    )
    assert status == 201, body
    case_id = body["case_id"]
    task = await task_of(web_stack, "wf_reviewer", case_id, "immediate_conclusion")
    complete(web_stack, "wf_reviewer", task, "approve", fields={"category": "older_unemployed"})
    await asyncio.to_thread(
        wait_until,
        lambda: case_status(web_stack, "wf_reviewer", case_id) == "identified",
        60,
        "the identification",
    )
    page = await login_as("wf_reviewer", locale=locale)
    await page.goto(f"/cases/{case_id}" + ("?lang=en" if locale == "en" else ""))
    notices = page.locator("[data-testid=documents]")
    await expect(notices).to_contain_text("就业困难人员认定结果告知书")
    await (
        notices.locator("li", has_text="认定结果告知书")
        .get_by_role("link", name=TEXTS[locale]["print"])
        .click()
    )
    sheet = page.locator("article.document")
    await expect(sheet.locator("h1")).to_have_text("就业困难人员认定结果告知书")
    await expect(sheet).to_contain_text("依据：潍人社字〔2023〕1号")
    await expect(sheet.locator("[data-testid=exits] li").first).to_be_visible()
    await assert_accessible(page, f"the notice of identification ({locale})")
    await page.emulate_media(media="print")
    await expect(page.locator(".doc-toolbar")).to_be_hidden()
    await screenshot(page, f"document-identification-notice-{locale}")
