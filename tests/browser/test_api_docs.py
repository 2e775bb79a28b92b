"""The API documentation pages in a real browser with no internet (issue 18 §2): every request
to a host other than the server itself is aborted, and still Swagger UI (``/docs``) lists the
operations and ReDoc (``/redoc``) renders the contract and searches it — and neither page sent
a request to another host or ran into the Content-Security-Policy (but for ReDoc's Redocly
logo, which the policy refuses before it is asked for). The app is served by uvicorn in this
event loop on a migrated SQLite database of its own (no Temporal needed for the docs)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import expect

from store.settings import Settings
from tests.api.test_docs_offline import docs_settings
from tests.browser.conftest import screenshot, serve
from worker.server import create_app

LOCAL_HOSTS = ("127.0.0.1", "localhost")
RENDER_TIMEOUT = 30_000  # ms
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return docs_settings(tmp_path_factory.mktemp("api-docs"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def base(settings: Settings) -> AsyncIterator[str]:
    """The app served over HTTP on a free port; yields its base URL."""
    async with serve(create_app(settings)) as url:
        yield url


class Offline:
    """A browser context that aborts every request to another host and keeps what it aborted,
    and the console errors and page errors of its pages."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.outside: list[str] = []
        self.errors: list[str] = []

    async def block(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            self.outside.append(url)
            await route.abort("internetdisconnected")

    async def page(self) -> Any:
        page = await self.context.new_page()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page


@pytest_asyncio.fixture(loop_scope="session")
async def offline(chromium: Any, base: str) -> AsyncIterator[Offline]:
    context = await chromium.new_context(base_url=base, locale="zh-CN")
    context.set_default_timeout(15_000)
    watched = Offline(context)
    await context.route("**/*", watched.block)
    try:
        yield watched
    finally:
        await context.close()


async def test_swagger_ui_works_offline(offline: Offline) -> None:
    page = await offline.page()
    response = await page.goto("/docs")
    assert response is not None and response.status == 200
    await expect(page.locator(".opblock").first).to_be_visible(timeout=RENDER_TIMEOUT)
    # The operations of the contract, e.g. the token login, are listed and open.
    login = page.locator(".opblock-post", has_text="/api/v1/auth/token").first
    await expect(login).to_be_visible()
    await login.locator(".opblock-summary").click()
    await expect(login.locator(".opblock-body")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    await screenshot(page, "api-docs-swagger-ui", full_page=False)
    assert offline.outside == []
    assert offline.errors == []


async def test_redoc_works_offline(offline: Offline) -> None:
    page = await offline.page()
    response = await page.goto("/redoc")
    assert response is not None and response.status == 200
    # ReDoc parses the whole contract before it shows anything: slow on a busy machine.
    await expect(page.locator(".api-content")).to_be_visible(timeout=RENDER_TIMEOUT)
    await expect(page.locator(".api-content h2").first).to_be_visible()
    # The search runs in ReDoc's worker (from a blob: the policy allows); a query typed before
    # the worker has indexed the contract finds nothing, so type it again until it does.
    search = page.locator(".menu-content input").first
    found = page.locator("[data-role='search:results']").get_by_text("Token", exact=True)
    deadline = time.monotonic() + RENDER_TIMEOUT / 1000
    while not await found.is_visible():
        assert time.monotonic() < deadline, "ReDoc's search found nothing"
        await search.fill("")
        await search.fill("token")
        await page.wait_for_timeout(500)
    await page.wait_for_load_state("networkidle")
    await screenshot(page, "api-docs-redoc", full_page=False)
    assert offline.outside == []
    # ReDoc 2 shows Redocly's logo from cdn.redoc.ly in its "API docs by Redocly" link: the
    # policy refuses it before any request is made (the browser reports that), the image hides
    # itself and the link keeps its text. Nothing else may be refused or fail.
    assert [e for e in offline.errors if REDOCLY_LOGO not in e] == []
