"""``create_app(settings, temporal_client=None)``: the FastAPI application with the API routes
and the web pages mounted. Without a client it connects to ``settings.temporal_address``
lazily (and again after a failure), so the API starts even while Temporal is still coming up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from inbox_api.errors import install_error_handlers
from inbox_api.metrics import install_metrics
from inbox_api.openapi import install_docs, install_openapi
from inbox_api.routes import (
    account,
    admin,
    applications,
    assistance,
    assistance_targets,
    auth,
    cases,
    enrolment,
    filters,
    health,
    households,
    ledger,
    notifications,
    outbound,
    reference,
    supervision,
    tasks,
    verification,
)
from inbox_api.security_headers import install_security_headers
from store.db import make_engine, make_sessionmaker
from store.settings import Settings
from worker.temporal_client import connect
from worker.tracing import traced


class TemporalHolder:
    """Hands out the Temporal client, connecting on first use and retrying after failures."""

    def __init__(self, settings: Settings, client: Client | None) -> None:
        self.settings = settings
        self.client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client | None:
        if self.client is not None:
            return self.client
        async with self._lock:
            if self.client is None:
                try:
                    client = await asyncio.wait_for(connect(self.settings), timeout=5)
                    self.client = traced(client, self.settings)
                except Exception:
                    return None
        return self.client


def create_app(settings: Settings, temporal_client: Client | None = None) -> FastAPI:
    engine = make_engine(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(
        title="Yuanzhu 援助 API",
        version="0.1.0",
        description="Case management for persons with employment difficulty (就业困难人员).",
        lifespan=lifespan,
        # /api/v1/tasks/ is not /api/v1/tasks: no redirect that turns a path id into a list.
        redirect_slashes=False,
        # /docs and /redoc on vendored files, not FastAPI's CDN (install_docs)
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.temporal = TemporalHolder(settings, temporal_client)
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    install_security_headers(app, settings)
    install_metrics(app)
    for module in (
        health,
        auth,
        applications,
        tasks,
        filters,
        cases,
        assistance,
        supervision,
        assistance_targets,
        notifications,
        account,
        admin,
        outbound,
        reference,
        ledger,
        enrolment,
        verification,
        households,
    ):
        app.include_router(module.router)
    from web.pages import mount_web  # the pages use the same services and state

    mount_web(app)
    return app
