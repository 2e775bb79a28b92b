"""Running one piece alone against external services (``yuanzhu worker``, ``yuanzhu api``):
each refuses to start against a database at the wrong revision, waits for Temporal, and stops
cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from store.db import make_engine, make_sessionmaker
from store.migrate import check_revision
from store.settings import Settings
from worker.factory import build_worker
from worker.metrics import install_worker_runtime
from worker.schedules import ensure_schedules
from worker.temporal_client import connect
from worker.tracing import TracingUnavailable, configure_tracing, traced

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


async def connect_with_retry(settings: Settings, attempts: int = 60):  # type: ignore[no-untyped-def]
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return await connect(settings)
        except Exception as exc:  # the server may still be starting
            last = exc
            await asyncio.sleep(1)
    raise StartupError(f"cannot reach Temporal at {settings.temporal_address}: {last}")


def start_tracing(settings: Settings, service_name: str) -> None:
    try:
        configure_tracing(settings, service_name)
    except TracingUnavailable as exc:
        raise StartupError(str(exc)) from None


async def run_worker(settings: Settings) -> None:
    await check_revision(settings)
    if settings.worker_metrics_port:
        ensure_port_free(
            settings.bind_host,
            settings.worker_metrics_port,
            "worker metrics endpoint",
            "YUANZHU_WORKER_METRICS_PORT",
        )
    metrics = install_worker_runtime(settings)  # before the client: it runs on this runtime
    start_tracing(settings, "yuanzhu-worker")
    client = traced(await connect_with_retry(settings), settings)
    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    worker = build_worker(client, settings, sessions=sessions)
    try:
        # Quarterly verification (定期审验): one Schedule per pack region, kept current.
        log.info("schedules: %s", ", ".join(await ensure_schedules(client, settings)) or "none")
    except Exception:  # the cases must still be served; the next start tries again
        log.exception("could not create or update the quarterly verification schedules")
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
    async with worker:
        sweeper = asyncio.create_task(sweep_unstarted(settings, client, sessions))
        await stop.wait()
        sweeper.cancel()
    # Close the database connections while the loop still runs: left to the interpreter's
    # exit, their finalisers ran after the runtime began finalising and aborted the process.
    await engine.dispose()
    log.info("worker stopped")


# An application whose workflow did not start (Temporal away at submission) is started by
# the next sweep once it is this old; younger ones may still be starting.
UNSTARTED_AFTER = timedelta(minutes=2)
SWEEP_EVERY_SECONDS = 60


async def sweep_unstarted(
    settings: Settings, client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Now and then, start the workflows of applications stored but never started
    (inbox_api.services.applications.resume_submitted); every worker sweeps, idempotently."""
    from inbox_api.errors import Problem
    from inbox_api.services.applications import resume_submitted

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


def run_api(settings: Settings) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from inbox_api.app import create_app

    asyncio.run(check_revision(settings))
    ensure_port_free(settings.bind_host, settings.bind_port, "API", "YUANZHU_BIND_PORT")
    start_tracing(settings, "yuanzhu-api")
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.bind_port,
        log_level="warning",
        # JSON logs: uvicorn's loggers go through the root handler (worker/logs.py) instead
        # of uvicorn's own plain-text configuration.
        log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
    )
