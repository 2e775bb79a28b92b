"""All SQL and file reading of the assistance ledger (帮扶台账):

- :func:`ledger_people`: the persons of a subtree in assistance, and those who exited since a
  day, with what the export shows (the projection the assistance workflow writes, the entries,
  subsidies and exits), in case-number order;
- :func:`read_ledger_bytes`: an office's ledger file (XLSX or CSV in UTF-8/GB18030/UTF-16,
  the department import's readers and rules) into :func:`domain.ledger.parse_ledger_rows`;
- :func:`import_places`, :func:`existing_cases`, :func:`store_import`: what an import checks
  and the one transaction that writes it (import row, cases, history events, lines);
- :func:`page`, :func:`progress`: what the ``LedgerImportWorkflow`` reads and writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import SHANGHAI, local_date
from domain.ids import ResidentIdError, parse_resident_id
from domain.labels import label
from domain.ledger import (
    ImportPlace,
    LedgerImportResult,
    LedgerLine,
    LedgerPerson,
    parse_ledger_rows as _parse_rows,
)
from domain.policy.model import PolicyPack
from domain.table_import import Cell, RowError, csv_rows
from domain.target_groups import DIFFICULTY_PERSON
from store import materials_repo, repos
from store.department_files import (
    DEFAULT_MAX_BYTES,
    DepartmentFileError,
    _check_not_html,
    _check_size,
    _is_xlsx,
    _open_workbook,
    _xlsx_rows,
    decode_csv_bytes,
)
from store.models import Case, CaseEvent, Jurisdiction
from store.models_assistance import (
    Assistance,
    AssistanceEntry,
    AssistanceExit,
    SubsidyGrantRow,
)
from store.models_ledger import LedgerImport, LedgerImportLine
from store.packs import pack_in_force, packs_in_force, pinned_pack

__all__ = [
    "LedgerFileError",
    "existing_cases",
    "import_places",
    "ledger_people",
    "page",
    "progress",
    "read_ledger_bytes",
    "store_batch",
    "store_import",
]

# The department import's file errors (too big, undecodable, not a workbook) are the ledger's.
LedgerFileError = DepartmentFileError
IMPORT_LEVELS = ("street", "community")
R = TypeVar("R")


# --- export ---------------------------------------------------------------------------------


def _sex_name(id_number: str) -> str:
    """性别 as the ledger prints it, read from the ID number by domain/ids.py (the one home of
    the sequence-code rule) and named by the labels catalogue; blank for an unreadable number."""
    try:
        return label("sex", parse_resident_id(id_number).sex)
    except ResidentIdError:
        return ""


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return local_date(value) if isinstance(value, datetime) else value


def _standards(snapshot: dict[str, Any]) -> tuple[tuple[str, str, bool], ...]:
    out = []
    for s in snapshot.get("standards", []):
        if not s.get("applies", True):
            continue
        detail = "、".join(
            f"{label('service_kind', q['kind'])}{q['delivered']}/{q['required']}"
            for q in s.get("quotas", [])
        )
        out.append((str(s.get("name", s.get("code"))), detail, bool(s.get("met"))))
    return tuple(out)


async def ledger_people(
    session: AsyncSession, scope_path: str, *, exited_since: date, limit: int
) -> list[LedgerPerson]:
    """The persons in assistance under ``scope_path`` and those who exited on or after
    ``exited_since``, at most ``limit``, by case number."""
    low, high = repos.path_range(scope_path)
    rows = (
        await session.execute(
            select(Case, Assistance, AssistanceExit, Jurisdiction.name)
            .join(Assistance, Assistance.case_id == Case.id)
            .outerjoin(AssistanceExit, AssistanceExit.case_id == Case.id)
            .join(Jurisdiction, Jurisdiction.code == Case.jurisdiction_code)
            .where(Case.jurisdiction_path >= low, Case.jurisdiction_path < high)
            .where(
                or_(
                    Assistance.status == "active",
                    and_(
                        AssistanceExit.case_id.is_not(None),
                        AssistanceExit.exited_on >= exited_since,
                    ),
                )
            )
            .order_by(Case.id)
            .limit(limit)
        )
    ).all()
    ids = [r[0].id for r in rows]
    own: dict[str, datetime] = {}
    subsidies: dict[str, list[tuple[str, int, int]]] = {}
    for chunk in _chunks(ids, 500):
        own.update(
            (
                await session.execute(
                    select(AssistanceEntry.case_id, func.max(AssistanceEntry.at))
                    .where(
                        AssistanceEntry.case_id.in_(chunk),
                        AssistanceEntry.kind == "contact",
                        AssistanceEntry.own.is_(True),
                    )
                    .group_by(AssistanceEntry.case_id)
                )
            ).all()
        )
        for g in await session.scalars(
            select(SubsidyGrantRow)
            .where(SubsidyGrantRow.case_id.in_(chunk))
            .order_by(SubsidyGrantRow.granted_at, SubsidyGrantRow.id)
        ):
            subsidies.setdefault(g.case_id, []).append((g.kind, g.months, g.monthly_fen))
    held = await materials_repo.held_per_case(session, ids)
    out: list[LedgerPerson] = []
    for case, row, exit_row, place_name in rows:
        snap = row.snapshot or {}
        plan = snap.get("plan") or {}
        pack = await pinned_pack(session, case)
        categories = {c.code: c.name for c in pack.categories}
        out.append(
            LedgerPerson(
                case_id=case.id,
                name=case.applicant_name,
                id_number=case.id_number,
                sex=_sex_name(case.id_number),
                place_code=case.jurisdiction_code,
                place_name=place_name,
                category_name=categories.get(case.category_code or "", case.category_code or ""),
                identified_on=_day(case.identified_at),
                status="exited" if row.status == "exited" else "active",
                intentions=str(plan.get("intentions") or ""),
                planned_services=tuple(plan.get("services") or ()),
                services={k: int(v) for k, v in (snap.get("services") or {}).items()},
                standards=_standards(snap),
                contacts=int(snap.get("contacts", 0)),
                last_contact_on=_day(snap.get("last_contact_at")),
                last_own_contact_on=_day(own.get(case.id)),
                subsidies=tuple(subsidies.get(case.id, ())),
                exit_reason=exit_row.reason_name if exit_row else "",
                exited_on=exit_row.exited_on if exit_row else None,
                materials=tuple(
                    (e.name, held[case.id][e.code])
                    for e in pack.evidence
                    if held.get(case.id, {}).get(e.code)
                ),
            )
        )
    return out


def _chunks(items: Sequence[str], n: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


# --- reading a file -------------------------------------------------------------------------


def _csv_rows(text: str) -> Iterator[tuple[int, Sequence[Cell]] | RowError]:
    return csv_rows(text.removeprefix("\ufeff"))


def read_table_bytes(
    data: bytes,
    file_name: str,
    parse: Callable[[Iterable[tuple[int, Sequence[Cell]] | RowError]], R],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> R:
    """Parse an uploaded list of persons with ``parse``: XLSX recognised by its content (the
    first sheet; formula cells arrive as their formula text and are rejected), anything else
    CSV. File-level problems raise :class:`LedgerFileError`. CPU-bound: call it in a thread
    from async code."""
    # The department import's readers: the same encodings, size and zip-bomb limits, and the
    # same refusal of old .xls and of HTML passed off as a spreadsheet.
    _check_size(len(data), max_bytes)
    if _is_xlsx(data, file_name):
        workbook = _open_workbook(data, max_bytes)
        try:
            if not workbook.worksheets:
                raise LedgerFileError("the workbook has no worksheet", "工作簿中没有工作表")
            return parse(enumerate(_xlsx_rows(workbook), start=1))
        finally:
            workbook.close()
    text = decode_csv_bytes(data)
    _check_not_html(text)
    return parse(_csv_rows(text))


def read_ledger_bytes(
    data: bytes,
    file_name: str,
    places: dict[str, ImportPlace],
    *,
    today: date,
    default_place: str | None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LedgerImportResult:
    """Parse an uploaded ledger (:func:`read_table_bytes`)."""
    return read_table_bytes(
        data,
        file_name,
        lambda rows: _parse_rows(rows, places, today=today, default_place=default_place),
        max_bytes=max_bytes,
    )


# --- importing ------------------------------------------------------------------------------


async def import_places(session: AsyncSession, scope_path: str) -> dict[str, ImportPlace]:
    """The streets/townships and communities under ``scope_path`` that a pack applies to
    (their own or an ancestor's), with the pack's categories."""
    low, high = repos.path_range(scope_path)
    places = list(
        await session.scalars(
            select(Jurisdiction).where(
                Jurisdiction.path >= low,
                Jurisdiction.path < high,
                Jurisdiction.level.in_(IMPORT_LEVELS),
            )
        )
    )
    out: dict[str, ImportPlace] = {}
    packs = await packs_in_force(session)
    for j in places:
        try:
            pack_id = repos.filing_pack_id(await repos.ancestors(session, j))
        except repos.NoPolicyPack:
            continue
        pack = packs.find(pack_id)
        if pack is None:  # a place naming a pack not in force
            continue
        out[j.code] = ImportPlace(
            j.code, j.name, pack.id, {c.code: c.name for c in pack.categories}
        )
    return out


@dataclass(frozen=True)
class Existing:
    case_id: str
    status: str
    in_assistance: bool


async def existing_cases(session: AsyncSession, lines: Sequence[LedgerLine]) -> dict[int, Existing]:
    """For each line (by line number), the open case the same person already has under the
    same pack (the case's ``open_key``), if any."""
    keys = {f"{ln.pack_id}:{ln.id_number}": ln.line for ln in lines}
    out: dict[int, Existing] = {}
    items = list(keys)
    for chunk in _chunks(items, 500):
        found = (
            await session.execute(
                select(Case.open_key, Case.id, Case.status, Assistance.case_id)
                .outerjoin(Assistance, Assistance.case_id == Case.id)
                .where(Case.open_key.in_(chunk))
            )
        ).all()
        for open_key, case_id, status, assisted in found:
            out[keys[str(open_key)]] = Existing(case_id, status, assisted is not None)
    return out


# What a batch's cases are, by kind: a ledger's persons are identified difficulty persons; an
# enrolment's are members of another of Shandong's target groups (no identification, 山东 二).
_CASE_PREFIX = {"ledger": "LI", "enrolment": "EN"}
_CHANNEL = {"ledger": "ledger_import", "enrolment": "enrolment"}
_STATUS = {"ledger": "identified", "enrolment": "enrolled"}
# The case's workflow id names no running workflow (its assistance runs as assistance-<case>).
_WORKFLOW_PREFIX = {"ledger": "imported", "enrolment": "enrolled"}


def batch_token() -> str:
    """A batch's random mark, in its workflow id and its case numbers: the database's row
    number alone would name the same workflows again after a database is restored from an
    older backup or replaced while Temporal keeps its history."""
    return "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(4))


def case_id_for(import_id: int, line: int, kind: str, token: str) -> str:
    """A batch person's case number: the batch, its mark and the file line (no personal
    data)."""
    return f"{_CASE_PREFIX[kind]}{import_id:07d}{token}-{line:06d}"


def open_key_for(pack_id: str, id_number: str, target_group: str = DIFFICULTY_PERSON) -> str:
    """The key that keeps one open case per person and pack (and, for an enrolled target
    group, per group: enrolment neither blocks nor is blocked by an application)."""
    base = f"{pack_id}:{id_number}"
    return base if target_group == DIFFICULTY_PERSON else f"{base}:{target_group}"


@dataclass(frozen=True)
class BatchPerson:
    """A person an intake batch (a ledger import or an enrolment) makes a case of, with the
    history the assistance starts from and the case timeline's first event."""

    line: int
    name: str
    id_number: str
    place_code: str
    pack_id: str
    identified_on: date
    event_kind: str
    event_summary: str
    event_after: dict[str, Any]
    category_code: str | None = None
    target_group: str = DIFFICULTY_PERSON
    facts: dict[str, Any] = field(default_factory=dict)
    intentions: str = ""
    planned: tuple[str, ...] = ()
    services: Mapping[str, int] = field(default_factory=dict)
    contacts: int = 0
    last_own_contact_on: date | None = None
    note: str = ""


async def store_batch(
    session: AsyncSession,
    people: Sequence[BatchPerson],
    *,
    kind: str,
    scope_code: str,
    scope_path: str,
    file_name: str,
    by: str,
    by_id: int | None,
    already_present: int,
    skipped_exited: int,
    now: datetime,
    emergency_id: int | None = None,
) -> tuple[LedgerImport, list[str]]:
    """Write the batch, one case per person with its timeline event and its history line, in
    the caller's transaction (nothing is stored unless it commits). Returns the batch and the
    people's case numbers."""
    from domain.vocabulary import ledger_import_workflow_id

    entry = LedgerImport(
        jurisdiction_code=scope_code,
        jurisdiction_path=scope_path,
        file_name=file_name,
        imported_by=by,
        imported_by_id=by_id,
        imported_at=now,
        created=len(people),
        already_present=already_present,
        skipped_exited=skipped_exited,
        started=0,
        status="pending" if people else "done",
        workflow_id="",
        finished_at=None if people else now,
        kind=kind,
        emergency_id=emergency_id,
    )
    session.add(entry)
    await session.flush()
    token = batch_token()
    entry.workflow_id = ledger_import_workflow_id(entry.id, token)
    case_ids = [case_id_for(entry.id, p.line, kind, token) for p in people]
    places: dict[str, Jurisdiction] = {}
    packs: dict[str, PolicyPack] = {}
    for p, case_id in zip(people, case_ids, strict=True):
        if p.place_code not in places:
            place = await repos.get_jurisdiction(session, p.place_code)
            assert place is not None  # the caller's checks found it
            places[p.place_code] = place
        if p.pack_id not in packs:
            pack = await pack_in_force(session, p.pack_id)
            packs[p.pack_id] = pack
            await repos.remember_pack_version(session, pack, now)
        place, pack = places[p.place_code], packs[p.pack_id]
        identified_at = datetime.combine(p.identified_on, time(12), SHANGHAI).astimezone(UTC)
        session.add(
            Case(
                id=case_id,
                workflow_id=f"{_WORKFLOW_PREFIX[kind]}-{case_id}",
                policy_pack_id=pack.id,
                policy_pack_ref=pack.ref,
                jurisdiction_code=place.code,
                jurisdiction_path=place.path,
                applicant_name=p.name,
                id_number=p.id_number,
                id_last4=p.id_number[-4:],
                facts=p.facts,
                channel=_CHANNEL[kind],
                status=_STATUS[kind],
                stage="assistance",
                category_code=p.category_code,
                open_key=open_key_for(pack.id, p.id_number, p.target_group),
                submitted_at=now,
                identified_at=identified_at,
                identified_by=by,
                identifying_agency="台账导入" if kind == "ledger" else None,
                updated_at=now,
            )
        )
        session.add(
            LedgerImportLine(
                case_id=case_id,
                import_id=entry.id,
                line=p.line,
                identified_on=p.identified_on,
                intentions=p.intentions,
                planned=list(p.planned),
                services=dict(p.services),
                contacts=p.contacts,
                last_own_contact_on=p.last_own_contact_on,
                note=p.note,
                target_group=p.target_group,
                started=False,
            )
        )
    await session.flush()  # cases before the events that name them (PostgreSQL checks FKs)
    for p, case_id in zip(people, case_ids, strict=True):
        session.add(
            CaseEvent(
                case_id=case_id,
                event_key=f"{case_id}/{p.event_kind}",
                at=now,
                actor=by,
                kind=p.event_kind,
                summary=p.event_summary,
                before=None,
                after={"import_id": entry.id, "line": p.line, **p.event_after},
            )
        )
    await session.flush()
    return entry, case_ids


async def store_import(
    session: AsyncSession,
    result: LedgerImportResult,
    lines: Sequence[LedgerLine],
    *,
    scope_code: str,
    scope_path: str,
    file_name: str,
    imported_by: str,
    imported_by_id: int | None,
    already_present: int,
    now: datetime,
) -> LedgerImport:
    """Write a ledger import (:func:`store_batch`): one identified case per line."""
    people = [
        BatchPerson(
            line=ln.line,
            name=ln.name,
            id_number=ln.id_number,
            place_code=ln.place_code,
            pack_id=ln.pack_id,
            identified_on=ln.identified_on,
            category_code=ln.category_code,
            intentions=ln.intentions,
            planned=ln.planned,
            services=ln.services,
            contacts=ln.contacts,
            last_own_contact_on=ln.last_own_contact_on,
            note=ln.note,
            event_kind="ledger_imported",
            event_summary=f"由台账导入（{file_name} 第{ln.line}行），已认定，开始就业援助",
            event_after={
                "identified_on": ln.identified_on.isoformat(),
                "category": ln.category_code,
                "services": dict(ln.services),
                "contacts": ln.contacts,
                "last_own_contact_on": ln.last_own_contact_on.isoformat()
                if ln.last_own_contact_on
                else None,
                "intentions": ln.intentions,
                "planned": list(ln.planned),
                "note": ln.note,
            },
        )
        for ln in lines
    ]
    entry, _ = await store_batch(
        session,
        people,
        kind="ledger",
        scope_code=scope_code,
        scope_path=scope_path,
        file_name=file_name,
        by=imported_by,
        by_id=imported_by_id,
        already_present=already_present,
        skipped_exited=result.skipped_exited,
        now=now,
    )
    return entry


async def list_imports(session: AsyncSession, scope_path: str, limit: int) -> list[LedgerImport]:
    """The imports into places under ``scope_path``, newest first."""
    low, high = repos.path_range(scope_path)
    return list(
        await session.scalars(
            select(LedgerImport)
            .where(LedgerImport.jurisdiction_path >= low, LedgerImport.jurisdiction_path < high)
            .order_by(LedgerImport.imported_at.desc(), LedgerImport.id.desc())
            .limit(limit)
        )
    )


# --- the import workflow's reads and writes ---------------------------------------------------


async def page(
    session: AsyncSession, import_id: int, after: str | None, limit: int
) -> list[tuple[LedgerImportLine, Case]]:
    """The next lines of an import whose assistance has not started, by case number."""
    q = (
        select(LedgerImportLine, Case)
        .join(Case, Case.id == LedgerImportLine.case_id)
        .where(LedgerImportLine.import_id == import_id, LedgerImportLine.started.is_(False))
    )
    if after is not None:
        q = q.where(LedgerImportLine.case_id > after)
    rows = await session.execute(q.order_by(LedgerImportLine.case_id).limit(limit))
    return [(line, case) for line, case in rows.all()]


async def progress(
    session: AsyncSession, import_id: int, case_ids: Sequence[str], *, done: bool, at: datetime
) -> None:
    """Mark lines started (idempotent: a line counts once) and, at the end, the import done."""
    if case_ids:
        marked = await session.execute(
            update(LedgerImportLine)
            .where(
                LedgerImportLine.case_id.in_(list(case_ids)),
                LedgerImportLine.started.is_(False),
            )
            .values(started=True)
        )
        n = int(getattr(marked, "rowcount", 0) or 0)
        await session.execute(
            update(LedgerImport)
            .where(LedgerImport.id == import_id)
            .values(started=LedgerImport.started + n, status="running")
        )
    if done:
        await session.execute(
            update(LedgerImport)
            .where(LedgerImport.id == import_id)
            .values(status="done", finished_at=at)
        )
