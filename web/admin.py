"""Administration pages (系统管理) for administrators, and "my account" for everyone.

- ``/admin``: the sections with one status line each (users, calendar years, the latest
  department import, policy packs, outbound e-mail) and the link to "my account";
- ``/admin/users``: list (role, place, active, name filters), create, change (role, place,
  active, name, email), reset a password;
- ``/admin/places``: the jurisdiction tree (expandable without JavaScript: ``<details>``) and
  the all-or-nothing import with its line-level errors;
- ``/admin/calendar``: the years, one year as a month grid with its holidays and make-up
  working days (调休), loading a year from a JSON file (root administrator);
- ``/admin/department``: past department list imports and a new upload (CSV or Excel) with
  its line-level errors, nothing imported on error;
- ``/admin/packs``: the policy packs, one pack (categories, materials, stages, clocks, exit
  rules), its pinned versions and the differences between two versions;
- ``/admin/outbound``: the SMTP relay (the password is never shown back) and a test message;
- ``/account``: the user's profile and the change of their own password (any role).

Every handler calls the API's services (``application.services.admin``, ``.reference``, the
outbound route's functions) so that a page and the API apply the same rules and refuse with the
same words: the refusal's Chinese sentence (:mod:`web.problems`) above the API's own detail,
next to the field it concerns where the API names one. Requests the API validates with its
request models are validated with the same models here.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from application.errors import Problem, not_found
from application.http import Actor, SessionDep
from application.schemas.admin import PASSWORD_MIN_LENGTH, PasswordIn, UserCreateIn, UserPatchIn
from application.schemas.outbound import OutboundSettingsIn, OutboundTestIn
from application.services import (
    admin as admin_service,
    outbound as outbound_service,
    policy_load,
    reference as reference_service,
    release_before_workflow,
)
from domain.calendar import MAX_YEAR, MIN_YEAR
from domain.department_data import LISTS, DepartmentList
from infra.mail import TLS_MODES
from store import calendar_admin
from store.policy_admin import PACK_ID_PATTERN, PACK_REF_PATTERN
from web.common import AdminPage, PageActor, check_csrf, render, set_session_cookie
from web.i18n import gettext as _
from web.problems import problem_message

router = APIRouter(include_in_schema=False)

# As the API's: a path that cannot name a user is not found (the app's rule for paths).
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]

# --- words the pages add to the API's --------------------------------------------------------

# What each form field asks for, shown in Chinese next to the API's own message when the field
# is refused (the API speaks English; an officer reads the first line, support the second).
FIELD_HINT_ZH = {
    "username": "用户名须为2至64位小写字母、数字或“._-”，以字母或数字开头，且未被占用",
    "display_name": "请填写姓名（不超过100字）",
    "email": "电子邮箱格式不正确",
    "role": "该角色不能设在所选的行政区划",
    "jurisdiction_code": "请选择管辖范围内的行政区划",
    "password": "密码不符合规则",
    "current_password": "当前密码不正确",
    "new_password": "新密码不符合规则",
    "new_password2": "两次输入的新密码不一致",
    "file": "请选择要上传的文件",
    "year": "请填写1900至2200之间的年份，并与文件中的年份一致",
    "kind": "请选择名单类别",
    "host": "请填写邮件服务器的主机名或IP地址",
    "port": "端口须为1至65535之间的数字",
    "sender": "发件人须为电子邮箱地址",
    "tls": "请选择加密方式",
    "to": "收件人须为电子邮箱地址",
}
FALLBACK_HINT_ZH = "填写的内容有误"

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _globals() -> dict[str, Any]:
    return {
        "FIELD_HINT_ZH": FIELD_HINT_ZH,
        "FALLBACK_HINT_ZH": FALLBACK_HINT_ZH,
        "ROLES": admin_service.ROLES,
    }


def page(request: Request, name: str, actor: Actor, status: int = 200, **ctx: Any) -> Response:
    ctx.setdefault("errors", {})
    ctx.setdefault("problem", None)
    return render(request, name, status=status, actor=actor, **_globals(), **ctx)


# --- refusals as page messages ---------------------------------------------------------------

FieldErrors = dict[str, list[str]]


@dataclass(frozen=True)
class Refusal:
    """A service's refusal for the top of a form: the page's sentence and the API's detail."""

    type: str
    message: str
    detail: str


def refusal(problem: Problem) -> Refusal:
    return Refusal(problem.type, problem_message(problem), problem.detail)


def problem_fields(problem: Problem) -> FieldErrors:
    """The API's field errors (``errors``: field, message) by form field (``body.password`` and
    ``password`` are both the form's ``password``)."""
    out: FieldErrors = {}
    for e in problem.extra.get("errors") or []:
        if isinstance(e, dict) and e.get("field"):
            name = str(e["field"]).rsplit(".", 1)[-1]
            out.setdefault(name, []).append(str(e.get("message", "")))
    return out


def model_fields(exc: ValidationError) -> FieldErrors:
    """A request model's errors in the words the API's validation handler gives them."""
    out: FieldErrors = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "body"
        out.setdefault(name, []).append(str(err["msg"]).removeprefix("Value error, "))
    return out


def clean(value: str, limit: int = 200) -> str:
    """A text field without control characters, at most ``limit`` characters."""
    return re.sub(r"[\x00-\x1f\x7f]", "", value)[:limit]


# --- places for the forms' selects -----------------------------------------------------------


@dataclass(frozen=True)
class PlaceOption:
    code: str
    name: str
    level: str
    depth: int


async def place_options(session: SessionDep, actor: Actor) -> list[PlaceOption]:
    """The caller's jurisdiction and every place below it, parents first (for a select)."""
    tree = await admin_service.place_tree(session, actor, None, None)
    out: list[PlaceOption] = []

    def walk(node: admin_service.PlaceNode, depth: int) -> None:
        out.append(PlaceOption(node.code, node.name, node.level, depth))
        for child in node.children:
            walk(child, depth + 1)

    walk(tree, 0)
    return out


# --- the landing page ------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    tree = await admin_service.place_tree(session, actor, None, None)
    years = await calendar_admin.year_summaries(
        session, through_year=reference_service.today().year + 1
    )
    loaded = [y.year for y in years if not y.provisional]
    next_year = reference_service.today().year + 1
    latest = await reference_service.list_imports(session, None, 1)
    outbound = await outbound_service.setting(session, actor)
    return page(
        request,
        "admin/home.html",
        actor,
        section="home",
        user_count=tree.subtree_user_count,
        place_count=_count_places(tree),
        place=tree,
        years_loaded=loaded,
        next_year=next_year,
        next_year_loaded=next_year in loaded,
        latest_import=latest[0].entry if latest else None,
        latest_list=_list_name(latest[0].entry.list_kind) if latest else None,
        pack_count=len(await reference_service.pack_listings(session)),
        outbound=outbound,
    )


def _count_places(node: admin_service.PlaceNode) -> int:
    return 1 + sum(_count_places(c) for c in node.children)


def _list_name(kind: str) -> str:
    try:
        return LISTS[DepartmentList(kind)].name_zh
    except ValueError:  # a kind this version does not know
        return kind


# --- users -----------------------------------------------------------------------------------


@router.get("/admin/users", response_class=HTMLResponse)
async def users_page(
    request: Request,
    session: SessionDep,
    actor: AdminPage,
    role: str = "",
    place: str = "",
    active: str = "",
    q: str = "",
    cursor: str = "",
) -> Response:
    role_filter = role if role in admin_service.ROLES else None
    place_filter = place if re.fullmatch(r"[0-9]{6}|[0-9]{9}|[0-9]{12}", place) else None
    active_filter = {"1": True, "0": False}.get(active)
    text = clean(q, 100).strip() or None
    rows, next_cursor = await admin_service.list_users(
        session,
        actor,
        role=role_filter,
        jurisdiction=place_filter,
        active=active_filter,
        q=text,
        cursor=cursor[:400] or None,
        limit=50,
    )
    names = await admin_service.place_names(session, rows)
    query = {"role": role_filter or "", "place": place_filter or "", "active": active, "q": q}
    return page(
        request,
        "admin/users.html",
        actor,
        section="users",
        users=rows,
        names=names,
        places=await place_options(session, actor),
        filters=SimpleNamespace(**query),
        first_query={k: v for k, v in query.items() if v},
        next_query={k: v for k, v in {**query, "cursor": next_cursor}.items() if v}
        if next_cursor
        else None,
        first_page=not cursor,
    )


def _user_form_page(
    request: Request,
    actor: Actor,
    places: list[PlaceOption],
    values: dict[str, Any],
    status: int = 200,
    errors: FieldErrors | None = None,
    problem: Refusal | None = None,
) -> Response:
    return page(
        request,
        "admin/user_new.html",
        actor,
        status=status,
        section="users",
        places=places,
        values=SimpleNamespace(**values),
        errors=errors or {},
        problem=problem,
        min_length=PASSWORD_MIN_LENGTH,
    )


NEW_USER_FIELDS = ("username", "display_name", "role", "jurisdiction_code", "email")


@router.get("/admin/users/new", response_class=HTMLResponse)
async def new_user_page(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    values = dict.fromkeys(NEW_USER_FIELDS, "")
    values["role"] = "grassroots_officer"
    return _user_form_page(request, actor, await place_options(session, actor), values)


@router.post("/admin/users", response_class=HTMLResponse)
async def create_user(
    request: Request,
    session: SessionDep,
    actor: AdminPage,
    csrf: Annotated[str, Form(max_length=200)] = "",
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    jurisdiction_code: Annotated[str, Form(max_length=20)] = "",
    email: Annotated[str, Form(max_length=300)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    check_csrf(request, csrf)
    values = {
        "username": username.strip(),
        "display_name": display_name,
        "role": role,
        "jurisdiction_code": jurisdiction_code,
        "email": email,
    }
    places = await place_options(session, actor)
    try:
        body = UserCreateIn(**values, password=password)
    except ValidationError as exc:
        errors = model_fields(exc)
        if "username" in errors:  # the service's sentence rather than the regular expression
            errors["username"] = [admin_service.check_username(values["username"]) or ""]
        return _user_form_page(request, actor, places, values, 422, errors)
    try:
        user = await admin_service.create_user(session, actor, body)
    except Problem as p:
        errors = problem_fields(p)
        if p.type == "conflict":  # the username is taken
            errors["username"] = [p.detail]
        if p.type == "not-found":
            errors["jurisdiction_code"] = [p.detail]
        return _user_form_page(
            request, actor, places, values, p.status, errors, None if errors else refusal(p)
        )
    return RedirectResponse(f"/admin/users/{user.id}?done=created", status_code=303)


async def _user_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    user_id: int,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
    problem: Refusal | None = None,
    password_errors: FieldErrors | None = None,
    password_problem: Refusal | None = None,
    done: str = "",
) -> Response:
    user = await admin_service.get_user(session, actor, user_id)
    names = await admin_service.place_names(session, [user])
    shown = {
        "display_name": user.display_name,
        "email": user.email or "",
        "role": user.role,
        "jurisdiction_code": user.jurisdiction_code,
        "active": user.active,
        **(values or {}),
    }
    return page(
        request,
        "admin/user.html",
        actor,
        status=status,
        section="users",
        user=user,
        place_name=names.get(user.jurisdiction_code, ""),
        places=await place_options(session, actor),
        values=SimpleNamespace(**shown),
        errors=errors or {},
        problem=problem,
        password_errors=password_errors or {},
        password_problem=password_problem,
        done=done if done in ("created", "saved", "reset") else "",
        is_self=user.id == actor.id,
        min_length=PASSWORD_MIN_LENGTH,
    )


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
async def user_page(
    request: Request, user_id: UserId, session: SessionDep, actor: AdminPage, done: str = ""
) -> Response:
    return await _user_page(request, session, actor, user_id, done=done)


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
async def update_user(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    actor: AdminPage,
    csrf: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=300)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    jurisdiction_code: Annotated[str, Form(max_length=20)] = "",
    active: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(request, csrf)
    values = {
        "display_name": display_name,
        "email": email,
        "role": role,
        "jurisdiction_code": jurisdiction_code,
        "active": active == "1",
    }
    try:
        # The form sends every field: an empty email clears the address, as ``email: null``.
        body = UserPatchIn(**{**values, "email": email.strip() or None})
    except ValidationError as exc:
        return await _user_page(
            request, session, actor, user_id, 422, values, errors=model_fields(exc)
        )
    try:
        await admin_service.update_user(session, actor, user_id, body)
    except Problem as p:
        if p.type == "not-found" and p.detail.startswith("user "):
            raise  # the user is gone or out of scope: the 404 page
        errors = problem_fields(p)
        if p.type == "not-found":
            errors["jurisdiction_code"] = [p.detail]
        # A refusal that names no field (privilege, self-lockout) goes above the form; the
        # role-place rule names the role and is shown there.
        return await _user_page(
            request,
            session,
            actor,
            user_id,
            p.status,
            values,
            errors=errors,
            problem=None if errors else refusal(p),
        )
    return RedirectResponse(f"/admin/users/{user_id}?done=saved", status_code=303)


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
async def reset_password(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    actor: AdminPage,
    csrf: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        body = PasswordIn(password=password)
        await admin_service.reset_password(session, actor, user_id, body.password)
    except ValidationError as exc:
        return await _user_page(
            request, session, actor, user_id, 422, password_errors=model_fields(exc)
        )
    except Problem as p:
        if p.type == "not-found":
            raise
        errors = problem_fields(p)
        return await _user_page(
            request,
            session,
            actor,
            user_id,
            p.status,
            password_errors=errors,
            password_problem=None if errors else refusal(p),
        )
    return RedirectResponse(f"/admin/users/{user_id}?done=reset", status_code=303)


# --- places ----------------------------------------------------------------------------------


async def _places_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    status: int = 200,
    **ctx: Any,
) -> Response:
    ctx.setdefault("result", None)
    ctx.setdefault("import_errors", [])
    ctx.setdefault("error_count", 0)
    return page(
        request,
        "admin/places.html",
        actor,
        status=status,
        section="places",
        tree=await admin_service.place_tree(session, actor, None, None),
        max_mib=admin_service.MAX_IMPORT_BYTES // (1024 * 1024),
        **ctx,
    )


@router.get("/admin/places", response_class=HTMLResponse)
async def places_page(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    return await _places_page(request, session, actor)


@router.post("/admin/places/import", response_class=HTMLResponse)
async def import_places(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    try:
        form = await reference_service.read_form(request, admin_service.MAX_IMPORT_BYTES)
    except Problem as p:
        return await _places_page(request, session, actor, p.status, problem=refusal(p))
    check_csrf(request, form.fields.get("csrf"))
    if form.file_name is None:
        return await _places_page(
            request, session, actor, 422, errors={"file": [_("请选择要上传的文件")]}
        )
    try:
        result = await admin_service.import_jurisdictions(session, actor, form.data)
    except Problem as p:
        return await _places_page(
            request,
            session,
            actor,
            p.status,
            problem=refusal(p),
            import_errors=p.extra.get("errors") or [],
            error_count=p.extra.get("error_count", 0),
            file_name=form.file_name,
        )
    return await _places_page(request, session, actor, result=result, file_name=form.file_name)


# --- calendar --------------------------------------------------------------------------------


async def _calendar_page(
    request: Request, session: SessionDep, actor: Actor, status: int = 200, **ctx: Any
) -> Response:
    through = reference_service.today().year + 1
    years = await calendar_admin.year_summaries(session, through_year=through)
    ctx.setdefault("year_value", through)
    return page(
        request,
        "admin/calendar.html",
        actor,
        status=status,
        section="calendar",
        years=list(reversed(years)),
        is_root=reference_service.is_root(actor),
        **ctx,
    )


@router.get("/admin/calendar", response_class=HTMLResponse)
async def calendar_page(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    return await _calendar_page(request, session, actor)


def _month_grid(year: int, holidays: set[date], workdays: set[date]) -> list[dict[str, Any]]:
    """Twelve months of weeks (Monday first); each day with its kind: holiday (休), makeup
    (调休上班), weekend or workday; None pads the first and last week."""
    months = []
    for month in range(1, 13):
        weeks = []
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            days: list[SimpleNamespace | None] = []
            for d in week:
                if d.month != month:
                    days.append(None)
                    continue
                if d in holidays:
                    kind = "holiday"
                elif d in workdays:
                    kind = "makeup"
                elif d.weekday() >= 5:
                    kind = "weekend"
                else:
                    kind = "workday"
                days.append(SimpleNamespace(date=d, kind=kind))
            weeks.append(days)
        months.append({"month": month, "weeks": weeks})
    return months


async def _year_page(
    request: Request, session: SessionDep, actor: Actor, year: int, status: int = 200, **ctx: Any
) -> Response:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise not_found("year", str(year))
    detail = await calendar_admin.year_detail(session, year)
    return page(
        request,
        "admin/year.html",
        actor,
        status=status,
        section="calendar",
        year=year,
        detail=detail,
        months=_month_grid(
            year, {d.date for d in detail.holidays}, {d.date for d in detail.workdays}
        ),
        is_root=reference_service.is_root(actor),
        WEEKDAYS_ZH=WEEKDAYS_ZH,
        **ctx,
    )


@router.get("/admin/calendar/{year}", response_class=HTMLResponse)
async def year_page(request: Request, year: int, session: SessionDep, actor: AdminPage) -> Response:
    return await _year_page(request, session, actor, year)


@router.post("/admin/calendar", response_class=HTMLResponse)
async def load_year(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    """Load (or replace) a year from its JSON file, as ``PUT /api/v1/calendar/years/{year}``;
    the year's page with the recompute's outcome, 202 when it is pending."""
    try:
        form = await reference_service.read_form(request, reference_service.MAX_TABLE_BYTES)
    except Problem as p:
        return await _calendar_page(request, session, actor, p.status, problem=refusal(p))
    check_csrf(request, form.fields.get("csrf"))
    year_text = form.fields.get("year", "").strip()
    errors: FieldErrors = {}
    if not year_text.isdigit() or not (MIN_YEAR <= int(year_text) <= MAX_YEAR):
        errors["year"] = [f"{year_text[:10]!r} is not a year from 1900 to 2200"]
    if form.file_name is None:
        errors["file"] = [_("请选择要上传的文件")]
    if errors:
        return await _calendar_page(
            request, session, actor, 422, errors=errors, year_value=year_text[:10]
        )
    year = int(year_text)
    temporal = await request.app.state.temporal.get()
    try:
        _summary, recompute = await reference_service.load_year_table(
            session, request.app.state.sessions, temporal, actor, year, form.data, source="page"
        )
    except Problem as p:
        errors = problem_fields(p)
        # The table's own fields (holidays[3], body) are the file's: shown under the file.
        file_errors = [m for f, ms in errors.items() if f != "year" for m in ms]
        shown: FieldErrors = {"year": errors["year"]} if "year" in errors else {}
        if file_errors:
            shown["file"] = file_errors
        return await _calendar_page(
            request,
            session,
            actor,
            p.status,
            errors=shown,
            problem=refusal(p),
            year_value=year,
        )
    return await _year_page(
        request,
        session,
        actor,
        year,
        status=202 if recompute.status == "pending" else 200,
        recompute=recompute,
    )


# --- department lists ------------------------------------------------------------------------

LIST_CHOICES = [(kind.value, spec) for kind, spec in LISTS.items()]


async def _department_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    status: int = 200,
    kind: str = "",
    **ctx: Any,
) -> Response:
    try:
        kind_filter = DepartmentList(kind) if kind else None
    except ValueError:
        kind_filter = None
    rows = await reference_service.list_imports(session, kind_filter, 100)
    imported_id = ctx.pop("imported_id", 0)
    ctx["imported"] = next(
        (r.entry for r in rows if imported_id and r.entry.id == imported_id), None
    )
    ctx.setdefault("import_errors", [])
    ctx.setdefault("chosen_kind", "")
    return page(
        request,
        "admin/department.html",
        actor,
        status=status,
        section="department",
        imports=rows,
        kind=kind_filter.value if kind_filter else "",
        lists=LIST_CHOICES,
        list_name=_list_name,
        max_mib=reference_service.MAX_UPLOAD_BYTES // (1024 * 1024),
        **ctx,
    )


@router.get("/admin/department", response_class=HTMLResponse)
async def department_page(
    request: Request, session: SessionDep, actor: AdminPage, kind: str = "", imported: int = 0
) -> Response:
    """The imports, newest first; ``imported`` names the one just made (after the redirect)."""
    return await _department_page(request, session, actor, kind=kind, imported_id=imported)


@router.post("/admin/department", response_class=HTMLResponse)
async def import_department_list(
    request: Request, session: SessionDep, actor: AdminPage
) -> Response:
    """Replace a list with the uploaded file, as ``POST /api/v1/department/imports/{kind}``:
    only when every line is valid; otherwise the line errors and nothing imported."""
    try:
        form = await reference_service.read_form(request, reference_service.MAX_UPLOAD_BYTES)
    except Problem as p:
        return await _department_page(request, session, actor, p.status, problem=refusal(p))
    check_csrf(request, form.fields.get("csrf"))
    chosen = form.fields.get("kind", "")
    errors: FieldErrors = {}
    try:
        kind = DepartmentList(chosen)
    except ValueError:
        errors["kind"] = [f"unknown list {chosen[:40]!r}"]
    if form.file_name is None:
        errors["file"] = [_("请选择要上传的文件")]
    if errors:
        return await _department_page(
            request, session, actor, 422, errors=errors, chosen_kind=chosen[:40]
        )
    try:
        entry = await reference_service.import_department_list(
            session, actor, kind, form.file_name or "upload", form.data
        )
    except Problem as p:
        return await _department_page(
            request,
            session,
            actor,
            p.status,
            problem=refusal(p),
            import_errors=p.extra.get("errors") or [],
            error_count=p.extra.get("error_count", 0),
            more_errors=p.extra.get("more_errors", 0),
            message_zh=p.extra.get("message_zh"),
            file_name=form.file_name,
            chosen_kind=kind.value,
        )
    return RedirectResponse(f"/admin/department?imported={entry.id}", status_code=303)


# --- policy packs ----------------------------------------------------------------------------


async def _packs_page(
    request: Request, session: SessionDep, actor: Actor, status: int = 200, **ctx: Any
) -> Response:
    ctx.setdefault("plan", None)
    ctx.setdefault("load_errors", [])
    return page(
        request,
        "admin/packs.html",
        actor,
        status=status,
        section="packs",
        packs=await reference_service.pack_listings(session),
        max_kib=policy_load.MAX_PACK_BYTES // 1024,
        **ctx,
    )


@router.get("/admin/packs", response_class=HTMLResponse)
async def packs_page(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    return await _packs_page(request, session, actor)


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


@router.post("/admin/packs/load", response_class=HTMLResponse)
async def load_pack(request: Request, session: SessionDep, actor: AdminPage) -> Response:
    """Preview (the default) or load a pack and its cases (application/services/
    policy_load.py). A preview keeps both texts in the page, so that loading what was
    previewed needs no second upload."""
    try:
        form = await reference_service.read_form(
            request, policy_load.MAX_PACK_BYTES, files=("cases",)
        )
    except Problem as p:
        return await _packs_page(request, session, actor, p.status, problem=refusal(p))
    check_csrf(request, form.fields.get("csrf"))
    if form.file_name is not None:
        name, pack_text = form.file_name, _text(form.data)
        cases_name, cases_data = form.files.get("cases", ("", b""))
        cases_text = _text(cases_data) if cases_name else ""
    else:
        name = form.fields.get("file_name", "")
        pack_text, cases_text = form.fields.get("pack_text"), form.fields.get("cases_text", "")
    errors: dict[str, list[str]] = {}
    if not name or pack_text is None:
        errors["file"] = [_("请选择政策包文件（UTF-8 编码的 .toml）")]
    if not cases_text:
        errors["cases"] = [_("请选择该政策包的测试用例文件（UTF-8 编码的 .toml）")]
    if errors or pack_text is None or cases_text is None:
        return await _packs_page(request, session, actor, 422, errors=errors)
    try:
        plan = await policy_load.plan_load(
            session, name, pack_text, cases_text, scope_path=actor.jurisdiction_path
        )
    except Problem as p:
        return await _packs_page(
            request,
            session,
            actor,
            p.status,
            problem=refusal(p),
            load_errors=[e["message"] for e in p.extra.get("errors") or []],
            file_name=name,
        )
    activated = form.fields.get("action") == "load"
    if activated:
        await policy_load.activate(session, plan, actor_id=actor.id, by=actor.username)
        if plan.moves_assistance:
            # Committed first: the move's activities read the revision in force.
            await release_before_workflow(session)
            await policy_load.start_transition(
                await request.app.state.temporal.get(),
                request.app.state.settings.temporal_task_queue,
                plan.pack,
                plan.effective_on,
            )
    return await _packs_page(
        request,
        session,
        actor,
        plan=plan,
        activated=activated,
        file_name=name,
        pack_text=pack_text,
        cases_text=cases_text,
    )


def _ref(value: str) -> str:
    if not re.fullmatch(PACK_REF_PATTERN, value) or len(value) > 120:
        raise Problem(404, "not-found", "Not found", f"policy pack {value[:60]!r} was not found")
    return value


@router.get("/admin/packs/diff", response_class=HTMLResponse)
async def pack_diff_page(
    request: Request,
    session: SessionDep,
    actor: AdminPage,
    from_ref: Annotated[str, Query(alias="from", max_length=200)] = "",
    to_ref: Annotated[str, Query(alias="to", max_length=200)] = "",
) -> Response:
    """What changes from one version to another, as ``GET /api/v1/policy-packs/diff``."""
    from_ref, to_ref = _ref(from_ref.strip()), _ref(to_ref.strip())
    a, b, changes = await reference_service.diff_packs(session, from_ref, to_ref)
    return page(
        request,
        "admin/pack_diff.html",
        actor,
        section="packs",
        a=a,
        b=b,
        changes=[
            {**c, "before_text": _json_text(c["before"]), "after_text": _json_text(c["after"])}
            for c in changes
        ],
    )


def _json_text(value: Any) -> str:
    """A changed value as readable text (Chinese as it is, not \\u escapes); empty for none."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)


def _materials(content: dict[str, Any]) -> list[SimpleNamespace]:
    """The pack's materials (``evidence``) as objects ``|label`` can name."""
    out = []
    for item in content.get("evidence") or []:
        if isinstance(item, dict):
            out.append(
                SimpleNamespace(
                    code=item.get("code", ""),
                    name=item.get("name", ""),
                    name_en=item.get("name_en", ""),
                    source=item.get("source"),
                    quote=item.get("quote"),
                    data_sharing_replaces_paper=bool(item.get("data_sharing_replaces_paper")),
                    written_commitment_may_replace=bool(item.get("written_commitment_may_replace")),
                    required_when=item.get("required_when"),
                )
            )
    return out


@router.get("/admin/packs/{pack_id}", response_class=HTMLResponse)
async def pack_page(
    request: Request, pack_id: str, session: SessionDep, actor: AdminPage
) -> Response:
    if not re.fullmatch(PACK_ID_PATTERN, pack_id):
        raise not_found("policy pack", pack_id[:60])
    outline, content = await reference_service.pack_outline(session, pack_id)
    current_ref, versions = await reference_service.pack_versions(session, pack_id)
    materials = _materials(content)
    return page(
        request,
        "admin/pack.html",
        actor,
        section="packs",
        pack=outline,
        materials=materials,
        material_by_code={m.code: m for m in materials},
        versions=versions,
        current_ref=current_ref,
        refs=[current_ref or pack_id, *(r.ref for r, _current in versions if r.ref != current_ref)],
    )


# --- outbound e-mail -------------------------------------------------------------------------


async def _outbound_page(
    request: Request, session: SessionDep, actor: Actor, status: int = 200, **ctx: Any
) -> Response:
    settings = await outbound_service.setting(session, actor)
    ctx.setdefault("values", None)
    ctx.setdefault("test_errors", {})
    ctx.setdefault("test_problem", None)
    ctx.setdefault("sent", None)
    ctx.setdefault("saved", False)
    values = ctx.pop("values") or SimpleNamespace(
        enabled=settings.enabled,
        host=settings.host,
        port=str(settings.port),
        sender=settings.sender,
        tls=settings.tls,
        username=settings.username or "",
    )
    return page(
        request,
        "admin/outbound.html",
        actor,
        status=status,
        section="outbound",
        settings=settings,
        values=values,
        TLS_MODES=TLS_MODES,
        **ctx,
    )


@router.get("/admin/outbound", response_class=HTMLResponse)
async def outbound_page(
    request: Request, session: SessionDep, actor: AdminPage, done: str = ""
) -> Response:
    return await _outbound_page(request, session, actor, saved=done == "saved")


@router.post("/admin/outbound", response_class=HTMLResponse)
async def save_outbound(
    request: Request,
    session: SessionDep,
    actor: AdminPage,
    csrf: Annotated[str, Form(max_length=200)] = "",
    enabled: Annotated[str, Form(max_length=10)] = "",
    host: Annotated[str, Form(max_length=400)] = "",
    port: Annotated[str, Form(max_length=20)] = "",
    sender: Annotated[str, Form(max_length=400)] = "",
    tls: Annotated[str, Form(max_length=20)] = "",
    username: Annotated[str, Form(max_length=400)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    clear_password: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The whole setting, as ``PUT /api/v1/admin/outbound``. The password field is empty on
    the page (it is never shown back): left empty it keeps the stored one; "remove the
    password" removes it."""
    check_csrf(request, csrf)
    values = SimpleNamespace(
        enabled=enabled == "1", host=host, port=port, sender=sender, tls=tls, username=username
    )
    errors: FieldErrors = {}
    port_number = int(port) if port.strip().isdigit() else None
    if port_number is None:
        errors["port"] = [f"{port[:20]!r} is not a port number"]
    try:
        body = OutboundSettingsIn(
            enabled=enabled == "1",
            host=host,
            port=port_number or 25,
            sender=sender,
            tls=tls or "none",
            username=username.strip() or None,
            password="" if clear_password == "1" else (password or None),
        )
    except ValidationError as exc:
        errors = {**model_fields(exc), **errors}
    if errors:
        return await _outbound_page(request, session, actor, 422, values=values, errors=errors)
    try:
        await outbound_service.change(session, actor, body)
    except Problem as p:
        errors = problem_fields(p)
        return await _outbound_page(
            request,
            session,
            actor,
            p.status,
            values=values,
            errors=errors,
            problem=None if errors else refusal(p),
        )
    return RedirectResponse("/admin/outbound?done=saved", status_code=303)


@router.post("/admin/outbound/test", response_class=HTMLResponse)
async def test_outbound(
    request: Request,
    session: SessionDep,
    actor: AdminPage,
    csrf: Annotated[str, Form(max_length=200)] = "",
    to: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """One test message through the stored relay, as ``POST /api/v1/admin/outbound/test``."""
    check_csrf(request, csrf)
    try:
        body = OutboundTestIn(to=to)
        sent = await outbound_service.send_test(session, actor, body)
    except ValidationError as exc:
        return await _outbound_page(request, session, actor, 422, test_errors=model_fields(exc))
    except Problem as p:
        errors = problem_fields(p)
        return await _outbound_page(
            request,
            session,
            actor,
            p.status,
            test_errors=errors,
            test_problem=None if errors else refusal(p),
            test_to=to,
        )
    return await _outbound_page(request, session, actor, sent=sent)


# --- my account (every role) -----------------------------------------------------------------


async def _account_page(
    request: Request, session: SessionDep, actor: Actor, status: int = 200, **ctx: Any
) -> Response:
    return page(
        request,
        "admin/account.html",
        actor,
        status=status,
        section="account",
        profile=await admin_service.profile(session, actor),
        min_length=PASSWORD_MIN_LENGTH,
        **ctx,
    )


@router.get("/account", response_class=HTMLResponse)
async def account_page(
    request: Request, session: SessionDep, actor: PageActor, done: str = ""
) -> Response:
    return await _account_page(request, session, actor, changed=done == "password")


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    csrf: Annotated[str, Form(max_length=200)] = "",
    current_password: Annotated[str, Form(max_length=400)] = "",
    new_password: Annotated[str, Form(max_length=400)] = "",
    new_password2: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """The caller's own password, as ``POST /api/v1/me/password`` (the current one asked for);
    the page also asks for the new one twice."""
    check_csrf(request, csrf)
    if new_password != new_password2:
        errors: FieldErrors = {"new_password2": ["the two new passwords differ"]}
        return await _account_page(request, session, actor, 422, errors=errors)
    try:
        user = await admin_service.change_own_password(
            session, actor, current_password, new_password
        )
    except Problem as p:
        errors = problem_fields(p)
        return await _account_page(
            request,
            session,
            actor,
            p.status,
            errors=errors,
            problem=None if errors else refusal(p),
        )
    # The change ended every session of the user; this browser stays in with a new one.
    response = RedirectResponse("/account?done=password", status_code=303)
    set_session_cookie(response, request, user)
    return response
