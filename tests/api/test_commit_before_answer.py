"""A request's writes are committed before its answer leaves: a client that is told "created"
(201, or a page's 303 to the new object) and asks again at once finds what it was told about,
and a commit that fails is the client's error answer, never a success already sent.

Checked at the ASGI boundary, with no server in between, on a database whose commits take
their time (as a loaded one's do): at the moment the app starts its answer
(``http.response.start``), the commit must be done and another connection must see the row."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from application.security import issue_token
from store import repos
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.settings import Settings
from tests.conftest import make_settings
from worker.server import create_app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'yuanzhu.db'}", tmp_path)
    upgrade(settings)  # synchronous (it runs its own loop), hence a fixture of its own
    return settings


async def test_a_saved_filter_is_committed_before_the_answer_starts(
    settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "yuanzhu.db"
    engine = make_engine(settings.effective_database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        root = await repos.add_jurisdiction(session, "000000", "全国", "country", None)
        user = await repos.add_user(
            session,
            username="commit_check",
            display_name="提交检查",
            password_hash="unused",
            role="grassroots_officer",
            jurisdiction=root,
            now=datetime.now(UTC),
        )
    await engine.dispose()
    token = issue_token(
        settings.secret_key,
        user.id,
        datetime.now(UTC),
        timedelta(minutes=settings.token_ttl_minutes),
    )

    app = create_app(settings)
    committed: list[bool] = []

    class SlowCommit(AsyncSession):
        async def commit(self) -> None:
            await asyncio.sleep(0.3)  # the commit's own duration on a busy database
            await super().commit()
            committed.append(True)

    app.state.sessions = async_sessionmaker(
        app.state.engine, class_=SlowCommit, expire_on_commit=False
    )
    body = json.dumps({"name": "我的待办", "query": {"view": "mine"}}).encode()
    seen_at_start: list[int] = []
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["committed"] = bool(committed)
            with sqlite3.connect(db) as conn:  # another connection, as the next request's
                (n,) = conn.execute("SELECT count(*) FROM saved_filters").fetchone()
            seen_at_start.append(n)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/filters",
        "raw_path": b"/api/v1/filters",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    await app(scope, receive, send)
    await app.state.engine.dispose()
    assert answer["status"] == 201
    assert answer["committed"], "the answer started before the request's commit"
    assert seen_at_start == [1], "the answer started before the saved filter was stored"
