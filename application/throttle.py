"""Login throttling (登录限制), shared by the API token endpoint and the web login form, on the
rate limits' library and store (``application.rate_limits``).

Failed logins count, per account (``login_max_failures``) and per client address
(``login_max_failures_per_ip``) in a moving window of ``login_window_minutes``; a success does
not. An account or address over its limit gets 429 ``login-throttled`` with ``Retry-After``
until the oldest counted failure leaves the window — even with the right password, so a
guesser learns nothing while locked out.

Guesses raced in parallel are bounded too: an attempt takes its place in both windows *before*
the (memory-hard, deliberately slow) password check, as if it were to fail. A failure keeps
it; a success gives the address's place back and clears the account's failures. So however
many attempts race, at most ``login_max_failures`` of them reach the check in a window.

An attempt that finds the account's window full while other attempts of the account are still
in the check (a ``pending`` mark each) waits for their outcome instead of being refused: if
one of them succeeds the window is empty again. So an integration that logs one account in
from many threads at once is never locked out, and a guesser is still refused once the
failures alone fill the window.

The client address is the socket peer; behind a reverse proxy that is the proxy, so the
per-address limit then acts as a global limit (see docs/operations.md)."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from sqlalchemy.ext.asyncio import AsyncSession

from application.errors import Problem
from application.rate_limits import Limiter, too_many
from store.settings import Settings

# An attempt in the password check: marked for a minute at most (a process that dies in the
# check leaves a mark that others stop waiting for at WAIT_SECONDS anyway).
PENDING = RateLimitItemPerMinute(1_000_000)
# How long an attempt waits for the outcome of those in the check, and how often it looks.
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05


def _throttled(seconds: int) -> Problem:
    minutes = max(1, math.ceil(seconds / 60))
    return too_many(
        "login-throttled",
        "Too many failed logins",
        f"too many failed logins; try again in {minutes} minute(s)",
        seconds,
    )


@dataclass
class Attempt:
    """A login attempt holding its places; :meth:`failed` or :meth:`succeeded` ends it."""

    limiter: Limiter
    per_account: RateLimitItem
    per_address: RateLimitItem
    username: str
    client_ip: str

    async def failed(self) -> None:
        # The places taken stay: they are the failure, counted.
        await self.limiter.release(PENDING, "login-pending", self.username)

    async def succeeded(self) -> None:
        await self.limiter.clear(self.per_account, "login", "account", self.username)
        await self.limiter.release(self.per_address, "login", "address", self.client_ip)
        await self.limiter.release(PENDING, "login-pending", self.username)


async def begin_attempt(
    session: AsyncSession, settings: Settings, username: str, client_ip: str
) -> Attempt:
    """Take this attempt's places in the address's and the account's windows, or raise 429."""
    limiter = Limiter(session)
    window = settings.login_window_minutes
    attempt = Attempt(
        limiter,
        RateLimitItemPerMinute(settings.login_max_failures, window),
        RateLimitItemPerMinute(settings.login_max_failures_per_ip, window),
        username,
        client_ip,
    )
    account = ("login", "account", username)
    pending = ("login-pending", username)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        # Marked before taking the place, so that whoever finds the window full counts us.
        await limiter.hit(PENDING, *pending)
        if await limiter.hit(attempt.per_account, *account):
            break
        await limiter.release(PENDING, *pending)
        # Each attempt in the check holds one place and one mark: the places beyond the marks
        # (read at one instant) are failures. Those alone filling the window is a lockout;
        # else wait for the outcomes (a success empties the window).
        taken, in_check = await limiter.counts((attempt.per_account, account), (PENDING, pending))
        if taken - in_check >= attempt.per_account.amount or time.monotonic() > deadline:
            raise _throttled(await limiter.retry_after(attempt.per_account, *account))
        await asyncio.sleep(POLL_SECONDS)
    # The address's place second: the account's window already bounds its attempts in the
    # check, so many callers of one account from one address do not fill the address's.
    address = ("login", "address", client_ip)
    if not await limiter.hit(attempt.per_address, *address):
        await limiter.release(attempt.per_account, *account)
        await limiter.release(PENDING, *pending)
        raise _throttled(await limiter.retry_after(attempt.per_address, *address))
    return attempt
