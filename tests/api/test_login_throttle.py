"""Login throttling on both databases, through the API token endpoint and the web login form:
the sixth failed login of an account within the window is refused with 429 and Retry-After
(even with the right password), other accounts are unaffected, failures older than the window
stop counting, a successful login clears the count, racing attempts cannot exceed the limit,
one client address cannot spray many accounts, and one account logged in correctly from 16
callers at once is never locked out (only failures count).

Each test builds its own app (no Temporal needed to log in) with its own client address, so
the per-address count of the shared test app is left alone."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from application.security import hash_password
from store import repos
from store.db import make_engine, make_sessionmaker
from store.models import RateLimitHit
from store.settings import Settings
from tests.reliability.report import tally
from tests.system import web_login
from worker.server import create_app

PASSWORD = "correct horse 援助"
_clients = itertools.count(1)


class Login:
    def __init__(self, http: httpx.AsyncClient, settings: Settings, prefix: str) -> None:
        self.http = http
        self.settings = settings
        self.prefix = prefix

    async def api(self, username: str, password: str) -> httpx.Response:
        return await self.http.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )

    async def user(self, name: str) -> str:
        """A user with :data:`PASSWORD`, unique to this test."""
        username = f"{self.prefix}_{name}"
        engine = make_engine(self.settings.effective_database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                root = await repos.get_jurisdiction(session, "000000")
                if root is None:
                    root = await repos.add_jurisdiction(session, "000000", "全国", "country", None)
                await repos.add_user(
                    session,
                    username=username,
                    display_name=name,
                    password_hash=hash_password(PASSWORD),
                    role="grassroots_officer",
                    jurisdiction=root,
                    now=datetime.now(UTC),
                )
        finally:
            await engine.dispose()
        return username

    async def age_attempts(self, username: str, by: timedelta) -> None:
        """Move the account's counted failures ``by`` into the past."""
        seconds = by.total_seconds()
        engine = make_engine(self.settings.effective_database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await session.execute(
                    update(RateLimitHit)
                    .where(RateLimitHit.key.contains(f"/account/{username}/"))
                    .values(
                        at=RateLimitHit.at - seconds,
                        expires_at=RateLimitHit.expires_at - seconds,
                    )
                )
        finally:
            await engine.dispose()


@pytest.fixture
async def login(migrated_settings: Settings) -> AsyncIterator[Login]:
    n = next(_clients)
    settings = migrated_settings.model_copy(
        update={"login_max_failures": 5, "login_max_failures_per_ip": 12}
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=(f"10.99.{n // 250}.{n % 250 + 1}", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        prefix = f"thr{n}_{datetime.now(UTC).strftime('%H%M%S%f')}"
        yield Login(http, settings, prefix)


def assert_throttled(r: httpx.Response) -> int:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/login-throttled"
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 15 * 60
    return retry


async def test_sixth_failure_is_throttled_even_with_the_right_password(login: Login) -> None:
    victim = await login.user("victim")
    other = await login.user("other")
    for _ in range(5):
        r = await login.api(victim, "wrong")
        assert r.status_code == 401, r.text
    assert_throttled(await login.api(victim, "wrong"))
    assert_throttled(await login.api(victim, PASSWORD))
    # Another account from the same address still logs in.
    assert (await login.api(other, PASSWORD)).status_code == 200


async def test_failures_leave_the_window(login: Login) -> None:
    user = await login.user("patient")
    for _ in range(5):
        assert (await login.api(user, "wrong")).status_code == 401
    assert_throttled(await login.api(user, PASSWORD))
    await login.age_attempts(user, timedelta(minutes=16))
    assert (await login.api(user, PASSWORD)).status_code == 200


async def test_success_clears_the_count(login: Login) -> None:
    user = await login.user("forgetful")
    for _ in range(4):
        assert (await login.api(user, "wrong")).status_code == 401
    assert (await login.api(user, PASSWORD)).status_code == 200
    for _ in range(5):
        assert (await login.api(user, "wrong")).status_code == 401
    assert_throttled(await login.api(user, "wrong"))


async def test_racing_attempts_cannot_exceed_the_limit(login: Login) -> None:
    user = await login.user("raced")
    results = await asyncio.gather(*(login.api(user, "wrong") for _ in range(10)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(401) <= 5
    assert codes.count(401) + codes.count(429) == 10, codes


async def test_one_account_logged_in_from_16_callers_at_once_is_not_locked_out(
    login: Login,
) -> None:
    # An integration's threads sharing one service account: every attempt is right, so none is
    # a failure, and those that find the window full of attempts still in the check wait for
    # them instead of being refused.
    user = await login.user("integration")
    results = await asyncio.gather(*(login.api(user, PASSWORD) for _ in range(16)))
    assert [r.status_code for r in results] == [200] * 16, [r.text for r in results]
    # And the account's failures still count as before afterwards.
    for _ in range(5):
        assert (await login.api(user, "wrong")).status_code == 401
    assert_throttled(await login.api(user, PASSWORD))
    tally("security", "parallel correct logins of one account (none locked out)", 16)


async def test_one_address_cannot_spray_many_accounts(login: Login) -> None:
    for i in range(12):
        assert (await login.api(f"{login.prefix}_nobody{i}", "guess")).status_code == 401
    assert_throttled(await login.api(f"{login.prefix}_nobody_more", "guess"))
    # Even a real account's right password waits: the address is locked out.
    real = await login.user("bystander")
    assert_throttled(await login.api(real, PASSWORD))


async def test_web_login_form_says_it_in_chinese(login: Login) -> None:
    user = await login.user("webuser")
    for _ in range(5):
        r = await web_login(login.http, user, "wrong")
        assert r.status_code == 401
        assert "用户名或密码错误" in r.text
    r = await web_login(login.http, user, PASSWORD)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text and "分钟后再试" in r.text
