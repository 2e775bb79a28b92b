"""Accessibility basics on the main pages, in a real browser: axe-core (vendored,
``tests/browser/vendor/``) runs its WCAG 2.0/2.1 level A and AA rules — form labels, colour
contrast, names of buttons and links, the document's language, tables, ARIA — and a few of
its best-practice rules about headings and landmarks on each main page, in Chinese and in
English, and finds nothing; the login form and claiming a task in the inbox work with the
keyboard alone (Tab and Enter), the focused control shows the site's outline (white on the
blue header), and the language switch is marked in the language it names.

A screenshot of every page checked is kept as a test artifact (``a11y-<page>-<locale>.png``).
The pages are those of a Jilin case made for this module through the API (an accepted
application with its initial review open), on the session's shared stack."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import Login, screenshot
from tests.browser.test_tasks import accepted, apply_jilin, task_of, unique_name
from tests.factories import make_id

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Not WCAG success criteria but what a screen-reader user navigates by: one h1, headings
# that do not skip levels, nothing empty, one main landmark, everything inside a landmark.
BEST_PRACTICE = {
    "page-has-heading-one",
    "heading-order",
    "empty-heading",
    "landmark-one-main",
    "landmark-unique",
    "region",
}
JILIN_STREET = "220102001"
WEIFANG_STREET = "370702001"
LOCALES = ["zh-CN", "en"]


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (its WCAG A/AA rules and the
    best-practice rules above), each with the elements concerned."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as a <script> tag: the pages' CSP
        # (script-src 'self', nothing inline) rightly blocks an injected inline script.
        await page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = await page.evaluate(
        """async ([tags, extra]) => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: [...tags, "best-practice"]},
                resultTypes: ["violations"],
            });
            return result.violations
                .filter(v => v.tags.some(t => tags.includes(t)) || extra.includes(v.id))
                .map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => ({
                        target: n.target.join(" "),
                        html: n.html.slice(0, 240),
                        summary: n.failureSummary,
                    })),
                }));
        }""",
        [WCAG, sorted(BEST_PRACTICE)],
    )
    return found


def readable(violations: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    at {node['target']}")
            lines.append(f"       {node['html']}")
            for reason in (node["summary"] or "").splitlines():
                lines.append(f"       {reason.strip()}")
    return "\n".join(lines)


async def assert_accessible(page: Any, what: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"axe found problems on {what} ({page.url}):\n" + readable(violations)


@dataclass
class Fixture:
    """The module's case: an accepted Jilin application, its initial review open."""

    case_id: str
    id_number: str
    name: str
    task_id: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def jilin_case(web_stack: Any) -> Fixture:
    name = unique_name()
    case_id, number = await asyncio.to_thread(apply_jilin, web_stack, name)
    task = await accepted(web_stack, case_id)
    return Fixture(case_id, number, name, str(task["id"]))


def with_lang(path: str, locale: str) -> str:
    """``?lang=en`` on the English run (the site's language comes from it or its cookie)."""
    if locale == "zh-CN":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang=en"


async def fill_application(page: Any, name: str) -> None:
    """The public form for the Jilin street, filled as an applicant would."""
    await page.fill("#name", name)
    await page.fill("#id_number", make_id(region="220102"))
    await expect(page.locator("[data-testid=id-check] [data-valid=true]")).to_be_visible()
    await page.check("input[name=category][value=older_unemployed]")
    await page.check("input[name=evidence][value=id_card]")
    await page.check("input[name=employment_intentions][value=job_referral]")


# Each main page: who looks at it, and how to get there (from a fresh page of that user).
Opener = Callable[[Any, Fixture, str], Awaitable[None]]


async def _goto(page: Any, path: str, locale: str) -> None:
    response = await page.goto(with_lang(path, locale))
    assert response is not None and response.status < 400, f"{path}: {response and response.status}"


def visit(path: str) -> Opener:
    async def open_(page: Any, case: Fixture, locale: str) -> None:
        await _goto(page, path.format(case=case), locale)

    return open_


async def login_error(page: Any, case: Fixture, locale: str) -> None:
    await _goto(page, "/login", locale)
    await page.fill("#username", "jl_officer")
    await page.fill("#password", "not-the-password")
    await page.click("main button[type=submit]")
    await expect(page.locator("[role=alert]")).to_be_visible()


async def apply_errors(page: Any, case: Fixture, locale: str) -> None:
    """The public form sent back by the server with the message beside the ID number (its
    check digit wrong: the browser's own checks of required fields pass)."""
    await _goto(page, f"/apply?place={JILIN_STREET}", locale)
    good = make_id(region="220102")
    await page.fill("#name", unique_name())
    await page.fill("#id_number", good[:17] + ("0" if good[17] != "0" else "1"))
    await page.check("input[name=category][value=older_unemployed]")
    await page.click("#apply-form button[type=submit]")
    await expect(page.locator("#err-id_number")).to_be_visible()


async def receipt(page: Any, case: Fixture, locale: str) -> None:
    await _goto(page, f"/apply?place={JILIN_STREET}", locale)
    await fill_application(page, unique_name())
    await page.click("#apply-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/apply/receipt/YZ"))


async def task_error(page: Any, case: Fixture, locale: str) -> None:
    """The initial review sent without an outcome: the message beside the choices."""
    await _goto(page, f"/tasks/{case.task_id}", locale)
    await page.click("[data-testid=task-form] button[type=submit]")
    await expect(page.locator("#error-outcome")).to_be_visible()


async def apply_chosen(page: Any, case: Fixture, locale: str) -> None:
    """The public form as htmx swaps it in when the visitor chooses the place."""
    await _goto(page, "/apply", locale)
    await page.select_option("#place", JILIN_STREET)
    await expect(page.locator("#apply-form[data-pack='jilin-2022']")).to_be_visible()


async def apply_questions(page: Any, case: Fixture, locale: str) -> None:
    """The public form with a category's questions (#21 item 3), one answer sent back with
    its message beside it."""
    await _goto(page, f"/apply?place={WEIFANG_STREET}&category=single_parent", locale)
    await page.fill("#name", unique_name())
    await page.fill("#id_number", make_id())
    await page.fill("#fact-residence-local_social_insurance_months", "1300")
    await page.click("#apply-form button[type=submit].primary")
    await expect(
        page.locator("[id='err-fact-residence-local_social_insurance_months']")
    ).to_be_visible()


PAGES: dict[str, tuple[str | None, Opener]] = {
    "login": (None, visit("/login")),
    "login-error": (None, login_error),
    "apply": (None, visit(f"/apply?place={JILIN_STREET}")),
    "apply-chosen": (None, apply_chosen),
    "apply-errors": (None, apply_errors),
    "apply-questions": (None, apply_questions),
    "receipt": (None, receipt),
    "inbox": ("jl_officer", visit("/inbox?tab=group")),
    # A supervisor's inbox has the bulk reassignment (转交) too.
    "inbox-supervisor": ("jl_supervisor", visit("/inbox?tab=scope")),
    # The cases the officer handled that wait on others or a clock (#21).
    "handled": ("jl_officer", visit("/inbox/handled")),
    "task": ("jl_officer", visit("/tasks/{case.task_id}")),
    "task-error": ("jl_officer", task_error),
    "case": ("jl_officer", visit("/cases/{case.case_id}")),
    "case-search": ("jl_officer", visit("/cases?id_number={case.id_number}")),
    "document": ("jl_officer", visit("/documents/cases/{case.case_id}/application")),
    "dashboard": ("jl_supervisor", visit("/dashboard")),
    "dashboard-district": ("jl_supervisor", visit("/dashboard?jurisdiction=220102")),
    "breaches": ("jl_supervisor", visit("/dashboard/breaches")),
    # The cases behind the headline's stage figure (the module's case is in initial review).
    "dashboard-cases": (
        "jl_supervisor",
        visit("/dashboard/cases?which=stage&stage=initial_review"),
    ),
    "admin": ("admin", visit("/admin")),
    "ledger": ("jl_reviewer", visit("/ledger")),
    "verification": ("jl_reviewer", visit("/verification")),
    # Shandong's target groups (weifang's pack has them): the list and the declaration form,
    # the enrolment form with every group's conditions.
    "emergencies": ("wf_supervisor", visit("/emergencies")),
    "enrol": ("wf_officer", visit("/enrol")),
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("key", list(PAGES))
async def test_main_page_has_no_axe_violations(
    login_as: Login, jilin_case: Fixture, key: str, locale: str
) -> None:
    user, open_page = PAGES[key]
    page = await login_as(user)
    await open_page(page, jilin_case, locale)
    assert await page.get_attribute("html", "lang") == locale
    await screenshot(page, f"a11y-{key}-{locale}")
    await assert_accessible(page, key)


async def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus (the page's own tab
    order, from wherever the focus is), failing after ``limit`` presses."""
    target = page.locator(selector)
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            return
    focused = await page.evaluate("document.activeElement && document.activeElement.outerHTML")
    raise AssertionError(f"{selector} never got the focus by Tab; last focused: {focused}")


async def focus_outline(page: Any) -> dict[str, str]:
    style: dict[str, str] = await page.evaluate(
        """() => {
            const s = getComputedStyle(document.activeElement);
            return {style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor};
        }"""
    )
    return style


def assert_visible_outline(style: dict[str, str], what: str) -> None:
    """The site's own focus outline (app.css), not the browser's thin default ring: solid
    and at least 2px wide."""
    width = float(style["width"].removesuffix("px") or 0)
    assert style["style"] == "solid" and width >= 2, (
        f"no clear focus outline on {what}: {json.dumps(style)}"
    )


async def test_login_by_keyboard_alone_with_a_visible_focus(login_as: Login) -> None:
    page = await login_as(None)
    await page.goto("/login")
    # The first stop is in the blue header: the outline there is white.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.matches('header.top a')")
    header = await focus_outline(page)
    assert_visible_outline(header, "a link in the header")
    assert header["color"] == "rgb(255, 255, 255)", header
    await tab_to(page, "#username")
    assert_visible_outline(await focus_outline(page), "the user name field")
    await page.keyboard.type("jl_officer")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "password"
    await page.keyboard.type("yuanzhu-demo")
    await page.keyboard.press("Tab")
    submit = page.locator("main form button[type=submit]")
    assert await submit.evaluate("el => el === document.activeElement")
    assert_visible_outline(await focus_outline(page), "the login button")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/inbox")
    who = await page.text_content("[data-testid=who]") or ""
    assert "赵经办（南岭街道）" in who


async def test_claiming_in_the_inbox_by_keyboard_alone(login_as: Login, web_stack: Any) -> None:
    name = unique_name()
    case_id, _number = await asyncio.to_thread(apply_jilin, web_stack, name)
    task = await task_of(web_stack, "jl_officer", case_id, "acceptance")
    page = await login_as("jl_officer")
    await page.goto(f"/inbox?tab=group&q={name}")
    row = page.locator(f'tr[data-task-id="{task["id"]}"]')
    await expect(row).to_have_count(1)
    await tab_to(page, f'tr[data-task-id="{task["id"]}"] button[value^="claim:"]')
    assert_visible_outline(await focus_outline(page), "the claim button")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/inbox?*done=claimed*")
    await expect(page.get_by_test_id("notice")).to_contain_text("已领取")
    # The notice links to the claimed task: Tab to it and Enter opens the task page.
    await tab_to(page, f'[data-testid=notice] a[href="/tasks/{task["id"]}"]')
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/tasks/{task['id']}")
    await expect(page.get_by_test_id("assignee")).to_contain_text("赵经办")


@pytest.mark.parametrize(("locale", "other"), [("zh-CN", "en"), ("en", "zh-CN")])
async def test_the_language_switch_is_marked_in_its_own_language(
    login_as: Login, locale: str, other: str
) -> None:
    """WCAG 3.1.2: "English" on a Chinese page (and 中文 on an English one) is read out in its
    own language."""
    page = await login_as(None)
    await page.goto(with_lang("/login", locale))
    link = page.locator(f"header a[hreflang={other}]")
    await expect(link).to_have_attribute("lang", other)
