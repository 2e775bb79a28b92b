"""The API documentation pages work without internet (issue 18 §2): ``/docs`` (Swagger UI) and
``/redoc`` (ReDoc) name no other host — no CDN script or stylesheet, no Google Fonts, no
favicon from elsewhere, in the markup or in the inline starter script — and every file they
load is served here (``web/static/vendor/``) with a fitting content type. Their
Content-Security-Policy allows no other host either. No Temporal is needed: the app is built on
a migrated SQLite database of its own."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from store.migrate import upgrade
from store.settings import Settings
from tests.conftest import make_settings
from worker.server import create_app

DOC_PAGES = ("/docs", "/redoc")
# Any scheme-qualified or protocol-relative URL: https://cdn…, //fonts.googleapis.com, ….
ABSOLUTE_URL = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]*:)?//[\w.-]+")
# Paths the inline starter script names: url: '/openapi.json', '/docs/oauth2-redirect'.
QUOTED_PATH = re.compile(r"""['"](/[^'"\s]*)['"]""")
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".ico": ("image/x-icon", "image/vnd.microsoft.icon"),
    ".json": ("application/json",),
}


def docs_settings(tmp: Path) -> Settings:
    """Settings on a fresh migrated SQLite database in ``tmp``."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp / 'yuanzhu.db'}", tmp)
    upgrade(settings)
    return settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return docs_settings(tmp_path_factory.mktemp("docs-offline"))


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client
    await app.state.engine.dispose()


class PageLinks(HTMLParser):
    """The URLs of a page's attributes (src, href, …) and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href", "spec-url", "action", "poster", "data"):
                self.urls.append(value)
        self._in_script = tag == "script" and not dict(attrs).get("src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.scripts.append(data)


def parse(html: str) -> PageLinks:
    links = PageLinks()
    links.feed(html)
    links.close()
    return links


def local_urls(html: str) -> list[str]:
    """Every URL the page names (attributes, and quoted paths in its inline scripts); fails if
    any of them, or any URL anywhere in the page's text, points at another host."""
    links = parse(html)
    urls = links.urls + [p for script in links.scripts for p in QUOTED_PATH.findall(script)]
    outside = [u for u in urls if urlsplit(u).scheme or urlsplit(u).netloc]
    outside += ABSOLUTE_URL.findall(html)
    assert outside == [], f"the page reaches outside the server: {outside}"
    return urls


def assert_served(r: httpx.Response, url: str) -> None:
    assert r.status_code == 200, f"{url}: {r.status_code}"
    content_type = r.headers["content-type"].split(";")[0].strip()
    expected = CONTENT_TYPES.get(Path(urlsplit(url).path).suffix, ("text/html",))
    assert content_type in expected, f"{url}: {content_type}"
    assert r.content, url


@pytest.mark.parametrize("page", DOC_PAGES)
async def test_docs_pages_name_no_other_host(http: httpx.AsyncClient, page: str) -> None:
    r = await http.get(page)
    assert_served(r, page)
    urls = local_urls(r.text)
    assert urls, "the page loads nothing?"
    assert "fonts.googleapis" not in r.text and "fonts.gstatic" not in r.text
    for url in urls:
        assert_served(await http.get(url), url)
    # A favicon of our own, so the browser does not fall back to asking for /favicon.ico.
    icons = [u for u in urls if Path(urlsplit(u).path).suffix in (".png", ".ico")]
    assert icons, "no favicon link"


async def test_swagger_ui_loads_its_own_files(http: httpx.AsyncClient) -> None:
    """Swagger UI's bundle, stylesheet and starter, and where it fetches the contract."""
    links = parse((await http.get("/docs")).text)
    assert any(u.endswith("/swagger-ui-bundle.js") for u in links.urls), links.urls
    assert any(u.endswith("/swagger-ui.css") for u in links.urls), links.urls
    [starter] = links.scripts
    assert "SwaggerUIBundle(" in starter and "'/openapi.json'" in starter
    # The online validator badge would send the contract to validator.swagger.io.
    assert '"validatorUrl": null' in starter


async def test_redoc_loads_its_own_bundle(http: httpx.AsyncClient) -> None:
    links = parse((await http.get("/redoc")).text)
    assert any(u.endswith("/redoc.standalone.js") for u in links.urls), links.urls
    assert "/openapi.json" in links.urls  # <redoc spec-url=…>


async def test_swagger_oauth2_redirect_is_served(http: httpx.AsyncClient) -> None:
    r = await http.get("/docs/oauth2-redirect")
    assert_served(r, "/docs/oauth2-redirect")
    local_urls(r.text)


@pytest.mark.parametrize("page", [*DOC_PAGES, "/docs/oauth2-redirect"])
async def test_docs_policy_allows_no_other_host(http: httpx.AsyncClient, page: str) -> None:
    policy = (await http.get(page)).headers["content-security-policy"]
    sources = [s for d in policy.split(";") for s in d.split()[1:]]
    foreign = [s for s in sources if "." in s or "//" in s or s.startswith(("http:", "https:"))]
    assert foreign == [], policy
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in directives["script-src"]
