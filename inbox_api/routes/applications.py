"""Applications (申请): POST /api/v1/applications starts a case."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from application.http import OptionalActor, SessionDep, SettingsDep, TemporalDep, client_address
from application.rate_limits import limit_anonymous_application
from application.schemas.applications import ApplicationIn, ApplicationOut
from application.services.applications import submit_application

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])


@router.post(
    "",
    status_code=201,
    response_model=ApplicationOut,
    responses={
        409: {
            "description": "duplicate-application (a case of this person is open), or "
            "reidentification-cooldown (the pack's cooldown after an exit has not run)"
        },
        429: {
            "description": "application-throttled: too many anonymous applications from "
            "this address or for this ID number (see Retry-After)"
        },
    },
)
async def create_application(
    body: ApplicationIn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    actor: OptionalActor,
    response: Response,
    request: Request,
) -> ApplicationOut:
    """Submit an application. Anonymous submissions are the online channel (网上申请); an
    officer's token makes it a window submission in the officer's area."""
    await limit_anonymous_application(
        session,
        settings,
        client_address(request),
        body.facts.person.id_number,
        staff=actor is not None,
    )
    case = await submit_application(
        session,
        temporal,
        settings,
        facts=body.facts,
        jurisdiction_code=body.jurisdiction_code,
        policy_id=body.policy_id,
        actor=actor,
    )
    response.headers["Location"] = f"/api/v1/cases/{case.case_id}"
    return ApplicationOut(
        case_id=case.case_id,
        workflow_id=case.workflow_id,
        policy_pack_id=case.policy_pack_id,
        policy_pack_ref=case.policy_pack_ref,
        status=case.status,
    )
