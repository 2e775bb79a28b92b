"""What an application reads before it is stored (#22), on both databases: the place it is
filed at and the places above it in one statement (``store.repos.place_and_ancestors``), and
the pinned pack version's row only until this process has seen it committed
(``store.repos.pack_version_known_stored``). Each statement of the dozen an application
makes cost the API about 0.3 ms of CPU, and the API's one event loop is what intake waits for.

The places' order and the version's learning are checked in the repository; the statements
themselves on the wire of an app of the test's own, whose engine has seen nothing yet."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from domain.policy.loader import load_pack
from store import repos
from store.db import make_engine, make_sessionmaker
from store.models import Case
from tests.factories import application, make_id
from tests.system import System
from worker.server import create_app

# Birth dates no other test uses: an ID number with an open case would answer 409.
_births = itertools.count(0)
_codes = itertools.count(1)


def fresh_id(region: str = "370702") -> str:
    return make_id(date(1957, 2, 1) + timedelta(days=next(_births)), region=region)


async def test_a_place_and_the_places_above_it_nearest_first(system: System) -> None:
    n = next(_codes)
    levels = ["province", "city", "county", "street", "community"]
    codes = [f"T{n:03d}{i}" for i in range(len(levels))]
    async with system.sessions()() as session, session.begin():
        parent: str | None = None
        for code, level in zip(codes, levels, strict=True):
            await repos.add_jurisdiction(session, code, f"{level} {n}", level, parent)
            parent = code
    async with system.sessions()() as session:
        chain = await repos.place_and_ancestors(session, codes[-1])
        assert [j.code for j in chain] == list(reversed(codes))
        # each place's path is its parent's path and its own code: the same places
        assert chain[0].path == "/" + "/".join(codes) + "/"
        assert [j.code for j in await repos.ancestors(session, chain[2])] == codes[2::-1]
        assert [j.code for j in await repos.place_and_ancestors(session, codes[0])] == codes[:1]
        assert await repos.place_and_ancestors(session, "T-none") == []


async def test_a_pack_version_is_known_stored_per_database_once_committed(
    system: System,
) -> None:
    pack = load_pack("weifang-2023")
    ref = f"test-ref-{next(_codes)}"
    engine, other = (make_engine(system.settings.effective_database_url) for _ in range(2))
    try:
        async with make_sessionmaker(engine)() as session:
            assert not repos.pack_version_known_stored(session, ref)
            # A version written but rolled back is neither stored nor known.
            await repos.remember_pack_version(
                session, pack.model_copy(update={"version": ref}), datetime.now(UTC), ref=ref
            )
            await session.rollback()
            assert not await repos.pack_version_stored(session, ref)
            assert not repos.pack_version_known_stored(session, ref)
            repos.pack_version_committed(session, ref)
            assert repos.pack_version_known_stored(session, ref)
        async with make_sessionmaker(other)() as session:
            assert not repos.pack_version_known_stored(session, ref)  # another engine
    finally:
        await engine.dispose()
        await other.dispose()


@pytest.fixture
async def own_app(system: System) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """An app of its own on the shared system (a fresh engine: it knows no pack version), a
    client, and the statements its engine sends."""
    app = create_app(system.settings, temporal_client=system.env.client)
    sent: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
    transport = httpx.ASGITransport(app=app, client=("10.97.0.1", 4000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        yield http, sent


def jilin_application() -> dict[str, Any]:
    return application("jilin-2022", id_number=fresh_id("220102"))


def reads_of(sent: list[str], table: str) -> int:
    return sum(1 for s in sent if s.lstrip().upper().startswith(("SELECT", "WITH")) and table in s)


async def test_an_application_reads_its_places_once_and_a_known_pack_version_never(
    system: System, own_app: tuple[httpx.AsyncClient, list[str]]
) -> None:
    http, sent = own_app
    first = await http.post("/api/v1/applications", json=jilin_application())
    assert first.status_code == 201, first.text
    assert reads_of(sent, "FROM jurisdictions") == 1  # the place and those above it
    # read (with the packs in force, on this engine's first use): stored, and now known
    assert reads_of(sent, "FROM policy_pack_versions") >= 1
    sent.clear()
    second = await http.post("/api/v1/applications", json=jilin_application())
    assert second.status_code == 201, second.text
    assert reads_of(sent, "FROM jurisdictions") == 1
    assert reads_of(sent, "FROM policy_pack_versions") == 0
    # Both stored pinned to the version, which is stored; and both workflows run.
    async with system.sessions()() as session:
        for r in (first, second):
            case = await session.get(Case, r.json()["case_id"])
            assert case is not None and case.policy_pack_ref == r.json()["policy_pack_ref"]
            assert await repos.pack_version_stored(session, case.policy_pack_ref)
    for r in (first, second):
        await system.wait_for_task("jl_officer", r.json()["case_id"], "acceptance")
