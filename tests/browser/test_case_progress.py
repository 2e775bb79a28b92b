"""The case page's progress in a real browser: a Jilin case in publicity shows its clock in
words (公示期 12月8日至12月10日，剩余2个工作日 / Publicity 8–10 December, 2 working days left,
the days and the count being those the API computes with the working-day calendar) and the
procedure as a stage map — done stages with the day they finished, publicity current, review
next — readable at 360 px (the map turns vertical, nothing scrolls sideways), with axe clean
in both languages. Screenshots: case-progress-zh, case-progress-en, case-progress-360 (and its
progress section alone, case-progress-360-section)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login, artifacts_dir, screenshot
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_tasks import accepted, apply_jilin, unique_name
from tests.stack import call, wait_until


def in_publicity(web_stack: Any, case_id: str) -> dict[str, Any]:
    """The case detail once the case is in publicity (the workflow moves on its own)."""
    token = web_stack.token("jl_officer")

    def found() -> dict[str, Any] | None:
        _status, case = call("GET", f"{web_stack.base}/api/v1/cases/{case_id}", None, token)
        position = case.get("position") or {}
        return case if position.get("stage") == "publicity" else None

    case: dict[str, Any] = wait_until(found, 60, "the publicity")
    return case


def zh_span(first: date, last: date) -> str:
    return f"{first.month}月{first.day}日至{last.month}月{last.day}日"


async def test_a_case_in_publicity_shows_its_clock_and_stage_map(
    login_as: Login, web_stack: Any
) -> None:
    name = unique_name()
    case_id, _number = await asyncio.to_thread(apply_jilin, web_stack, name)
    review = await accepted(web_stack, case_id)
    status, body = call(
        "POST",
        f"{web_stack.base}/api/v1/tasks/{review['id']}/complete",
        {"outcome": "approve"},
        web_stack.token("jl_officer"),
    )
    assert status == 200, body
    case = await asyncio.to_thread(in_publicity, web_stack, case_id)
    clock = case["position"]["clock"]
    start, last = date.fromisoformat(clock["start"]), date.fromisoformat(clock["last_day"])
    left = clock["working_days_left"]
    assert left >= 1  # a publicity just begun has its working days ahead

    page = await login_as("jl_officer")
    await page.goto(f"/cases/{case_id}")
    line = page.locator("[data-testid=stage-clock]")
    words = f"剩余{left}个工作日" if left != 1 else "剩余1个工作日"
    await expect(line).to_have_text(f"公示期 {zh_span(start, last)}，{words}")
    await expect(line).to_have_attribute("data-last-day", last.isoformat())
    await expect(page.locator("[data-testid=waiting-on]")).to_contain_text("公示期间无需办理")
    # The stage map: an ordered list whose items carry their state; the current one is
    # marked for screen readers too.
    stage_map = page.locator("ol[data-testid=stage-map]")
    states = await stage_map.locator("li").evaluate_all(
        "items => items.map(li => [li.dataset.kind, li.dataset.state])"
    )
    assert dict(states)["publicity"] == "current"
    assert dict(states)["initial_review"] == "done" and dict(states)["acceptance"] == "done"
    assert dict(states)["review"] == "next"
    current = stage_map.locator("li[aria-current=step]")
    await expect(current).to_have_count(1)
    await expect(current).to_contain_text("公示")
    await expect(current).to_contain_text(zh_span(start, last))
    today = date.fromisoformat(case["position"]["stages"][0]["finished_on"])
    done = stage_map.locator("li[data-kind=initial_review]")
    await expect(done).to_contain_text(f"已完成 {today.month}月{today.day}日")
    await expect(stage_map.locator("li[data-kind=review]")).to_contain_text("未开始")
    # Under 办理时限 the case no longer reads as if nothing were happening.
    await expect(page.locator("[data-testid=no-open-tasks]")).to_contain_text("等待公示期满")
    await screenshot(page, "case-progress-zh")
    await assert_accessible(page, "the case in publicity (zh-CN)")

    await page.goto(f"/cases/{case_id}?lang=en")
    months = ["January", "February", "March", "April", "May", "June", "July", "August"]
    months += ["September", "October", "November", "December"]
    if start.month == last.month:
        span = f"{start.day}–{last.day} {months[last.month - 1]}"
    else:
        span = f"{start.day} {months[start.month - 1]} – {last.day} {months[last.month - 1]}"
    words_en = f"{left} working days left" if left != 1 else "1 working day left"
    await expect(line).to_have_text(f"Publicity {span}, {words_en}")
    await expect(current).to_contain_text("In progress")
    await screenshot(page, "case-progress-en")
    await assert_accessible(page, "the case in publicity (en)")

    # A phone's width: the map turns vertical and nothing scrolls sideways.
    await page.goto(f"/cases/{case_id}?lang=zh-CN")
    await page.set_viewport_size({"width": 360, "height": 780})
    direction = await stage_map.evaluate("el => getComputedStyle(el).flexDirection")
    assert direction == "column"
    section = page.locator("[data-testid=progress]")
    overflow = await section.evaluate("el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0
    await screenshot(page, "case-progress-360")
    await section.screenshot(path=str(artifacts_dir() / "case-progress-360-section.png"))
