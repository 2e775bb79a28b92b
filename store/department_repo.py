"""Department lists in the database: replacing a list with a new import, and reading a person's
records for the identification check.

:func:`replace_list` works inside the caller's transaction and never commits: the caller's
``session.begin()`` makes the delete of the old records, the insert of the new ones and the
import row one atomic change (on any error the rollback leaves the previous list untouched).
On PostgreSQL a transaction-scoped advisory lock per list kind serialises concurrent imports of
the same kind (otherwise both could delete the same old rows and both insert, doubling the
list); SQLite serialises writers by itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.department_data import DepartmentList, DepartmentRecord, findings_for
from domain.department_import import ImportedRecord
from domain.facts import DataFinding
from domain.ids import ResidentIdError, parse_resident_id
from store.models_department import DepartmentImport, DepartmentRecordRow

__all__ = [
    "BATCH_SIZE",
    "imported_findings",
    "imported_kinds",
    "latest_imports",
    "list_imports",
    "record_rows_for",
    "records_for",
    "replace_list",
]

# Rows per executemany. SQLAlchemy splits further per statement as each driver needs
# ("insertmanyvalues"); this bounds the memory of the parameter lists.
BATCH_SIZE = 5000

# First key of the PostgreSQL advisory lock (the second is the list kind's CRC-32).
_LOCK_NAMESPACE = 0x59_5A_44_4C  # "YZDL"


def _lock_key(kind: DepartmentList) -> int:
    key = zlib.crc32(kind.value.encode())
    return key - (1 << 32) if key >= 1 << 31 else key  # int4


async def replace_list(
    session: AsyncSession,
    kind: DepartmentList,
    records: Sequence[ImportedRecord],
    *,
    file_name: str,
    imported_by: str,
    now: datetime,
) -> DepartmentImport:
    """Replace every record of ``kind`` with ``records`` and log the import. Runs in the
    caller's transaction (commit is the caller's); ``records`` are expected to be validated
    (:mod:`domain.department_import`), and a record the database refuses makes the whole
    transaction fail. ``replaces_previous``/``replaced_rows`` say what was there before."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :key)"),
            {"ns": _LOCK_NAMESPACE, "key": _lock_key(kind)},
        )
    deleted = await session.execute(
        delete(DepartmentRecordRow).where(DepartmentRecordRow.list_kind == kind.value)
    )
    replaced = max(deleted.rowcount or 0, 0)  # type: ignore[attr-defined]
    previous = await session.scalar(
        select(func.count())
        .select_from(DepartmentImport)
        .where(DepartmentImport.list_kind == kind.value)
    )
    entry = DepartmentImport(
        list_kind=kind.value,
        file_name=file_name[:255],
        rows=len(records),
        imported_at=now,
        imported_by=imported_by[:100],
        replaces_previous=bool(previous) or replaced > 0,
        replaced_rows=replaced,
    )
    session.add(entry)
    await session.flush()
    table = cast(Table, DepartmentRecordRow.__table__)
    for start in range(0, len(records), BATCH_SIZE):
        batch: list[dict[str, Any]] = [
            {
                "import_id": entry.id,
                "list_kind": kind.value,
                "id_number": r.id_number,
                "name": r.name,
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
                "jurisdiction_code": r.jurisdiction_code,
                "detail": dict(r.detail),
            }
            for r in records[start : start + BATCH_SIZE]
        ]
        # Core insert (no ORM identity map): one executemany per batch.
        await session.execute(insert(table), batch)
    return entry


def _normalise(id_number: str) -> str:
    try:
        return parse_resident_id(id_number).number
    except ResidentIdError:
        return id_number.strip().upper()


async def record_rows_for(session: AsyncSession, id_number: str) -> list[DepartmentRecordRow]:
    """The stored rows for a person (15- or 18-character number), all kinds."""
    rows = await session.scalars(
        select(DepartmentRecordRow)
        .where(DepartmentRecordRow.id_number == _normalise(id_number))
        .order_by(DepartmentRecordRow.list_kind, DepartmentRecordRow.id)
    )
    return list(rows)


def _kind(value: str) -> DepartmentList | None:
    try:
        return DepartmentList(value)
    except ValueError:
        return None  # a kind this version does not know (written by a newer one): ignore


async def records_for(session: AsyncSession, id_number: str) -> list[DepartmentRecord]:
    """A person's records on every imported list."""
    out = []
    for row in await record_rows_for(session, id_number):
        kind = _kind(row.list_kind)
        if kind is not None:
            out.append(DepartmentRecord(kind, row.id_number, row.valid_from, row.valid_to))
    return out


async def imported_kinds(session: AsyncSession) -> set[DepartmentList]:
    """The kinds of list that have been imported at least once."""
    values = await session.scalars(select(DepartmentImport.list_kind).distinct())
    return {k for k in map(_kind, values) if k is not None}


async def imported_findings(session: AsyncSession, id_number: str, on: date) -> list[DataFinding]:
    """What the imported lists say of a person on a date (:func:`findings_for`). Read in one
    transaction (the caller's), so that the records and the set of imported kinds are of one
    snapshot: an import committing in between cannot make a fresh list look "not imported"."""
    kinds = await imported_kinds(session)
    if not kinds:
        return []  # lists never imported say nothing: no person's records need reading
    return findings_for(await records_for(session, id_number), on, kinds)


async def list_imports(session: AsyncSession) -> list[DepartmentImport]:
    """Every import, newest first."""
    rows = await session.scalars(
        select(DepartmentImport).order_by(
            DepartmentImport.imported_at.desc(), DepartmentImport.id.desc()
        )
    )
    return list(rows)


async def latest_imports(session: AsyncSession) -> dict[DepartmentList, DepartmentImport]:
    """The latest import of each kind (the one whose records are in the table)."""
    out: dict[DepartmentList, DepartmentImport] = {}
    for row in await list_imports(session):
        kind = _kind(row.list_kind)
        if kind is not None and kind not in out:
            out[kind] = row
    return out
