"""``yuanzhu up`` (command one): the whole system on its embedded default, supervised.

Starts the Temporal dev server persisted in ``<data dir>/temporal.db`` (SQLite with WAL, which
measured about three times faster than SQLite's defaults here), migrates the app database,
seeds the demo accounts on first start, then runs the worker and the API + web server as child
processes. A child that dies is restarted (a few times); Ctrl-C or SIGTERM stops every child in
order (API, worker, Temporal) and exits 0. Starting again resumes every case, task and timer:
all state lives in the two SQLite files.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from infra.metrics import UP_WORKER_METRICS_PORT
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.settings import Settings
from worker.binaries import find_binary
from worker.demo import DEMO_PASSWORD, USERS, seed_demo
from worker.run import StartupError, connect_with_retry, ensure_port_free

RESTARTS_ALLOWED = 5


def _die_with_parent() -> None:
    # Linux: if the supervisor is killed outright, its children get SIGTERM instead of lingering.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()  # the terminal's Ctrl-C reaches only the supervisor, which stops children in order


# Each history shard reads its transfer queue (the workflow tasks it hands to the workers) at
# most this many times a second. Temporal's default, 20, held a workflow task up to 50 ms in
# the server at every step of a case when the load was light: a workflow of one activity took
# 100 ms from start to result on an idle machine, 31 ms with this; an officer's completion
# 57 → 50 ms with one officer, 89 → 70 ms with two (#22, bench/before_after.md). The dev server
# has one shard, read whenever it is told of new tasks; under load a read still takes a batch.
TRANSFER_READS_PER_SECOND = 1000
TRANSFER_READS_KEY = "history.transferProcessorMaxPollRPS"
# An activity a workflow task schedules is handed to the worker that completed the task, in
# the server's answer, rather than put on the task queue for a worker's poll to take (eager
# activity execution; the SDK asks for it, the server grants it only with this on). A
# completion's closing activity is scheduled so: one matching round trip fewer per decision.
# Side by side (#22, bench/before_after.md): 6 % more tasks a second back to back, the server's
# CPU per task 0.1–0.9 ms less and the worker's 0.8–1.1 ms. The activity is recorded as
# scheduled before it is handed out, and times out and is retried like any other if that
# worker dies: nothing about its durability changes.
EAGER_ACTIVITIES_KEY = "system.enableActivityEagerExecution"

# The dev server keeps its search attributes' definitions in a cache, as a deployed server
# does, when this key is given; unless it is, it reads them from its database again each time
# it needs them: for every run that records a patch (each of ours did, until a run's patches
# were answered from its memo: workflows.steps), the upsert of TemporalChangeVersion and its
# visibility records read the cluster's metadata five times and the namespace twice, queued
# for SQLite's one connection with the writes (#22; the server's own
# metrics counted 17 database operations per application, 9 with the cache). Side by side, at
# 40 applications a second, an application's answer took 18–30 ms at the median instead of
# 26–42. The cost: a search attribute added while the server runs may be known to it only at
# the cache's next refresh (within a minute); the system defines none of its own.
SEARCH_ATTRIBUTES_CACHE_KEY = "system.forceSearchAttributesCacheRefreshOnRead"


def dev_server_argv(
    db: Path, port: int, *, namespace: str = "default", ui_port: int | None = None
) -> list[str]:
    """The Temporal dev server persisted in ``db`` (SQLite with WAL) on 127.0.0.1:``port``,
    with its UI on ``ui_port`` or headless, handing out tasks as soon as they are due
    (:data:`TRANSFER_READS_PER_SECOND`) and activities with the workflow task that schedules
    them (:data:`EAGER_ACTIVITIES_KEY`), its search attributes' definitions cached
    (:data:`SEARCH_ATTRIBUTES_CACHE_KEY`)."""
    ui = ["--ui-port", str(ui_port), "--ui-disable-news-fetch"] if ui_port else ["--headless"]
    return [
        find_binary("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(db),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        *ui,
        "--namespace",
        namespace,
        "--log-level",
        "warn",
        "--dynamic-config-value",
        f"{TRANSFER_READS_KEY}={TRANSFER_READS_PER_SECOND}",
        "--dynamic-config-value",
        f"{EAGER_ACTIVITIES_KEY}=true",
        "--dynamic-config-value",
        f"{SEARCH_ATTRIBUTES_CACHE_KEY}=false",
    ]


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path | None
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        # The child writes to its own copy of the log's descriptor; this process's is closed
        # at once (a supervisor restarting a child kept one more open file each time).
        with open(self.log_path, "ab") if self.log_path else contextlib.nullcontext() as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=out, preexec_fn=_die_with_parent
            )

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "YUANZHU_DATA_DIR": str(settings.data_dir.resolve()),
            "YUANZHU_DATABASE_URL": settings.effective_database_url,
            "YUANZHU_TEMPORAL_ADDRESS": settings.temporal_address,
            "YUANZHU_TEMPORAL_UI_URL": settings.temporal_ui_url,
            "YUANZHU_BIND_HOST": settings.bind_host,
            "YUANZHU_BIND_PORT": str(settings.bind_port),
        }
    )
    return env


def _worker_metrics_port(settings: Settings, echo) -> int:  # type: ignore[no-untyped-def]
    """The worker's metrics port: as set (0 = off; in use = an error, like the other ports), or
    UP_WORKER_METRICS_PORT when unset, unless something else holds it (then off, said once)."""
    what, variable = "worker metrics endpoint", "YUANZHU_WORKER_METRICS_PORT"
    if settings.worker_metrics_port is not None:
        if settings.worker_metrics_port:
            ensure_port_free(settings.bind_host, settings.worker_metrics_port, what, variable)
        return settings.worker_metrics_port
    try:
        ensure_port_free(settings.bind_host, UP_WORKER_METRICS_PORT, what, variable)
    except StartupError:
        echo(f"worker metrics off: port {UP_WORKER_METRICS_PORT} is in use (set {variable})")
        return 0
    return UP_WORKER_METRICS_PORT


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except Exception:
            time.sleep(0.3)
    return False


async def _prepare_database(settings: Settings) -> int:
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await seed_demo(session) if settings.seed_demo else 0
    finally:
        await engine.dispose()


def up(settings: Settings, *, echo=print) -> int:  # type: ignore[no-untyped-def]
    data = settings.data_dir.resolve()
    (data / "log").mkdir(parents=True, exist_ok=True)
    host = settings.bind_host
    ensure_port_free(
        "127.0.0.1", settings.temporal_port, "Temporal dev server", "YUANZHU_TEMPORAL_PORT"
    )
    ensure_port_free(
        "127.0.0.1", settings.temporal_ui_port, "Temporal UI", "YUANZHU_TEMPORAL_UI_PORT"
    )
    ensure_port_free(host, settings.bind_port, "API and web server", "YUANZHU_BIND_PORT")
    metrics_port = _worker_metrics_port(settings, echo)

    echo(f"数据目录 data directory: {data}")
    upgrade(settings)
    added = asyncio.run(_prepare_database(settings))
    if added:
        echo(
            f"已创建演示账号 demo accounts created: {', '.join(u.username for u in USERS)} "
            f"(password: {DEMO_PASSWORD})"
        )

    env = _child_env(settings)
    env["YUANZHU_WORKER_METRICS_PORT"] = str(metrics_port)
    temporal = Child(
        "temporal",
        dev_server_argv(
            data / "temporal.db",
            settings.temporal_port,
            namespace=settings.temporal_namespace,
            ui_port=settings.temporal_ui_port,
        ),
        data / "log" / "temporal.log",
        env,
    )
    me = [sys.executable, "-m", "worker.cli"]
    children = [
        temporal,
        Child("worker", [*me, "worker"], data / "log" / "worker.log", dict(env)),
        Child("api", [*me, "api"], data / "log" / "api.log", env),
    ]
    stopping = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        temporal.start()
        asyncio.run(connect_with_retry(settings, attempts=60))
        for child in children[1:]:
            child.start()
        base = f"http://{host}:{settings.bind_port}"
        if not _wait_http(f"{base}/healthz", 90):
            raise StartupError(f"the API did not become healthy; see {data / 'log'}")
        echo("援助 Yuanzhu is running:")
        echo(f"  web inbox (待办)    {base}/")
        echo(f"  API docs           {base}/docs")
        echo(f"  Temporal UI        {settings.temporal_ui_url}")
        echo(f"  metrics (API)      {base}/metrics")
        if metrics_port:
            echo(f"  metrics (worker)   http://{host}:{metrics_port}/metrics")
        echo(f"  logs               {data / 'log'}")
        echo("Press Ctrl-C to stop.")
        while not stopping:
            time.sleep(0.5)
            for child in children:
                if stopping or child.proc is None or child.proc.poll() is None:
                    continue
                if child is temporal:
                    raise StartupError(f"the Temporal dev server exited; see {child.log_path}")
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > RESTARTS_ALLOWED:
                    raise StartupError(f"the {child.name} keeps exiting; see {child.log_path}")
                echo(f"{child.name} exited with {child.proc.returncode}; restarting")
                if child.name == "worker" and settings.worker_metrics_port is None:
                    # The known port was free when we looked, but another yuanzhu started at
                    # the same moment may have taken it since: look again (the worker that
                    # exited has let go of it), so that the restart comes up, without metrics.
                    child.env["YUANZHU_WORKER_METRICS_PORT"] = str(
                        _worker_metrics_port(settings, echo)
                    )
                child.start()
        echo("stopping…")
        return 0
    finally:
        for child in reversed(children):
            child.stop()
