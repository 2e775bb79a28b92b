"""Prometheus metrics of the API process: every HTTP request counted and timed, served at
``GET /metrics`` in the text exposition format.

- ``yuanzhu_http_requests_total{method, route, status}``
- ``yuanzhu_http_request_errors_total{method, route, status_class}`` (4xx and 5xx answers)
- ``yuanzhu_http_request_duration_seconds{method, route, status_class}`` (histogram)

``route`` is the route's template (``/api/v1/tasks/{task_id}``), never the requested path, and
``unmatched`` for a path no route serves; ``method`` is one of the HTTP methods or ``OTHER``:
every label takes a small, fixed set of values, so a scanner probing random paths cannot grow
the registry, and no id or personal data is ever a label.

``/metrics`` is open on the API's port by default, like ``/healthz``: it shows request counts
and latencies per route and nothing about a case or a person. A deployment that wants more sets
``YUANZHU_METRICS_TOKEN``: then only a scraper sending it as a bearer token is answered (401
otherwise), and the reverse proxy in front may still keep ``/metrics`` inside
(docs/operations.md). Each app has its own registry (several apps in one test process).
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.errors import Problem, problem_response

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# From a fast keyset page (a few ms) to a large Excel ledger export (tens of seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ApiMetrics:
    """The API's counters and histogram in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "yuanzhu_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.errors = Counter(
            "yuanzhu_http_request_errors",
            "HTTP requests answered with a 4xx or 5xx status",
            ("method", "route", "status_class"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "yuanzhu_http_request_duration_seconds",
            "Time from receiving a request to the end of its answer",
            ("method", "route", "status_class"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        status_class = f"{status // 100}xx"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, status_class).observe(seconds)
        if status >= 400:
            self.errors.labels(method, route, status_class).inc()


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (the router leaves it in the scope)."""
    route: Any = scope.get("route")
    if route is None:
        return "unmatched"
    path = str(getattr(route, "path_format", None) or getattr(route, "path", "") or "/")
    if isinstance(route, Mount):  # static files: one label for the whole mount
        return f"{path.rstrip('/')}/{{path}}"
    return path


class MetricsMiddleware:
    """Counts and times every HTTP request (pure ASGI: streamed answers are timed to their
    last byte, and background tasks are not held up). An exception escaping the app is a 500,
    as the server error handler outside this middleware answers it."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.metrics.observe(
                method, route_template(scope), status, time.perf_counter() - started
            )


def install_metrics(app: FastAPI) -> None:
    """Count every request of ``app`` and serve the counts at ``GET /metrics``."""
    metrics = ApiMetrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        refusal = scraper_refused(request.app.state.settings.metrics_token, request)
        if refusal is not None:
            # problem+json for the scraper (a path outside /api/ would get the login page).
            return problem_response(refusal)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def scraper_refused(token: str, request: Request) -> Problem | None:
    """With a metrics token set, the request must carry it as a bearer token (compared in
    constant time, so the answer's timing does not spell it out): else the 401 to answer."""
    if not token:
        return None
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
        return None
    return Problem(
        401,
        "unauthorized",
        "Not authenticated",
        "/metrics needs the metrics token (YUANZHU_METRICS_TOKEN) as a bearer token",
    )
