"""The results as JSON (``latest.json``, everything measured) and as a Markdown summary
(``summary.md``: the machine, then each section's figures, sizes, runs and targets). Figures
measured before a fix, kept by hand in ``bench/before_after.md``, are appended to the
summary so that the record of what changed travels with the figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BEFORE_AFTER = Path(__file__).resolve().parent / "before_after.md"

TITLES = {
    "throughput": "1. End-to-end task throughput (HTTP API) vs. the Temporal baseline",
    "inbox": "2. Inbox latency (GET /api/v1/tasks)",
    "batch": "3. Quarterly verification batch",
    "open_workflows": "4. Open long-lived assistance workflows",
    "intake": "5. Application intake (POST /api/v1/applications)",
    "footprint": "6. Footprint per case (history and app database, for docs/capacity.md)",
}
ORDER = ["throughput", "inbox", "batch", "open_workflows", "intake", "footprint"]


def _mark(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "**missed**")


def _section(name: str, s: dict[str, Any]) -> list[str]:
    lines = [f"## {TITLES[name]}", "", s["what"], ""]
    lines.append(f"Sizes: `{json.dumps(s['sizes'], ensure_ascii=False)}`; runs: {s['runs']}")
    if "samples_per_run" in s:
        lines[-1] += f" of {s['samples_per_run']} requests each (median of the runs' percentiles)"
    elif s["runs"] > 1:
        lines[-1] += " (median of the runs)"
    lines[-1] += f"; wall time {s.get('wall_seconds', '?')} s."
    if "measured_at" in s:  # a section run again on its own (see bench/before_after.md)
        lines[-1] += f" Measured on its own at {s['measured_at']}."
    lines.append("")
    if name == "inbox":
        lines += _inbox_table(s)
    else:
        lines += ["| figure | value | target | |", "|---|---:|---|---|"]
        for key, value in s["figures"].items():
            target = s["targets"].get(key, "")
            lines.append(f"| {key} | {value} | {target} | {_mark(s['met'].get(key))} |")
    for backend, reason in s.get("skipped", {}).items():
        lines.append(f"\nSkipped {backend}: {reason}")
    return [*lines, ""]


def _inbox_table(s: dict[str, Any]) -> list[str]:
    lines = []
    if s.get("postgres_version"):
        lines += [f"PostgreSQL {s['postgres_version']}.", ""]
    lines += [
        "| backend / rows | load s | query | p50 ms | p95 ms | p99 ms | items |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for key, r in s["detail"].items():
        for q, v in r["queries"].items():
            lines.append(
                f"| {key} | {r['load_seconds']} | {q} | {v['p50_ms']} | {v['p95_ms']} | "
                f"{v['p99_ms']} | {v['items']} |"
            )
    for key, d in s.get("discarded", {}).items():
        worst = max(q["p95_ms"] for q in d["queries"].values())
        again = s["detail"][key].get("measured_again_at", "later")
        lines += [
            "",
            f"{key} was measured again on its own at {again}; the first "
            f"measurement (worst p95 {worst} ms, kept in latest.json) was {d['why']}.",
        ]
    lines += ["", "Target: p95 ≤ 20 ms at 1,000,000 rows on both databases."]
    for key, ok in s["met"].items():
        lines.append(f"- {key}: {_mark(ok)}")
    return lines


def summary(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "# Yuanzhu benchmarks — latest run",
        "",
        f"Generated {result['generated_at']} by `make bench"
        + ("" if result["size"] == "small" else f" ARGS=--{result['size']}")
        + f"` (size **{result['size']}**) in {result['seconds']} s, commit "
        f"`{result.get('commit')}`"
        + (" with uncommitted changes" if result.get("uncommitted_changes") else "")
        + ".",
        "",
        f"Machine: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['ram_gb']} GB RAM, "
        f"{m['os']}, Python {m['python']}; {m['temporal_server']}; load average at start "
        f"{m['load_average_at_start']} (the machine is shared: figures move with it).",
        "",
    ]
    for name in ORDER:
        if name in result["sections"]:
            lines += _section(name, result["sections"][name])
    if BEFORE_AFTER.exists():
        lines += [BEFORE_AFTER.read_text().rstrip(), ""]
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path) -> None:
    (out / "latest.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    (out / "summary.md").write_text(summary(result))
