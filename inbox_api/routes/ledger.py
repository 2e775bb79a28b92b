"""The assistance ledger (帮扶台账 / 服务跟踪情况 / 一人一册):

- ``GET /api/v1/ledger?jurisdiction=&format=xlsx|json&layout=&full_ids=&exited_since=``: every
  person in assistance under the place (default: the caller's), and those who exited since a
  day, with category, plan, services against the standards, contacts, subsidies and status.
  ID numbers are masked unless ``full_ids=true`` (county reviewers and above; audited).
- ``POST /api/v1/ledger/imports``: an office's ledger (qingxin's service-tracking template; XLSX
  or CSV in UTF-8/GBK), multipart with ``file`` and optional ``jurisdiction``; all or nothing
  (422 ``ledger-file-invalid`` with line-level errors); county reviewers and administrators.
- ``GET /api/v1/ledger/imports``: the imports in the caller's subtree and their progress.

Rules in :mod:`application.services.ledger`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from application.http import CurrentActor, SessionDep, SettingsDep
from application.schemas.ledger import (
    XLSX,
    ImportsQuery,
    LedgerImportOut,
    LedgerImportsOut,
    LedgerOut,
    LedgerQuery,
)
from application.services import ledger as service
from store.models_ledger import LedgerImport

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@router.get(
    "",
    summary="The assistance ledger of a jurisdiction",
    response_model=LedgerOut,
    responses={
        200: {"content": {XLSX: {}}, "description": "The ledger (JSON or an .xlsx workbook)"},
        403: {"description": "full_ids for a grassroots officer (`actor-not-allowed`)", **PROBLEM},
        404: {"description": "A jurisdiction outside your area (`not-found`)", **PROBLEM},
    },
)
async def get_ledger(
    session: SessionDep, actor: CurrentActor, params: Annotated[LedgerQuery, Query()]
) -> Any:
    """Every person in assistance (and exited since ``exited_since``) with the columns officers
    use; an .xlsx workbook by default."""
    export = await service.export_ledger(session, actor, params)
    if params.format == "json":
        return LedgerOut(
            jurisdiction_code=export.code,
            jurisdiction_name=export.name,
            layout=export.layout,
            title=export.title,
            full_ids=export.full_ids,
            columns=export.headers,
            rows=[[None if isinstance(v, dt.time) else v for v in r] for r in export.rows],
        )
    name = f"{export.title}-{export.code}.xlsx"
    return Response(
        service.xlsx_bytes(export),
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=ledger-{export.code}.xlsx; "
            f"filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


def import_out(imp: LedgerImport) -> LedgerImportOut:
    return LedgerImportOut.model_validate(imp, from_attributes=True)


_UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "XLSX or CSV (UTF-8/GBK): 姓名, 身份证号, 人员类别, 认定日期 "
            "(required), 所属镇街代码, 就业意向, 计划服务项目, <服务>次数, 联系次数, "
            "最近主动联系日期, 人员状态, 备注",
        },
        "jurisdiction": {
            "type": "string",
            "description": "The office's place (default: yours); lines without 所属镇街代码 go "
            "there",
        },
    },
}


@router.post(
    "/imports",
    status_code=201,
    response_model=LedgerImportOut,
    summary="Import an office's ledger",
    responses={
        403: {"description": "Not a county reviewer or administrator", **PROBLEM},
        404: {"description": "A jurisdiction outside your area", **PROBLEM},
        413: {"description": "File too large (`payload-too-large`)", **PROBLEM},
        415: {"description": "Not multipart/form-data", **PROBLEM},
        422: {
            "description": "`ledger-file-invalid`: `errors` with line, column, message, "
            "message_zh; nothing was imported",
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
async def import_ledger(
    request: Request, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> LedgerImportOut:
    """Validate every line; if all are valid, make each person a case in assistance (one
    transaction), then start their assistance in batches. Persons already in assistance here
    are skipped (a re-import duplicates nothing)."""
    service.check_may_import(actor)  # before the body is read
    jurisdiction, file_name, data = await service.read_import_form(request)
    temporal = await request.app.state.temporal.get()
    entry = await service.import_ledger(
        session,
        temporal,
        settings.temporal_task_queue,
        actor,
        jurisdiction=jurisdiction,
        file_name=file_name,
        data=data,
    )
    return import_out(entry)


@router.get("/imports", response_model=LedgerImportsOut, summary="The ledger imports")
async def list_imports(
    session: SessionDep, actor: CurrentActor, params: Annotated[ImportsQuery, Query()]
) -> LedgerImportsOut:
    """The imports into places in your area, newest first, with their progress."""
    rows = await service.list_imports(session, actor, params.limit)
    return LedgerImportsOut(items=[import_out(r) for r in rows])
