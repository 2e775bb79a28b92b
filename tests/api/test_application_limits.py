"""Anonymous applications are rate-limited (#20 item 3), on both databases: 20 anonymous
applications with different ID numbers from one address within a second — those over the
address's limit are 429 with Retry-After and a problem body and open no case (so no workflow
and no task); the same ID number retried from other addresses is limited too; staff with a
token are not limited; the public form says it in Chinese with the same Retry-After.

Each test builds its own app (the shared one has no limits, tests/conftest.py) on the shared
system's Temporal and worker, with client addresses of its own."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta

import httpx
import pytest
from fastapi import FastAPI
from limits import parse
from sqlalchemy import func, select

from application.rate_limits import _id_key
from store.db import make_engine, make_sessionmaker
from store.models import Case
from store.ratelimit import DatabaseStorage
from tests.factories import application, make_id
from tests.reliability.report import tally
from tests.system import System
from tests.web.test_public_form import csrf_of, filled
from worker.server import create_app

_addresses = itertools.count(1)
# Birth dates no other test uses: make_id's serials repeat after 500 a date, and an ID number
# with an open case would answer 409 rather than count as a new application.
_births = itertools.count(0)


def fresh_id(region: str = "370702") -> str:
    return make_id(date(1966, 1, 1) + timedelta(days=next(_births)), region=region)


JILIN_STREET = "220102001"

Client = Callable[[], httpx.AsyncClient]


@pytest.fixture
async def limited(system: System) -> AsyncIterator[tuple[FastAPI, Client]]:
    """An app with small limits (5 a minute per address, 2 an hour per ID number) and a maker
    of clients, each from an address never used before."""
    settings = system.settings.model_copy(
        update={
            "application_limit_per_address": "5/minute",
            "application_limit_per_id_number": "2/hour",
        }
    )
    app = create_app(settings, temporal_client=system.env.client)
    clients: list[httpx.AsyncClient] = []

    def client() -> httpx.AsyncClient:
        n = next(_addresses)
        transport = httpx.ASGITransport(app=app, client=(f"10.98.{n // 250}.{n % 250 + 1}", 4000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        return clients[-1]

    async with app.router.lifespan_context(app):
        try:
            yield app, client
        finally:
            for c in clients:
                await c.aclose()


async def cases_of(system: System, id_numbers: list[str]) -> int:
    engine = make_engine(system.settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            count = await session.scalar(
                select(func.count()).select_from(Case).where(Case.id_number.in_(id_numbers))
            )
    finally:
        await engine.dispose()
    return int(count or 0)


def assert_throttled(r: httpx.Response, window: int = 60) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/application-throttled"
    assert 0 < int(r.headers["Retry-After"]) <= window


async def test_twenty_anonymous_applications_from_one_address(
    system: System, limited: tuple[FastAPI, Client]
) -> None:
    _, client = limited
    http = client()
    bodies = [application(id_number=fresh_id()) for _ in range(20)]
    results = await asyncio.gather(*(http.post("/api/v1/applications", json=b) for b in bodies))
    created = [b for b, r in zip(bodies, results, strict=True) if r.status_code == 201]
    refused = [b for b, r in zip(bodies, results, strict=True) if r.status_code == 429]
    assert len(created) == 5 and len(refused) == 15, [r.status_code for r in results]
    for r in results:
        if r.status_code == 429:
            assert_throttled(r)
    # A refused application opened no case; the workflow and the task hang from the case.
    ids = [b["facts"]["person"]["id_number"] for b in refused]
    assert await cases_of(system, ids) == 0
    assert await cases_of(system, [b["facts"]["person"]["id_number"] for b in created]) == 5
    tally("security", "anonymous applications refused over the rate limit", len(refused))


async def test_the_same_id_number_from_other_addresses_is_limited(
    limited: tuple[FastAPI, Client],
) -> None:
    _, client = limited
    body = application(id_number=fresh_id())
    first = await client().post("/api/v1/applications", json=body)
    assert first.status_code == 201, first.text
    again = await client().post("/api/v1/applications", json=body)
    assert again.status_code == 409, again.text  # the open case: counted all the same
    assert_throttled(await client().post("/api/v1/applications", json=body), window=3600)


async def test_staff_with_a_token_are_not_limited(
    system: System, limited: tuple[FastAPI, Client]
) -> None:
    _, client = limited
    http = client()
    for _ in range(5):
        assert (
            await http.post("/api/v1/applications", json=application(id_number=fresh_id()))
        ).status_code == 201
    assert_throttled(
        await http.post("/api/v1/applications", json=application(id_number=fresh_id()))
    )
    token = await system.login("wf_reviewer")
    r = await http.post(
        "/api/v1/applications", json=application(id_number=fresh_id()), headers=token
    )
    assert r.status_code == 201, r.text


async def test_the_public_form_says_it_in_chinese(
    system: System, limited: tuple[FastAPI, Client]
) -> None:
    _, client = limited
    http = client()
    csrf = csrf_of((await http.get("/apply", params={"place": JILIN_STREET})).text)
    for _ in range(5):
        r = await http.post("/apply", data=filled(JILIN_STREET, csrf, id_number=fresh_id("220102")))
        assert r.status_code == 303, r.text
    r = await http.post("/apply", data=filled(JILIN_STREET, csrf, id_number=fresh_id("220102")))
    assert r.status_code == 429
    assert "提交的申请过多，请稍后再试" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= 60


async def test_an_application_refused_after_the_limit_counts_all_the_same(
    limited: tuple[FastAPI, Client],
) -> None:
    """The places are taken with the case (#22); an application that stores none — here one
    filed at a place that does not exist — has them taken on its way out, as when every
    application took them before it was weighed."""
    _, client = limited
    http = client()
    for _ in range(5):
        body = application(id_number=fresh_id())
        body["jurisdiction_code"] = "999999999"
        r = await http.post("/api/v1/applications", json=body)
        assert r.status_code == 422 and r.json()["type"] == "/problems/unknown-jurisdiction"
    assert_throttled(
        await http.post("/api/v1/applications", json=application(id_number=fresh_id()))
    )


async def test_one_id_number_from_many_addresses_at_once_takes_its_window_exactly(
    system: System, limited: tuple[FastAPI, Client]
) -> None:
    """Ten applications for one person at once from ten addresses, two an hour allowed per ID
    number: one case is stored; the window holds exactly two places (the case's, taken in its
    transaction, and one refused for the open case, taken on its own); every other answer
    is the open case's 409 or the limit's 429."""
    app, client = limited
    id_number = fresh_id()
    body = application(id_number=id_number)
    results = await asyncio.gather(
        *(client().post("/api/v1/applications", json=body) for _ in range(10))
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1 and set(codes) <= {201, 409, 429}, codes
    for r in results:
        if r.status_code == 429:
            assert_throttled(r, window=3600)
    assert await cases_of(system, [id_number]) == 1
    window = parse("2/hour")
    key = window.key_for("application", "id", _id_key(app.state.settings, id_number))
    engine = make_engine(system.settings.effective_database_url)
    try:
        taken = await DatabaseStorage(engine).moving_window_counts([(key, window.get_expiry())])
    finally:
        await engine.dispose()
    assert taken == [2]
