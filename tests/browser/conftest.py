"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``, package
``chromium``, which ``.ci/run`` installs; Playwright's own browser download does not work on
these machines) against the whole system started as a newcomer starts it (``yuanzhu up`` in a
subprocess, see :mod:`tests.stack`). Without Chromium the tests skip with the reason; under
``CI=true`` they fail instead.

One stack serves the whole session; tests make their own cases with unique names and never
assume an empty inbox. The journey test (``test_journey.py``) runs its own system in-process on
the time-skipping server instead, with the same Chromium (``chromium`` fixture).

Screenshots of the pages are kept as test artifacts by :func:`screenshot`: in
``$YUANZHU_ARTIFACTS`` when set (CI uploads it), else in ``var/test-artifacts/browser/`` of
the repository (git-ignored)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn

from tests.conftest import IN_CI
from tests.stack import Stack
from worker.demo import DEMO_PASSWORD

CHROMIUM = os.environ.get("YUANZHU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The flags that keep Chromium from reaching for Google's hosts on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def require_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if IN_CI:
        pytest.fail(message + "; CI=true requires the browser tests to run")
    pytest.skip(message)


# How long uvicorn may take to start or stop in this event loop.
START_TIMEOUT = 20.0


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """``app`` served over HTTP by uvicorn in this event loop on a free port; yields its base
    URL (for tests whose app must share the loop: the time-skipping server's client, a module's
    own settings)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
            raise AssertionError("uvicorn stopped before it started")
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, START_TIMEOUT)


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("web-stack"))
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Any]:
    """Chromium, launched once for the session, for tests that serve the pages themselves
    (no ``yuanzhu up`` stack behind it)."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=require_chromium(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(web_stack: Stack, chromium: Any) -> AsyncIterator[Any]:
    """The session's Chromium, for the tests that run against the ``yuanzhu up`` stack."""
    yield chromium


Login = Callable[..., Awaitable[Any]]


async def open_page(
    browser: Any, base: str, username: str | None, *, locale: str = "zh-CN"
) -> tuple[Any, Any]:
    """A page in a fresh browser context (``locale``, Asia/Shanghai) on the site at ``base``,
    logged in through the login form (a visitor's for ``username=None``); returns the context
    (the caller closes it) and the page."""
    context = await browser.new_context(base_url=base, locale=locale, timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = await context.new_page()
    if username is not None:
        await page.goto("/login")
        await page.fill("#username", username)
        await page.fill("#password", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_load_state()
    return context, page


@pytest_asyncio.fixture(loop_scope="session")
async def login_as(browser: Any, web_stack: Stack) -> AsyncIterator[Login]:
    """``page = await login_as("wf_officer")``: a fresh browser context (zh-CN, Asia/Shanghai)
    logged in through the login form; ``login_as(None)`` gives a visitor's page."""
    contexts: list[Any] = []

    async def login(username: str | None, *, locale: str = "zh-CN") -> Any:
        context, page = await open_page(browser, web_stack.base, username, locale=locale)
        contexts.append(context)
        return page

    yield login
    for context in contexts:
        await context.close()


# --- screenshots kept as test artifacts -------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    """Where screenshots go: ``$YUANZHU_ARTIFACTS`` (CI uploads it), else
    ``var/test-artifacts/browser/`` of the repository (``var/`` is git-ignored)."""
    configured = os.environ.get("YUANZHU_ARTIFACTS")
    path = Path(configured) if configured else REPO / "var" / "test-artifacts" / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Keep a screenshot of ``page`` as ``<name>.png`` among the test artifacts; a later run
    overwrites it, so the directory holds the latest picture of each page."""
    path = artifacts_dir() / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path
