"""The case pages: the search (``/cases``: by full ID number — audited like the API's — or by
the start of a name, filtered by status, category and place, newest first, keyset pages, ID
numbers masked) and the case page (``/cases/{id}``: status and stage, the timeline, the
deadlines with their SLA states, documents and notices, the pinned policy pack, the full ID
number — a view the service writes to the audit log —, the workflow in the Temporal UI, and
the actions the API offers: an objection during publicity, withdrawal) with, for an identified
person, their assistance (就业援助: plan, the standards' progress with their deadline, services,
contacts and the contact clock, refusals in the window, subsidies against the cumulative cap,
exit and recovery) and the forms that record a contact, a service, a refusal, a subsidy or an
exit event — the same services as ``POST /api/v1/cases/{id}/assistance/...``, each with its
Idempotency-Key, refusals answered beside the fields.

Handlers call the API's services (:mod:`application.services.cases` through
:mod:`web.case_view`, :mod:`application.services.assistance`), never SQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from application.errors import Problem
from application.http import Actor, SessionDep, SettingsDep, get_temporal
from application.schemas import assistance as assistance_api
from application.schemas.cases import CaseSearchIn, ObjectionIn, ReexaminationIn, WithdrawIn
from application.services import assistance as assistance_service, cases as case_service
from domain.assistance import fen_to_yuan
from domain.vocabulary import REEXAMINATION_WINDOW
from web import case_view as web_cases
from web.common import PageActor, alert_for, check_csrf, render
from web.i18n import current_locale, gettext as _
from web.problems import problem_message
from web.tasks import ASSISTANCE_FIELD_NAMES, instant
from workflows import contracts

router = APIRouter(include_in_schema=False)

# Not withdrawable: concluded, or never identified by a workflow (an enrolled person, 山东 二).
CLOSED = frozenset({"identified", "refused", "not_accepted", "withdrawn", "exited", "enrolled"})
# Statuses the case search filters by (the API's CaseStatus).
SEARCH_STATUSES = frozenset(s.value for s in contracts.CaseStatus)
PAGE_SIZE = 25
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_KEY = re.compile(r"^[A-Za-z0-9-]{8,100}$")
_TASK_ID = re.compile(r"^[A-Za-z0-9._-]{1,160}$")


# --- search -------------------------------------------------------------------------------

SEARCH_FIELDS = ("id_number", "name", "status", "category", "place", "cursor")
SEARCH_ERRORS_ZH = {
    "id_number": "请输入完整的18位（或15位）身份证号码",
    "name": "请输入姓名的开头（至少一个汉字或两个字母）",
    "status": "无效的状态",
    "category": "无效的认定类别",
    "place": "无效的地区",
    "cursor": "分页参数无效，请回到第一页",
}


def _search_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc") or ("",)
        name = str(loc[0]) if loc else ""
        errors.setdefault(name, _(SEARCH_ERRORS_ZH.get(name, "填写的内容有误")))
    return errors


@router.get("/cases", response_class=HTMLResponse)
async def search_page(request: Request, session: SessionDep, actor: PageActor) -> Response:
    query = {k: request.query_params.get(k, "").strip() for k in SEARCH_FIELDS}
    given = {k: v for k, v in query.items() if v}
    options = await web_cases.search_options(session, actor)
    errors: dict[str, str] = {}
    alert: dict[str, str] | None = None
    result: web_cases.SearchResult | None = None
    status = 200
    try:
        params = CaseSearchIn(**{k: v for k, v in given.items() if k != "place"}, limit=PAGE_SIZE)
        result = await web_cases.search(
            session,
            actor,
            case_service.CaseSearch(
                id_number=params.id_number,
                name=params.name,
                status=params.status.value if params.status else None,
                category=params.category,
                cursor=params.cursor,
                limit=params.limit,
            ),
            given.get("place"),
            datetime.now(UTC),
        )
    except ValidationError as exc:
        errors, status = _search_errors(exc), 422
    except Problem as problem:
        status = problem.status
        if problem.type == "invalid-id-number":
            # The reason (its check digit, its date of birth ...) in the reader's language.
            reason = problem.extra.get("detail_zh") if current_locale() != "en" else None
            errors["id_number"] = str(reason or problem.detail)
        elif problem.type == "not-found":
            errors["place"] = _(SEARCH_ERRORS_ZH["place"])
        else:
            alert = {"message": problem_message(problem), "detail": problem.detail}
    next_url = None
    if result is not None and result.next_cursor:
        next_url = "/cases?" + urlencode({**given, "cursor": result.next_cursor})
    first_url = "/cases?" + urlencode({k: v for k, v in given.items() if k != "cursor"})
    return render(
        request,
        "cases/search.html",
        status=status,
        actor=actor,
        query=query,
        searched=bool(given),
        options=options,
        errors=errors,
        alert=alert,
        result=result,
        next_url=next_url,
        first_url=first_url if given.get("cursor") else None,
        mask=case_service.masked_id_number,
        SEARCH_STATUSES=SEARCH_STATUSES,
    )


# --- the case page ------------------------------------------------------------------------


async def _case_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Actor,
    case_id: str,
    *,
    status: int = 200,
    action: str | None = None,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    alert: dict[str, str] | None = None,
    key: str | None = None,
) -> Response:
    detail = await web_cases.case_detail(session, actor, settings, case_id, datetime.now(UTC))
    assistance: assistance_service.AssistanceView | None = None
    if detail.case.status in ("identified", "exited", "enrolled"):
        try:
            assistance = await assistance_service.view(session, actor, case_id)
        except Problem as problem:
            if problem.type != "not-in-assistance":
                raise
    return render(
        request,
        "cases/case.html",
        status=status,
        actor=actor,
        d=detail,
        case=detail.case,
        action=action,
        typed=typed or {},
        errors=errors or {},
        alert=alert,
        # One key per form: an update id names one update of the workflow.
        objection_key=key if action == "objection" and key else str(uuid.uuid4()),
        withdraw_key=key if action == "withdraw" and key else str(uuid.uuid4()),
        reexamination_key=key if action == "reexamination" and key else str(uuid.uuid4()),
        reexamination_task=_task_param(request, "reexamination"),
        # Offered while the refusal's window is open: only a pack that provides
        # re-examination keeps a refused case open (its period). Once a request is recorded
        # the office's task runs (the workflow takes one); a late one it answers itself.
        can_reexamine=detail.case.status == "refused"
        and detail.case.closed_at is None
        and detail.case.stage == REEXAMINATION_WINDOW,
        objection_task=_task_param(request, "objection"),
        withdrawn=request.query_params.get("withdrawn") == "1",
        can_object=detail.case.status == "in_publicity",
        can_withdraw=detail.case.status not in CLOSED,
        field_names=ASSISTANCE_FIELD_NAMES,
        **_assistance_context(request, detail, assistance, action, key),
    )


def _assistance_context(
    request: Request,
    detail: web_cases.CaseDetail,
    view: assistance_service.AssistanceView | None,
    action: str | None,
    key: str | None,
) -> dict[str, Any]:
    """What the assistance section shows: the view, the pack's names for standards and exit
    reasons, the code tables, one key per form (kept for the form being corrected) and what
    the last recording said (``?assisted=``)."""
    pack = detail.pack
    task = request.query_params.get("task")
    entries = view.entries if view else []
    return {
        "assistance": view,
        "standard_names": {s.code: s for s in pack.assistance_standards} if pack else {},
        "assist_keys": {
            what: key if action == f"assistance:{what}" and key else str(uuid.uuid4())
            for what in ASSISTANCE_FORMS
        },
        "assist_form": action.removeprefix("assistance:") if action else "",
        "exit_reason_names": {r.code: r for r in view.exit_reasons} if view else {},
        "ASSISTED_ZH": ASSISTED_ZH,
        "assisted": request.query_params.get("assisted") or "",
        "assisted_handling": request.query_params.get("handling") or "",
        "assisted_task": task if task and _TASK_ID.match(task) else None,
        "contacts": [e for e in entries if e.kind == "contact"],
        "services": [e for e in entries if e.kind == "service"],
        "refusals": [e for e in entries if e.kind == "refusal"],
        "subsidy_total_fen": sum(g.months * g.monthly_fen for g in view.subsidies) if view else 0,
        "CONTACT_CHANNELS": contracts.CONTACT_CHANNELS,
        "SERVICE_KINDS": contracts.SERVICE_KINDS,
        "instant": instant,
        "yuan": fen_to_yuan,
    }


def _task_param(request: Request, name: str) -> str | None:
    """A task id the page was redirected with (``?objection=…``), if it is one."""
    value = request.query_params.get(name)
    return value if value and _TASK_ID.match(value) else None


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, case_id: str, session: SessionDep, settings: SettingsDep, actor: PageActor
) -> Response:
    return await _case_page(request, session, settings, actor, case_id)


def _text(form: Any, name: str, limit: int, errors: dict[str, str]) -> str:
    value = str(form.get(name, ""))
    if not value.strip():
        errors[name] = _("此项为必填项")
    elif len(value) > limit:
        errors[name] = _("不能超过 %(n)s 个字") % {"n": limit}
    elif _CONTROL.search(value):
        errors[name] = _("不能包含控制字符")
    return value


async def _case_action(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Actor,
    case_id: str,
    action: str,
    limits: dict[str, int],
    send: Callable[[Client, dict[str, str], str], Awaitable[str | None]],
) -> Response | str | None:
    """One of the case page's actions (the API's): the form's texts checked in the page's
    words, then ``send`` with the form's key (a resubmission is the one update); a refusal
    shown on the page with what was typed. Returns ``send``'s result, or the page to show."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    await case_service.case_for(session, actor, case_id)  # 404 first
    errors: dict[str, str] = {}
    typed = {name: _text(form, name, limit, errors) for name, limit in limits.items()}
    typed_key = str(form.get("key", ""))
    key = typed_key if _KEY.match(typed_key) else str(uuid.uuid4())
    page: dict[str, Any] = {"action": action, "typed": typed, "key": key}
    if errors:
        return await _case_page(
            request, session, settings, actor, case_id, status=422, errors=errors, **page
        )
    try:
        return await send(await get_temporal(request), typed, key)
    except Problem as problem:
        if problem.status == 404:
            raise
        return await _case_page(
            request,
            session,
            settings,
            actor,
            case_id,
            status=problem.status,
            alert=alert_for(problem),
            **page,
        )


@router.post("/cases/{case_id}/objections", response_class=HTMLResponse)
async def raise_objection(
    request: Request, case_id: str, session: SessionDep, settings: SettingsDep, actor: PageActor
) -> Response:
    """Record an objection received during publicity (the API's ``POST …/objections``): the
    workflow opens an objection task; outside publicity it refuses (409)."""

    async def send(temporal: Client, typed: dict[str, str], key: str) -> str:
        # _text checked what the schema does, in the page's words.
        return await case_service.raise_objection(
            session, temporal, actor, case_id, ObjectionIn(**typed), key=key
        )

    done = await _case_action(
        request,
        session,
        settings,
        actor,
        case_id,
        "objection",
        {"content": 2000, "raised_by": 100},
        send,
    )
    if isinstance(done, Response):
        return done
    return RedirectResponse(
        f"/cases/{case_id}?{urlencode({'objection': done})}#actions", status_code=303
    )


@router.post("/cases/{case_id}/reexamination", response_class=HTMLResponse)
async def request_reexamination(
    request: Request, case_id: str, session: SessionDep, settings: SettingsDep, actor: PageActor
) -> Response:
    """Record the applicant's request for re-examination (复核申请) after a refusal (the API's
    ``POST …/reexamination``): the workflow opens the re-examining office's task; outside the
    pack's period, or under a pack without one, it refuses (409 not-reexaminable)."""

    async def send(temporal: Client, typed: dict[str, str], key: str) -> str:
        return await case_service.request_reexamination(
            session, temporal, actor, case_id, ReexaminationIn(**typed), key=key
        )

    done = await _case_action(
        request, session, settings, actor, case_id, "reexamination", {"content": 2000}, send
    )
    if isinstance(done, Response):
        return done
    return RedirectResponse(
        f"/cases/{case_id}?{urlencode({'reexamination': done})}#actions", status_code=303
    )


@router.post("/cases/{case_id}/withdraw", response_class=HTMLResponse)
async def withdraw(
    request: Request, case_id: str, session: SessionDep, settings: SettingsDep, actor: PageActor
) -> Response:
    """The applicant withdraws (the API's ``POST …/withdraw``): the workflow cancels the open
    tasks and closes the case as withdrawn."""

    async def send(temporal: Client, typed: dict[str, str], key: str) -> None:
        await case_service.withdraw(session, temporal, actor, case_id, WithdrawIn(**typed), key=key)

    done = await _case_action(
        request, session, settings, actor, case_id, "withdraw", {"reason": 1000}, send
    )
    if isinstance(done, Response):
        return done
    return RedirectResponse(f"/cases/{case_id}?withdrawn=1#actions", status_code=303)


# --- assistance (就业援助): what officers record from the case page ----------------------------

# The forms of the assistance section: the API's body model for each, and its fields.
ASSISTANCE_FORMS: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    "contacts": (assistance_api.ContactIn, ("channel", "own", "note")),
    "services": (assistance_api.ServiceIn, ("kind", "note")),
    "refusals": (assistance_api.RefusalIn, ("service_kind", "note")),
    "subsidies": (
        assistance_api.SubsidyIn,
        ("kind", "start_month", "months", "monthly_amount"),
    ),
    "events": (assistance_api.ExitEventIn, ("reason", "detail", "should_have_ended_on")),
}
# What a field's message says when the API's model refuses it.
ASSISTANCE_ERRORS_ZH = {
    "channel": "请选择联系方式",
    "own": "请选择是本人主动联系还是工作人员联系",
    "kind": "请选择类型",
    "service_kind": "请选择被拒绝的服务",
    "note": "不能超过 1000 个字，且不能包含控制字符",
    "detail": "不能超过 1000 个字，且不能包含控制字符",
    "start_month": "请填写起始月份（年-月，如 2026-01）",
    "months": "请填写 1 至 120 之间的整数月数",
    "monthly_amount": "请填写每月金额（元，最多两位小数）",
    "reason": "请选择退出原因",
    "should_have_ended_on": "请填写有效的日期（年-月-日）",
}
# What the page says once a recording is accepted (``?assisted=<form>``).
ASSISTED_ZH = {
    "contacts": "联系记录已登记",
    "services": "服务记录已登记",
    "refusals": "拒绝服务记录已登记",
    "subsidies": "补贴发放已登记",
    "exiting": "退出已登记，系统正在办理退出并告知本人",
    "exit_review": "已报县级公共就业服务机构核实退出",
    "duplicate": "该退出事项此前已登记",
}


def _assistance_body(what: str, form: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """(what was typed, the API's body): empty fields are left out, so the model names a
    required one as missing; ``own`` is the radio's 1 or 0."""
    _model, names = ASSISTANCE_FORMS[what]
    typed = {name: str(form.get(name, "")) for name in names}
    body: dict[str, Any] = {}
    for name, value in typed.items():
        if not value.strip():
            continue
        if name == "own":
            body[name] = {"1": True, "0": False}.get(value, value)
        else:
            body[name] = value.strip() if name not in ("note", "detail") else value
    return typed, body


async def _send(
    session: SessionDep,
    temporal: Any,
    actor: Actor,
    case_id: str,
    what: str,
    body: BaseModel,
    key: str,
) -> contracts.RecordResult:
    """The same service calls as ``inbox_api/routes/assistance.py`` makes, with the body the
    form's model checked."""
    if isinstance(body, assistance_api.ContactIn):
        return await assistance_service.record_contact(
            session, temporal, actor, case_id, body, key=key
        )
    if isinstance(body, assistance_api.ServiceIn):
        return await assistance_service.record_service(
            session, temporal, actor, case_id, body, key=key
        )
    if isinstance(body, assistance_api.RefusalIn):
        return await assistance_service.record_refusal(
            session, temporal, actor, case_id, body, key=key
        )
    if isinstance(body, assistance_api.SubsidyIn):
        return await assistance_service.grant_subsidy(
            session, temporal, actor, case_id, body, key=key
        )
    assert isinstance(body, assistance_api.ExitEventIn), what
    return await assistance_service.report_exit(session, temporal, actor, case_id, body, key=key)


@router.post("/cases/{case_id}/assistance/{what}", response_class=HTMLResponse)
async def record_assistance(
    request: Request,
    case_id: str,
    what: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
) -> Response:
    """Record a contact, a service, a refusal, a subsidy or an exit event from the case page:
    checked by the API's own body models (messages beside the fields, what was typed kept),
    then sent to the assistance workflow with the form's Idempotency-Key; the workflow's
    refusals (the subsidy cap, a reason not of this pack, the person no longer in assistance)
    are shown beside their field and above the form."""
    if what not in ASSISTANCE_FORMS:
        raise Problem(404, "not-found", "Not found", f"no assistance form {what!r}")
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    await case_service.case_for(session, actor, case_id)  # 404 first
    model, _names = ASSISTANCE_FORMS[what]
    typed, raw = _assistance_body(what, form)
    typed_key = str(form.get("key", ""))
    key = typed_key if _KEY.match(typed_key) else str(uuid.uuid4())
    page: dict[str, Any] = {"action": f"assistance:{what}", "typed": typed, "key": key}
    errors: dict[str, str] = {}
    try:
        body = model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            name = str((err.get("loc") or ("",))[0])
            errors.setdefault(name, _(ASSISTANCE_ERRORS_ZH.get(name, "填写的内容有误")))
        alert = {"message": _("填写的内容有误，请按提示修改"), "detail": ""}
        return await _case_page(
            request,
            session,
            settings,
            actor,
            case_id,
            status=422,
            errors=errors,
            alert=alert,
            **page,
        )
    try:
        result = await _send(session, await get_temporal(request), actor, case_id, what, body, key)
    except Problem as problem:
        if problem.status == 404:
            raise
        await session.rollback()
        for error in problem.extra.get("errors", []):
            name = str(error.get("field", ""))
            if name in typed:
                errors[name] = problem_message(problem)
        return await _case_page(
            request,
            session,
            settings,
            actor,
            case_id,
            status=problem.status,
            errors=errors,
            alert=alert_for(problem),
            **page,
        )
    query = {"assisted": what}
    if what == "events":
        query["handling"] = result.handling
        if result.task_id:
            query["task"] = result.task_id
    return RedirectResponse(f"/cases/{case_id}?{urlencode(query)}#assistance", status_code=303)
