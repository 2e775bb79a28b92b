"""Shandong's other target groups (山东 二(二)–(四)): emergencies and enrolment.

- ``POST /api/v1/emergencies``: a supervisor or administrator declares an emergency (epidemic,
  disaster, policy change) for a place and period; ``GET /api/v1/emergencies`` (``active=true``:
  those running today) and ``GET /api/v1/emergencies/{id}`` (with the persons enrolled under it
  and those still in assistance): every staff role, for emergencies covering their place or
  inside their area.
- ``POST /api/v1/enrolments``: an officer enrols one person — rural surplus labour, a
  low-income-family graduate in the job-seeking period, or a temporary assistance person under
  an emergency — and their assistance starts (the group's conditions are checked; 422
  ``enrolment-conditions-not-met`` names each).
- ``POST /api/v1/emergencies/{id}/enrolments``: the emergency's list of affected persons (XLSX or
  CSV), all or nothing (422 ``enrolment-file-invalid`` with line errors); assistance starts in
  batches, progress in ``GET /api/v1/ledger/imports``.

Rules in :mod:`application.services.enrolment`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from application.http import (
    Actor,
    CurrentActor,
    SessionDep,
    SettingsDep,
    SupervisorActor,
    require_roles,
)
from application.schemas.enrolment import (
    EmergenciesOut,
    EmergenciesQuery,
    EmergencyIn,
    EmergencyOut,
    EnrolmentIn,
    EnrolmentOut,
)
from application.schemas.ledger import LedgerImportOut
from application.services import enrolment as service
from application.services.ledger import read_import_form
from application.services.reference import today as reference_today
from domain.labels import label
from inbox_api.routes.ledger import import_out
from store.enrolment_repo import EnrolmentCounts
from store.models_enrolment import Emergency

router = APIRouter(prefix="/api/v1", tags=["enrolment"])
# The role is checked before the body is read (a 403, not a 422, for the wrong role).
EnrollingActor = Annotated[Actor, require_roles(*service.ENROL_ROLES)]

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
EmergencyId = Annotated[int, Path(ge=1, le=2**62)]


def _emergency_out(e: Emergency, counts: EnrolmentCounts | None = None) -> EmergencyOut:
    today = reference_today()
    return EmergencyOut(
        id=e.id,
        kind=e.kind,
        kind_name=label("emergency_kind", e.kind),
        name=e.name,
        description=e.description,
        jurisdiction_code=e.jurisdiction_code,
        starts_on=e.starts_on,
        ends_on=e.ends_on,
        active=e.starts_on <= today <= e.ends_on,
        declared_by=e.declared_by,
        declared_at=e.declared_at,
        enrolled=counts.enrolled if counts else None,
        in_assistance=counts.active if counts else None,
    )


@router.post(
    "/emergencies",
    status_code=201,
    response_model=EmergencyOut,
    summary="Declare an emergency",
    responses={
        403: {"description": "Not a supervisor or administrator", **PROBLEM},
        404: {"description": "A jurisdiction outside your area", **PROBLEM},
        409: {"description": "`emergency-exists`: declared already (overlapping)", **PROBLEM},
        422: {
            "description": "Invalid period, or `target-group-not-in-pack`: the place's policy "
            "has no temporary assistance",
            **PROBLEM,
        },
    },
)
async def declare_emergency(
    body: EmergencyIn, session: SessionDep, actor: SupervisorActor
) -> EmergencyOut:
    """Declare an emergency for a place in your area: officers may then enrol the persons it
    affected as temporary assistance persons until its last day."""
    e = await service.declare_emergency(session, actor, body)
    return _emergency_out(e)


@router.get("/emergencies", response_model=EmergenciesOut, summary="The emergencies")
async def list_emergencies(
    session: SessionDep, actor: CurrentActor, params: Annotated[EmergenciesQuery, Query()]
) -> EmergenciesOut:
    """Emergencies declared for your place or above it, and inside your area, newest first."""
    rows = await service.list_emergencies(
        session, actor, active_only=params.active, limit=params.limit
    )
    return EmergenciesOut(items=[_emergency_out(e) for e in rows])


@router.get(
    "/emergencies/{emergency_id}",
    response_model=EmergencyOut,
    summary="An emergency",
    responses={404: {"description": "No such emergency visible to you", **PROBLEM}},
)
async def get_emergency(
    emergency_id: EmergencyId, session: SessionDep, actor: CurrentActor
) -> EmergencyOut:
    e, counts = await service.get_emergency(session, actor, emergency_id)
    return _emergency_out(e, counts)


_UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "XLSX or CSV (UTF-8/GBK): 姓名, 身份证号 (required), 所属镇街代码, "
            "联系电话, 备注",
        },
        "jurisdiction": {
            "type": "string",
            "description": "The place the list is for (default: yours); lines without "
            "所属镇街代码 go there",
        },
    },
}


@router.post(
    "/emergencies/{emergency_id}/enrolments",
    status_code=201,
    response_model=LedgerImportOut,
    summary="Enrol an emergency's list of affected persons",
    responses={
        403: {"description": "Not an officer, county reviewer or administrator", **PROBLEM},
        404: {"description": "No such emergency (or place) visible to you", **PROBLEM},
        413: {"description": "File too large (`payload-too-large`)", **PROBLEM},
        415: {"description": "Not multipart/form-data", **PROBLEM},
        422: {
            "description": "`enrolment-file-invalid` (`errors` with line, column, message, "
            "message_zh; nothing enrolled) or `emergency-not-active`",
            **PROBLEM,
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": _UPLOAD_SCHEMA}},
        }
    },
)
async def enrol_list(
    emergency_id: EmergencyId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> LedgerImportOut:
    """Validate every line; if all are valid, enrol each person (one transaction) as a
    temporary assistance person and start their assistance in batches. Persons already
    enrolled, or already in assistance, are skipped and counted in ``already_present``."""
    service.check_may_enrol(actor)  # before the body is read
    await service.get_emergency(session, actor, emergency_id)  # 404 before the body too
    jurisdiction, file_name, data = await read_import_form(request)
    temporal = await request.app.state.temporal.get()
    entry = await service.enrol_bulk(
        session,
        temporal,
        settings.temporal_task_queue,
        actor,
        emergency_id,
        jurisdiction=jurisdiction,
        file_name=file_name,
        data=data,
    )
    return import_out(entry)


@router.post(
    "/enrolments",
    status_code=201,
    response_model=EnrolmentOut,
    summary="Enrol a person in one of Shandong's target groups",
    responses={
        403: {"description": "Not an officer, county reviewer or administrator", **PROBLEM},
        404: {"description": "A place or emergency outside your area", **PROBLEM},
        409: {"description": "`already-enrolled`: enrolled or in assistance already", **PROBLEM},
        422: {
            "description": "Invalid fields, or `enrolment-conditions-not-met` with `errors` "
            "naming each condition",
            **PROBLEM,
        },
    },
)
async def enrol(
    body: EnrolmentIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: EnrollingActor,
) -> EnrolmentOut:
    """Enrol one person and start their assistance (the plan task opens in the inbox)."""
    temporal = await request.app.state.temporal.get()
    done = await service.enrol(
        session,
        temporal,
        settings.temporal_task_queue,
        actor,
        body,
    )
    return EnrolmentOut(
        case_id=done.case_id,
        target_group=body.target_group,
        batch=import_out(done.batch),
    )
