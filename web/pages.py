"""The web site's shell: login and logout, the home redirect by role, the error pages, and the
mounting of every area's pages (inbox, tasks, cases, public application, dashboard,
administration, printable documents, the assistance ledger, quarterly verification) with the
static files and the locale middleware.

Each area lives in its own module with its own router and templates directory; handlers call
the same services as the API (no SQL here)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from application.errors import Problem
from application.http import (
    SESSION_COOKIE,
    Actor,
    OptionalActor,
    SessionDep,
    SettingsDep,
    client_address,
)
from application.services.auth import authenticate, log_out
from web import (
    admin,
    cases,
    dashboard,
    documents,
    enrolment,
    households,
    inbox,
    ledger,
    public,
    supplement,
    tasks,
    verification,
)
from web.common import (
    HERE,
    LOGIN_FORM,
    LoginRequired,
    check_csrf,
    login_url,
    problem_page,
    render,
    set_session_cookie,
)
from web.i18n import LocaleMiddleware, gettext

router = APIRouter(include_in_schema=False)

AREAS = (
    inbox,
    tasks,
    cases,
    public,
    supplement,
    dashboard,
    admin,
    documents,
    ledger,
    verification,
    enrolment,
    households,
)


def home_for(actor: Actor) -> str:
    """Where a user lands: supervisors on their dashboard, administrators on their pages,
    officers in the inbox."""
    return {"supervisor": "/dashboard", "admin": "/admin"}.get(actor.role, "/inbox")


def _safe_next(next_url: str | None) -> str | None:
    # Only a path of this site: never an absolute or scheme-relative URL (open redirect).
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return None


@router.get("/", response_class=HTMLResponse)
async def home(actor: OptionalActor) -> Response:
    return RedirectResponse(home_for(actor) if actor else "/login", status_code=303)


def _login_form(
    request: Request, *, status: int = 200, error: str | None = None, next: str = ""
) -> Response:
    """The login page with its form's token (bound to a cookie of its own: no session yet)."""
    cookie, new = LOGIN_FORM.cookie(request)
    page = render(
        request,
        "login.html",
        status=status,
        error=error,
        next=next,
        csrf=LOGIN_FORM.token(request, cookie),
    )
    if new:
        LOGIN_FORM.set_cookie(request, page, cookie)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> Response:
    return _login_form(request, next=_safe_next(next) or "")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    # Before the throttle and the password: a forged login costs nothing and counts nothing.
    LOGIN_FORM.check(request, csrf)
    try:
        user = await authenticate(session, settings, client_address(request), username, password)
    except Problem as problem:
        if problem.status == 429:
            minutes = max(1, -(-int(problem.extra["retry_after"]) // 60))
            error = gettext("登录失败次数过多，请 %(minutes)s 分钟后再试") % {"minutes": minutes}
            status = 429
        else:
            error, status = gettext("用户名或密码错误"), 401
        page = _login_form(request, status=status, error=error, next=next)
        page.headers.update(problem.headers)
        return page
    response = RedirectResponse(_safe_next(next) or home_for(Actor.of(user)), status_code=303)
    set_session_cookie(response, request, user)
    return response


@router.post("/logout")
async def logout(
    request: Request,
    session: SessionDep,
    actor: OptionalActor,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Log out: every session of the user ends (this browser's cookie, their other browsers'
    and their API tokens), not only the cookie here."""
    check_csrf(request, csrf)
    if actor is not None:
        await log_out(session, actor.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _page_problem(request: Request, problem: Problem) -> Response:
    if problem.status == 401:
        return RedirectResponse(login_url(request.url.path), status_code=303)
    return problem_page(request, problem, getattr(request.state, "actor", None))


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_url), status_code=303)


def mount_web(app: FastAPI) -> None:
    app.include_router(router)
    for area in AREAS:
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.page_problem = _page_problem
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_middleware(LocaleMiddleware)
