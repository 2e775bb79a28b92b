"""The shell every page shares, in a real browser: login shows who is in (name, role, place),
a visitor is sent to the login page and brought back, English is one click away and stays,
logout ends the session."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Login


async def test_login_shows_name_role_and_place(login_as: Login) -> None:
    page = await login_as("wf_officer")
    assert page.url.endswith("/inbox")
    who = await page.text_content("[data-testid=who]")
    assert who is not None and "王经办（城关街道）" in who
    assert "基层经办人员" in who and "城关街道" in who


async def test_wrong_password_says_so_in_place(login_as: Login) -> None:
    page = await login_as(None)
    await page.goto("/login")
    await page.fill("#username", "wf_officer")
    await page.fill("#password", "not-the-password")
    await page.click("button[type=submit]")
    assert await page.text_content("[role=alert]") == "用户名或密码错误"


async def test_visitor_is_sent_to_login_and_brought_back(login_as: Login, web_stack: Any) -> None:
    page = await login_as(None)
    await page.goto("/inbox?tab=group")
    assert "/login?next=" in page.url
    await page.fill("#username", "wf_reviewer")
    await page.fill("#password", "yuanzhu-demo")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/inbox?tab=group")


async def test_english_is_one_click_away_and_stays(login_as: Login) -> None:
    page = await login_as("wf_supervisor")
    await page.goto("/inbox?tab=breached")
    await page.click("a[hreflang=en]")
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "en"
    assert "tab=breached" in page.url  # the same page, in English
    assert "Sign out" in (await page.text_content("header") or "")
    await page.goto("/inbox")  # the choice is remembered
    assert await page.get_attribute("html", "lang") == "en"
    who = await page.text_content("[data-testid=who]") or ""
    assert "Supervisor" in who


async def test_logout_ends_the_session(login_as: Login) -> None:
    page = await login_as("wf_officer")
    await page.click("header form button")
    await page.wait_for_url("**/login")
    await page.goto("/inbox")
    assert "/login" in page.url
