"""Running one piece alone against external services (``yuanzhu worker``, ``yuanzhu api``):
each refuses to start against a database at the wrong revision, waits for Temporal, and stops
cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import traceback
import weakref
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import temporalio.bridge.metric
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.runtime import Runtime

from application.services.policy_load import ensure_transitions
from infra.heap import API_YOUNG_GENERATION, settle_heap, settled_message
from infra.metrics import MetricsGate, worker_metrics_address, worker_runtime
from infra.temporal_client import DATA_CONVERTER, connect
from infra.tracing import TracingUnavailable, configure_tracing, traced
from store.db import make_engine, make_sessionmaker
from store.migrate import check_revision
from store.settings import Settings
from worker.factory import build_worker
from worker.schedules import ensure_schedules

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

T = TypeVar("T")
log = logging.getLogger("yuanzhu")


class StartupError(RuntimeError):
    """A start-up problem reported as one line (the CLI exits 1 with it)."""


def ensure_port_free(host: str, port: int, what: str, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise StartupError(
                f"port {port} on {host} is already in use, so the {what} cannot start "
                f"(is another yuanzhu running?); stop it or set {variable} to another port"
            ) from None


async def connect_with_retry(
    settings: Settings, attempts: int = 60, *, runtime: Runtime | None = None
) -> Client:
    """A client, once Temporal answers; on ``runtime`` when given (as :func:`connect`
    connects, with the process's default runtime otherwise)."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            if runtime is None:
                return await connect(settings)
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=DATA_CONVERTER,
                runtime=runtime,
            )
        except Exception as exc:  # the server may still be starting
            last = exc
            await asyncio.sleep(1)
    raise StartupError(f"cannot reach Temporal at {settings.temporal_address}: {last}")


def start_tracing(settings: Settings, service_name: str) -> TracerProvider | None:
    try:
        return configure_tracing(settings, service_name)
    except TracingUnavailable as exc:
        raise StartupError(str(exc)) from None


# How the worker stops (issue 18 §5). The Temporal SDK's Rust core runs on threads of its own
# (a Tokio runtime), and they call into Python: each awaited call into the core (a poll, an
# activity's completion, the worker's last `finalize_shutdown`) is answered by a core thread
# that takes the GIL and hands the result to the event loop, and the core's log lines reach
# Python logging the same way. The worker used to install its runtime as the process's default,
# where it lived until the interpreter's exit: a core thread still inside Python when the main
# thread began finalising (typically the one that had just answered the worker's last call and
# had let go of the GIL for a moment) could not take the GIL back, was made to exit, and its
# GIL guard's release on the way out aborted the process (`Fatal Python error:
# PyGILState_Release: thread state ... must be current when releasing`, exit code -6 after
# "worker stopped"), at random, in a share of the stops.
#
# So the worker owns its runtime, and lets go of it before it returns: with the last client
# and worker on it gone, the runtime shuts down with the GIL released and joins every core
# thread (one on its way into Python gets the GIL and finishes while the interpreter still
# runs). The interpreter then finalises with no thread left that could call into it.


async def run_worker(settings: Settings) -> bool:
    """Serve the task queue until SIGINT or SIGTERM. True when the worker's Temporal runtime
    was shut down before returning (see above); False when something still held it, and the
    caller should exit without finalising the interpreter (:func:`exit_at_once`)."""
    await check_revision(settings)
    metrics = worker_metrics_address(settings)
    if settings.worker_metrics_port:
        ensure_port_free(
            settings.bind_host,
            settings.worker_metrics_port,
            "worker metrics endpoint",
            "YUANZHU_WORKER_METRICS_PORT",
        )
    # With a metrics token the SDK's exporter moves to a loopback port behind a gate that
    # checks it (infra/metrics.py MetricsGate); the endpoint people scrape stays where it was.
    gate = None
    if metrics and settings.metrics_token:
        gate = MetricsGate(
            settings.bind_host, settings.worker_metrics_port or 0, settings.metrics_token
        )
    tracer_provider = start_tracing(settings, "yuanzhu-worker")
    engine = make_engine(settings.effective_database_url)
    # The worker's runtime (metrics, log forwarding), before the client: it runs on it. Held
    # in a list that release_runtime empties, so that no frame keeps it.
    owned = [worker_runtime(gate.internal_address if gate else metrics)]
    if gate is not None:
        gate.start()
    serving = serve_until_stopped(settings, owned[0], engine, metrics)
    try:
        await serving
    except BaseException as exc:
        # The frames in the traceback hold the client, the worker and the runtime.
        traceback.clear_frames(exc.__traceback__)
        raise
    finally:
        del serving
        if gate is not None:
            gate.close()
        released = release_runtime(owned)
        # Close the database connections while the loop still runs: left to the interpreter's
        # exit, their finalisers ran after it began finalising and aborted the process.
        await engine.dispose()
        if tracer_provider is not None:  # export the last spans and end the exporter's thread
            await asyncio.to_thread(tracer_provider.shutdown)
    if not released:
        log.warning("the Temporal runtime was still in use when the worker stopped")
    log.info("worker stopped")
    return released


async def serve_until_stopped(
    settings: Settings, runtime: Runtime, engine: AsyncEngine, metrics: str | None
) -> None:
    """Connect on ``runtime`` and serve until SIGINT or SIGTERM, then shut the worker down.
    The client and the worker live in this coroutine's frame, and go with it."""
    client = traced(await connect_with_retry(settings, runtime=runtime), settings)
    sessions = make_sessionmaker(engine)
    worker = build_worker(client, settings, sessions=sessions)
    try:
        # Quarterly verification (定期审验): one Schedule per pack region, kept current.
        log.info("schedules: %s", ", ".join(await ensure_schedules(client, settings)) or "none")
    except Exception:  # the cases must still be served; the next start tries again
        log.exception("could not create or update the quarterly verification schedules")
    try:
        # Revisions that move the persons already identified: each one's move started (a
        # load that could not reach Temporal left it to here).
        moves = await ensure_transitions(client, settings.temporal_task_queue, sessions)
        log.info("revision transitions: %s", ", ".join(moves) or "none")
    except Exception:
        log.exception("could not start the revisions' transitions")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker polling task queue %r on %s; metrics %s",
        settings.temporal_task_queue,
        settings.temporal_address,
        f"http://{metrics}/metrics" if metrics else "off",
    )
    # The worker, its client and the packs are built. Its young generation stays CPython's:
    # its workflows' sandboxes are cycles, freed late with a wider one (infra/heap.py).
    log.info(settled_message(settle_heap(young_generation=None)))
    async with worker:  # on leaving: the worker shut down, its polls and activities finished
        sweeper = asyncio.create_task(sweep_unstarted(settings, client, sessions))
        await stop.wait()
        sweeper.cancel()
        await asyncio.wait([sweeper])  # a cancelled task not yet ended still holds the client


RELEASE_ROUNDS = 3


def release_runtime(owned: list[Runtime]) -> bool:
    """Drop the last reference to the runtime in ``owned`` (no client or worker may use it any
    more): the runtime shuts down and joins its threads, now, while the interpreter runs.
    True if it did; False if something still holds it."""
    runtime = owned.pop()
    for _ in range(RELEASE_ROUNDS):
        # The core's threads let go of the futures of finished calls without the GIL, and pyo3
        # applies such releases only when Python next calls into the bridge. A poll that ended
        # with the worker's shutdown keeps its traceback on its future, and through it the
        # worker, the client and the runtime: call into the bridge (a metric meter, made and
        # thrown away) so that they go, and collect the cycles they sit in. A core thread
        # still waiting for the GIL to finish handing over a result queues its release later:
        # hence a few rounds, until nothing but this frame holds the runtime.
        temporalio.bridge.metric.MetricMeter.create(runtime._core_runtime)
        gc.collect()
        if sys.getrefcount(runtime) <= 2:  # this frame's reference and the call's argument
            break
    alive = weakref.ref(runtime)
    del runtime  # the last reference: the runtime shuts down here
    return alive() is None


def exit_at_once(code: int) -> NoReturn:
    """End the process without finalising the interpreter, after flushing the logs and the
    standard streams. The last resort for a stop whose Temporal runtime could not be shut down
    (:func:`run_worker` returned False): its threads might still call into Python, and a
    finalising interpreter aborts them (see above). Everything else has stopped by then."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


# An application whose workflow did not start (Temporal away at submission) is started by
# the next sweep once it is this old; younger ones may still be starting.
UNSTARTED_AFTER = timedelta(minutes=2)
SWEEP_EVERY_SECONDS = 60


async def sweep_unstarted(
    settings: Settings, client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Now and then, start the workflows of applications stored but never started
    (application.services.applications.resume_submitted); every worker sweeps, idempotently."""
    from application.errors import Problem
    from application.services.applications import resume_submitted

    while True:
        try:
            async with sessions() as session:
                before = datetime.now(UTC) - UNSTARTED_AFTER
                if started := await resume_submitted(session, client, settings, older_than=before):
                    log.info("started %d stored applications' workflows", started)
        except Problem as exc:  # Temporal still away: the next sweep tries again
            log.warning("sweep of unstarted applications: %s", exc.detail)
        except Exception:  # the database away, say: never let the sweep end the worker
            log.exception("sweep of unstarted applications failed")
        await asyncio.sleep(SWEEP_EVERY_SECONDS)  # the sweep's period, not a synchronisation


def run_on_fast_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop where it is installed (it is a dependency on Linux), else on
    asyncio's own loop (#22). The worker's event loop hands every database call to
    aiosqlite's thread and back, and every workflow activation and activity to the Temporal
    core's threads and back (``call_soon_threadsafe``): a fifth of its busy time was the
    loop's own selector and wake-ups. The API gets the same loop from uvicorn (``loop="auto"``),
    and httptools' parser instead of h11's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on Linux
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def run_api(settings: Settings) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from worker.server import create_app

    asyncio.run(check_revision(settings))
    ensure_port_free(settings.bind_host, settings.bind_port, "API", "YUANZHU_BIND_PORT")
    start_tracing(settings, "yuanzhu-api")
    app = create_app(settings)
    # The app and its routes are built (infra/heap.py).
    log.info(settled_message(settle_heap(young_generation=API_YOUNG_GENERATION)))
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.bind_port,
        log_level="warning",
        # JSON logs: uvicorn's loggers go through the root handler (worker/logs.py) instead
        # of uvicorn's own plain-text configuration.
        log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
    )
