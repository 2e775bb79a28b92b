"""One error hierarchy turned into RFC 9457 problem+json by one handler. Every failure has a
stable ``type`` (a URI under /problems/) that clients and the web pages key on; validation
errors carry field-level details; nothing escapes as a bare 500.

A server-side failure (5xx) says what the caller can do, never why inside (no engine, driver or
database text, issue #20 §8): it carries a ``correlation_id`` (body and ``X-Correlation-Id``)
and the log line with its cause carries the same id (:func:`correlate`)."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, InterfaceError, OperationalError, TimeoutError as PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.files import FileCorrupt, FileMissing, FileStoreUnavailable
from store.packs import PinnedPackMissing

log = logging.getLogger(__name__)

PROBLEM_BASE = "/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
# A 503 is something passing (the database or the workflow engine away): when to try again.
RETRY_AFTER_SECONDS = 5
CORRELATION_HEADER = "X-Correlation-Id"


class Problem(Exception):
    """A failure the API reports: status, a stable type slug, a title and a detail message."""

    def __init__(
        self,
        status: int,
        type_: str,
        title: str,
        detail: str = "",
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail or title
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def file_store_unavailable() -> Problem:
    """503 ``file-store-unavailable``: a file could not be stored, and nothing was kept."""
    return Problem(
        503,
        "file-store-unavailable",
        "File store unavailable",
        "the file store cannot take files just now; nothing was stored, try again shortly",
        detail_zh="材料文件暂时无法保存，未保存任何内容，请稍后重试。",
    )


def correlate(problem: Problem, cause: object = None, *, where: str = "") -> Problem:
    """Give a server-side problem (5xx) its correlation id and log its cause under that id —
    ``cause`` (an exception or its text) where the caller knows it, else the problem's own
    detail; ``where`` the request. Once per problem (a problem raised again keeps its id);
    others are left alone."""
    if problem.status < 500 or "correlation_id" in problem.extra:
        return problem
    correlation_id = uuid.uuid4().hex
    problem.extra["correlation_id"] = correlation_id
    problem.headers[CORRELATION_HEADER] = correlation_id
    # A 500 is ours to fix (with its traceback); a 502/503 is something away, passing.
    trace = cause if problem.status == 500 and isinstance(cause, BaseException) else None
    log.log(
        logging.ERROR if problem.status == 500 else logging.WARNING,
        "%s correlation_id=%s%s: %s",
        problem.type,
        correlation_id,
        f" on {where}" if where else "",
        problem.detail if cause is None else cause,
        exc_info=trace,
    )
    return problem


def not_found(what: str, ident: str) -> Problem:
    # Objects outside the caller's scope get the same answer as objects that do not exist.
    return Problem(404, "not-found", "Not found", f"{what} {ident} was not found")


def problem_response(problem: Problem, request: Request | None = None) -> Response:
    """problem+json for the API; for a page (any path outside ``/api/``) the web's error page
    (``app.state.page_problem``, set by :func:`web.pages.mount_web`) with the same words."""
    correlate(problem, where=f"{request.method} {request.url.path}" if request else "")
    if request is not None and not request.url.path.startswith("/api/"):
        page_problem = getattr(request.app.state, "page_problem", None)
        if page_problem is not None:
            response: Response = page_problem(request, problem)
            response.headers.update(problem.headers)
            return response
    headers = dict(problem.headers)
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        problem.body(str(request.url.path) if request else None),
        status_code=problem.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


# SQLite reports a busy or vanished file and a wrong schema alike as OperationalError; only
# the first kind is the database being away.
_SQLITE_AWAY = ("database is locked", "unable to open database", "disk i/o error")


def database_away(exc: Exception) -> bool:
    """Whether a database error means "cannot reach it now" (retry later), not a bug."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        return any(text in str(orig).lower() for text in _SQLITE_AWAY)
    return True  # PostgreSQL: OperationalError/InterfaceError are connection-level


class RetryAfterOn503:
    """Every 503 answer carries ``Retry-After`` (RFC 9110 §10.2.3): problem+json, a page that
    renders a refusal with the service's status, ``/healthz``. Added here, on the way out,
    so that no place that builds a 503 can forget it; one that sets its own keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                MutableHeaders(scope=message).setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
            await send(message)

        await self.app(scope, receive, send_with_retry_after)


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(RetryAfterOn503)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if exc.errors() and all(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
            # /notifications/read-all read as /notifications/{id}: a path that cannot name
            # anything is not found, whatever type its id was meant to have.
            return problem_response(
                Problem(404, "not-found", "Not found", f"{request.url.path} was not found"),
                request,
            )
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": str(err.get("msg", "")).removeprefix("Value error, "),
                "code": err.get("type", "invalid"),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            Problem(422, "validation-error", "Invalid request", detail, errors=errors), request
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        slug = {
            400: "malformed-request",
            401: "unauthorized",
            404: "not-found",
            405: "method-not-allowed",
        }.get(exc.status_code, f"http-{exc.status_code}")
        problem = Problem(exc.status_code, slug, str(exc.detail), str(exc.detail))
        # e.g. Allow on 405 (RFC 9110 requires it)
        problem.headers = dict(exc.headers or {})
        # The methods the contract documents for the path, when the API installed its contract
        # (inbox_api/openapi.py sets app.state.documented_methods).
        documented = getattr(request.app.state, "documented_methods", None)
        if exc.status_code == 405 and documented is not None:
            allowed = documented(request.url.path)
            if allowed:
                problem.headers["Allow"] = ", ".join(allowed)
        return problem_response(problem, request)

    @app.exception_handler(PinnedPackMissing)
    async def _pinned_pack_missing(request: Request, exc: PinnedPackMissing) -> Response:
        # The rules a case was decided under are gone from the database: nothing the caller
        # can fix, and no other rules may stand in for them. The log says which and how to
        # restore them.
        problem = Problem(
            500,
            "pinned-pack-missing",
            "Policy pack version missing",
            "the policy rules this case was decided under are missing; an administrator must "
            "restore them from the backup (quote the correlation id)",
        )
        where = f"{request.method} {request.url.path}"
        return problem_response(correlate(problem, exc, where=where), request)

    async def _file_unavailable(request: Request, exc: Exception) -> Response:
        # A material's file is not in the store, or its bytes no longer hash to its name: a
        # restore without the files, or damage. Never served; the log names the file.
        problem = Problem(
            500,
            "material-file-unavailable",
            "File unavailable",
            "this material's file is missing or damaged in the file store; an administrator "
            "must restore it from the backup (quote the correlation id)",
        )
        where = f"{request.method} {request.url.path}"
        return problem_response(correlate(problem, exc, where=where), request)

    for unavailable in (FileMissing, FileCorrupt):
        app.add_exception_handler(unavailable, _file_unavailable)

    @app.exception_handler(FileStoreUnavailable)
    async def _file_store_away(request: Request, exc: FileStoreUnavailable) -> Response:
        # The store could not take a file: no row names it and nothing else of the request
        # was kept (the bytes go in before any row), so sending the same again is safe.
        problem = file_store_unavailable()
        where = f"{request.method} {request.url.path}"
        # Retry-After: RetryAfterOn503
        return problem_response(correlate(problem, exc, where=where), request)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # A value the database refused as data (out of range, a NUL character): the input was
        # bad, not the server. Routes bound their inputs; this is the backstop that keeps any
        # input that slips through from becoming a 500.
        log.warning("database refused input on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            Problem(
                422,
                "invalid-input",
                "Invalid input",
                "a value in the request cannot be stored (out of range or invalid characters)",
            ),
            request,
        )

    async def _database_away(request: Request, exc: Exception) -> Response:
        # The database cannot be reached (restarting, failing over, the network): nothing was
        # stored, and the same request succeeds once it is back — a 503 the client retries
        # (with the same Idempotency-Key), not a 500. Anything else is our fault: a 500.
        if not database_away(exc):
            return await _unexpected(request, exc)
        problem = Problem(
            503,
            "database-unavailable",
            "Database unavailable",
            "the database cannot be reached; nothing was changed, try again shortly",
        )
        where = f"{request.method} {request.url.path}"
        # Retry-After: RetryAfterOn503
        return problem_response(correlate(problem, exc, where=where), request)

    for away in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(away, _database_away)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        problem = Problem(
            500,
            "internal-error",
            "Internal error",
            "an unexpected error occurred; it was logged (quote the correlation id)",
        )
        where = f"{request.method} {request.url.path}"
        return problem_response(correlate(problem, exc, where=where), request)
