"""Reference data for the API: the working-day calendar, department list imports and policy
packs. The operations themselves are the CLI's (:mod:`store.calendar_admin`,
:mod:`store.department_admin`, :mod:`store.policy_admin`); this module adds what belongs to
HTTP: who may do what, reading request bodies within a size limit, and turning the domain's
errors into problems.

Who may do what:

- reading (calendar, imports, packs) is for every authenticated user: the calendar and the
  packs are public rules officers look up, and the import list says how fresh the department
  data behind a data check is (no personal data is listed);
- loading a calendar year is for an administrator at the root jurisdiction only (000000): the
  working-day calendar is national (the State Council's annual notice), and one table serves
  every region; any other administrator gets 403 ``actor-not-allowed``;
- importing a department list is for any administrator (see :mod:`store.department_admin`: a
  deployment holds one list per kind, replaced whole).

After a year is stored and committed, the running cases with a provisional clock are told to
recompute (:func:`application.calendar_sync.signal_provisional_clocks`, as ``yuanzhu calendar
recompute``). When Temporal cannot be reached, or does not finish within
:data:`RECOMPUTE_TIMEOUT`, the year stays stored and the answer says the recompute is pending
(the route answers 202); ``yuanzhu calendar recompute`` or loading the year again completes
it, because a recompute is idempotent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from application.actor import Actor
from application.calendar_sync import signal_provisional_clocks
from application.errors import Problem, not_found
from application.services import release_before_workflow
from domain.calendar import SHANGHAI, CalendarDataError, YearTable
from domain.department_data import DepartmentList
from domain.department_import import ParseResult
from store import calendar_admin, department_admin, policy_admin, repos
from store.calendar_repo import effective_calendar
from store.department_files import DEFAULT_MAX_BYTES, DepartmentFileError
from store.department_repo import latest_imports
from store.models import PolicyPackVersion
from store.models_department import DepartmentImport
from store.packs import packs_in_force

__all__ = [
    "MAX_TABLE_BYTES",
    "MAX_UPLOAD_BYTES",
    "RECOMPUTE_TIMEOUT",
    "ImportRow",
    "Recompute",
    "day_reason",
    "diff_packs",
    "import_department_list",
    "is_root",
    "list_imports",
    "load_year",
    "pack_listings",
    "pack_outline",
    "pack_versions",
    "parse_day",
    "parse_path_day",
    "read_upload",
    "working_days",
]

log = logging.getLogger(__name__)

# A year's table is a few hundred bytes of dates; anything near this is not one.
MAX_TABLE_BYTES = 64 * 1024
# The department file limit (the CLI's) plus room for the multipart envelope.
MAX_UPLOAD_BYTES = DEFAULT_MAX_BYTES
_ENVELOPE_BYTES = 64 * 1024
RECOMPUTE_TIMEOUT = 30.0

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# "holidays[3]: '2027-02-30' is not a date" -> field "holidays[3]".
_FIELD_MESSAGE = re.compile(r"([a-z_]+(?:\[\d+\])?): (.+)", re.DOTALL)


def _invalid(field: str, message: str, code: str = "invalid", **extra: Any) -> Problem:
    """422 ``validation-error`` in the shape of the request validator's."""
    error: dict[str, Any] = {"field": field, "message": message, "code": code, **extra}
    return Problem(
        422, "validation-error", "Invalid request", f"{field}: {message}", errors=[error]
    )


def parse_day(text: str, field: str) -> date:
    """A ``YYYY-MM-DD`` date (422 naming ``field`` otherwise)."""
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise _invalid(field, f"{text[:40]!r} is not a valid date (YYYY-MM-DD)", "date") from None


def parse_path_day(text: str) -> date:
    """A ``YYYY-MM-DD`` date from the path; a path that names no date (2024-02-30) is not
    found, as the app answers every path parameter that cannot name anything."""
    try:
        return parse_day(text, "path.day")
    except Problem:
        raise not_found("date", text[:40]) from None


def is_root(actor: Actor) -> bool:
    """True for a user at the top of the jurisdiction tree (000000 全国)."""
    return repos.is_root_path(actor.jurisdiction_path)


# -- calendar --------------------------------------------------------------------------------


def today() -> date:
    """Today in Shanghai (the calendar's time zone)."""
    return datetime.now(SHANGHAI).date()


async def working_days(session: AsyncSession, start: date, n: int) -> calendar_admin.WorkingDays:
    """The ``n`` working days after ``start`` on the effective calendar."""
    cal = await effective_calendar(session)
    try:
        return calendar_admin.working_days(cal, start, n)
    except OverflowError:
        raise _invalid(
            "query.n", f"{n} working days after {start.isoformat()} is beyond the year 9999"
        ) from None


async def day_reason(session: AsyncSession, d: date) -> calendar_admin.DayReason:
    """Whether ``d`` is a working day and why, on the effective calendar."""
    return calendar_admin.day_reason(await effective_calendar(session), d)


@dataclass(frozen=True)
class Recompute:
    """What happened to the provisional deadlines after a load."""

    status: Literal["done", "pending"]
    signalled: int | None
    detail: str


async def _limited_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 ``payload-too-large`` past ``limit`` bytes (checked against
    Content-Length first, then while reading, for bodies sent without one)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise Problem(400, "bad-request", "Bad request", "the client disconnected") from None
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    shown = f"{limit // 1024} KiB" if limit < 1024 * 1024 else f"{limit // (1024 * 1024)} MiB"
    return Problem(
        413, "payload-too-large", "Payload too large", f"the request body is larger than {shown}"
    )


def _table_from_body(body: bytes, year: int, *, source: str) -> YearTable:
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise _invalid(
            "body",
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            "json_invalid",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except (ValueError, RecursionError):  # undecodable bytes; absurd nesting
        raise _invalid("body", "not valid JSON (UTF-8)", "json_invalid") from None
    try:
        table = calendar_admin.parse_table(data, source=source)
    except CalendarDataError as exc:
        match = _FIELD_MESSAGE.fullmatch(str(exc))
        field, message = (match[1], match[2]) if match else ("body", str(exc))
        raise _invalid(field, message, "calendar_table") from None
    if table.year != year:
        raise _invalid(
            "year", f"the table is for {table.year} but the path says {year}", "year_mismatch"
        )
    return table


def _only_root(actor: Actor) -> None:
    if not is_root(actor):
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "the working-day calendar is national (State Council notice): only an administrator "
            "at the root jurisdiction 000000 may load a year",
        )


async def load_year(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client | None,
    actor: Actor,
    year: int,
    request: Request,
) -> tuple[calendar_admin.YearSummary, Recompute]:
    """``PUT /calendar/years/{year}``: the JSON body is the year's table."""
    _only_root(actor)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the year's table as application/json",
        )
    body = await _limited_body(request, MAX_TABLE_BYTES)
    return await load_year_table(session, sessions, temporal, actor, year, body, source="API")


async def load_year_table(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client | None,
    actor: Actor,
    year: int,
    body: bytes,
    *,
    source: str,
) -> tuple[calendar_admin.YearSummary, Recompute]:
    """Validate a year's table (JSON bytes, for ``year``; only a root administrator), store
    it (committed), then have the running cases recompute their provisional deadlines.
    ``source`` says how it came (API, page upload) in the stored table."""
    _only_root(actor)
    if len(body) > MAX_TABLE_BYTES:
        raise _too_large(MAX_TABLE_BYTES)
    table = _table_from_body(body, year, source=f"imported through the {source}")
    summary = await calendar_admin.store_year(
        session, table, loaded_by=actor.username, now=datetime.now(UTC), audit_actor_id=actor.id
    )
    # Committed before the cases are told: their recompute reads the table from the database.
    await release_before_workflow(session)
    return summary, await _recompute(temporal, sessions)


async def _recompute(
    temporal: Client | None, sessions: async_sessionmaker[AsyncSession]
) -> Recompute:
    later = "run 'yuanzhu calendar recompute' when it is back (or load the year again)"
    if temporal is None:
        return Recompute(
            "pending", None, f"the workflow engine cannot be reached; the year is stored; {later}"
        )
    try:
        # signal_provisional_clocks counts a failed signal as a case that has finished since;
        # ask the server first, so that an outage is reported as pending rather than "done".
        await temporal.workflow_service.get_system_info(
            GetSystemInfoRequest(), retry=False, timeout=timedelta(seconds=5)
        )
        told = await asyncio.wait_for(
            signal_provisional_clocks(temporal, sessions), timeout=RECOMPUTE_TIMEOUT
        )
    except Exception as exc:  # unreachable, timed out: the year is stored all the same
        return Recompute(
            "pending",
            None,
            f"the workflow engine did not take the recompute ({type(exc).__name__}); "
            f"the year is stored; {later}",
        )
    return Recompute("done", told, f"{told} running case(s) recompute their provisional deadlines")


# -- department lists ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    """An import and whether it is its kind's list in use."""

    entry: DepartmentImport
    current: bool  # its records are the ones in use (the latest import of its kind)


async def list_imports(
    session: AsyncSession, kind: DepartmentList | None, limit: int
) -> list[ImportRow]:
    """The imports, newest first, each marked when it is its kind's list in use."""
    rows = await department_admin.list_imports(session, kind=kind, limit=limit)
    latest = {imp.id for imp in (await latest_imports(session)).values()}
    return [ImportRow(r, r.id in latest) for r in rows]


def _file_name(raw: str | None) -> str:
    # Only the last path component, printable, bounded: it is shown back to administrators.
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "upload"


async def _chunks(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


@dataclass
class UploadForm:
    """A multipart form: its text fields and its ``file`` part (empty when no file was chosen;
    a browser sends an empty part with an empty name then)."""

    fields: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None
    data: bytes = b""
    # Further file parts a form names (``files=`` of :func:`read_form`): name -> (file, data).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


async def read_form(
    request: Request, max_file_bytes: int, *, files: tuple[str, ...] = ()
) -> UploadForm:
    """A multipart/form-data body, its ``file`` part at most ``max_file_bytes``: 415 for
    another content type, 413 past the limit (checked while the body is read, before anything
    is parsed), 422 for a body that is not valid multipart. The API sends the file alone; a
    page's form carries its other fields (CSRF token, list kind, year) too."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the file as multipart/form-data with a part named 'file'",
        )
    body = await _limited_body(request, max_file_bytes * (1 + len(files)) + _ENVELOPE_BYTES)
    parser = MultiPartParser(
        request.headers, _chunks(body), max_files=1 + len(files), max_fields=10
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise _invalid(
            "body", f"not valid multipart/form-data: {exc.message}", "multipart"
        ) from None
    except Exception:  # the multipart library's own errors on a malformed body
        raise _invalid("body", "not valid multipart/form-data", "multipart") from None
    out = UploadForm()
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                if key == "file" and (value.filename or data):
                    out.data, out.file_name = data, _file_name(value.filename)
                elif key in files and (value.filename or data):
                    out.files[key] = (_file_name(value.filename), data)
            else:
                out.fields.setdefault(key, value)
    finally:
        await form.close()
    if any(len(d) > max_file_bytes for d in (out.data, *(d for _, d in out.files.values()))):
        raise _too_large(max_file_bytes)
    return out


async def read_upload(request: Request) -> tuple[str, bytes]:
    """The API's upload: the ``file`` part of a multipart/form-data body, (file name,
    content), at most ``MAX_UPLOAD_BYTES``; 422 when the part is missing."""
    form = await read_form(request, MAX_UPLOAD_BYTES)
    if form.file_name is None:
        raise _invalid("body.file", "a file part named 'file' is required", "missing")
    return form.file_name, form.data


def _unreadable(file_name: str, message: str, message_zh: str) -> Problem:
    return Problem(
        422,
        "department-file-invalid",
        "Invalid department file",
        f"{file_name}: {message}; nothing was imported",
        file_name=file_name,
        message_zh=message_zh,
        error_count=0,
        more_errors=0,
        errors=[],
    )


def _rejected(file_name: str, result: ParseResult) -> Problem:
    n = result.error_count
    return Problem(
        422,
        "department-file-invalid",
        "Invalid department file",
        f"{file_name}: {n} error{'s' if n != 1 else ''}; nothing was imported",
        file_name=file_name,
        error_count=n,
        more_errors=result.more_errors,
        # The shape every 422's errors have (field, message, code) plus the file's line,
        # column (the header as written) and the Chinese message.
        errors=[
            {**department_admin.error_json(e), "field": "body.file", "code": "line_error"}
            for e in result.errors
        ],
    )


async def import_department_list(
    session: AsyncSession, actor: Actor, kind: DepartmentList, file_name: str, data: bytes
) -> DepartmentImport:
    """Parse the file; if every line is valid, replace the kind's records (one transaction,
    committed with the request, before its answer) and write the audit entry. 422
    ``department-file-invalid`` with the line errors otherwise, nothing stored."""
    try:
        result = await asyncio.to_thread(
            department_admin.parse_upload, data, file_name, kind, today=today()
        )
    except DepartmentFileError as exc:
        raise _unreadable(file_name, exc.message, exc.message_zh) from None
    except Exception as exc:
        # A crafted archive can fail inside zipfile/zlib/openpyxl in ways the reader does not
        # name (zlib.error, EOFError, NotImplementedError...): still the file's fault.
        log.warning("unreadable department file %r: %s", file_name, type(exc).__name__)
        raise _unreadable(
            file_name,
            f"the file cannot be read ({type(exc).__name__}); save it again as .xlsx or CSV",
            "无法读取该文件，请另存为.xlsx或CSV后重试",
        ) from None
    if not result.ok:
        raise _rejected(file_name, result)
    entry = await department_admin.store_list(
        session,
        result,
        file_name=file_name,
        imported_by=actor.username,
        now=datetime.now(UTC),
        audit_actor_id=actor.id,
    )
    return entry


# -- policy packs ----------------------------------------------------------------------------


def _unknown(exc: policy_admin.UnknownPackRefError) -> Problem:
    return Problem(404, "not-found", "Not found", str(exc), known=exc.known, versions=exc.versions)


async def pack_listings(session: AsyncSession) -> list[policy_admin.PackListing]:
    """Every pack in force: its identity, by id."""
    packs = await packs_in_force(session)
    return [policy_admin.pack_listing(packs.get(pack_id)) for pack_id in packs.ids()]


async def pack_outline(
    session: AsyncSession, pack_id: str
) -> tuple[policy_admin.PackOutline, dict[str, Any]]:
    """The pack in force: its outline and its full merged JSON (what a case pins)."""
    pack = await policy_admin.in_force(session, pack_id)
    if pack is None:
        raise _unknown(
            policy_admin.UnknownPackRefError(
                f"policy pack {pack_id!r}", await policy_admin.ids_in_force(session), []
            )
        )
    return policy_admin.pack_outline(pack), pack.to_json()


async def pack_versions(
    session: AsyncSession, pack_id: str
) -> tuple[str | None, list[tuple[PolicyPackVersion, bool]]]:
    """(ref in force or None, the stored versions newest first with "is in force")."""
    pack = await policy_admin.in_force(session, pack_id)
    rows = await policy_admin.pinned_versions(session, pack_id)
    if pack is None and not rows:
        raise _unknown(
            policy_admin.UnknownPackRefError(
                f"policy pack {pack_id!r}", await policy_admin.ids_in_force(session), []
            )
        )
    current = pack.content_hash if pack is not None else None
    return (pack.ref if pack else None), [(r, r.content_hash == current) for r in rows]


async def diff_packs(
    session: AsyncSession, from_ref: str, to_ref: str
) -> tuple[policy_admin.ResolvedPack, policy_admin.ResolvedPack, list[dict[str, Any]]]:
    """The changes from one version to another (404 naming the known packs otherwise)."""
    try:
        a = await policy_admin.resolve_ref(session, from_ref)
        b = await policy_admin.resolve_ref(session, to_ref)
    except policy_admin.UnknownPackRefError as exc:
        raise _unknown(exc) from None
    return a, b, [policy_admin.change_json(c) for c in policy_admin.diff_resolved(a, b)]
