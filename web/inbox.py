"""The officer's inbox."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from domain.sla import state_at
from inbox_api.deps import SessionDep
from store import repos
from web.common import PageActor, render

router = APIRouter(include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, session: SessionDep, actor: PageActor) -> Response:
    rows = await repos.list_tasks(session, scope_path=actor.jurisdiction_path, limit=100)
    now = datetime.now(UTC)
    items = [(t, state_at(t.at_risk_at, t.due_at, t.deadline_at, now)) for t in rows]
    return render(request, "inbox/inbox.html", actor=actor, items=items)
