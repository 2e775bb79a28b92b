"""Small statistics for the figures: percentiles of latency samples (nearest rank, so a p99
of 100 samples is the 99th slowest, a real observation) and the median of several runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(samples_s: Sequence[float]) -> dict[str, Any]:
    """p50/p95/p99 (milliseconds) of samples taken in seconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "samples": len(ms),
    }


def median_of_runs(runs: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """For each key, the median over the runs; the runs themselves are kept beside it."""
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    out["runs"] = list(runs)
    return out
