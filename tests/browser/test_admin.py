"""The administration pages in a real browser, as the root administrator of the demo data:
a user made on the users page then signs in with the password given; a calendar year loaded
from its JSON file shows its holidays and make-up working days; a department file with a bad
line is refused with the line's error and nothing is imported. Screenshots of the pages are
kept as test artifacts.

The stack is shared by the whole session: the user's name is unique, the year (2091) is used
by no other test, and the refused department file changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from domain.ids import check_digit
from domain.policy.authoring import skeleton
from tests.browser.conftest import Login, screenshot
from tests.stack import call
from worker.demo import DEMO_PASSWORD

YEAR = 2091


def id_number(i: int) -> str:
    body = f"370702{date(1975, 3, 1) + timedelta(days=i):%Y%m%d}{i % 999 + 1:03d}"
    return body + check_digit(body)


async def test_admin_creates_a_user_who_then_signs_in(login_as: Login, tmp_path: Path) -> None:
    username = f"br_{uuid.uuid4().hex[:8]}"
    page = await login_as("admin")
    assert page.url.endswith("/admin")
    await screenshot(page, "admin-home")
    await page.click("nav.admin-nav >> text=用户与角色")
    await page.click("text=新建用户")
    await page.fill("#username", username)
    await page.fill("#display_name", "浏览器新经办")
    await page.select_option("#role", "grassroots_officer")
    await page.select_option("#jurisdiction_code", "370702001")
    # A weak password first: refused next to the field, the rest kept.
    await page.fill("#password", "short")
    await page.click("form.admin-form button[type=submit]")
    error = page.locator("#password-error")
    await expect(error).to_contain_text("密码不符合规则")
    await expect(error).to_contain_text("at least 8 characters")
    await expect(page.locator("#username")).to_have_value(username)
    await screenshot(page, "admin-user-error")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form.admin-form button[type=submit]")
    await expect(page.locator("p.notice")).to_have_text("用户已创建")

    newcomer = await login_as(username)
    assert newcomer.url.endswith("/inbox")
    who = await newcomer.text_content("[data-testid=who]")
    assert who is not None and "浏览器新经办" in who and "城关街道" in who


async def test_admin_loads_a_calendar_year_and_sees_its_holidays(
    login_as: Login, tmp_path: Path
) -> None:
    makeup = date(YEAR, 9, 30)
    while makeup.weekday() < 5:  # a make-up working day is a Saturday or Sunday
        makeup -= timedelta(days=1)
    table = {
        "year": YEAR,
        "holidays": [f"{YEAR}-10-0{d}" for d in range(1, 8)],
        "workdays": [makeup.isoformat()],
        "note": "国办发明电〔2090〕7号",
    }
    page = await login_as("admin")
    await page.goto("/admin/calendar")
    await page.fill("#year", str(YEAR))
    await page.set_input_files(
        "#file",
        files=[
            {
                "name": f"{YEAR}.json",
                "mimeType": "application/json",
                "buffer": json.dumps(table, ensure_ascii=False).encode(),
            }
        ],
    )
    await page.click("[data-testid=year-upload] button[type=submit]")
    # The year's page is the form's answer, with the recompute's outcome.
    await expect(page.locator("h1")).to_have_text(f"{YEAR} 年工作日历")
    await expect(page.locator("[data-recompute]")).to_contain_text(f"已载入 {YEAR} 年")
    for day in table["holidays"]:
        await expect(page.locator(f'td.day.holiday[data-date="{day}"]')).to_contain_text("休")
    await expect(page.locator(f'td.day.makeup[data-date="{makeup}"]')).to_contain_text("班")
    await expect(page.locator("[data-testid=holidays] li")).to_have_count(7)
    await expect(page.locator("[data-testid=workdays]")).to_contain_text(makeup.isoformat())
    await screenshot(page, "admin-calendar-year")
    # The list of years names the administrator who loaded it.
    await page.goto("/admin/calendar")
    row = page.locator(
        "[data-testid=years] tr", has=page.locator(f'a[href="/admin/calendar/{YEAR}"]')
    )
    await expect(row).to_contain_text("admin")


async def test_a_department_file_with_a_bad_line_is_refused_whole(
    login_as: Login, web_stack: Any, tmp_path: Path
) -> None:
    kind = "disability"
    token = web_stack.token("admin")

    def imports() -> list[dict[str, Any]]:
        status, body = call(
            "GET", f"{web_stack.base}/api/v1/department/imports?kind={kind}", token=token
        )
        assert status == 200, body
        return list(body["items"])

    before = imports()
    good, bad = id_number(1), id_number(2)[:-1] + ("0" if id_number(2)[-1] != "0" else "1")
    lines = ["身份证号,姓名,开始日期", f"{good},张三,2024-01-01", f"{bad},李四,2024-01-01"]
    page = await login_as("admin")
    await page.goto("/admin/department")
    await page.select_option("#kind", kind)
    await page.set_input_files(
        "#file",
        files=[
            {
                "name": "残疾人名单.csv",
                "mimeType": "text/csv",
                "buffer": ("\n".join(lines) + "\n").encode(),
            }
        ],
    )
    await page.click("form[enctype] button[type=submit]")
    table = page.locator("[data-testid=line-errors]")
    await expect(table).to_contain_text("残疾人名单.csv 中有 1 处错误，未导入任何记录")
    row = table.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.locator("td").nth(0)).to_have_text("3")
    await expect(row.locator("td").nth(1)).to_have_text("身份证号")
    await expect(row.locator("td").nth(2)).to_contain_text("身份证号无效")
    await expect(page.locator("[role=alert]")).to_contain_text("部门数据文件有误，未导入任何记录")
    await screenshot(page, "admin-department-error")
    assert imports() == before
    await expect(page.locator("[data-testid=imports]")).not_to_contain_text("残疾人名单.csv")


async def test_a_policy_pack_is_checked_and_previewed_before_it_is_loaded(
    login_as: Login,
) -> None:
    """The administrator chooses a new region's pack and its cases: checked, its cases run and
    the preview shown, with the button that would put it in force (not pressed here: the
    stack is shared, and a pack in force would change other tests' lists — the loading
    itself: tests/web/test_policy_load_page.py). A pack with a broken rule is refused with
    the problem named."""
    pack, cases = skeleton("browserland-2026", region_code="45")

    def files(text: str) -> list[dict[str, Any]]:
        return [
            {
                "name": "browserland-2026.toml",
                "mimeType": "application/toml",
                "buffer": text.encode(),
            }
        ]

    page = await login_as("admin")
    await page.goto("/admin/packs")
    await expect(page.locator("#load-heading")).to_have_text("载入政策包")
    await page.set_input_files("#file", files=files(pack))
    await page.set_input_files("#cases", files=files(cases))
    await page.click("form.admin-form button[value=preview]")
    result = page.locator("[data-testid=load-result]")
    await expect(result).to_contain_text("预览，尚未生效：browserland-2026@1#")
    await expect(result).to_contain_text("5 个全部通过")
    await expect(result).to_contain_text("无（新地区）")
    await expect(result.locator("button[value=load]")).to_have_text("确认载入并生效")
    await screenshot(page, "admin-pack-preview")

    broken = pack.replace('fact = "person.age"', 'fact = "person.agee"')
    await page.set_input_files("#file", files=files(broken))
    await page.set_input_files("#cases", files=files(cases))
    await page.click("form.admin-form button[value=preview]")
    errors = page.locator("[data-testid=load-errors]")
    await expect(errors).to_contain_text("unknown fact path 'person.agee'")
    await expect(page.locator("[data-testid=load-result]")).to_have_count(0)
    await screenshot(page, "admin-pack-refused")
