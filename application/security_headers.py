"""Security headers on every response, API and pages alike (a pure ASGI middleware, so that
streamed downloads pass through untouched).

- ``Content-Security-Policy``: our pages load scripts and styles only from ``/static`` (no
  inline ``<script>``, ``<style>``, ``style=`` or ``on…=`` attributes anywhere in
  ``web/templates``; htmx's own indicator ``<style>`` is turned off in ``base.html``), so the
  policy allows ``'self'`` and nothing inline: an injected ``<script>`` does not run even if
  escaping were ever missed. ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for
  older browsers) forbids framing (clickjacking); ``form-action 'self'`` keeps forms posting
  here. The API's documentation pages (``/docs``, ``/redoc``) are FastAPI's, on Swagger UI /
  ReDoc vendored under ``/static/vendor`` (``inbox_api/openapi.py``): they get a policy of their
  own that allows FastAPI's inline starter script, the styles the two inject and ReDoc's search
  worker (a ``blob:``), still from no other host (they show no personal data).
- ``X-Content-Type-Options: nosniff``: a downloaded notice or workbook is never run as
  something else.
- ``Referrer-Policy: same-origin``: our URLs carry case numbers and ID-number searches;
  nothing of them goes to another site.
- ``Permissions-Policy``: no camera, microphone, location, payment or USB for any page.
- ``Strict-Transport-Security`` only behind TLS (:func:`behind_tls`): over plain HTTP it would
  mean nothing, and a development server must stay reachable by http://.

A header the route already set is kept (a route may narrow its own policy)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.settings import Settings

PAGE_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# FastAPI's /docs and /redoc: Swagger UI / ReDoc from /static/vendor, started by an inline
# script; ReDoc's search runs in a worker made from a blob.
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000; includeSubDomains"

COMMON_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("cross-origin-opener-policy", "same-origin"),
)


def behind_tls(settings: Settings, connection: HTTPConnection) -> bool:
    """Whether the browser reached us over HTTPS: ``YUANZHU_BEHIND_TLS`` says so for a
    TLS-terminating proxy whatever it forwards; otherwise the request's own scheme (uvicorn
    takes ``X-Forwarded-Proto`` from the proxies it trusts, ``FORWARDED_ALLOW_IPS``, by default
    only 127.0.0.1). The scheme is read from the request's scope, where ``url`` reads it:
    building the whole URL for it was ~4 % of the API's time on an officer's completion (#22)."""
    return settings.behind_tls or connection.scope.get("scheme", "http") == "https"


def csp_for(path: str) -> str:
    return DOCS_CSP if path.startswith(DOCS_PATHS) else PAGE_CSP


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*COMMON_HEADERS, ("content-security-policy", csp_for(scope["path"]))]
        if behind_tls(self.settings, HTTPConnection(scope)):
            extra.append(("strict-transport-security", HSTS))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in extra:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SecurityHeaders, settings=settings)
