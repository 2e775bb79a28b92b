"""A printable document in a real browser: on screen the site's header and the document's
toolbar (print button, back link) frame an A4 sheet; printed, only the sheet remains."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login, screenshot
from tests.factories import application
from tests.stack import call


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
