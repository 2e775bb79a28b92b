"""The web pages. Handlers call the same services as the API (no SQL here). Forms post back
with a CSRF token bound to the session cookie; errors are shown in place with the API's words.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from domain.calendar import SHANGHAI
from domain.sla import state_at
from inbox_api.deps import SESSION_COOKIE, OptionalActor, SessionDep, SettingsDep
from inbox_api.errors import Problem
from inbox_api.routes.auth import authenticate
from inbox_api.security import issue_token
from inbox_api.services import cases as case_service
from inbox_api.services import tasks as task_service
from store import repos
from workflows.contracts import TASK_KIND_ZH

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

router = APIRouter(include_in_schema=False)

SLA_ZH = {"on_track": "正常", "at_risk": "临期", "breached": "已超时", "past_deadline": "已逾期"}
ROLE_ZH = {
    "grassroots_officer": "基层经办人员",
    "county_reviewer": "县区审核人员",
    "supervisor": "督导",
    "admin": "系统管理员",
}
OUTCOME_ZH = {
    "approve": "通过/认定",
    "refuse": "不通过/不予认定",
    "accept": "受理",
    "not_accepted": "不予受理",
    "supplied": "已补充材料",
    "commitment": "签署书面承诺",
    "abandoned": "申请人放弃",
    "confirmed": "核实属实",
    "not_confirmed": "核实不符",
    "report": "签署意见并上报",
    "dismissed": "异议不成立",
    "upheld": "异议成立",
    "restart": "重新公示",
    "applicant_disagrees": "申请人仍不服，报区级处理",
    "informed": "已告知申请人",
    "handled": "已督办",
}
FIELD_ZH = {
    "reason": "原因",
    "category": "认定类别",
    "evidence": "补充的材料",
    "visit_record": "入户核实记录",
    "explanation": "核实与解释情况",
    "channel": "告知方式",
    "action": "督办措施",
}
STATUS_ZH = {
    "submitted": "已申请",
    "awaiting_materials": "待补充材料",
    "accepted": "已受理",
    "under_review": "审核中",
    "in_publicity": "公示中",
    "identified": "已认定",
    "refused": "不予认定",
    "not_accepted": "不予受理",
    "withdrawn": "已撤回",
}
# Fields whose value is a list (several materials handed in at once).
LIST_FIELDS = {"evidence"}
templates.env.globals.update(
    SHANGHAI=SHANGHAI,
    STATUS_ZH=STATUS_ZH,
    FIELD_ZH=FIELD_ZH,
    LIST_FIELDS=LIST_FIELDS,
    TASK_KIND_ZH=TASK_KIND_ZH,
    SLA_ZH=SLA_ZH,
    ROLE_ZH=ROLE_ZH,
    OUTCOME_ZH=OUTCOME_ZH,
)


def csrf_token(secret: str, session_token: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


def _check_csrf(request: Request, secret: str, token: str) -> None:
    session_token = request.cookies.get(SESSION_COOKIE, "")
    if not session_token or not hmac.compare_digest(token, csrf_token(secret, session_token)):
        raise Problem(403, "csrf", "CSRF check failed", "表单已过期，请刷新页面后重试")


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/", response_class=HTMLResponse)
async def home(actor: OptionalActor) -> Response:
    return RedirectResponse("/inbox" if actor else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html", error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        user = await authenticate(session, settings, request, username, password)
    except Problem as problem:
        if problem.status == 429:
            minutes = max(1, -(-int(problem.extra["retry_after"]) // 60))
            return _render(
                request,
                "login.html",
                status=429,
                error=f"登录失败次数过多，请 {minutes} 分钟后再试",
            )
        return _render(request, "login.html", status=401, error="用户名或密码错误")
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token = issue_token(settings.secret_key, user.id, datetime.now(UTC), ttl)
    response = RedirectResponse("/inbox", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, session: SessionDep, actor: OptionalActor) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    rows = await repos.list_tasks(session, scope_path=actor.jurisdiction_path, limit=100)
    now = datetime.now(UTC)
    items = [(t, state_at(t.at_risk_at, t.due_at, t.deadline_at, now)) for t in rows]
    return _render(request, "inbox.html", actor=actor, items=items)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(
    request: Request, task_id: str, session: SessionDep, settings: SettingsDep, actor: OptionalActor
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    try:
        task = await task_service.get_task(session, actor, task_id)
    except Problem as p:
        return _render(request, "error.html", status=p.status, actor=actor, message=p.detail)
    return _render(
        request,
        "task.html",
        actor=actor,
        task=task,
        error=None,
        idempotency_key=str(uuid.uuid4()),
        csrf=csrf_token(settings.secret_key, request.cookies.get(SESSION_COOKIE, "")),
    )


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
async def task_submit(
    request: Request,
    task_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: OptionalActor,
) -> Response:
    """One handler for every task kind: the form's fields are named ``f_<field>`` after the
    task's own form definition (``payload.form``); the workflow validates them."""
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    form = await request.form()
    temporal = await request.app.state.temporal.get()
    try:
        _check_csrf(request, settings.secret_key, str(form.get("csrf", "")))
        await task_service.get_task(session, actor, task_id)
        if temporal is None:
            raise Problem(
                503,
                "temporal-unavailable",
                "Temporal unavailable",
                "工作流引擎暂不可用，请稍后重试",
            )
        fields: dict[str, object] = {}
        for key in {k for k in form if k.startswith("f_")}:
            values = [str(v) for v in form.getlist(key) if str(v).strip()]
            if values:
                fields[key[2:]] = values if key[2:] in LIST_FIELDS else values[0]
        await task_service.complete_task(
            session,
            temporal,
            actor,
            task_id,
            outcome=str(form.get("outcome", "")),
            fields=fields,
            comment=str(form.get("comment", ""))[:2000],
            idempotency_key=str(form.get("idempotency_key", "")) or str(uuid.uuid4()),
        )
    except Problem as p:
        again = await repos.task_in_scope(session, task_id, actor.jurisdiction_path)
        if again is None:
            return _render(request, "error.html", status=p.status, actor=actor, message=p.detail)
        return _render(
            request,
            "task.html",
            status=p.status,
            actor=actor,
            task=again,
            error=p.detail,
            idempotency_key=str(uuid.uuid4()),
            csrf=csrf_token(settings.secret_key, request.cookies.get(SESSION_COOKIE, "")),
        )
    return RedirectResponse("/inbox", status_code=303)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, case_id: str, session: SessionDep, settings: SettingsDep, actor: OptionalActor
) -> Response:
    """The case: status and stage, deadline, timeline, notices, pack version and a link to the
    workflow in the Temporal UI. A full view: written to the audit log like the API's."""
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    try:
        case = await case_service.case_for(session, actor, case_id)
    except Problem as p:
        return _render(request, "error.html", status=p.status, actor=actor, message=p.detail)
    await case_service.audit_full_view(session, actor, case)
    return _render(
        request,
        "case.html",
        actor=actor,
        case=case,
        events=await repos.case_events(session, case.id),
        notices=await repos.case_notices(session, case.id),
        workflow_url=case_service.workflow_url(settings, case),
    )


def mount_web(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
