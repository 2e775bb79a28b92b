"""Reference data (参考数据): the working-day calendar, department list imports and policy packs.

- ``GET /api/v1/calendar/years``, ``…/years/{year}``, ``…/working-days``, ``…/days/{date}``:
  every authenticated user; answers come from the effective calendar (built-in tables with the
  administrator's imports over them).
- ``PUT /api/v1/calendar/years/{year}``: an administrator at the root jurisdiction (000000);
  the body is the import format of ``yuanzhu calendar import``. 200 when the running cases
  with provisional deadlines were told to recompute, 202 when the year is stored but the
  workflow engine could not be reached (the recompute is pending: ``yuanzhu calendar
  recompute``).
- ``GET /api/v1/department/imports``: every authenticated user (no personal data);
  ``POST /api/v1/department/imports/{kind}``: any administrator, multipart upload of a CSV
  (UTF-8 or GBK) or XLSX file; a file with any line error is refused whole (422
  ``department-file-invalid`` with line-numbered errors).
- ``GET /api/v1/policy-packs``, ``…/{id}``, ``…/{id}/versions``, ``…/diff?from=&to=``: every
  authenticated user.

A path parameter that cannot name anything (a year outside 1900..2200, 2024-02-30, an unknown
list kind, a malformed pack id) is 404 ``not-found``, as everywhere in the API; an unknown
query parameter is 422.

The operations are the CLI's (``store.calendar_admin``, ``store.department_admin``,
``store.policy_admin``); :mod:`application.services.reference` adds permissions and HTTP.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field
from temporalio.client import Client

from application.http import AdminActor, CurrentActor, SessionDep
from application.schemas.reference import (
    DATE_PATTERN,
    CalendarLoadOut,
    CalendarYearDetailOut,
    CalendarYearOut,
    CalendarYearsOut,
    ChangeOut,
    DayOut,
    DepartmentImportOut,
    DepartmentImportsOut,
    DiffQuery,
    ImportsQuery,
    NamedDayOut,
    PackDiffOut,
    PackRefOut,
    PackVersionOut,
    PackVersionsOut,
    PolicyPacksOut,
    RecomputeOut,
    WorkingDaysOut,
    WorkingDaysQuery,
)
from application.services import reference as service
from domain.calendar import MAX_YEAR, MIN_YEAR
from domain.department_data import LISTS, DepartmentList
from store import calendar_admin, department_admin
from store.policy_admin import (
    PACK_ID_PATTERN,
    PackOutline,
    ResolvedPack,
)

router = APIRouter(prefix="/api/v1", tags=["reference data"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated", **PROBLEM}
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid parameters (`validation-error`)", **PROBLEM}
}
NOT_ADMIN: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not an administrator (`actor-not-allowed`)", **PROBLEM}
}
UNKNOWN_PACK: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such pack or version (`not-found`; `known` lists the pack ids, "
        "`versions` the pinned refs of the pack named)",
        **PROBLEM,
    }
}


YearPath = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="Calendar year")]
PackIdPath = Annotated[
    str, Path(pattern=PACK_ID_PATTERN, max_length=50, description="Pack id, e.g. jilin-2022")
]


async def optional_temporal(request: Request) -> Client | None:
    """The Temporal client, or None when it cannot be reached (``TemporalDep`` would answer
    503 instead; loading a year must not depend on it)."""
    client: Client | None = await request.app.state.temporal.get()
    return client


# -- query parameters (unknown parameters are refused: a misspelt one would be ignored) ------


# -- models ----------------------------------------------------------------------------------


class PolicyPackOut(PackOutline):
    content: dict[str, Any] = Field(
        description="The full merged pack as cases pin it (with content_hash and ref)"
    )


def _year_out(s: calendar_admin.YearSummary) -> CalendarYearOut:
    return CalendarYearOut(
        year=s.year,
        origin=s.origin,
        source=s.source,
        provisional=s.provisional,
        holiday_count=s.holidays,
        workday_count=s.workdays,
        replaces_seed=s.replaces_seed,
        loaded_by=s.loaded_by,
        loaded_at=s.loaded_at,
    )


def _named(days: tuple[calendar_admin.NamedDay, ...]) -> list[NamedDayOut]:
    return [NamedDayOut(date=d.date, name=d.name, name_zh=d.name_zh) for d in days]


def _import_out(row: service.ImportRow) -> DepartmentImportOut:
    data = department_admin.import_json(row.entry)
    try:
        name_zh: str | None = LISTS[DepartmentList(row.entry.list_kind)].name_zh
    except ValueError:  # a kind this version does not know
        name_zh = None
    return DepartmentImportOut(**data, list_name_zh=name_zh, current=row.current)


def _ref_out(r: ResolvedPack) -> PackRefOut:
    return PackRefOut(
        ref=r.ref,
        pack_id=r.pack_id,
        version=r.version,
        content_hash=r.content_hash,
        current=r.current,
        first_used_at=r.first_used_at,
    )


# -- calendar --------------------------------------------------------------------------------

_YEAR_TABLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["year", "holidays"],
    "additionalProperties": False,
    "properties": {
        "year": {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
        "holidays": {
            "type": "array",
            "description": "Every official day off of the holiday periods (YYYY-MM-DD)",
            "items": {"type": "string", "format": "date"},
        },
        "workdays": {
            "type": "array",
            "description": "Make-up working days: Saturdays or Sundays that are worked",
            "items": {"type": "string", "format": "date"},
        },
        "note": {"type": "string", "description": "e.g. the notice's number"},
    },
    "example": {
        "year": 2027,
        "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
        "workdays": ["2027-02-06"],
        "note": "国办发明电〔2026〕N号",
    },
}


@router.get(
    "/calendar/years",
    response_model=CalendarYearsOut,
    summary="Every year of the working-day calendar",
    responses=UNAUTHORIZED,
)
async def list_years(session: SessionDep, actor: CurrentActor) -> CalendarYearsOut:
    """Every year known, ascending, through next year: its source (built-in from
    chinese-calendar, or imported by whom and when), whether it is provisional (no official
    table: weekends only) and its counts of days off and make-up working days."""
    through = service.today().year + 1
    years = await calendar_admin.year_summaries(session, through_year=through)
    return CalendarYearsOut(items=[_year_out(y) for y in years])


@router.get(
    "/calendar/years/{year}",
    response_model=CalendarYearDetailOut,
    summary="A year's holidays and make-up working days",
    responses={**UNAUTHORIZED, **INVALID},
)
async def get_year(
    year: YearPath, session: SessionDep, actor: CurrentActor
) -> CalendarYearDetailOut:
    """The year's days off (with the holiday's name where the State Council notice has it) and
    make-up working days (调休上班). A year without a table is answered with empty lists and
    ``provisional``."""
    detail = await calendar_admin.year_detail(session, year)
    return CalendarYearDetailOut(
        **_year_out(detail.summary).model_dump(),
        holidays=_named(detail.holidays),
        workdays=_named(detail.workdays),
    )


@router.put(
    "/calendar/years/{year}",
    response_model=CalendarLoadOut,
    summary="Load a year's holiday table (root administrator)",
    responses={
        202: {
            "model": CalendarLoadOut,
            "description": "Stored; the recompute of provisional deadlines is pending "
            "(the workflow engine could not be reached)",
        },
        **UNAUTHORIZED,
        403: {
            "description": "Not an administrator at the root jurisdiction (`actor-not-allowed`)",
            **PROBLEM,
        },
        413: {"description": "Body too large (`payload-too-large`)", **PROBLEM},
        415: {"description": "Not application/json (`unsupported-media-type`)", **PROBLEM},
        422: {
            "description": "Invalid table (`validation-error`; `errors` name the field, "
            "e.g. holidays[3], and for JSON syntax the line and column)",
            **PROBLEM,
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _YEAR_TABLE_SCHEMA}},
        }
    },
)
async def load_year(
    year: YearPath,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: AdminActor,
    temporal: Annotated[Client | None, Depends(optional_temporal)],
) -> CalendarLoadOut:
    """Store the year's table (the format of ``yuanzhu calendar import``; the year in the body
    must be the path's), replacing a built-in or earlier table, with an audit entry; then
    every running case with a provisional deadline recomputes it, as ``yuanzhu calendar
    recompute`` does. 200 when the cases were told, 202 when Temporal could not be reached
    (stored all the same; the recompute is pending). Only an administrator at the root
    jurisdiction (000000) may load: the calendar is national."""
    summary, recompute = await service.load_year(
        session, request.app.state.sessions, temporal, actor, year, request
    )
    if recompute.status == "pending":
        response.status_code = 202
    return CalendarLoadOut(
        year=_year_out(summary),
        recompute=RecomputeOut(
            status=recompute.status, signalled=recompute.signalled, detail=recompute.detail
        ),
    )


@router.get(
    "/calendar/working-days",
    response_model=WorkingDaysOut,
    summary="Add working days to a date",
    responses={**UNAUTHORIZED, **INVALID},
)
async def working_days(
    session: SessionDep, actor: CurrentActor, params: Annotated[WorkingDaysQuery, Query()]
) -> WorkingDaysOut:
    """The Nth working day after ``start`` (the start day is not counted) and the working days
    up to it, on the effective calendar; ``provisional`` when a year on the way has no table
    (weekends only)."""
    start = service.parse_day(params.start, "query.start")
    result = await service.working_days(session, start, params.n)
    return WorkingDaysOut(
        start=result.start,
        n=result.n,
        date=result.deadline.date,
        provisional=result.deadline.provisional,
        provisional_years=list(result.deadline.provisional_years),
        days=list(result.days),
    )


@router.get(
    "/calendar/days/{day}",
    response_model=DayOut,
    summary="Is a date a working day, and why",
    responses={**UNAUTHORIZED, 404: {"description": "Not a date (`not-found`)", **PROBLEM}},
)
async def get_day(
    day: Annotated[str, Path(pattern=DATE_PATTERN, max_length=10, description="YYYY-MM-DD")],
    session: SessionDep,
    actor: CurrentActor,
) -> DayOut:
    """Whether the date is a working day on the effective calendar and why: weekday, weekend,
    holiday (with its name) or make-up working day (调休上班); ``provisional`` when its year
    has no table."""
    r = await service.day_reason(session, service.parse_path_day(day))
    return DayOut(
        date=r.date,
        workday=r.workday,
        provisional=r.provisional,
        reason=r.reason,
        reason_zh=r.reason_zh,
        holiday=r.holiday,
        holiday_zh=r.holiday_zh,
    )


# -- department lists ------------------------------------------------------------------------


@router.get(
    "/department/imports",
    response_model=DepartmentImportsOut,
    summary="The department lists imported",
    responses={**UNAUTHORIZED, **INVALID},
)
async def list_imports(
    session: SessionDep, actor: CurrentActor, params: Annotated[ImportsQuery, Query()]
) -> DepartmentImportsOut:
    """The imports, newest first: list, records, file name, by whom and when, and whether its
    records are the ones in use (``current``: the latest import of its kind)."""
    rows = await service.list_imports(session, params.kind, params.limit)
    return DepartmentImportsOut(items=[_import_out(r) for r in rows])


_UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "CSV (UTF-8 or GBK) or XLSX; header 身份证号/id_number, 姓名/name, "
            "optional 开始日期/valid_from, 结束日期/valid_to, 行政区划/jurisdiction_code",
        }
    },
}


@router.post(
    "/department/imports/{kind}",
    status_code=201,
    response_model=DepartmentImportOut,
    summary="Import a department list (administrator)",
    responses={
        **UNAUTHORIZED,
        **NOT_ADMIN,
        413: {"description": "File too large (`payload-too-large`)", **PROBLEM},
        415: {"description": "Not multipart/form-data (`unsupported-media-type`)", **PROBLEM},
        422: {
            "description": "Bad request (`validation-error`) or a file with errors "
            "(`department-file-invalid`: `errors` with line, column, message, message_zh; "
            "`error_count`; nothing was imported)",
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
async def import_list(
    kind: Annotated[DepartmentList, Path(description="Which department list the file is")],
    request: Request,
    session: SessionDep,
    actor: AdminActor,
) -> DepartmentImportOut:
    """Replace the ``kind`` list with the uploaded file (part ``file``; at most 50 MiB), as
    ``yuanzhu department import`` does: only if every line is valid, in one transaction, with
    an audit entry. Any administrator may import any list (a deployment holds one list per
    kind, a department's full snapshot)."""
    file_name, data = await service.read_upload(request)
    entry = await service.import_department_list(session, actor, kind, file_name, data)
    return _import_out(service.ImportRow(entry, True))


# -- policy packs ----------------------------------------------------------------------------


@router.get(
    "/policy-packs",
    response_model=PolicyPacksOut,
    summary="The packaged policy packs",
    responses=UNAUTHORIZED,
)
async def list_packs(session: SessionDep, actor: CurrentActor) -> PolicyPacksOut:
    """Every packaged pack: id, name, region, version, content hash and the ref cases pin."""
    return PolicyPacksOut(items=await service.pack_listings(session))


@router.get(
    "/policy-packs/diff",
    response_model=PackDiffOut,
    summary="Differences between two pack versions",
    responses={**UNAUTHORIZED, **UNKNOWN_PACK, **INVALID},
)
async def diff_packs(
    session: SessionDep, actor: CurrentActor, params: Annotated[DiffQuery, Query()]
) -> PackDiffOut:
    """What changes from one version to the other (paths like
    ``clocks.identification_deadline.value`` or ``procedure.stages[publicity].working_days``),
    as ``yuanzhu policy diff``."""
    a, b, changes = await service.diff_packs(session, params.from_ref, params.to_ref)
    return PackDiffOut(
        from_version=_ref_out(a),
        to_version=_ref_out(b),
        changes=[ChangeOut(**c) for c in changes],
    )


@router.get(
    "/policy-packs/{pack_id}",
    response_model=PolicyPackOut,
    summary="A policy pack as data",
    responses={**UNAUTHORIZED, **UNKNOWN_PACK, **INVALID},
)
async def get_pack(session: SessionDep, pack_id: PackIdPath, actor: CurrentActor) -> PolicyPackOut:
    """The packaged pack as ``yuanzhu policy show`` presents it — base conditions, categories,
    exclusions, procedure stages with their SLAs, clocks, assistance standards, exit reasons,
    target groups, each with its clause citation — plus ``content``, the full merged pack."""
    outline, content = await service.pack_outline(session, pack_id)
    return PolicyPackOut(**outline.model_dump(), content=content)


@router.get(
    "/policy-packs/{pack_id}/versions",
    response_model=PackVersionsOut,
    summary="The versions of a pack that cases pinned",
    responses={**UNAUTHORIZED, **UNKNOWN_PACK, **INVALID},
)
async def pack_versions(
    pack_id: PackIdPath, session: SessionDep, actor: CurrentActor
) -> PackVersionsOut:
    """The versions cases were opened under (newest first), each marked ``current`` when the
    packaged pack still has that content; use a ``ref`` with ``/policy-packs/diff``."""
    current_ref, rows = await service.pack_versions(session, pack_id)
    return PackVersionsOut(
        pack_id=pack_id,
        current_ref=current_ref,
        versions=[
            PackVersionOut(
                ref=r.ref,
                version=r.version,
                content_hash=r.content_hash,
                first_used_at=r.first_used_at,
                current=current,
            )
            for r, current in rows
        ],
    )
