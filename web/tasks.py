"""Task pages: one form per task kind (the workflow's own form definition, ``payload.form``),
validated by the workflow, with its messages shown in place."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox_api.deps import SessionDep
from inbox_api.errors import Problem
from inbox_api.services import tasks as task_service
from store import repos
from web.common import PageActor, check_csrf, render
from web.labels import FIELD_ZH, LIST_FIELDS, OUTCOME_ZH

router = APIRouter(include_in_schema=False)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(
    request: Request, task_id: str, session: SessionDep, actor: PageActor
) -> Response:
    task = await task_service.get_task(session, actor, task_id)
    return render(
        request,
        "tasks/task.html",
        actor=actor,
        task=task,
        error=None,
        idempotency_key=str(uuid.uuid4()),
        OUTCOME_ZH=OUTCOME_ZH,
        FIELD_ZH=FIELD_ZH,
        LIST_FIELDS=LIST_FIELDS,
    )


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
async def task_submit(
    request: Request, task_id: str, session: SessionDep, actor: PageActor
) -> Response:
    """One handler for every task kind: the form's fields are named ``f_<field>`` after the
    task's own form definition (``payload.form``); the workflow validates them."""
    form = await request.form()
    temporal = await request.app.state.temporal.get()
    try:
        check_csrf(request, str(form.get("csrf", "")))
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
            raise
        return render(
            request,
            "tasks/task.html",
            status=p.status,
            actor=actor,
            task=again,
            error=p.detail,
            idempotency_key=str(uuid.uuid4()),
            OUTCOME_ZH=OUTCOME_ZH,
            FIELD_ZH=FIELD_ZH,
            LIST_FIELDS=LIST_FIELDS,
        )
    return RedirectResponse("/inbox", status_code=303)
