"""Login throttling (登录限制), shared by the API token endpoint and the web login form.

Each attempt is written (and committed) *before* the password is checked, then counted: so
however many attempts race, at most ``login_max_failures`` of them per account reach the
(memory-hard, deliberately slow) password check in a window, and several API processes share
one count because it lives in the database. A successful login deletes the account's attempts;
what remains are failures. An account with too many failures in the window, or a client
address with too many, gets 429 ``login-throttled`` with ``Retry-After`` until the oldest
counted failure leaves the window — even with the right password, so a guesser learns nothing
while locked out.

The client address is the socket peer; behind a reverse proxy that is the proxy, so the
per-address limit then acts as a global limit (see docs/operations.md)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from application.errors import Problem
from store.models import LoginAttempt
from store.settings import Settings


def _throttled(seconds: int) -> Problem:
    minutes = max(1, math.ceil(seconds / 60))
    problem = Problem(
        429,
        "login-throttled",
        "Too many failed logins",
        f"too many failed logins; try again in {minutes} minute(s)",
        retry_after=seconds,
    )
    problem.headers = {"Retry-After": str(seconds)}
    return problem


async def _over_limit(
    session: AsyncSession,
    column: InstrumentedAttribute[str],
    value: str,
    limit: int,
    since: datetime,
) -> datetime | None:
    """The instant the oldest counted attempt was made, when more than ``limit`` attempts
    (this one included) fall in the window; else None."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value,
                LoginAttempt.at > since,
            )
        )
    ).one()
    return oldest if count > limit else None


async def check_attempt(
    session: AsyncSession, settings: Settings, username: str, client_ip: str, now: datetime
) -> None:
    """Record this attempt and raise 429 when the account or the address is over its limit.
    Commits, so that the attempt counts even when the request then fails."""
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    # Old rows are of no further use; dropping this account's keeps the table small.
    await session.execute(
        delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.at <= since)
    )
    session.add(LoginAttempt(username=username, client_ip=client_ip, at=now))
    await session.commit()
    for column, value, limit in (
        (LoginAttempt.username, username, settings.login_max_failures),
        (LoginAttempt.client_ip, client_ip, settings.login_max_failures_per_ip),
    ):
        oldest = await _over_limit(session, column, value, limit, since)
        if oldest is not None:
            wait = oldest + window - now
            raise _throttled(max(1, math.ceil(wait.total_seconds())))


async def record_success(session: AsyncSession, username: str) -> None:
    """The account logged in: its failures no longer count."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
