"""The Content-Security-Policy in a real browser (application/security_headers.py): the main pages
of each kind of user load and work — htmx swaps the public form in, the inbox refreshes —
with no violation of the policy reported, and a script injected into the page is refused."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Login

VIOLATION = "Content Security Policy"


def watch(page: Any) -> list[str]:
    """Every console message and page error that names the policy."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if VIOLATION in m.text else None)
    page.on("pageerror", lambda e: seen.append(str(e)) if VIOLATION in str(e) else None)
    return seen


async def test_pages_work_under_the_policy(login_as: Login) -> None:
    visitor = await login_as(None)
    seen = watch(visitor)
    await visitor.goto("/apply")
    await visitor.select_option("#place", "220102001")
    # htmx (a script from /static) brings the region's form in place.
    await expect(visitor.locator("#apply-form[data-pack='jilin-2022']")).to_be_visible()
    for user, paths in (
        ("wf_officer", ("/inbox", "/cases", "/households", "/ledger")),
        ("wf_supervisor", ("/dashboard", "/emergencies")),
        ("admin", ("/admin", "/admin/users")),
    ):
        page = await login_as(user)
        seen += watch(page)
        for path in paths:
            response = await page.goto(path)
            assert response is not None and response.status == 200, path
            assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
            await page.wait_for_load_state("networkidle")
    assert seen == []


async def test_an_injected_script_does_not_run(login_as: Login) -> None:
    page = await login_as("wf_officer")
    seen = watch(page)
    await page.goto("/inbox")
    # What an escaping bug would let through: an inline script and an inline handler.
    ran = await page.evaluate(
        """() => new Promise(resolve => {
            window.__injected = false;
            const s = document.createElement('script');
            s.textContent = 'window.__injected = true;';
            document.body.appendChild(s);
            const img = document.createElement('img');
            img.setAttribute('onerror', 'window.__injected = true;');
            // Listeners run in the order they were added: the attribute's first, if allowed.
            img.addEventListener('error', () => resolve(window.__injected));
            img.setAttribute('src', 'data:,not-an-image');
            document.body.appendChild(img);
        })"""
    )
    assert ran is False
    assert seen, "the browser did not report the refused script"
