"""Rate limits (限流) on what anonymous callers can start, and the one way a limit says no.

Every limit is the ``limits`` library's moving window over the app database
(:class:`store.ratelimit.DatabaseStorage`), so several API processes share one count. A request
over a limit gets 429 with ``Retry-After`` (seconds until the oldest counted hit leaves the
window) and a problem body; the login throttle (``application.throttle``) answers the same way.

The public supplement page's attempts are limited per client address and per case number
(:func:`limit_supplement_attempt`).

Anonymous applications are limited per client address and per ID number
(``application_limit_per_address``, ``application_limit_per_id_number``): an application
opens a case, a workflow and a task in an officer's inbox, so a script must not be able to fill
inboxes. Staff submitting with a token are not limited. The ID number is kept only as an HMAC
under the secret key (the table must not become a list of who applied). The client address is
the socket peer: behind a reverse proxy, the proxy's (docs/operations.md)."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from application.errors import Problem
from store.ratelimit import DatabaseStorage, Entry, take_places
from store.settings import Settings


def entries(windows: Sequence[tuple[RateLimitItem, tuple[str, ...]]]) -> list[Entry]:
    """The storage's places asked of each (item, identifiers) window."""
    return [Entry(item.key_for(*ids), item.amount, item.get_expiry()) for item, ids in windows]


class Limiter(MovingWindowRateLimiter):
    """The library's moving window over the database this session uses."""

    storage: DatabaseStorage

    def __init__(self, session: AsyncSession) -> None:
        bind = session.bind
        engine = bind.engine if isinstance(bind, AsyncConnection) else bind
        if engine is None:
            raise RuntimeError("rate limits need a session bound to the app database")
        super().__init__(DatabaseStorage(engine))

    async def retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        """Whole seconds until ``item`` has room again for these identifiers (at least 1)."""
        stats = await self.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def counts(self, *windows: tuple[RateLimitItem, tuple[str, ...]]) -> list[int]:
        """The hits in each (item, identifiers) window, read at one instant."""
        return await self.storage.moving_window_counts(
            [(item.key_for(*ids), item.get_expiry()) for item, ids in windows]
        )

    async def hit_all(self, hits: Sequence[tuple[RateLimitItem, tuple[str, ...]]]) -> int | None:
        """:meth:`hit` each (item, identifiers) in order, in one transaction: the index of the
        first that is refused (those before it count, those after it are not tried), or None
        when every one is taken."""
        return await self.storage.acquire_entries(entries(hits))

    async def release(self, item: RateLimitItem, *identifiers: str) -> None:
        """Give back one hit taken and not used."""
        await self.storage.release_entry(item.key_for(*identifiers))


def too_many(type_: str, title: str, detail: str, seconds: int) -> Problem:
    """429 with ``Retry-After``; ``retry_after`` in the body too, for the pages' words."""
    problem = Problem(429, type_, title, detail, retry_after=seconds)
    problem.headers = {"Retry-After": str(seconds)}
    return problem


def _id_key(settings: Settings, id_number: str) -> str:
    digest = hmac.new(settings.secret_key.encode(), id_number.upper().encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


class ApplicationPlaces:
    """An anonymous application's places in its windows, per client address and per ID number.

    Looked at before the application is weighed (:meth:`look`: a full window refuses it at
    once, nothing written), then taken in the transaction that stores its case
    (:meth:`take_with`), where the case takes its turn to write anyway. Taken in a transaction
    of their own first, every application waited for the process's turn to write twice: with
    20 applicants at once, ~100 ms at the median for each turn; taken with the case, the one
    wait was ~15 ms (#22). An application that stores no case — refused, invalid, a repeat
    answered with the first case — counts all the same: :func:`anonymous_application` takes
    its places on their own on the way out."""

    def __init__(
        self, session: AsyncSession, settings: Settings, client_ip: str, id_number: str | None
    ) -> None:
        self.limiter = Limiter(session)
        self.windows: list[tuple[RateLimitItem, tuple[str, ...]]] = [
            (item, ("application", "address", client_ip))
            for item in parse_many(settings.application_limit_per_address)
        ]
        if id_number:
            key = _id_key(settings, id_number)
            self.windows += [
                (item, ("application", "id", key))
                for item in parse_many(settings.application_limit_per_id_number)
            ]
        self.kept = False  # taken, and committed
        self.hits = 0

    async def look(self) -> None:
        """429 when a window is full already; the count is read, nothing is written."""
        counts = await self.limiter.counts(*self.windows)
        for i, ((item, _), count) in enumerate(zip(self.windows, counts, strict=True)):
            if count + 1 > item.amount:
                raise await self._refusal(i)

    async def take_with(self, session: AsyncSession) -> None:
        """Take the places in ``session``'s transaction, inside its turn to write and before
        any other write of it; they count once it commits (:meth:`committed`). A full window
        (another request took the last place since :meth:`look`) commits the places before
        it, as a hit of each window in turn would, and raises 429: the case is not stored."""
        connection = await session.connection()
        refused, taken = await take_places(connection, entries(self.windows), time.time())
        self.hits = len(taken)
        if refused is not None:
            await session.commit()
            self.kept = True
            raise await self._refusal(refused)

    def committed(self) -> None:
        """The transaction that took them (:meth:`take_with`) has committed."""
        self.kept = True

    async def take(self) -> None:
        """Take the places in a transaction of their own (the application stored no case),
        or raise 429."""
        refused = await self.limiter.hit_all(self.windows)
        self.kept = True
        if refused is not None:
            raise await self._refusal(refused)

    async def _refusal(self, index: int) -> Problem:
        item, ids = self.windows[index]
        seconds = await self.limiter.retry_after(item, *ids)
        # One wording whichever limit it was: an anonymous caller must not learn that
        # someone applied for this ID number lately (#20 item 1).
        return too_many(
            "application-throttled",
            "Too many applications",
            f"too many applications; try again in {max(1, math.ceil(seconds / 60))} minute(s)",
            seconds,
        )


@asynccontextmanager
async def anonymous_application(
    session: AsyncSession,
    settings: Settings,
    client_ip: str,
    id_number: str | None,
    *,
    staff: bool = False,
) -> AsyncIterator[ApplicationPlaces | None]:
    """Count an anonymous application against its address's and its ID number's limits, or
    raise 429 ``application-throttled``; ``staff``: a token's holder, never limited here
    (None). Wraps the submission, which takes the places with its case
    (:meth:`ApplicationPlaces.take_with`); one that stored no case, whatever it answers, has
    them taken here on their own, and a full window's 429 is the answer then, as it was when
    the places were taken before the application was weighed."""
    if staff:
        yield None
        return
    places = ApplicationPlaces(session, settings, client_ip, id_number)
    await places.look()
    try:
        yield places
    except Exception:
        if not places.kept:
            await places.take()
        raise
    if not places.kept:
        await places.take()
    else:
        await places.limiter.storage.sweep_now_and_then(places.hits, time.time())


async def limit_supplement_attempt(
    session: AsyncSession, settings: Settings, client_ip: str, case_id: str
) -> None:
    """Count an attempt at the public supplement page (case number, ID number's last six,
    supplement code) against its address's and its case number's limits, or raise 429
    ``supplement-throttled``: every attempt counts, right or wrong, so the code cannot be
    guessed faster than the windows allow, from one address or many."""
    limiter = Limiter(session)
    checks = [
        (item, ("supplement", "address", client_ip))
        for item in parse_many(settings.supplement_limit_per_address)
    ] + [
        # The case number as typed, keyed under the secret: the table lists no case numbers.
        (item, ("supplement", "case", _id_key(settings, case_id)))
        for item in parse_many(settings.supplement_limit_per_case)
    ]
    refused = await limiter.hit_all(checks)
    if refused is not None:
        item, ids = checks[refused]
        seconds = await limiter.retry_after(item, *ids)
        raise too_many(
            "supplement-throttled",
            "Too many attempts",
            f"too many attempts; try again in {max(1, math.ceil(seconds / 60))} minute(s)",
            seconds,
        )
