"""The app database away (PostgreSQL behind a relay the test cuts): the API answers 503
``database-unavailable`` with Retry-After, as problem+json, and works again as soon as the
database is back; a wrong schema (a bug, not an outage) stays a 500."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from application.errors import database_away
from tests.conftest import fresh_postgres_database, make_settings
from tests.reliability.faults import TcpProxy
from tests.stack import prepare_database
from worker.demo import DEMO_PASSWORD
from worker.server import create_app


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_postgres_database("away") as url:
        yield url


@pytest.mark.postgres
async def test_outage_is_503_then_service_resumes(database_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(prepare_database, database_url)
    proxy = TcpProxy(5432)
    app = create_app(make_settings(database_url.replace(":5432/", f":{proxy.port}/"), tmp_path))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            r = await http.post(
                "/api/v1/auth/token", data={"username": "wf_officer", "password": DEMO_PASSWORD}
            )
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            assert (await http.get("/api/v1/tasks", headers=headers)).status_code == 200
            with proxy.outage():
                r = await http.get("/api/v1/tasks", headers=headers)
                assert r.status_code == 503, r.text
                assert r.headers["content-type"] == "application/problem+json"
                assert r.headers["retry-after"] == "5"
                assert r.json()["type"] == "/problems/database-unavailable"
            r = await http.get("/api/v1/tasks", headers=headers)
            assert r.status_code == 200, r.text
    finally:
        await app.state.engine.dispose()
        proxy.close()


def test_a_wrong_schema_is_not_an_outage() -> None:
    def wrapped(message: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))

    assert not database_away(wrapped("table audit_log has no column named seq"))
    assert database_away(wrapped("database is locked"))
