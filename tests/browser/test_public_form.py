"""The public application form in a real browser: a visitor chooses the place (the form for
that region's pack comes in without a page load), types an invalid ID number and is told
what is wrong while typing, fixes it, fills in the hukou address, a telephone number (a bad
one is explained next to the field, what was typed kept) and the employment wishes, submits
and sees the receipt with the case number. A screenshot of the form and of the receipt is
kept as a test artifact."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login, screenshot
from tests.factories import make_id
from tests.stack import call

JILIN_STREET = "220102001"


async def test_visitor_applies_and_gets_a_receipt(login_as: Login, web_stack: Any) -> None:
    page = await login_as(None)
    await page.goto("/apply")
    await page.select_option("#place", JILIN_STREET)
    # htmx brings the region's form in place (no submit of the place chooser needed).
    form = page.locator("#apply-form[data-pack='jilin-2022']")
    await expect(form).to_be_visible()
    await expect(page.locator("[data-testid=place-name]")).to_have_text("长春市 南关区 南岭街道")

    good = make_id(region="220102")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    await page.fill("#name", "浏览器申请人")
    await page.fill("#id_number", wrong)
    check = page.locator("[data-testid=id-check]")
    await expect(check).to_contain_text(f"校验码错误：应为{good[17]}")
    await page.fill("#id_number", good)
    await expect(check.locator("[data-valid=true]")).to_contain_text("号码有效")

    await page.check("input[name=category][value=older_unemployed]")
    await page.check("input[name=evidence][value=id_card]")
    await page.fill("#hukou_address", "吉林省长春市南关区 自由大路 88 号")
    await page.fill("#phone", "0431-0123")  # too short a number
    await page.get_by_label("就业（创业）培训").check()
    await page.get_by_label("公益性岗位安置").check()
    await page.click("#apply-form button[type=submit]")
    await expect(page.locator("#err-phone")).to_contain_text("联系电话格式不正确")
    await expect(page.locator("#phone")).to_have_value("0431-0123")
    await expect(page.get_by_label("公益性岗位安置")).to_be_checked()
    await expect(page.locator("#hukou_address")).to_have_value("吉林省长春市南关区 自由大路 88 号")
    await screenshot(page, "public-form")  # with a message in place
    await page.fill("#phone", "138 0431 5678")
    await page.click("#apply-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/apply/receipt/YZ"))

    case_id = (await page.text_content("[data-testid=case-id]") or "").strip()
    assert re.fullmatch(r"YZ\d{8}-[A-Z2-9]{8}", case_id)
    receipt = await page.text_content("main") or ""
    assert "浏览器申请人" in receipt and good not in receipt and good[-4:] in receipt
    await expect(page.locator("[data-print]")).to_be_visible()  # JavaScript shows it
    await screenshot(page, "public-receipt")

    # The case is there for the street's officer, filed online.
    status, case = call(
        "GET", f"{web_stack.base}/api/v1/cases/{case_id}", token=web_stack.token("jl_officer")
    )
    assert status == 200 and case["applicant_name"] == "浏览器申请人"
    assert case["id_number"] == good
    person = case["facts"]["person"]
    assert person["phone"] == "13804315678"
    assert person["employment_intentions"] == ["training", "public_welfare_post"]
    assert case["facts"]["residence"]["hukou_address"] == "吉林省长春市南关区 自由大路 88 号"
