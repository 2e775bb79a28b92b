"""Importing department lists (部门信息共享), shared by ``yuanzhu department import`` and
``POST /api/v1/department/imports/{kind}``.

One implementation of the operation: the file is parsed (:func:`parse_upload` for bytes,
:func:`store.department_files.read_department_file` for a path; both end in the same parser),
and only a file without a single line error is stored by :func:`store_list`, which replaces
every record of the kind in the caller's transaction (:func:`store.department_repo.replace_list`)
and, for an application account, writes the audit entry. :func:`import_json` and
:func:`error_json` are the one JSON form of an import and of a line error, for the CLI's
``--json`` and the API.

Who may import what: a list is a department's full snapshot of its kind and one deployment
holds one list per kind (the records are not partitioned by place), so any administrator may
import any kind; the import row names them and the audit log records it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.department_data import DepartmentList
from domain.department_import import ParseResult, RowError
from store.audit import record_audit
from store.department_files import DEFAULT_MAX_BYTES, parse_department_bytes
from store.department_repo import replace_list
from store.models_department import DepartmentImport

__all__ = [
    "AUDIT_ACTION",
    "error_json",
    "import_json",
    "list_imports",
    "parse_upload",
    "store_list",
]

AUDIT_ACTION = "department_list_imported"


def parse_upload(
    data: bytes,
    file_name: str,
    kind: DepartmentList,
    *,
    today: date,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParseResult:
    """Parse an uploaded file's bytes (CSV in UTF-8/GBK or XLSX). File-level problems raise
    :class:`store.department_files.DepartmentFileError`; line problems are in the result.
    CPU-bound: call it in a worker thread from async code."""
    return parse_department_bytes(data, file_name, kind, max_bytes=max_bytes, today=today)


async def store_list(
    session: AsyncSession,
    result: ParseResult,
    *,
    file_name: str,
    imported_by: str,
    now: datetime,
    audit_actor_id: int | None = None,
) -> DepartmentImport:
    """Replace the kind's records with a valid file's records and log the import, in the
    caller's transaction (nothing is stored unless it commits). With ``audit_actor_id`` (an
    application account: the API) an audit entry is written too; the CLI's import row names
    the shell user in ``imported_by``."""
    if not result.ok:
        raise ValueError("a file with line errors is never stored")
    entry = await replace_list(
        session,
        result.kind,
        result.records,
        file_name=file_name,
        imported_by=imported_by,
        now=now,
    )
    if audit_actor_id is not None:
        record_audit(
            session,
            now=now,
            actor_id=audit_actor_id,
            action=AUDIT_ACTION,
            object_type="department_list",
            object_id=result.kind.value,
            detail={
                "import_id": entry.id,
                "by": imported_by,
                "file_name": entry.file_name,
                "records": entry.rows,
                "replaced": entry.replaced_rows,
            },
        )
        await session.flush()
    return entry


async def list_imports(
    session: AsyncSession, *, kind: DepartmentList | None = None, limit: int = 100
) -> list[DepartmentImport]:
    """The imports, newest first (optionally of one kind), at most ``limit``."""
    query = select(DepartmentImport).order_by(
        DepartmentImport.imported_at.desc(), DepartmentImport.id.desc()
    )
    if kind is not None:
        query = query.where(DepartmentImport.list_kind == kind.value)
    return list(await session.scalars(query.limit(limit)))


def import_json(imp: DepartmentImport) -> dict[str, Any]:
    """An import as JSON (the CLI's ``--json`` and the API)."""
    return {
        "import_id": imp.id,
        "list": imp.list_kind,
        "file_name": imp.file_name,
        "records": imp.rows,
        "imported_at": imp.imported_at.isoformat(),
        "imported_by": imp.imported_by,
        "replaces_previous": imp.replaces_previous,
        "replaced": imp.replaced_rows,
    }


def error_json(e: RowError) -> dict[str, Any]:
    """A line error as JSON: ``line`` (1-based file line), ``column`` (the header as written,
    or None for the whole line), ``message`` and ``message_zh``."""
    return {"line": e.line, "column": e.column, "message": e.message, "message_zh": e.message_zh}
