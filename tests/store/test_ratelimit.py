"""The rate limits' storage (store/ratelimit.py) on both databases: the ``limits`` library's
moving window holds exactly when many hits race from several engines (each its own connection
pool, as several API processes are); a refused hit does not count; a place given back and a
cleared key are free again; the window reopens when its oldest hit leaves it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import make_engine
from store.models import RateLimitHit
from store.ratelimit import DatabaseStorage, Entry
from store.settings import Settings

_keys = itertools.count(1)


@pytest.fixture
async def engines(migrated_settings: Settings) -> AsyncIterator[list[AsyncEngine]]:
    made = [make_engine(migrated_settings.effective_database_url) for _ in range(3)]
    try:
        yield made
    finally:
        for engine in made:
            await engine.dispose()


def key() -> str:
    return f"test-{next(_keys)}-{id(key)}"


async def test_racing_hits_from_several_engines_never_exceed_the_limit(
    engines: list[AsyncEngine],
) -> None:
    limiters = [MovingWindowRateLimiter(DatabaseStorage(e)) for e in engines]
    item = RateLimitItemPerMinute(5)
    who = key()
    results = await asyncio.gather(*(limiters[i % 3].hit(item, who) for i in range(30)))
    assert results.count(True) == 5, results
    stats = await limiters[0].get_window_stats(item, who)
    assert stats.remaining == 0  # the 25 refused hits were not stored


async def test_given_back_and_cleared_places_are_free_again(engines: list[AsyncEngine]) -> None:
    storage = DatabaseStorage(engines[0])
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(2)
    who = key()
    assert await limiter.hit(item, who) and await limiter.hit(item, who)
    assert not await limiter.hit(item, who)
    await storage.release_entry(item.key_for(who))
    assert await limiter.hit(item, who)
    await limiter.clear(item, who)
    assert (await limiter.get_window_stats(item, who)).remaining == 2


async def test_the_window_moves(engines: list[AsyncEngine]) -> None:
    limiter = MovingWindowRateLimiter(DatabaseStorage(engines[0]))
    item = RateLimitItemPerSecond(1, 30)
    who = key()
    assert await limiter.hit(item, who)
    assert not await limiter.hit(item, who)
    async with engines[0].begin() as conn:
        await conn.execute(
            update(RateLimitHit)
            .where(RateLimitHit.key == item.key_for(who))
            .values(at=RateLimitHit.at - 31, expires_at=RateLimitHit.expires_at - 31)
        )
    assert await limiter.hit(item, who)


async def test_several_windows_in_one_transaction_stop_at_the_first_full_one(
    engines: list[AsyncEngine],
) -> None:
    storage = DatabaseStorage(engines[0])
    limiter = MovingWindowRateLimiter(storage)
    wide, narrow, after = (
        RateLimitItemPerMinute(3),
        RateLimitItemPerMinute(1),
        RateLimitItemPerMinute(5),
    )
    who = key()
    entries = [
        Entry(item.key_for(who), item.amount, item.get_expiry()) for item in (wide, narrow, after)
    ]
    assert await storage.acquire_entries(entries) is None
    # The narrow window is full: the wide one's place before it stays taken, the one after
    # it is not tried (as hits one after the other would have done).
    assert await storage.acquire_entries(entries) == 1
    assert (await limiter.get_window_stats(wide, who)).remaining == 1
    assert (await limiter.get_window_stats(narrow, who)).remaining == 0
    assert (await limiter.get_window_stats(after, who)).remaining == 4
    # A window asked twice in one call counts its own first place.
    twice = [entries[0], entries[0]]
    assert await storage.acquire_entries(twice) == 1
    assert (await limiter.get_window_stats(wide, who)).remaining == 0


async def test_racing_calls_of_several_windows_never_exceed_a_limit(
    engines: list[AsyncEngine],
) -> None:
    storages = [DatabaseStorage(e) for e in engines]
    first, second = RateLimitItemPerMinute(6), RateLimitItemPerMinute(4)
    a, b = key(), key()
    entries = [
        Entry(first.key_for(a), first.amount, first.get_expiry()),
        Entry(second.key_for(b), second.amount, second.get_expiry()),
    ]
    results = await asyncio.gather(*(storages[i % 3].acquire_entries(entries) for i in range(20)))
    assert results.count(None) == 4, results
    assert results.count(1) == 2, results  # the first window's last two places, alone
    assert results.count(0) == 14, results
    limiter = MovingWindowRateLimiter(storages[0])
    assert (await limiter.get_window_stats(first, a)).remaining == 0
    assert (await limiter.get_window_stats(second, b)).remaining == 0
