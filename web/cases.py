"""The case page: status and stage, deadlines, timeline, notices, pack version and a link to
the workflow in the Temporal UI. A full view: written to the audit log like the API's."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from inbox_api.deps import SessionDep, SettingsDep
from inbox_api.services import cases as case_service
from store import repos
from web.common import PageActor, render
from web.labels import STATUS_ZH

router = APIRouter(include_in_schema=False)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, case_id: str, session: SessionDep, settings: SettingsDep, actor: PageActor
) -> Response:
    case = await case_service.case_for(session, actor, case_id)
    await case_service.audit_full_view(session, actor, case)
    return render(
        request,
        "cases/case.html",
        actor=actor,
        case=case,
        events=await repos.case_events(session, case.id),
        notices=await repos.case_notices(session, case.id),
        workflow_url=case_service.workflow_url(settings, case),
        STATUS_ZH=STATUS_ZH,
    )
