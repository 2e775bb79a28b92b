"""What every page shares: the Jinja2 environment (translations, Asia/Shanghai dates, labels),
who is logged in (:data:`PageActor` sends a visitor to the login page and back), the CSRF token
bound to the session cookie, and the rendering of a service's :class:`Problem` as a page with
the same words the API would use.

Page handlers call the API's services (``application.services``), never SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from application.errors import Problem
from application.http import SESSION_COOKIE, Actor, SessionDep, optional_actor
from application.security_headers import behind_tls
from application.services.auth import session_token
from application.services.cases import DOCUMENT_TEMPLATES
from domain.calendar import SHANGHAI
from domain.labels import CATALOGUE
from store import repos
from store.file_checks import FileRefused
from store.models import User
from web import dates, i18n
from web.problems import problem_message
from web.timeline import timeline_text

HERE = Path(__file__).parent
HTMX = "/static/vendor/htmx-2.0.11.min.js"

templates = Jinja2Templates(
    env=jinja2.Environment(
        # The pages' own templates, then the documents the application layer renders (a
        # notice's body is the same in the API's download and the printable page).
        loader=jinja2.FileSystemLoader([HERE / "templates", DOCUMENT_TEMPLATES]),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
)
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)


def lang_url(request: Request, locale: str) -> str:
    """This page in another language: the same path and query, ``lang`` replaced (switching
    on ``/apply?place=…`` keeps the chosen place)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*query, ('lang', locale)])}"


@jinja2.pass_context
def label(_context: Any, obj: Any, kind: str | None = None, default: str | None = None) -> str:
    """:func:`web.i18n.label` as a filter. Taking the context keeps Jinja from computing
    ``"enrolment"|label("import_kind")`` once when it compiles the template: the name depends
    on the language of each request."""
    return i18n.label(obj, kind, default)


# The one place the templates get the domain's names: ``code|label("kind")`` for one name,
# ``LABELS.kind`` for a whole table (a select's options, in the domain's order).
# Dates and times have one home too (web/dates.py); ``local`` and ``local_date`` are the older
# names of ``moment`` and ``day``, kept for the templates that still say so.
templates.env.filters.update(
    moment=dates.moment,
    day=dates.day,
    last_day=dates.last_day,
    day_words=dates.day_words,
    month=dates.month,
    local=dates.moment,
    local_date=dates.day,
    label=label,
    outcome_label=i18n.outcome_label,
    timeline_text=timeline_text,
)
templates.env.globals.update(
    SHANGHAI=SHANGHAI,
    LABELS=CATALOGUE,
    LOCALES=i18n.LOCALES,
    current_locale=i18n.current_locale,
    HTMX=HTMX,
    lang_url=lang_url,
    day_span=dates.day_span,
)


def csrf_token(secret: str, session_token: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


def csrf_for(request: Request) -> str:
    return csrf_token(
        request.app.state.settings.secret_key, request.cookies.get(SESSION_COOKIE, "")
    )


CSRF_HEADER = "X-CSRF-Token"


def set_session_cookie(response: Response, request: Request, user: User) -> None:
    """Log ``user`` in on this browser: the session cookie for their current session epoch
    (after a password change, the new epoch's, so that the browser that changed it stays in)."""
    settings = request.app.state.settings
    issued = session_token(settings, user)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(issued.ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=behind_tls(settings, request),
    )


def check_csrf(request: Request, token: str | None) -> None:
    """Every state-changing form carries the token (field ``csrf``; htmx sends it as the
    ``X-CSRF-Token`` header). It is an HMAC of the session cookie, so a page of another site
    cannot know it."""
    session_token = request.cookies.get(SESSION_COOKIE, "")
    given = token or request.headers.get(CSRF_HEADER, "")
    if not session_token or not hmac.compare_digest(
        given, csrf_token(request.app.state.settings.secret_key, session_token)
    ):
        raise Problem(403, "csrf", "CSRF check failed", "表单已过期，请刷新页面后重试")


# --- forms without a session: the login form and the public application form ----------------
# A visitor has no session cookie to bind the token to, so such a form gets a random cookie of
# its own (on its own path) and the token is an HMAC of it. A page of another site can neither
# read the cookie nor compute the token: it cannot log a victim's browser in as the attacker
# (login CSRF), nor file an application from someone else's browser.


@dataclass(frozen=True)
class PreSessionForm:
    """The cookie and CSRF token of a form shown before anyone logs in."""

    cookie_name: str
    path: str

    def cookie(self, request: Request) -> tuple[str, bool]:
        """The visitor's form cookie, or a new one (and whether it must be set)."""
        value = request.cookies.get(self.cookie_name, "")
        if len(value) >= 20:
            return value, False
        return secrets.token_urlsafe(24), True

    def token(self, request: Request, cookie: str) -> str:
        return csrf_token(request.app.state.settings.secret_key, f"{self.path}:{cookie}")

    def set_cookie(self, request: Request, response: Response, cookie: str) -> None:
        response.set_cookie(
            self.cookie_name,
            cookie,
            max_age=24 * 3600,
            httponly=True,
            samesite="lax",
            secure=behind_tls(request.app.state.settings, request),
            path=self.path,
        )

    def check(self, request: Request, token: str | None) -> str:
        """The form cookie if ``token`` (field ``csrf``, or the ``X-CSRF-Token`` header htmx
        sends) belongs to it; else 403 ``csrf`` with the words every form uses."""
        cookie = request.cookies.get(self.cookie_name, "")
        given = token or request.headers.get(CSRF_HEADER, "")
        if not cookie or not hmac.compare_digest(given, self.token(request, cookie)):
            raise Problem(403, "csrf", "CSRF check failed", "表单已过期，请刷新页面后重试")
        return cookie


LOGIN_FORM = PreSessionForm("yz_login", "/login")
APPLY_FORM = PreSessionForm("yz_apply", "/apply")
# The online supplement (web/supplement.py): its own cookie, which also binds its signed link.
SUPPLEMENT_FORM = PreSessionForm("yz_supplement", "/supplement")


class LoginRequired(Exception):
    """Raised by :func:`page_actor` for a visitor; answered with a redirect to the login page
    that comes back to where they were going."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def login_url(next_url: str) -> str:
    return "/login" if next_url in ("", "/") else f"/login?next={quote(next_url, safe='')}"


async def page_actor(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor | None, Depends(optional_actor)],
) -> Actor:
    if actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    # Shown in every page's header: who is in, in which role, for which place.
    place = await repos.get_jurisdiction(session, actor.jurisdiction_code)
    request.state.actor = actor  # the error page of a later refusal still shows who is in
    request.state.place_name = place.name if place else actor.jurisdiction_code
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def require_page_roles(*roles: str) -> Any:
    """Like the API's ``require_roles`` for pages: a logged-in user of another role gets the
    403 page; a visitor goes to the login page."""

    async def guard(actor: PageActor) -> Actor:
        if actor.role not in roles:
            raise Problem(403, "actor-not-allowed", "Not allowed", "此页面仅对特定角色开放")
        return actor

    return Depends(guard)


SupervisorPage = Annotated[Actor, require_page_roles("supervisor", "admin")]
AdminPage = Annotated[Actor, require_page_roles("admin")]


def render(
    request: Request,
    name: str,
    status: int = 200,
    actor: Actor | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page with what every page needs: the user (name, role, place), the CSRF token and
    the current locale. ``actor`` may be None on public pages."""
    context.setdefault("csrf", csrf_for(request))
    return templates.TemplateResponse(
        request,
        name,
        {
            "actor": actor,
            "place_name": getattr(request.state, "place_name", ""),
            "locale": i18n.current_locale(),
            **context,
        },
        status_code=status,
    )


def problem_page(request: Request, problem: Problem, actor: Actor | None = None) -> HTMLResponse:
    """A service's refusal as a page: the Chinese message for its ``type`` and the detail the
    API gives, with the API's status code."""
    return render(
        request,
        "error.html",
        status=problem.status,
        actor=actor,
        problem=problem,
        message=problem_message(problem),
    )


def alert_for(problem: Problem) -> dict[str, str]:
    """A refusal shown above a form: the page's sentence and the API's detail (with the
    correlation id of a server-side failure, which the log line of its cause carries)."""
    detail = problem.detail
    if correlation_id := problem.extra.get("correlation_id"):
        detail = f"{detail} ({i18n.gettext('查询编号')}: {correlation_id})"
    return {"message": problem_message(problem), "detail": detail}


def problem_words(problem: Problem) -> str:
    """A refusal's own sentence in the page's language: its Chinese (``detail_zh``) unless
    the page is English or the problem has none."""
    detail_zh = str(problem.extra.get("detail_zh") or "")
    return detail_zh if detail_zh and i18n.current_locale() != "en" else problem.detail


def refusal_words(refusal: FileRefused) -> str:
    """Why a file was refused (store.file_checks), in the page's language."""
    return refusal.en if i18n.current_locale() == "en" else refusal.zh


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"
