"""Shandong's other target groups (山东 二(二)–(四)) in the pages:

- ``/emergencies``: the emergencies the user sees (those covering their place and those inside
  their area; the running ones first) with their kind, place, period and how many persons were
  enrolled under them and are still in assistance; supervisors and administrators declare one
  with the form below the list.
- ``/emergencies/{id}``: one emergency, the upload of its list of affected persons (grassroots
  officers, county reviewers, administrators; all or nothing, the line errors shown) and its
  enrolment batches (the ledger imports of kind ``enrolment`` under it) with their progress.
- ``/enrol``: enrol one person — rural surplus labour, a low-income-family graduate in the
  job-seeking period, or a temporary assistance person under a running emergency — with every
  group's conditions on the page (fieldsets, no JavaScript needed: only the chosen group's
  are sent to the service); the service's refusals beside their fields; success lands on the
  case page.

The rules are :mod:`application.services.enrolment`'s, the same as ``/api/v1/emergencies`` and
``/api/v1/enrolments``; the form is read with the API's own body models so a page and the API
refuse the same things.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from application.errors import Problem, not_found
from application.http import Actor, SessionDep, SettingsDep
from application.schemas import enrolment as enrolment_api
from application.services import enrolment as service, ledger as ledger_service
from application.services.reference import MAX_UPLOAD_BYTES, read_form, today as reference_today
from domain.target_groups import (
    ENROLLED_GROUPS,
    LOW_INCOME_GRADUATE,
    RURAL_SURPLUS_LABOUR,
    TEMPORARY_ASSISTANCE,
)
from store import enrolment_repo, repos
from store.models_enrolment import Emergency
from store.models_ledger import LedgerImport
from web.admin import place_options
from web.common import PageActor, alert_for, check_csrf, render
from web.i18n import current_locale, gettext as _

router = APIRouter(include_in_schema=False)

EMERGENCIES_SHOWN = 100
BATCHES_LOOKED_AT = 500  # the newest enrolment batches of the user's area searched for one
EMERGENCY_ID = re.compile(r"[1-9]\d{0,17}")
DECLARE_FIELDS = ("kind", "name", "jurisdiction", "starts_on", "ends_on", "description")
ENROL_FIELDS = (
    "target_group",
    "name",
    "id_number",
    "jurisdiction",
    "phone",
    "note",
    "emergency_id",
    "willing",
    "able",
    "transferred",
    "low_income_family",
    "left_school_on",
)
# Each group's conditions (the form's fields sent for it; the others are left out).
GROUP_FIELDS = {
    RURAL_SURPLUS_LABOUR: ("willing", "able", "transferred"),
    LOW_INCOME_GRADUATE: ("low_income_family", "left_school_on"),
    TEMPORARY_ASSISTANCE: ("emergency_id",),
}
BOOL_FIELDS = ("willing", "able", "transferred", "low_income_family")
# What a field's message says when the API's model refuses what was typed.
DECLARE_ERRORS_ZH = {
    "kind": "请选择突发事件类型",
    "name": "请填写名称（不超过200个字）",
    "jurisdiction": "请选择管辖范围内的行政区划",
    "starts_on": "请按“年-月-日”填写开始日期",
    "ends_on": "请按“年-月-日”填写结束日期",
    "description": "说明不能超过2000个字",
}
ENROL_ERRORS_ZH = {
    "target_group": "请选择援助对象类别",
    "name": "请填写姓名（不超过100个字）",
    "id_number": "请填写18位身份证号码",
    "jurisdiction": "请选择所属镇街或社区",
    "phone": "联系电话格式不正确",
    "note": "备注不能超过500个字",
    "emergency_id": "请选择突发事件",
    "willing": "请选择是否有就业意愿",
    "able": "请选择是否有就业能力",
    "transferred": "请选择是否已转移就业",
    "low_income_family": "请选择是否为低收入家庭",
    "left_school_on": "请按“年-月-日”填写离校日期",
}
# The service names the emergency condition ``emergency``; the form's field is the select.
FIELD_ALIASES = {"emergency": "emergency_id"}


@dataclass
class FormState:
    """A form as typed (echoed back) and the messages beside its fields."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _model_errors(exc: ValidationError, messages: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc") or ("",)
        name = str(loc[0])
        errors.setdefault(name, _(messages.get(name, "填写的内容有误")))
    return errors


def service_field_errors(problem: Problem, known: tuple[str, ...]) -> dict[str, str]:
    """The fields a service's refusal names (``errors`` with ``body.<field>``), each with its
    Chinese message (the API's English one in English)."""
    out: dict[str, str] = {}
    for e in problem.extra.get("errors") or []:
        name = str(e.get("field", "")).removeprefix("body.")
        name = FIELD_ALIASES.get(name, name)
        if name in known:
            zh = e.get("message_zh") or e.get("message") or ""
            text = e.get("message") if current_locale() == "en" else zh
            out.setdefault(name, str(text or zh))
    return out


def is_active(e: Emergency, today: date) -> bool:
    return e.starts_on <= today <= e.ends_on


async def _place_names(session: SessionDep, codes: set[str]) -> dict[str, str]:
    """The names of the places an emergency or a batch names (an emergency may be declared
    for a place above the user's)."""
    names: dict[str, str] = {}
    for code in sorted(codes):
        place = await repos.get_jurisdiction(session, code)
        if place is not None:
            names[code] = place.name
    return names


# --- emergencies -----------------------------------------------------------------------------


async def emergencies_page(
    request: Request, session: SessionDep, actor: Actor, status: int = 200, **ctx: Any
) -> Response:
    today = reference_today()
    rows = await service.list_emergencies(
        session, actor, active_only=False, limit=EMERGENCIES_SHOWN
    )
    rows.sort(key=lambda e: not is_active(e, today))  # stable: newest first within each
    counts = {e.id: (await service.get_emergency(session, actor, e.id))[1] for e in rows}
    may_declare = actor.role in service.DECLARE_ROLES
    places = await place_options(session, actor) if may_declare else []
    ctx.setdefault("form", FormState({"jurisdiction": actor.jurisdiction_code}))
    ctx.setdefault("problem", None)
    return render(
        request,
        "enrolment/emergencies.html",
        status=status,
        actor=actor,
        emergencies=rows,
        counts=counts,
        today=today,
        is_active=is_active,
        may_declare=may_declare,
        may_enrol=actor.role in service.ENROL_ROLES,
        places=places,
        place_names=await _place_names(session, {e.jurisdiction_code for e in rows}),
        **ctx,
    )


@router.get("/emergencies", response_class=HTMLResponse)
async def emergencies_home(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """The emergencies the user sees, and the declaration form for those who may declare."""
    return await emergencies_page(request, session, actor)


@router.post("/emergencies", response_class=HTMLResponse)
async def declare(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    csrf: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    jurisdiction: Annotated[str, Form(max_length=40)] = "",
    starts_on: Annotated[str, Form(max_length=40)] = "",
    ends_on: Annotated[str, Form(max_length=40)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Declare an emergency as ``POST /api/v1/emergencies``; then its page."""
    check_csrf(request, csrf)
    if actor.role not in service.DECLARE_ROLES:  # the 403 page, as the API
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "emergencies are declared by supervisors and administrators",
        )
    typed = {
        "kind": kind.strip(),
        "name": name.strip(),
        "jurisdiction": jurisdiction.strip(),
        "starts_on": starts_on.strip(),
        "ends_on": ends_on.strip(),
        "description": description,
    }
    form = FormState(typed)
    body = {k: v for k, v in typed.items() if v}
    try:
        checked = enrolment_api.EmergencyIn(**body)
    except ValidationError as exc:
        form.errors = _model_errors(exc, DECLARE_ERRORS_ZH)
        return await emergencies_page(request, session, actor, 422, form=form)
    try:
        emergency = await service.declare_emergency(session, actor, checked)
    except Problem as p:
        await session.rollback()
        form.errors = service_field_errors(p, DECLARE_FIELDS)
        if p.type == "target-group-not-in-pack":
            form.errors.setdefault("jurisdiction", _("该地区的政策没有临时援助对象"))
        return await emergencies_page(
            request,
            session,
            actor,
            p.status,
            form=form,
            problem=None if form.errors and p.type == "validation-error" else p,
            alert=alert_for(p),
        )
    return RedirectResponse(f"/emergencies/{emergency.id}?declared=1", status_code=303)


async def enrolment_batches(
    session: SessionDep, actor: Actor, emergency_id: int
) -> list[LedgerImport]:
    """The enrolment batches under the emergency into places of the user's area."""
    imports = await ledger_service.list_imports(session, actor, BATCHES_LOOKED_AT)
    return [i for i in imports if i.kind == "enrolment" and i.emergency_id == emergency_id]


async def emergency_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    emergency_id: str,
    status: int = 200,
    **ctx: Any,
) -> Response:
    if not EMERGENCY_ID.fullmatch(emergency_id) or int(emergency_id) > 2**62:
        raise not_found("emergency", emergency_id[:40])  # as the API: names no emergency
    e, counts = await service.get_emergency(session, actor, int(emergency_id))
    batches = await enrolment_batches(session, actor, e.id)
    today = reference_today()
    may_upload = actor.role in service.ENROL_ROLES
    upload_places: list[Any] = []
    if may_upload:
        scope = enrolment_repo.narrower(actor.jurisdiction_path, e.jurisdiction_path)
        if scope is not None:
            found = await enrolment_repo.enrolment_places(session, scope, TEMPORARY_ASSISTANCE)
            upload_places = sorted(found.values(), key=lambda p: p.code)
    uploaded_id = ctx.pop("uploaded_id", 0)
    ctx["uploaded"] = next((b for b in batches if uploaded_id and b.id == uploaded_id), None)
    ctx.setdefault("upload_problem", None)
    ctx.setdefault("upload_errors", [])
    ctx.setdefault("upload_field_errors", {})
    ctx.setdefault("upload_place", "")
    return render(
        request,
        "enrolment/emergency.html",
        status=status,
        actor=actor,
        e=e,
        counts=counts,
        active=is_active(e, today),
        batches=batches,
        place_names=await _place_names(
            session, {e.jurisdiction_code, *(b.jurisdiction_code for b in batches)}
        ),
        may_upload=may_upload,
        upload_places=upload_places,
        declared=request.query_params.get("declared") == "1",
        max_mib=MAX_UPLOAD_BYTES // (1024 * 1024),
        **ctx,
    )


@router.get("/emergencies/{emergency_id}", response_class=HTMLResponse)
async def emergency_home(
    request: Request, emergency_id: str, session: SessionDep, actor: PageActor, uploaded: int = 0
) -> Response:
    """One emergency with its list upload and its enrolment batches; ``uploaded`` names the
    batch just made (after the redirect)."""
    return await emergency_page(request, session, actor, emergency_id, uploaded_id=uploaded)


@router.post("/emergencies/{emergency_id}/enrolments", response_class=HTMLResponse)
async def upload_list(
    request: Request,
    emergency_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
) -> Response:
    """Enrol the emergency's list as ``POST /api/v1/emergencies/{id}/enrolments``: every line
    valid or nobody enrolled, the line errors shown; then back to the emergency naming the
    batch."""
    service.check_may_enrol(actor)  # the 403 page before the body is read, as the API
    if not EMERGENCY_ID.fullmatch(emergency_id) or int(emergency_id) > 2**62:
        raise not_found("emergency", emergency_id[:40])
    await service.get_emergency(session, actor, int(emergency_id))  # 404 before the body too
    try:
        upload = await read_form(request, MAX_UPLOAD_BYTES)
    except Problem as p:
        return await emergency_page(
            request,
            session,
            actor,
            emergency_id,
            p.status,
            upload_problem=p,
            upload_alert=alert_for(p),
        )
    check_csrf(request, upload.fields.get("csrf"))
    place = (upload.fields.get("jurisdiction") or "").strip()[:40]
    if upload.file_name is None:
        return await emergency_page(
            request,
            session,
            actor,
            emergency_id,
            422,
            upload_field_errors={"file": _("请选择要上传的文件")},
            upload_place=place,
        )
    temporal = await request.app.state.temporal.get()
    try:
        entry = await service.enrol_bulk(
            session,
            temporal,
            settings.temporal_task_queue,
            actor,
            int(emergency_id),
            jurisdiction=place or None,
            file_name=upload.file_name,
            data=upload.data,
        )
    except Problem as p:
        await session.rollback()
        return await emergency_page(
            request,
            session,
            actor,
            emergency_id,
            p.status,
            upload_problem=p,
            upload_alert=alert_for(p),
            upload_errors=p.extra.get("errors") or [],
            error_count=p.extra.get("error_count", 0),
            more_errors=p.extra.get("more_errors", 0),
            file_name=upload.file_name,
            upload_place=place,
        )
    return RedirectResponse(
        f"/emergencies/{emergency_id}?uploaded={entry.id}#batches-heading", status_code=303
    )


# --- enrolling one person --------------------------------------------------------------------


async def enrol_page(
    request: Request, session: SessionDep, actor: Actor, status: int = 200, **ctx: Any
) -> Response:
    found: dict[str, Any] = {}
    for group in ENROLLED_GROUPS:
        found.update(await enrolment_repo.enrolment_places(session, actor.jurisdiction_path, group))
    places = sorted(found.values(), key=lambda p: p.code)
    emergencies = await service.list_emergencies(
        session, actor, active_only=True, limit=EMERGENCIES_SHOWN
    )
    ctx.setdefault("form", FormState())
    ctx.setdefault("problem", None)
    return render(
        request,
        "enrolment/enrol.html",
        status=status,
        actor=actor,
        places=places,
        emergencies=emergencies,
        GROUPS=ENROLLED_GROUPS,
        **ctx,
    )


def _enrol_guard(actor: Actor) -> None:
    service.check_may_enrol(actor)


@router.get("/enrol", response_class=HTMLResponse)
async def enrol_home(
    request: Request, session: SessionDep, actor: PageActor, group: str = ""
) -> Response:
    """The enrolment form; ``group`` preselects a group (the emergency page links here with
    ``emergency`` too)."""
    _enrol_guard(actor)
    values: dict[str, str] = {}
    if group in ENROLLED_GROUPS:
        values["target_group"] = group
    emergency = request.query_params.get("emergency", "")
    if EMERGENCY_ID.fullmatch(emergency):
        values["emergency_id"] = emergency
        values.setdefault("target_group", TEMPORARY_ASSISTANCE)
    return await enrol_page(request, session, actor, form=FormState(values))


def read_enrol_form(typed: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the API's body for the chosen group, the page's own refusals): a group's yes/no
    conditions must be answered (an unanswered one is not a "no")."""
    group = typed.get("target_group", "")
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("target_group", "name", "id_number", "jurisdiction", "phone", "note"):
        if typed.get(name):
            body[name] = typed[name]
    for name in GROUP_FIELDS.get(group, ()):
        value = typed.get(name, "")
        if name in BOOL_FIELDS:
            if value not in ("1", "0"):
                errors[name] = _(ENROL_ERRORS_ZH[name])
            else:
                body[name] = value == "1"
        elif value:
            body[name] = value
        elif name in ("left_school_on", "emergency_id"):
            errors[name] = _(ENROL_ERRORS_ZH[name])
    return body, errors


@router.post("/enrol", response_class=HTMLResponse)
async def enrol(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor
) -> Response:
    """Enrol one person as ``POST /api/v1/enrolments``; then the case page."""
    _enrol_guard(actor)
    raw = await request.form()
    check_csrf(request, str(raw.get("csrf", "")))
    typed = {name: str(raw.get(name, ""))[:600] for name in ENROL_FIELDS}
    for name in typed:
        if name != "note":
            typed[name] = typed[name].strip()
    form = FormState(typed)
    body, form.errors = read_enrol_form(typed)
    checked: enrolment_api.EnrolmentIn | None = None
    try:
        checked = enrolment_api.EnrolmentIn(**body)
    except ValidationError as exc:
        for name, message in _model_errors(exc, ENROL_ERRORS_ZH).items():
            form.errors.setdefault(name, message)
    if form.errors or checked is None:
        return await enrol_page(request, session, actor, 422, form=form)
    temporal = await request.app.state.temporal.get()
    try:
        done = await service.enrol(
            session,
            temporal,
            settings.temporal_task_queue,
            actor,
            checked,
        )
    except Problem as p:
        await session.rollback()
        form.errors = service_field_errors(p, ENROL_FIELDS)
        shown_beside = bool(form.errors) and p.type in (
            "validation-error",
            "enrolment-conditions-not-met",
        )
        return await enrol_page(
            request,
            session,
            actor,
            p.status,
            form=form,
            problem=p,
            alert=alert_for(p),
            beside_only=shown_beside,
            existing_case=p.extra.get("case_id"),
        )
    return RedirectResponse(f"/cases/{done.case_id}", status_code=303)
