"""Security checks of the web server as a browser meets it, on both databases:

- security headers on every kind of response (page, API JSON, problem, static file, redirect,
  the API docs), HSTS only behind TLS;
- the session cookie: HttpOnly, SameSite, Secure behind TLS (https, or YUANZHU_BEHIND_TLS);
- CSRF: every state-changing route of the web app, enumerated from ``app.routes``, refuses a
  request without the token and with another session's token, and accepts its own;
- the API's state-changing operations are not authenticated by the session cookie alone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from application.http import SESSION_COOKIE
from application.security_headers import DOCS_CSP, HSTS, PAGE_CSP
from tests.api.test_authz_matrix import (
    ACTORS,
    OPERATIONS,
    PUBLIC,
    ROLE_ONLY_SAMPLES,
    World,
    call,
    emergency_params,
    make_case,
    make_filter,
    make_task,
    make_user,
    marker,
    material_params,
)
from tests.api.test_households_api import make_household
from tests.reliability.report import tally
from tests.system import Region, System, web_login
from web.common import csrf_token
from worker.demo import DEMO_PASSWORD
from worker.server import create_app

CSRF_WORDS = "表单已过期"
# Every state-changing route is checked, the login form included (its token belongs to a cookie
# of its own, as the public form's does: there is no session yet).
CSRF_EXEMPT: frozenset[tuple[str, str]] = frozenset()


def app_of(system: System) -> FastAPI:
    app: FastAPI = system.http._transport.app  # type: ignore[attr-defined]
    return app


def browser(system: System, token: str | None = None, base: str = "http://test") -> Any:
    client = httpx.AsyncClient(transport=system.http._transport, base_url=base)
    if token:
        client.cookies.set(SESSION_COOKIE, token)
    return client


async def session_token(system: System, user_id: int) -> str:
    # The user's current session: the routes tried below include logout and password changes.
    return await system.token_for(user_id)


# --- headers ----------------------------------------------------------------------------------


def assert_security_headers(r: httpx.Response, csp: str = PAGE_CSP, hsts: bool = False) -> None:
    what = f"{r.request.method} {r.request.url} ({r.status_code})"
    assert r.headers.get("content-security-policy") == csp, what
    assert r.headers.get("x-content-type-options") == "nosniff", what
    assert r.headers.get("x-frame-options") == "DENY", what
    assert r.headers.get("referrer-policy") == "same-origin", what
    assert "camera=()" in r.headers.get("permissions-policy", ""), what
    assert (r.headers.get("strict-transport-security") == HSTS) is hsts, what


def test_page_policy_allows_nothing_inline() -> None:
    directives = dict(d.split(" ", 1) for d in PAGE_CSP.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in PAGE_CSP


def test_templates_have_nothing_inline_the_policy_would_block() -> None:
    """The policy refuses inline scripts, styles and handlers: no page template may rely on
    them (the API's downloadable notice, an attachment opened from disk, may)."""
    from pathlib import Path

    templates = Path(__file__).parents[2] / "web" / "templates"
    offenders = []
    for path in templates.rglob("*.html"):
        if path.name == "notice.html":
            continue
        source = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)  # not comments
        for pattern in (
            r"<script(?![^>]*\bsrc=)",
            r"<style",
            r"\sstyle=",
            r"\son[a-z]+=",
            "javascript:",
        ):
            if re.search(pattern, source):
                offenders.append(f"{path.relative_to(templates)}: {pattern}")
    assert offenders == []


async def test_headers_on_every_kind_of_response(system: System) -> None:
    region = await system.make_region()
    async with browser(system, await session_token(system, region.users["officer"])) as web:
        for path in ("/inbox", "/login", "/static/app.css", "/apply", "/no-such-page"):
            assert_security_headers(await web.get(path))
        assert_security_headers(await web.get("/"))  # a redirect
        r = await web.get("/api/v1/me")
        assert r.status_code == 200, r.text  # a GET of the API with the cookie: the page's links
        assert_security_headers(r)
    r = await system.http.get("/api/v1/tasks")  # a problem+json
    assert r.status_code == 401
    assert_security_headers(r)
    r = await system.http.post("/api/v1/auth/token", data={"username": "x", "password": "y"})
    assert_security_headers(r)
    assert_security_headers(await system.http.get("/healthz"))
    r = await system.http.get("/docs")
    assert r.status_code == 200
    assert_security_headers(r, csp=DOCS_CSP)
    assert "frame-ancestors 'none'" in DOCS_CSP


@pytest.fixture
async def tls_app(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The same system behind a TLS-terminating proxy (YUANZHU_BEHIND_TLS=true) that forwards
    plain http."""
    app = create_app(system.settings.model_copy(update={"behind_tls": True}), system.env.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client
    await app.state.engine.dispose()


async def test_hsts_only_behind_tls(system: System, tls_app: httpx.AsyncClient) -> None:
    assert_security_headers(await system.http.get("/login"), hsts=False)
    async with browser(system, base="https://test") as web:
        assert_security_headers(await web.get("/login"), hsts=True)
    assert_security_headers(await tls_app.get("/login"), hsts=True)


# --- the session cookie -------------------------------------------------------------------------


def session_cookie_header(r: httpx.Response) -> str:
    [header] = [h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "=")]
    return header.lower()


async def login(client: httpx.AsyncClient, user: str = "wf_officer") -> httpx.Response:
    r = await web_login(client, user, DEMO_PASSWORD)
    assert r.status_code == 303, r.text
    return r


async def test_session_cookie_flags(system: System, tls_app: httpx.AsyncClient) -> None:
    async with browser(system) as web:
        plain = session_cookie_header(await login(web))
    assert "httponly" in plain and "samesite=lax" in plain and "path=/" in plain
    assert "secure" not in plain  # http://: the development server must keep working
    async with browser(system, base="https://test") as web:
        over_https = session_cookie_header(await login(web))
    assert "httponly" in over_https and "samesite=lax" in over_https and "secure" in over_https
    behind_proxy = session_cookie_header(await login(tls_app))
    assert "secure" in behind_proxy and "httponly" in behind_proxy


async def test_apply_cookie_flags(system: System, tls_app: httpx.AsyncClient) -> None:
    r = await tls_app.get("/apply", params={"place": "370702001"})
    [cookie] = [h.lower() for h in r.headers.get_list("set-cookie")]
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


# --- CSRF on every state-changing form ----------------------------------------------------------


def web_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    routes = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        path = context.path_format or route.path_format
        if path.startswith("/api/"):
            continue
        for method in sorted(context.methods or route.methods or ()):
            routes.append((method, path, route))
    return routes


async def path_values(system: System, region: Region, role: str) -> dict[str, Any]:
    """Real objects inside every region user's jurisdiction, for the routes' path parameters."""
    world = World(system, [region])
    household_id, _ = await make_household(system, region, "street_a1", marker())
    emergency = await emergency_params(world, ACTORS[0], 0, "street_a1", marker())
    return {
        "task_id": await make_task(world, 0, "street_a1", role, marker()),
        "case_id": await make_case(world, 0, "street_a1", marker()),
        "user_id": await make_user(world, 0, "street_a1", "grassroots_officer", marker()),
        "view_id": await make_filter(world, 0, "street_a1", role, marker()),
        "household_id": household_id,
        "emergency_id": emergency["emergency_id"],
        "material_id": (await material_params(world, ACTORS[0], 0, "street_a1", marker()))[
            "material_id"
        ],
        "what": "contacts",
    }


def form_for(route: APIRoute, csrf: str | None) -> dict[str, Any]:
    """A form with every field the route declares (so that validation is not what refuses it)
    and the token, if any. Sent as multipart, which every form handler reads."""
    data = {param.alias: "1" for param in route.dependant.body_params}
    data.pop("csrf", None)
    if csrf is not None:
        data["csrf"] = csrf
    return data


def refused_for_csrf(r: httpx.Response) -> bool:
    return r.status_code == 403 and CSRF_WORDS in r.text


async def test_every_state_changing_route_checks_csrf(system: System) -> None:
    app = app_of(system)
    region = await system.make_region()
    other = await session_token(system, region.users["officer2"])
    routes = [(m, p, r) for m, p, r in web_routes(app) if m not in ("GET", "HEAD")]
    assert len(routes) > 20
    assert {(m, p) for m, p, _ in routes} >= CSRF_EXEMPT
    # Who tries: the first of these whom the route lets as far as its CSRF check.
    users = ("admin", "supervisor", "reviewer", "officer")
    values = {u: await path_values(system, region, role_of(u)) for u in users}
    checked = []
    for method, path, route in routes:
        if (method, path) in CSRF_EXEMPT:
            continue
        reached = False
        for user in users:
            url = path.format(**values[user])
            file = {"file": ("list.csv", b"a,b\n", "text/csv")}
            if path.startswith(("/apply", "/supplement")) or path == "/login":
                # The public forms' and the login form's tokens belong to their own cookies (no
                # session yet).
                async with browser(system) as web, browser(system) as stranger:
                    own = await pre_session_token(web, path)
                    foreign = await pre_session_token(stranger, path)
                    missing = await web.request(method, url, data=form_for(route, None), files=file)
                    forged = await web.request(
                        method, url, data=form_for(route, foreign), files=file
                    )
                    good = await web.request(method, url, data=form_for(route, own), files=file)
            else:
                token = await session_token(system, region.users[user])
                async with browser(system, token) as web:
                    missing = await web.request(method, url, data=form_for(route, None), files=file)
                    forged = await web.request(
                        method,
                        url,
                        data=form_for(route, csrf_token(system.settings.secret_key, other)),
                        files=file,
                    )
                    good = await web.request(
                        method,
                        url,
                        data=form_for(route, csrf_token(system.settings.secret_key, token)),
                        files=file,
                    )
            if not refused_for_csrf(missing):
                assert missing.status_code in (403, 404), (
                    f"{method} {path} as {user} without a CSRF token: {missing.status_code} "
                    f"{missing.text[:500]}"
                )
                continue  # refused before the check (role or scope): try the next user
            assert refused_for_csrf(forged), f"{method} {path} with another session's token"
            assert not refused_for_csrf(good), f"{method} {path} refuses its own token"
            assert good.status_code < 500, f"{method} {path}: {good.text[:500]}"
            reached = True
            checked.append((method, path))
            break
        assert reached, f"{method} {path}: no user reached its CSRF check"
    tally("security", "state-changing page routes checked for CSRF", len(checked))
    tally(
        "security",
        "state-changing page routes without a CSRF check",
        len(routes) - len(CSRF_EXEMPT) - len(checked),
    )
    assert len(checked) == len(routes) - len(CSRF_EXEMPT)


def role_of(user: str) -> str:
    return {
        "admin": "admin",
        "supervisor": "supervisor",
        "reviewer": "county_reviewer",
        "officer": "grassroots_officer",
    }[user]


async def pre_session_token(client: httpx.AsyncClient, path: str) -> str:
    """The token of a form without a session: the login form's, the public form's or the
    online supplement's."""
    if path == "/login":
        r = await client.get("/login")
    elif path.startswith("/supplement"):
        r = await client.get("/supplement")
    else:
        r = await client.get("/apply", params={"place": "370702001"})
    assert r.status_code == 200, r.text
    match = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def test_login_form_refuses_a_forged_login(system: System) -> None:
    """Login CSRF: a page of another site posting the attacker's credentials to /login would
    sign the victim's browser in as the attacker. Without the form's own token, or with
    another browser's, the login is refused before any password is checked."""
    async with browser(system) as web, browser(system) as attacker:
        foreign = await pre_session_token(attacker, "/login")
        await web.get("/login")  # the victim's browser has a login-form cookie of its own
        credentials = {"username": "wf_officer", "password": DEMO_PASSWORD}
        for token in (None, foreign):
            data = credentials if token is None else {**credentials, "csrf": token}
            r = await web.post("/login", data=data)
            assert refused_for_csrf(r), r.text
            assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
        ok = await web_login(web, "wf_officer")
        assert ok.status_code == 303, ok.text
    tally("security", "forged logins refused (no token, another browser's token)", 2)


async def test_forms_carry_the_token(system: System) -> None:
    """Every form that posts carries the session's token: pages of each kind of user."""
    region = await system.make_region()
    values = await path_values(system, region, "grassroots_officer")
    pages = [
        ("officer", f"/tasks/{values['task_id']}"),
        ("officer", f"/cases/{values['case_id']}"),
        ("officer", "/inbox"),
        ("officer", "/households/new"),
        ("reviewer", "/ledger"),
        ("admin", f"/admin/users/{values['user_id']}"),
        ("admin", "/admin/users/new"),
        ("admin", "/account"),
        ("supervisor", "/emergencies"),
    ]
    for user, path in pages:
        token = await session_token(system, region.users[user])
        async with browser(system, token) as web:
            r = await web.get(path)
        assert r.status_code == 200, f"{user} {path}: {r.status_code}"
        want = csrf_token(system.settings.secret_key, token)
        forms = re.findall(r'<form method="post".*?</form>', r.text, flags=re.S)
        assert forms, f"{path} has no form"
        for form in forms:
            assert f'name="csrf" value="{want}"' in form, f"{path}: a form without the token"


# --- the API is not cookie-authenticated for changes ---------------------------------------------


@pytest.fixture
async def world(system: System) -> World:
    return World(system, [await system.make_region(), await system.make_region()])


@pytest.mark.parametrize(
    "op",
    [op for op in OPERATIONS if op.method != "GET" and op.path not in PUBLIC],
    ids=lambda op: f"{op.method} {op.path}",
)
async def test_a_cookie_alone_does_not_authenticate_api_changes(world: World, op: Any) -> None:
    values = dict(ROLE_ONLY_SAMPLES.get(op.path, {}))
    if op.obj:
        values = await op.obj(world, ACTORS[-1], 0, "street_a1", marker())
    values["assignee"] = world.assignee(ACTORS[-1])
    token = await session_token(world.system, world.regions[0].users["admin"])
    r = await call(world, op, {"Cookie": f"{SESSION_COOKIE}={token}"}, values)
    assert r.status_code == 401, f"{op.method} {op.path}: {r.text}"
    # The same cookie does authenticate a read (a page's download link).
    r = await world.system.http.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={token}"})
    assert r.status_code == 200 and r.json()["id"] == world.regions[0].users["admin"]


async def test_public_application_ignores_the_cookie(system: System) -> None:
    """``POST /api/v1/applications`` takes a bearer token (an officer submitting on someone's
    behalf) but not the cookie: a page of another site cannot file one in an officer's name."""
    region = await system.make_region()
    token = await session_token(system, region.users["officer"])
    # A dependency-level check: the actor the cookie would give is absent for a POST.
    from starlette.requests import Request

    from application.http import _token

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/applications",
        "headers": [(b"cookie", f"{SESSION_COOKIE}={token}".encode())],
        "query_string": b"",
    }
    assert _token(Request(scope), None) is None
    assert _token(Request({**scope, "method": "GET"}), None) == token
    assert _token(Request({**scope, "path": "/cases/1/withdraw"}), None) == token
