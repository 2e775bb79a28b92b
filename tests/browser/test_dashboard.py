"""The supervisor's dashboard in a real browser: the Weifang city supervisor lands on it after
login, sees a bar for the district holding a new application's task, clicks the bar's place
through to the district and on to a street, follows the breach-record count to the list and
comes back up by the breadcrumb; reads the headline (overdue, at risk, breaches, the on-time
rate, cases by stage), follows a stage's figure to the cases behind it and one of them to its
page. Screenshots of the dashboard and the case list are kept as test artifacts, in Chinese
and in English."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import Login, screenshot
from tests.browser.test_tasks import accepted, apply_jilin, unique_name
from tests.factories import application
from tests.stack import call, wait_until

CITY, DISTRICT, STREET = "潍坊市", "潍城区", "城关街道"
DISTRICT_CODE, STREET_CODE = "370702", "370702001"


def bar(chart: str, place: str) -> str:
    return f'svg[data-chart="{chart}"] g[data-name="{place}"]'


def new_weifang_task(web_stack: Any, prefix: str) -> list[dict[str, Any]]:
    """A new application whose first task waits at the district office (潍城区 itself): the
    dashboard then has at least one open task to chart. Returns the task list it appears in."""
    name = f"{prefix}{uuid.uuid4().hex[:6]}"
    status, body = call("POST", f"{web_stack.base}/api/v1/applications", application(name=name))
    assert status == 201, body
    token = web_stack.token("wf_supervisor")
    items: list[dict[str, Any]] = wait_until(
        lambda: call("GET", f"{web_stack.base}/api/v1/tasks?q={quote(name)}", token=token)[1][
            "items"
        ],
        30,
        "the application's first task",
    )
    return items


async def test_supervisor_drills_down_from_the_city_to_a_street_and_its_breaches(
    login_as: Login, web_stack: Any
) -> None:
    new_weifang_task(web_stack, "督导")

    page = await login_as("wf_supervisor")
    assert page.url.endswith("/dashboard")  # a supervisor's home
    assert CITY in (await page.text_content("h1") or "")
    # The district's bar has length: at least the new task, in some SLA state.
    district = page.locator(bar("sla-place", DISTRICT))
    assert await district.locator("rect.seg").count() >= 1
    shown = int(await district.locator("text.value").text_content() or "0")
    assert shown >= 1
    # The same figure is in the table under the chart (opened from its summary).
    await page.locator("#sla details.numbers summary").first.click()
    cell = page.locator(
        f'[data-table="sla-place"] tr[data-row="{DISTRICT_CODE}"] td[data-col="open"]'
    )
    assert int(await cell.text_content() or "0") == shown
    await screenshot(page, "dashboard")

    # Click the district's bar: the same dashboard for the district, by street.
    await district.locator("text.label").click()
    await page.wait_for_url(f"**/dashboard?jurisdiction={DISTRICT_CODE}")
    assert DISTRICT in (await page.text_content("h1") or "")
    assert await page.locator(f'nav.trail a:has-text("{CITY}")').count() == 1
    street = page.locator(bar("sla-place", STREET))
    await street.locator("text.label").click()
    await page.wait_for_url(f"**/dashboard?jurisdiction={STREET_CODE}")
    assert STREET in (await page.text_content("h1") or "")

    # The period's breach records of the street: the list behind the count.
    await page.click('[data-tile="breaches"] a')
    await page.wait_for_url(f"**/dashboard/breaches?jurisdiction={STREET_CODE}*")
    heading = await page.text_content("h1") or ""
    assert "超时记录" in heading and STREET in heading
    assert (
        await page.locator('[data-table="breaches"]').count() == 1
        or await page.locator("text=没有符合条件的超时记录").count() == 1
    )
    # Back up to the supervisor's own place by the breadcrumb.
    await page.click(f'nav.trail a:has-text("{CITY}")')
    await page.wait_for_url(re.compile(r"/dashboard(\?from=[-0-9]+&to=[-0-9]+)?$"))
    assert CITY in (await page.text_content("h1") or "")


@pytest.mark.parametrize("locale", ["en"])
async def test_the_dashboard_in_english_is_usable_by_keyboard(
    login_as: Login, web_stack: Any, locale: str
) -> None:
    # Charts are drawn only with data: an open task at the district gives the chart its bar.
    new_weifang_task(web_stack, "键盘")
    page = await login_as("wf_supervisor", locale=locale)
    await page.goto("/dashboard?lang=en")
    assert await page.get_attribute("html", "lang") == "en"
    assert "Breaches and at-risk tasks" in (await page.text_content("main") or "")
    await screenshot(page, "dashboard-en")
    # The district's link in the chart takes keyboard focus and Enter follows it.
    link = page.locator(f"{bar('sla-place', DISTRICT)} a")
    await link.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/dashboard?jurisdiction={DISTRICT_CODE}*")
    # The period form's fields have labels.
    assert await page.get_by_label("From").count() == 1
    assert await page.get_by_label("To", exact=True).count() == 1


async def test_supervisor_follows_a_stage_figure_to_its_cases(
    login_as: Login, web_stack: Any
) -> None:
    # A new application: a case in identification, at the stage its workflow stored.
    items = new_weifang_task(web_stack, "环节")
    token = web_stack.token("wf_supervisor")
    case_id = items[0]["case_id"]
    stage = call("GET", f"{web_stack.base}/api/v1/cases/{case_id}", token=token)[1]["stage"]
    assert stage

    page = await login_as("wf_supervisor")
    headline = page.locator("#headline")
    for key in ("overdue", "at_risk", "breaches", "on_time", "open_cases"):
        assert await headline.locator(f'[data-tile="{key}"] .n').count() == 1, key
    open_cases = await headline.locator('[data-tile="open_cases"] .n').text_content()
    assert int(open_cases or "0") >= 1
    # The period in use is stated in words and stands in the fields.
    period = await page.text_content(".as-of strong") or ""
    assert period.startswith("近30天") and "年" in period
    assert await page.input_value("#period-from") != ""
    await screenshot(page, "dashboard-headline", full_page=False)

    # The stage's row: its count leads to the cases at that stage, the new one among them.
    row = page.locator(f'[data-table="stages"] tr[data-row="{stage}"]')
    assert int(await row.locator('td[data-col="cases"]').text_content() or "0") >= 1
    await row.locator("th a").click()
    await page.wait_for_url(f"**/dashboard/cases?which=stage&stage={stage}*")
    assert "认定中的案件" in (await page.text_content("h1") or "")
    listed = page.locator(f'[data-table="cases"] tr[data-row="{case_id}"]')
    assert await listed.count() == 1
    assert items[0]["applicant_name"] in (await listed.text_content() or "")
    await screenshot(page, "dashboard-cases")
    await page.goto(page.url + "&lang=en")
    assert "Cases in identification" in (await page.text_content("h1") or "")
    await screenshot(page, "dashboard-cases-en")
    await page.goto(page.url.replace("&lang=en", "&lang=zh-CN"))
    # And on to the case's own page.
    await page.locator(f'[data-table="cases"] tr[data-row="{case_id}"] th a').click()
    await page.wait_for_url(f"**/cases/{case_id}")

    # The headline in English.
    await page.goto("/dashboard?lang=en")
    assert "Cases in identification" in (await page.text_content("#headline") or "")
    period = await page.text_content(".as-of strong") or ""
    assert period.startswith("Last 30 days")
    await screenshot(page, "dashboard-headline-en", full_page=False)
    await screenshot(page, "dashboard-full-en")
    await page.goto("/dashboard?lang=zh-CN")
    await screenshot(page, "dashboard-full")


async def test_a_case_in_publicity_counts_as_waiting_on_its_clock(
    login_as: Login, web_stack: Any
) -> None:
    """The issue's case: a Jilin case in publicity has no task, yet the city's and the
    district's headlines count it, waiting for the publicity period to end."""
    name = unique_name()
    case_id, _number = await asyncio.to_thread(apply_jilin, web_stack, name)
    review = await accepted(web_stack, case_id)
    officer = web_stack.token("jl_officer")
    status, done = call(
        "POST",
        f"{web_stack.base}/api/v1/tasks/{review['id']}/complete",
        {"outcome": "approve"},
        officer,
    )
    assert status == 200, done
    token = web_stack.token("jl_supervisor")

    def in_publicity() -> bool:
        _s, case = call("GET", f"{web_stack.base}/api/v1/cases/{case_id}", None, token)
        return bool(case.get("stage") == "publicity")

    await asyncio.to_thread(wait_until, in_publicity, 60, "the publicity to start")

    page = await login_as("jl_supervisor")
    row = page.locator('[data-table="stages"] tr[data-row="publicity"]')
    assert int(await row.locator('td[data-col="cases"]').text_content() or "0") >= 1
    waiting = await row.locator('td[data-col="waiting"]').text_content() or ""
    assert int(waiting.split()[0]) >= 1 and "等待期满" in waiting
    await screenshot(page, "dashboard-publicity")
    await row.locator("th a").click()
    await page.wait_for_url("**/dashboard/cases?which=stage&stage=publicity*")
    listed = page.locator(f'[data-table="cases"] tr[data-row="{case_id}"]')
    assert await listed.locator('td[data-col="task"]').text_content() == "无（等待中）"
    # Its clock, as its case page says it: 公示期 M月D日至M月D日，剩余N个工作日.
    clock = await listed.locator('td[data-col="clock"]').text_content() or ""
    assert clock.startswith("公示期 ") and "至" in clock and "工作日" in clock, clock
    await screenshot(page, "dashboard-publicity-cases")

    # The district's dashboard (南关区, where the case is) counts it too.
    await page.goto("/dashboard?jurisdiction=220102")
    assert "南关区" in (await page.text_content("h1") or "")
    row = page.locator('[data-table="stages"] tr[data-row="publicity"]')
    assert int(await row.locator('td[data-col="cases"]').text_content() or "0") >= 1
    await screenshot(page, "dashboard-district")
    await page.goto(page.url + "&lang=en")
    waiting = await row.locator('td[data-col="waiting"]').text_content() or ""
    assert "for a period to end" in waiting
    await screenshot(page, "dashboard-district-en")
