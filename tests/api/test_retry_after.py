"""Every 503 carries Retry-After (issue 18 §5): with the workflow engine away, the API's
problem+json (``temporal-unavailable``), the public form's page that shows the refusal with
the service's status, and ``/healthz`` all tell the client when to try again
(application.errors.RetryAfterOn503 adds it on the way out, so no place that builds a 503 can
forget it). The database-away 503 is checked in tests/reliability/test_database_away.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from application.errors import RETRY_AFTER_SECONDS
from application.gateway import ENGINE_AWAY
from tests.conftest import make_settings
from tests.factories import application
from tests.reliability.report import tally
from tests.stack import free_port, prepare_database
from tests.web.test_public_form import JILIN_STREET, filled, open_form
from worker.server import create_app


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database with the demo accounts and places."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('retry-after') / 'yuanzhu.db'}"
    prepare_database(url)
    return url


@pytest.fixture
async def http(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API and pages, with Temporal at an address where nothing listens: the app's
    Temporal holder cannot connect."""
    settings = make_settings(database_url, tmp_path, temporal_address=f"127.0.0.1:{free_port()}")
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield client
    finally:
        await app.state.engine.dispose()


def assert_retry_after(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers.get("Retry-After") == str(RETRY_AFTER_SECONDS), dict(r.headers)


async def test_an_application_with_the_engine_away_is_a_503_with_retry_after(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post("/api/v1/applications", json=application("jilin-2022"))
    assert_retry_after(r)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/temporal-unavailable"


async def test_a_503_says_what_to_do_and_its_log_line_why_under_one_correlation_id(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """#20 §8: no engine text in the problem; its correlation id (body and header) is the one
    on the log line that has the cause, and the public form's page shows it."""
    with caplog.at_level("WARNING"):
        r = await http.post("/api/v1/applications", json=application("jilin-2022"))
    body = r.json()
    correlation_id = body["correlation_id"]
    assert r.headers["X-Correlation-Id"] == correlation_id
    assert body["detail"] == ENGINE_AWAY, body
    [line] = [x.getMessage() for x in caplog.records if correlation_id in x.getMessage()]
    assert "cannot connect" in line, line

    csrf = await open_form(http, JILIN_STREET)
    with caplog.at_level("WARNING"):
        page = await http.post("/apply", data=filled(JILIN_STREET, csrf))
    ids = [m for x in caplog.records for m in re.findall(r"correlation_id=(\w+)", x.getMessage())]
    assert ids and ids[-1] in page.text
    tally("security", "server-side failures that hide their cause behind a correlation id", 2)


async def test_the_public_form_with_the_engine_away_is_a_503_page_with_retry_after(
    http: httpx.AsyncClient,
) -> None:
    csrf = await open_form(http, JILIN_STREET)
    r = await http.post("/apply", data=filled(JILIN_STREET, csrf))
    assert_retry_after(r)
    assert r.headers["content-type"].startswith("text/html")
    assert "工作流引擎暂不可用" in r.text  # the page's words for temporal-unavailable


async def test_healthz_with_the_engine_away_is_a_503_with_retry_after(
    http: httpx.AsyncClient,
) -> None:
    r = await http.get("/healthz")
    assert_retry_after(r)
    assert r.json()["temporal"].startswith("unreachable")
