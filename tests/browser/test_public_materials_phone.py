"""The public form with the applicant's papers, on a phone (#24 item 1), in a real browser: a
360×740 touch viewport. The applicant fills in the form for a Jilin street, attaches a "photo"
of the ID card that is really a text file renamed .jpg — refused beside its input, with what
was typed kept and the page never scrolling sideways — then attaches a real photo and gets the
receipt; the case holds the file. Screenshots (in Chinese) of the refusal and the receipt are
kept as test artifacts."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_visit_phone import PHONE, overflow
from tests.factories import make_id
from tests.materials_support import jpeg
from tests.stack import call

JILIN_STREET = "220102001"


async def test_an_applicant_hands_in_papers_from_a_phone(browser: Any, web_stack: Any) -> None:
    context = await browser.new_context(
        base_url=web_stack.base, locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE
    )
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        await page.goto(f"/apply?place={JILIN_STREET}")
        await expect(page.locator("#apply-form[data-pack='jilin-2022']")).to_be_visible()
        assert await overflow(page) <= 360
        await page.fill("#name", "手机申请人")
        await page.fill("#id_number", make_id(region="220102"))
        await page.check("input[name=category][value=older_unemployed]")
        await page.fill("#hukou_address", "吉林省长春市南关区 自由大路 88 号")
        card = page.locator("#file-id_card")
        await card.set_input_files(
            {"name": "身份证.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo at all\n"}
        )
        await page.locator("#apply-form button[type=submit]").tap()
        error = page.locator("#err-file\\.id_card")
        await expect(error).to_contain_text("身份证.jpg")
        await expect(page.locator("#name")).to_have_value("手机申请人")  # kept
        assert await overflow(page) <= 360
        await error.scroll_into_view_if_needed()
        await screenshot(page, "public-form-phone-file-refused", full_page=False)

        await page.locator("#file-id_card").set_input_files(
            {"name": "身份证.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1600, 1000)}
        )
        await page.locator("#apply-form button[type=submit]").tap()
        await page.wait_for_url(re.compile(r"/apply/receipt/YZ"))
        assert await overflow(page) <= 360
        await screenshot(page, "public-receipt-phone")
        case_id = (await page.text_content("[data-testid=case-id]") or "").strip()
    finally:
        await context.close()

    status, held = await asyncio.to_thread(
        call,
        "GET",
        f"{web_stack.base}/api/v1/cases/{case_id}/materials",
        None,
        web_stack.token("jl_officer"),
    )
    assert status == 200, held
    items = held["items"] if isinstance(held, dict) else held
    assert [(m["evidence_code"], m["source"], m["media_type"]) for m in items] == [
        ("id_card", "applicant", "image/jpeg")
    ]
