"""The assistance ledger (帮扶台账) for the API and the CLI: export a jurisdiction's ledger as an
Excel workbook or JSON, import an office's ledger (qingxin's 服务跟踪情况 template) and list
the imports.

Who may do what (the issue leaves it open; decided here):

- **export** (masked ID numbers): every staff role, for a place inside their subtree (404
  outside, as everywhere). **Full ID numbers** (``full_ids``) only for a county reviewer,
  supervisor or administrator — the county PES keeps the ledger (weifang 五(一) 县级以上公共就业
  服务机构应建立就业困难人员帮扶台账) — 403 ``actor-not-allowed`` for a grassroots officer. Every
  export is written to the audit log (who, which place, how many persons, full or masked).
- **import**: a county reviewer or administrator (the import makes identified cases, which is
  the county's act of 复核认定), into places inside their subtree; 403 for other roles.

An import is all or nothing: the file is parsed whole (line errors with line and column, 422
``ledger-file-invalid``), then checked against the database (a person with an open application
that is not in assistance is a line error), then the import row, cases, history events and
lines are written in one transaction. Persons already in assistance under the same pack (the
case's ``open_key``: ID number + pack of the place) are skipped and counted, so a re-import
makes nothing twice. After the commit a ``LedgerImportWorkflow`` starts their assistance in
batches; when Temporal cannot be reached the import stays ``pending`` and the next import
request (or ``yuanzhu ledger import``) resumes it.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from temporalio.client import Client, WorkflowHandle

from application import gateway
from application.actor import Actor
from application.errors import Problem, not_found
from application.schemas.ledger import LedgerQuery
from application.services import release_before_workflow
from application.services.reference import MAX_UPLOAD_BYTES, read_form, today
from domain.ledger import LedgerImportResult, export_table
from domain.policy.authoring import LEDGER_LAYOUT_DEFAULT
from domain.table_import import Cell, RowError
from domain.vocabulary import Role
from store import ledger_repo, repos
from store.audit import record_audit
from store.models_ledger import LedgerImport
from store.packs import packs_in_force
from workflows.contracts import LedgerImportInput

__all__ = [
    "EXPORT_ROLES_FULL_IDS",
    "IMPORT_ROLES",
    "MAX_EXPORT_PERSONS",
    "LedgerExport",
    "export_ledger",
    "file_checked",
    "import_ledger",
    "list_imports",
    "place_in_scope",
    "resume_pending",
    "start_batch",
    "xlsx_bytes",
]

log = logging.getLogger(__name__)
R = TypeVar("R")

EXPORT_ROLES_FULL_IDS = frozenset({Role.COUNTY_REVIEWER, Role.SUPERVISOR, Role.ADMIN})
IMPORT_ROLES = frozenset({Role.COUNTY_REVIEWER, Role.ADMIN})
# One workbook of a city's ledger; beyond it the caller narrows the jurisdiction.
MAX_EXPORT_PERSONS = 50_000
AUDIT_EXPORT = "ledger_exported"
AUDIT_IMPORT = "ledger_imported"


@dataclass(frozen=True)
class LedgerExport:
    code: str
    name: str
    layout: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    full_ids: bool


async def place_in_scope(session: AsyncSession, actor: Actor, code: str | None) -> Any:
    place = await repos.get_jurisdiction(session, code or actor.jurisdiction_code)
    if place is None or not place.path.startswith(actor.jurisdiction_path):
        raise not_found("jurisdiction", code or "")
    return place


async def default_layout(session: AsyncSession, place: Any) -> str:
    """The layout the place's pack gives its ledger (``[ledger]``, e.g. jilin 三(一) 一人一册),
    else service tracking."""
    try:
        pack = (await packs_in_force(session)).find(await repos.pack_id_at(session, place))
    except repos.NoPolicyPack:
        pack = None
    return pack.ledger.layout if pack and pack.ledger else LEDGER_LAYOUT_DEFAULT


async def export_ledger(session: AsyncSession, actor: Actor, query: LedgerQuery) -> LedgerExport:
    """The ledger of ``query.jurisdiction`` (default: the caller's): persons in assistance and
    those who exited since ``exited_since`` (default: 1 January of this year), audited."""
    full_ids = query.full_ids
    if full_ids and actor.role not in EXPORT_ROLES_FULL_IDS:
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "full ID numbers in the ledger are for county reviewers, supervisors and "
            "administrators; export without full_ids for masked numbers",
        )
    place = await place_in_scope(session, actor, query.jurisdiction)
    layout = query.layout or await default_layout(session, place)
    since = query.exited_since or today().replace(month=1, day=1)
    people = await ledger_repo.ledger_people(
        session, place.path, exited_since=since, limit=MAX_EXPORT_PERSONS + 1
    )
    if len(people) > MAX_EXPORT_PERSONS:
        raise Problem(
            422,
            "ledger-too-large",
            "Ledger too large",
            f"{place.name} has more than {MAX_EXPORT_PERSONS:,} persons in its ledger; export "
            "its counties or townships one by one",
        )
    title, headers, rows = export_table(people, layout, full_ids=full_ids)
    record_audit(
        session,
        now=datetime.now(UTC),
        actor_id=actor.id,
        action=AUDIT_EXPORT,
        object_type="jurisdiction",
        object_id=place.code,
        detail={
            "persons": len(people),
            "full_ids": full_ids,
            "layout": layout,
            "format": query.format,
            "exited_since": since.isoformat(),
        },
    )
    return LedgerExport(place.code, place.name, layout, title, headers, list(rows), full_ids)


def xlsx_bytes(export: LedgerExport) -> bytes:
    """The export as an .xlsx workbook: one sheet named after the ledger, the header row
    frozen, dates as date cells; text is already inert (no formula can run)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(export.title[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def header() -> Iterator[WriteOnlyCell]:
        for h in export.headers:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            yield cell

    ws.append(list(header()))
    for row in export.rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- import ---------------------------------------------------------------------------------


def error_json(e: RowError) -> dict[str, Any]:
    """A line error as every 422's errors are (field, message, code) plus the file's line,
    the column (the header) and the Chinese message."""
    return {
        "field": "body.file",
        "code": "line_error",
        "line": e.line,
        "column": e.column,
        "message": e.message,
        "message_zh": e.message_zh,
    }


@dataclass(frozen=True)
class Checked:
    result: LedgerImportResult
    new: list[Any]
    already_present: int


def _file_problem(
    problem_type: str, file_name: str, message: str, errors: list[Any], n: int
) -> Problem:
    return Problem(
        422,
        problem_type,
        "Invalid file",
        f"{file_name}: {message}; nothing was imported",
        file_name=file_name,
        error_count=n,
        more_errors=max(0, n - len(errors)),
        errors=errors,
    )


async def file_checked(problem_type: str, file_name: str, parse: Callable[[], R]) -> R:
    """Parse an uploaded list in a thread (``parse`` returns a result with ``ok``, ``errors``
    and ``error_count``); 422 ``problem_type`` with every line error, nothing written. Shared by
    every import (ledger, enrolment) in the API and the CLI."""
    try:
        result = await asyncio.to_thread(parse)
    except ledger_repo.LedgerFileError as exc:
        raise _file_problem(
            problem_type,
            file_name,
            exc.message,
            [error_json(RowError(1, None, exc.message, exc.message_zh))],
            1,
        ) from None
    except Exception as exc:  # a crafted archive failing inside zipfile/openpyxl
        log.warning("unreadable file %r: %s", file_name, type(exc).__name__)
        message = f"the file cannot be read ({type(exc).__name__}); save it as .xlsx or CSV"
        raise _file_problem(
            problem_type,
            file_name,
            message,
            [error_json(RowError(1, None, message, "无法读取该文件"))],
            1,
        ) from None
    n = result.error_count  # type: ignore[attr-defined]
    if n:
        errors = [error_json(e) for e in result.errors]  # type: ignore[attr-defined]
        raise _file_problem(problem_type, file_name, f"{n} error{'s' if n != 1 else ''}", errors, n)
    return result


async def check_file(
    session: AsyncSession, scope_path: str, default_place: str | None, file_name: str, data: bytes
) -> Checked:
    """Parse and check a ledger file against the database; 422 ``ledger-file-invalid`` with
    every line error, nothing written. Shared by the API and the CLI."""
    places = await ledger_repo.import_places(session, scope_path)
    result = await file_checked(
        "ledger-file-invalid",
        file_name,
        lambda: ledger_repo.read_ledger_bytes(
            data,
            file_name,
            places,
            today=today(),
            default_place=default_place if default_place in places else None,
        ),
    )
    existing = await ledger_repo.existing_cases(session, result.lines)
    errors: list[RowError] = []
    new, present = [], 0
    for ln in result.lines:
        found = existing.get(ln.line)
        if found is None:
            new.append(ln)
        elif found.in_assistance or found.case_id.startswith("LI"):
            present += 1  # already followed here (or waiting for its import to resume)
        else:
            errors.append(
                RowError(
                    ln.line,
                    "身份证号",
                    f"this person has an open case {found.case_id} ({found.status}) that is not "
                    "in assistance; finish or withdraw it first",
                    f"此人已有在办案件{found.case_id}（{found.status}），尚未进入援助，请先办结或撤回",
                )
            )
    if errors:
        raise _file_problem(
            "ledger-file-invalid",
            file_name,
            f"{len(errors)} error{'s' if len(errors) != 1 else ''}",
            [error_json(e) for e in errors[:100]],
            len(errors),
        )
    return Checked(result, new, present)


def check_may_import(actor: Actor) -> None:
    if actor.role not in IMPORT_ROLES:
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "a ledger import makes identified cases: county reviewers and administrators only",
        )


async def import_ledger(
    session: AsyncSession,
    temporal: Client | None,
    task_queue: str,
    actor: Actor,
    *,
    jurisdiction: str | None,
    file_name: str,
    data: bytes,
) -> LedgerImport:
    """Check the file, write the import in one transaction (committed here), start its
    assistances."""
    check_may_import(actor)
    place = await place_in_scope(session, actor, jurisdiction)
    checked = await check_file(session, place.path, place.code, file_name, data)
    now = datetime.now(UTC)
    entry = await ledger_repo.store_import(
        session,
        checked.result,
        checked.new,
        scope_code=place.code,
        scope_path=place.path,
        file_name=file_name,
        imported_by=actor.username,
        imported_by_id=actor.id,
        already_present=checked.already_present,
        now=now,
    )
    record_audit(
        session,
        now=now,
        actor_id=actor.id,
        action=AUDIT_IMPORT,
        object_type="ledger_import",
        object_id=str(entry.id),
        detail={
            "jurisdiction": place.code,
            "file_name": file_name,
            "created": entry.created,
            "already_present": entry.already_present,
            "skipped_exited": entry.skipped_exited,
        },
    )
    await release_before_workflow(session)  # the cases exist before their assistances start
    if temporal is not None:
        await resume_pending(session, temporal, task_queue, place.path)
        await session.refresh(entry)
    return entry


async def start_batch(
    temporal: Client, task_queue: str, entry: LedgerImport
) -> WorkflowHandle[Any, int] | None:
    """Start the workflow that starts a batch's assistances (idempotent by workflow id); None
    when Temporal cannot be reached (the batch stays pending, :func:`resume_pending` resumes
    it)."""
    from workflows.ledger_import import LedgerImportWorkflow

    handle = await gateway.start(
        temporal,
        LedgerImportWorkflow.run,
        LedgerImportInput(entry.id),
        id=entry.workflow_id,
        task_queue=task_queue,
    )
    if handle is None:  # Temporal away: the batch stays pending, resumed later
        log.warning("intake batch %s not started: Temporal unavailable", entry.id)
    return handle


async def resume_pending(
    session: AsyncSession, temporal: Client, task_queue: str, scope_path: str
) -> int:
    """Start the workflow of every batch (ledger import or enrolment) under ``scope_path`` that
    is still pending. Returns how many were started or found started."""
    started = 0
    for imp in await ledger_repo.list_imports(session, scope_path, 500):
        if imp.status != "pending":
            continue
        if await start_batch(temporal, task_queue, imp) is None:
            break
        started += 1
    return started


async def list_imports(session: AsyncSession, actor: Actor, limit: int) -> list[LedgerImport]:
    return await ledger_repo.list_imports(session, actor.jurisdiction_path, limit)


async def read_import_form(request: Request) -> tuple[str | None, str, bytes]:
    """(jurisdiction field, file name, content) of a multipart import request."""
    form = await read_form(request, MAX_UPLOAD_BYTES)
    if form.file_name is None:
        message = "a file part named 'file' is required"
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            f"body.file: {message}",
            errors=[{"field": "body.file", "message": message, "code": "missing"}],
        )
    jurisdiction = (form.fields.get("jurisdiction") or "").strip() or None
    return jurisdiction, form.file_name, form.data
