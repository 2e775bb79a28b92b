"""Memory and CPU time of a process from /proc (Linux): resident set size now and its peak since
the last reset (VmHWM; writing 5 to clear_refs resets it, so a peak can be taken per phase), and
the CPU seconds it has used (user + system)."""

from __future__ import annotations

import os
from pathlib import Path


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(x) for x in text]
    return found


def find_child(pid: int, *words: str) -> int:
    """The child of ``pid`` whose command line holds every word (``worker.cli``, ``worker``)."""
    for child in children(pid):
        argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        args = [a.decode() for a in argv if a]
        if all(w in args for w in words):
            return child
    raise LookupError(f"no child of {pid} running {' '.join(words)}")


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def rss_mb(pid: int) -> float:
    return round(_status_kb(pid, "VmRSS") / 1024, 1)


def peak_rss_mb(pid: int) -> float:
    return round(_status_kb(pid, "VmHWM") / 1024, 1)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used (fields 14 and 15 of /proc/<pid>/stat, after
    the command name, which may hold spaces, in parentheses)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _name(pid: int) -> str:
    """A short name for a process of the stack, from its command line."""
    args = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    if "worker.cli" in args:
        return args[-1]  # `worker.cli worker`, `worker.cli api`
    line = " ".join(args)
    for word, name in (
        ("bench.baseline", "baseline_worker"),
        ("temporal", "temporal"),
        ("yuanzhu", "supervisor"),
    ):
        if word in line:
            return name
    return Path(args[0]).name if args else str(pid)


def tree_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of ``pid`` and every process below it, summed by :func:`_name`."""
    found: dict[str, float] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            name = "bench" if p == pid else _name(p)
            found[name] = found.get(name, 0.0) + cpu_s(p)
            todo += children(p)
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone between the listing and the read
    return found


def cpu_ms_per(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """CPU milliseconds per unit of work, by process, between two :func:`tree_cpu_s` readings."""
    return {
        name: round((after[name] - before.get(name, 0.0)) * 1000 / max(n, 1), 1)
        for name in sorted(after)
    }
