"""A worker stops on SIGTERM with exit code 0, every time (issue 18 §5).

`yuanzhu worker` used to log "worker stopped" and then, now and then, die with SIGABRT
(``Fatal Python error: PyGILState_Release``) while the interpreter finalised: a thread of the
Temporal SDK's runtime was still inside Python when the main thread began finalising
(worker/run.py says why and how the worker now stops). A race, so one stop proves nothing:
each kind of worker (Prometheus metrics on or off, tracing on or off) is started and stopped
``YUANZHU_STOP_RUNS`` times in a row (8 in `make test`, 40 under `make reliability`). The
four kinds run side by side against one Temporal dev server and one SQLite database, as the
operations guide runs several workers against one Temporal, and so that the file stays short."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.faults import DevServer
from tests.sizes import size
from tests.stack import Topology, free_port, prepare_database

# Several processes at once (Makefile): never beside another such run.
pytestmark = [pytest.mark.smoke, pytest.mark.xdist_group("stacks")]

RUNS = size("YUANZHU_STOP_RUNS", small=8, full=40)
# Nothing listens there: the exporter drops its spans with a warning, as with a collector away.
UNREACHABLE_COLLECTOR = "http://127.0.0.1:1/v1/traces"
KINDS = [(metrics, tracing) for metrics in (False, True) for tracing in (False, True)]


def _kind_id(kind: tuple[bool, bool]) -> str:
    metrics, tracing = kind
    return f"metrics-{'on' if metrics else 'off'}-tracing-{'on' if tracing else 'off'}"


@dataclass
class Stop:
    exit_code: int
    log: str  # the worker's log lines of this run


def _worker(logs: Path, database_url: str, address: str, metrics: bool, tracing: bool) -> Topology:
    logs.mkdir()
    top = Topology(logs, database_url, address, workers=1, apis=0)
    for variable in ("YUANZHU_WORKER_METRICS_PORT", "YUANZHU_OTEL_ENDPOINT"):
        top.env.pop(variable, None)
    if metrics:  # one port for all its runs: each run must have let go of it
        top.env["YUANZHU_WORKER_METRICS_PORT"] = str(free_port())
    if tracing:
        top.env["YUANZHU_OTEL_ENDPOINT"] = UNREACHABLE_COLLECTOR
    return top


def _run_once(top: Topology) -> Stop:
    log = top.log("worker-0")
    seen = len(log.read_text()) if log.exists() else 0
    top.start("worker-0")  # returns once the worker polls its task queue
    code = top.stop_all()["worker-0"]
    return Stop(code, log.read_text()[seen:])


# Session, not module: the xdist group may run other modules' tests between these, and a
# module fixture would stop the workers all over again after each of them.
@pytest.fixture(scope="session")
def stops(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[bool, bool], list[Stop]]:
    """Each kind's ``RUNS`` stops, the KINDS side by side on one dev server and database."""
    work = tmp_path_factory.mktemp("worker-stop")
    dev = DevServer(work / "temporal.db", free_port(), work / "temporal.log")
    dev.start()
    try:
        database_url = f"sqlite+aiosqlite:///{work / 'yuanzhu.db'}"
        prepare_database(database_url)
        tops = {
            kind: _worker(work / _kind_id(kind), database_url, f"127.0.0.1:{dev.port}", *kind)
            for kind in KINDS
        }
        results: dict[tuple[bool, bool], list[Stop]] = {kind: [] for kind in KINDS}
        with ThreadPoolExecutor(len(tops)) as pool:
            try:
                for _ in range(RUNS):
                    for kind, stop in zip(KINDS, pool.map(_run_once, tops.values()), strict=True):
                        results[kind].append(stop)
            finally:
                for top in tops.values():  # a failed start leaves a process behind
                    for proc in top.procs.values():
                        if proc.poll() is None:
                            proc.kill()
                            proc.wait(30)
        return results
    finally:
        dev.stop()


@pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
def test_a_worker_stops_with_exit_code_0_on_every_sigterm(
    stops: dict[tuple[bool, bool], list[Stop]], kind: tuple[bool, bool]
) -> None:
    runs = stops[kind]
    assert len(runs) == RUNS
    failed = [(i, run) for i, run in enumerate(runs) if run.exit_code != 0]
    assert not failed, (
        f"{len(failed)} of {RUNS} stops failed; the first (run {failed[0][0]}, exit code "
        f"{failed[0][1].exit_code}):\n{failed[0][1].log[-3000:]}"
    )
    for run in runs:
        assert "worker stopped" in run.log, run.log[-3000:]
        assert "Fatal Python error" not in run.log, run.log[-3000:]
