"""The HTTP API's part of the server: its routes under ``/api/v1`` (one router per resource),
the OpenAPI contract with problem+json documented from what each route depends on, and the
contract's pages (``/docs``, ``/redoc``) on vendored files. The server that mounts it beside
the web pages is composed in ``worker/server.py``."""

from __future__ import annotations

from fastapi import FastAPI

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
    materials,
    notifications,
    outbound,
    reference,
    supervision,
    tasks,
    verification,
)

ROUTERS = (
    health,
    auth,
    applications,
    tasks,
    filters,
    cases,
    materials,
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
)


def install_api(app: FastAPI) -> None:
    """The API's routes, its contract and the contract's pages, on ``app``."""
    install_openapi(app)
    install_docs(app)
    for module in ROUTERS:
        app.include_router(module.router)
