"""The OpenAPI document as the contract: every error response is RFC 9457 problem+json with one
``Problem`` schema, and the failures every route shares are documented from what the route
depends on rather than by hand on each route (one home for the rule):

- 401 when it needs a logged-in user (``current_actor``);
- 403 when it is guarded by ``require_roles``;
- 404 when it has path parameters (an object that does not exist, or is outside the caller's
  jurisdiction — the two are answered alike);
- 400 when it takes a request body (a body that is not parseable at all);
- 422 when it takes any input (field-level validation errors);
- 503 when it needs the workflow engine (``get_temporal``).

Statuses particular to a route (409, 429, 502, …) are declared on the route with a description;
this module gives them the problem+json content as well.

The contract's pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), are FastAPI's own pages
(:func:`install_docs`) but load their scripts, stylesheet and icon from ``/static/vendor/``
rather than from FastAPI's default CDN, and no Google Fonts: they work on a closed network."""

from __future__ import annotations

import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from application.errors import PROBLEM_CONTENT_TYPE, Problem, problem_response
from application.http import current_actor, get_temporal, optional_actor

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Descriptions FastAPI fills in when a route gives none.
FASTAPI_DEFAULTS = ("Validation Error", "Additional Response")


class FieldErrorOut(BaseModel):
    field: str = Field(description="dotted path of the offending input, e.g. query.limit")
    message: str
    code: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details. ``type`` is stable per failure (/problems/<slug>) and is what
    clients key on; some problems carry extra members (e.g. ``errors``, ``holder``)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldErrorOut] | None = Field(
        default=None, description="validation errors, one per field (422 validation-error)"
    )


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _shared_statuses(route: APIRoute) -> dict[int, str]:
    calls = set(_calls(route.dependant))
    statuses: dict[int, str] = {}
    if current_actor in calls:
        statuses[401] = "Not authenticated (no or an expired bearer token)"
    if any(getattr(call, "required_roles", None) for call in calls):
        statuses[403] = "Your role may not do this"
    if route.dependant.path_params:
        statuses[404] = "Not found (or outside your jurisdiction)"
    if route.dependant.body_params:
        statuses[400] = "The request body could not be parsed"
    if (
        route.dependant.body_params
        or route.dependant.query_params
        or route.dependant.path_params
        or route.dependant.header_params
    ):
        statuses[422] = "Invalid input (field-level errors in `errors`)"
    if get_temporal in calls:
        statuses[503] = "The workflow engine is unavailable; try again shortly"
    return statuses


def _problem_content(response: dict[str, Any], status: int) -> None:
    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}}
    if response.get("description") in (None, "", *FASTAPI_DEFAULTS):
        response["description"] = HTTPStatus(status).phrase


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["Problem"] = problem_schema
    # Routers included in the app come wrapped; the route contexts give each route's full path.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path_item = schema["paths"].get(context.path_format or route.path_format, {})
        for method in context.methods or route.methods or ():
            operation = path_item.get(method.lower())
            if operation is None:
                continue
            if optional_actor in set(_calls(route.dependant)) and "security" in operation:
                # A token is welcome (the public form works without one): say so.
                operation["security"] = [{}, *operation["security"]]
            responses = operation.setdefault("responses", {})
            for status, description in _shared_statuses(route).items():
                response = responses.setdefault(str(status), {})
                if response.get("description") in (None, "", *FASTAPI_DEFAULTS):
                    response["description"] = description
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    _problem_content(response, int(code))
    # FastAPI's own validation error shapes are never sent (errors.py turns them into problems).
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the contract documents for ``path`` (for the Allow header of a 405: several
    route objects can serve one path, and Starlette names only the first one's methods)."""
    table: dict[int, list[tuple[re.Pattern[str], list[str]]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if table is None:
        table = {}
        for template, item in app.openapi()["paths"].items():
            # A template's parameter matches one segment: only templates of as many segments
            # as the path can match it, so the table is looked up by that count (every API
            # request asks; matching the whole contract took ~0.1 ms, #22).
            table.setdefault(template.count("/"), []).append(
                (
                    re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"),
                    [m.upper() for m in item if m in _METHODS],
                )
            )
        app.state.allowed_methods = table
    matches = [
        (pattern, ms) for pattern, ms in table.get(path.count("/"), []) if pattern.match(path)
    ]
    if not matches:
        return []
    # /tasks/next is its own path, not /tasks/{task_id}: the most literal templates win.
    fewest = min(pattern.pattern.count("[^/]+") for pattern, _ in matches)
    return sorted(
        {m for pattern, ms in matches if pattern.pattern.count("[^/]+") == fewest for m in ms}
    )


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class MethodGuard:
    """Answers 405 (with Allow) for a method the contract does not document at the most
    literal path that matches. Without it ``GET /admin/jurisdictions/import`` would be routed
    to ``GET /admin/jurisdictions/{code}`` and answer 404 for a code named "import"; the
    contract, not the order of the routes, says what a path accepts."""

    def __init__(self, app: Any, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            allowed = allowed_methods(self.api, scope["path"])
            if allowed and scope["method"] not in allowed:
                problem = Problem(
                    405, "method-not-allowed", "Method Not Allowed", "Method Not Allowed"
                )
                problem.headers = {"Allow": ", ".join(allowed)}
                await problem_response(problem, Request(scope))(scope, receive, send)
                return
        await self.app(scope, receive, send)


API_PREFIX = "/api/"


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.documented_methods = lambda path: allowed_methods(app, path)  # 405's Allow
    app.add_middleware(MethodGuard, api=app)


# Vendored (web/static/vendor/README.txt says from where, which version, which licence).
SWAGGER_UI = "/static/vendor/swagger-ui-dist-5.35.0"
REDOC = "/static/vendor/redoc-2.5.4"
DOCS_FAVICON = f"{SWAGGER_UI}/favicon-32x32.png"
# No online validator badge: it would send the contract to validator.swagger.io.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """``/docs``, its OAuth2 redirect page and ``/redoc`` on the vendored files (the app is
    made with ``docs_url=None, redoc_url=None`` so that FastAPI adds no CDN pages itself)."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or f"{docs_url}/oauth2-redirect"

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=prefix + oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_js_url=f"{prefix}{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=prefix + DOCS_FAVICON,
            swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})},
        )

    async def swagger_ui_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{prefix}{REDOC}/redoc.standalone.js",
            redoc_favicon_url=prefix + DOCS_FAVICON,
            with_google_fonts=False,
        )

    app.add_route(docs_url, swagger_ui, include_in_schema=False)
    app.add_route(oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(redoc_url, redoc, include_in_schema=False)
