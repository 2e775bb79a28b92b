"""The assistance ledger (帮扶台账 / 服务跟踪情况 / 一人一册):

- ``GET /api/v1/ledger?jurisdiction=&format=xlsx|json&layout=&full_ids=&exited_since=``: every
  person in assistance under the place (default: the caller's), and those who exited since a
  day, with category, plan, services against the standards, contacts, subsidies and status.
  ID numbers are masked unless ``full_ids=true`` (county reviewers and above; audited).
- ``POST /api/v1/ledger/imports``: an office's ledger (qingxin's service-tracking template; XLSX
  or CSV in UTF-8/GBK), multipart with ``file`` and optional ``jurisdiction``; all or nothing
  (422 ``ledger-file-invalid`` with line-level errors); county reviewers and administrators.
- ``GET /api/v1/ledger/imports``: the imports in the caller's subtree and their progress.

Rules in :mod:`inbox_api.services.ledger`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from inbox_api.deps import CurrentActor, SessionDep, SettingsDep
from inbox_api.schemas import IsoDate
from inbox_api.services import ledger as service
from store.models_ledger import LedgerImport

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LedgerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction: str | None = Field(
        None, pattern=r"^\d{6,12}$", description="A place in your area (default: yours)"
    )
    format: Literal["xlsx", "json"] = "xlsx"
    layout: Literal["service_tracking", "one_person_one_file"] | None = Field(
        None,
        description="服务跟踪情况 (qingxin) or 一人一册 (jilin); default: the place's pack's",
    )
    full_ids: bool = Field(False, description="Full ID numbers (county reviewer and above)")
    exited_since: IsoDate | None = Field(
        None,
        ge=dt.date(1990, 1, 1),
        le=dt.date(2999, 12, 31),
        description="Include persons who exited on or after this day (default: 1 Jan)",
    )


class LedgerOut(BaseModel):
    jurisdiction_code: str
    jurisdiction_name: str
    layout: str
    title: str
    full_ids: bool
    columns: list[str]
    rows: list[list[str | int | float | bool | dt.date | None]]


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
    export = await service.export_ledger(
        session,
        actor,
        jurisdiction=params.jurisdiction,
        layout=params.layout,
        full_ids=params.full_ids,
        exited_since=params.exited_since,
        fmt=params.format,
    )
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


class LedgerImportOut(BaseModel):
    """``created``: persons made cases (their assistance starts in batches: ``started`` of
    them so far; ``status`` pending → running → done); ``already_present``: lines skipped
    because the person is already in assistance here (a re-import); ``skipped_exited``: lines
    of persons who have exited (已退出), not imported."""

    id: int
    jurisdiction_code: str
    file_name: str
    imported_by: str
    imported_at: dt.datetime
    created: int
    already_present: int
    skipped_exited: int
    started: int
    status: Literal["pending", "running", "done"]
    workflow_id: str
    kind: Literal["ledger", "enrolment"] = Field(
        "ledger", description="A ledger import, or an enrolment (山东 二(二)–(四))"
    )
    emergency_id: int | None = None


class LedgerImportsOut(BaseModel):
    items: list[LedgerImportOut]


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


class ImportsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=500)


@router.get("/imports", response_model=LedgerImportsOut, summary="The ledger imports")
async def list_imports(
    session: SessionDep, actor: CurrentActor, params: Annotated[ImportsQuery, Query()]
) -> LedgerImportsOut:
    """The imports into places in your area, newest first, with their progress."""
    rows = await service.list_imports(session, actor, params.limit)
    return LedgerImportsOut(items=[import_out(r) for r in rows])
