"""What the figures were measured on: CPUs, RAM, Python, the Temporal server and the
PostgreSQL server, and the commit of the code measured."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from worker.binaries import find_binary


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _run(*cmd: str) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine() -> dict[str, Any]:
    mem_kb = _first("/proc/meminfo", "MemTotal")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _first("/proc/cpuinfo", "model name") or platform.processor() or None,
        "ram_gb": round(int(mem_kb.split()[0]) / 1024 / 1024, 1) if mem_kb else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "temporal_server": "temporal CLI dev server (SQLite, WAL): "
        + (_run(find_binary("temporal"), "--version") or "unknown"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def commit() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    head = _run("git", "-C", str(root), "rev-parse", "--short", "HEAD")
    dirty = _run("git", "-C", str(root), "status", "--porcelain", "--untracked-files=no")
    return {"commit": head, "uncommitted_changes": bool(dirty)}
