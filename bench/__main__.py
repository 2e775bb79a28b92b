"""``python -m bench [--full | --tiny] [--only SECTION,...] [--out DIR] [--profile]``: run the
benchmarks and write ``<out>/latest.json`` (every figure of the latest run) and
``<out>/summary.md`` (the same as tables); both are meant to be committed.

Sizes: ``small`` (the default) finishes in a few minutes on two cores; ``--full`` runs the
issue's sizes (a million task rows, 100,000 persons, 10,000 open workflows); ``--tiny`` is
for the harness's own smoke test."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.footprint import footprint
from bench.inbox import inbox_latency
from bench.machine import commit, machine
from bench.stack_bench import StackBench
from tests.stack import Stack

RESULTS = Path(__file__).resolve().parent / "results"
# In this order: intake last on the stack, so that the identifications it starts are not
# still being worked through while the batch or the open workflows are measured.
SECTIONS = ("throughput", "batch", "open_workflows", "intake", "inbox", "footprint")

SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "throughput": {"cases": 2, "clients": 2, "runs": 1},
        "intake": {"per_run": 10, "clients": 5, "runs": 1},
        "batch": {"people": 150, "runs": 1},
        "open_workflows": {"count": 10, "probes": 2, "wakes": 3},
        "inbox": {"sizes": {"sqlite": [500], "postgresql": [500]}, "samples": 5, "runs": 1},
        "footprint": {"cases": 1, "persons": 1},
    },
    "small": {
        "throughput": {"cases": 50, "clients": 8, "runs": 3},
        "intake": {"per_run": 100, "clients": 20, "runs": 3},
        "batch": {"people": 5_000, "runs": 3},
        "open_workflows": {"count": 500, "probes": 10, "wakes": 20},
        "inbox": {
            "sizes": {"sqlite": [10_000, 100_000], "postgresql": [10_000]},
            "samples": 30,
            "runs": 3,
        },
        "footprint": {"cases": 3, "persons": 3},
    },
    "full": {
        "throughput": {"cases": 100, "clients": 8, "runs": 3},
        "intake": {"per_run": 400, "clients": 20, "runs": 3},
        "batch": {"people": 100_000, "runs": 1},
        "open_workflows": {"count": 10_000, "probes": 20, "wakes": 50},
        "inbox": {
            "sizes": {
                "sqlite": [10_000, 100_000, 1_000_000],
                "postgresql": [10_000, 100_000, 1_000_000],
            },
            "samples": 100,
            "runs": 3,
        },
        "footprint": {"cases": 5, "persons": 5},
    },
}


def profiler(enabled: bool, out: Path, name: str) -> AbstractContextManager[Any]:
    """pyinstrument over one section (the optional ``bench`` extra), its HTML in ``out``."""
    if not enabled:
        return nullcontext()
    from contextlib import contextmanager

    from pyinstrument import Profiler

    @contextmanager
    def run() -> Any:
        p = Profiler(async_mode="enabled")
        p.start()
        try:
            yield
        finally:
            p.stop()
            (out / "profiles").mkdir(parents=True, exist_ok=True)
            (out / "profiles" / f"{name}.html").write_text(p.output_html())

    return run()


async def stack_sections(
    chosen: list[str], sizes: dict[str, Any], profile: bool, out: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        data = Path(tmp)
        stack = Stack(data)
        stack.start()
        bench = StackBench(stack, data)
        # The child writes to its own copy of the log's descriptor: this one is closed at once.
        with open(data / "baseline.log", "wb") as log:
            baseline = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.baseline",
                    f"127.0.0.1:{stack.t_port}",
                    bench.baseline_queue,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            await bench.connect()
            runners: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
                "throughput": lambda: bench.throughput(**sizes["throughput"]),
                "intake": lambda: bench.intake(**sizes["intake"]),
                "batch": lambda: bench.batch(**sizes["batch"]),
                "open_workflows": lambda: bench.open_workflows(**sizes["open_workflows"]),
            }
            for name in [s for s in SECTIONS if s in chosen and s in runners]:
                print(f"bench: {name} …", flush=True)
                started = time.monotonic()
                with profiler(profile, out, name):
                    results[name] = await runners[name]()
                results[name]["wall_seconds"] = round(time.monotonic() - started, 1)
                print(f"bench: {name}: {results[name]['figures']}", flush=True)
        finally:
            await bench.close()
            baseline.terminate()
            baseline.wait(30)
            stack.stop()
    return results


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="the issue's sizes (long)")
    size.add_argument("--tiny", action="store_true", help="seconds: the harness's smoke test")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    parser.add_argument("--profile", action="store_true", help="pyinstrument each section")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    label = "full" if args.full else "tiny" if args.tiny else "small"
    sizes = json.loads(json.dumps(SIZES[label]))
    if args.no_postgres:
        sizes["inbox"]["sizes"].pop("postgresql", None)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "generated_at": started.isoformat(timespec="seconds"),
        "size": label,
        "machine": machine(),
        **commit(),
        "sections": {},
    }
    # Sections with databases and servers of their own, outside the stack.
    standalone: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "inbox": lambda: inbox_latency(**sizes["inbox"]),
        # Time-skipping servers and SQLite files, one per scenario (bench/footprint.py).
        "footprint": lambda: footprint(**sizes["footprint"]),
    }
    if any(s in chosen for s in SECTIONS if s not in standalone):
        result["sections"].update(await stack_sections(chosen, sizes, args.profile, args.out))
    for name, run in standalone.items():
        if name not in chosen:
            continue
        print(f"bench: {name} …", flush=True)
        t0 = time.monotonic()
        with profiler(args.profile, args.out, name):
            section = await run()
        section["wall_seconds"] = round(time.monotonic() - t0, 1)
        result["sections"][name] = section
        print(f"bench: {name}: {section['figures']}", flush=True)
    result["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    report.write(result, args.out)
    print(f"bench: wrote {args.out / 'latest.json'} and {args.out / 'summary.md'}")
    return result


def _terminate(_sig: int, _frame: object) -> None:
    raise SystemExit(143)  # unwinds through the finally blocks that stop the stack


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    asyncio.run(main())
