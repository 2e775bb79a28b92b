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
from inbox_api.services import tasks as task_service
from store import repos

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

router = APIRouter(include_in_schema=False)

TASK_KIND_ZH = {
    "initial_review": "初审",
    "review": "复核认定",
    "home_visit": "入户核实",
    "objection": "公示异议处理",
    "supplement": "补充材料",
    "escalation": "督办",
}
SLA_ZH = {"on_track": "正常", "at_risk": "临期", "breached": "已超时", "past_deadline": "已逾期"}
ROLE_ZH = {
    "grassroots_officer": "基层经办人员",
    "county_reviewer": "县区审核人员",
    "supervisor": "督导",
    "admin": "系统管理员",
}
OUTCOME_ZH = {"approve": "通过", "refuse": "不通过"}
templates.env.globals.update(
    SHANGHAI=SHANGHAI,
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
        user = await authenticate(session, username, password)
    except Problem:
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
    outcome: Annotated[str, Form(max_length=40)],
    csrf: Annotated[str, Form(max_length=100)],
    idempotency_key: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    category: Annotated[str, Form(max_length=50)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    temporal = await request.app.state.temporal.get()
    try:
        _check_csrf(request, settings.secret_key, csrf)
        task = await task_service.get_task(session, actor, task_id)
        if temporal is None:
            raise Problem(
                503,
                "temporal-unavailable",
                "Temporal unavailable",
                "工作流引擎暂不可用，请稍后重试",
            )
        fields = {k: v for k, v in {"reason": reason, "category": category}.items() if v}
        await task_service.complete_task(
            session,
            temporal,
            actor,
            task_id,
            outcome=outcome,
            fields=fields,
            comment=comment,
            idempotency_key=idempotency_key,
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
            task=task,
            error=p.detail,
            idempotency_key=str(uuid.uuid4()),
            csrf=csrf_token(settings.secret_key, request.cookies.get(SESSION_COOKIE, "")),
        )
    return RedirectResponse("/inbox", status_code=303)


def mount_web(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
