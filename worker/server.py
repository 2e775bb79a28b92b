"""``create_app(settings, temporal_client=None)``: the whole HTTP server, composed here — the
API (``inbox_api``) and the web pages (``web``) side by side on the application layer's
services and state, with what both share: the error handlers, the bound on request bodies,
the security headers, the request metrics. Without a client it connects to
``settings.temporal_address`` lazily (and again after a failure), so the server starts even
while Temporal is still coming up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from application.body_limit import BodyLimit
from application.errors import install_error_handlers
from application.gateway import TemporalHolder
from application.security_headers import install_security_headers
from inbox_api.app import install_api
from inbox_api.metrics import install_metrics
from store.db import make_engine, make_sessionmaker
from store.settings import Settings
from web.pages import mount_web


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
        # /docs and /redoc on vendored files, not FastAPI's CDN (inbox_api.openapi.install_docs)
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.temporal = TemporalHolder(settings, temporal_client)
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    install_api(app)
    install_security_headers(app, settings)
    install_metrics(app)
    mount_web(app)
    return app
