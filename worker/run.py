"""Running one piece alone against external services (``yuanzhu worker``, ``yuanzhu api``):
each refuses to start against a database at the wrong revision, waits for Temporal, and stops
cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket

from store.migrate import check_revision
from store.settings import Settings
from worker.factory import build_worker
from worker.schedules import ensure_schedules
from worker.temporal_client import connect

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


async def run_worker(settings: Settings) -> None:
    await check_revision(settings)
    client = await connect_with_retry(settings)
    worker = build_worker(client, settings)
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
        "worker polling task queue %r on %s",
        settings.temporal_task_queue,
        settings.temporal_address,
    )
    async with worker:
        await stop.wait()
    log.info("worker stopped")


def run_api(settings: Settings) -> None:
    import uvicorn

    from inbox_api.app import create_app

    asyncio.run(check_revision(settings))
    ensure_port_free(settings.bind_host, settings.bind_port, "API", "YUANZHU_BIND_PORT")
    uvicorn.run(
        create_app(settings), host=settings.bind_host, port=settings.bind_port, log_level="warning"
    )
