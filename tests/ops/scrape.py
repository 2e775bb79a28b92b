"""Reading a Prometheus text exposition in tests: every sample by name and labels."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """``{(sample name, labels): value}`` of an exposition (histogram buckets, counts and sums
    are samples of their own: ``..._bucket``, ``..._count``, ``..._sum``)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def label_values(samples: Samples, label: str) -> set[str]:
    return {v for (_, have) in samples for k, v in have if k == label}


async def scrape_until(
    url: str, ready: Callable[[Samples], bool], what: str, timeout: float = 30
) -> Samples:
    """Scrape ``url`` over HTTP until ``ready(samples)``: the exporter publishes what the
    worker recorded on its own schedule, so a test polls for it with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        samples = parse(await asyncio.to_thread(_get, url))
        if ready(samples):
            return samples
        if time.monotonic() > deadline:
            have = sorted({n for n, _ in samples})
            raise AssertionError(f"{url}: timed out waiting for {what}; metrics: {have}")
        await asyncio.sleep(0.1)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        return str(resp.read().decode())


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)
