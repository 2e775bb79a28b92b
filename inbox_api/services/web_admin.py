"""What the administration pages need beyond the API's services, because a browser sends
files differently: a page's upload is one ``multipart/form-data`` form holding the file *and*
the form's other fields (the CSRF token, the list kind, the year), where the API takes the file
alone (department lists, places) or a JSON body (a calendar year).

- :func:`read_form` reads such a form within a size limit, as
  :func:`inbox_api.services.reference.read_upload` reads the API's (the same limits, the same
  413 and 422 problems), and gives back the text fields too;
- :func:`load_year_file` loads a calendar year from the uploaded file's bytes with exactly the
  rules of ``PUT /api/v1/calendar/years/{year}`` (root administrator only, the same parser and
  messages, stored and committed, then the provisional deadlines recomputed or "pending").

Everything else the pages do goes through the API's own services unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from temporalio.client import Client

from inbox_api.deps import Actor
from inbox_api.errors import Problem
from inbox_api.services import reference
from store import calendar_admin

# The envelope of a page's form: the boundaries and a few short fields around the file.
_FORM_ENVELOPE_BYTES = 64 * 1024


@dataclass
class UploadForm:
    """A page's upload form: its text fields and its ``file`` part (None when no file was
    chosen; a browser sends an empty part with an empty name then)."""

    fields: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None
    data: bytes = b""


async def read_form(request: Request, max_file_bytes: int) -> UploadForm:
    """The form of a page's multipart upload, the file part at most ``max_file_bytes``: 415 for
    another content type, 413 past the limit (checked while the body is read, before anything
    is parsed), 422 for a body that is not valid multipart."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the form as multipart/form-data",
        )
    body = await reference._limited_body(request, max_file_bytes + _FORM_ENVELOPE_BYTES)
    parser = MultiPartParser(request.headers, reference._chunks(body), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise reference._invalid(
            "body", f"not valid multipart/form-data: {exc.message}", "multipart"
        ) from None
    except Exception:  # the multipart library's own errors on a malformed body
        raise reference._invalid("body", "not valid multipart/form-data", "multipart") from None
    out = UploadForm()
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key == "file" and value.filename:
                    out.data = await value.read()
                    out.file_name = reference._file_name(value.filename)
            else:
                out.fields.setdefault(key, value)
    finally:
        await form.close()
    if len(out.data) > max_file_bytes:
        raise reference._too_large(max_file_bytes)
    return out


async def load_year_file(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client | None,
    actor: Actor,
    year: int,
    data: bytes,
) -> tuple[calendar_admin.YearSummary, reference.Recompute]:
    """``PUT /api/v1/calendar/years/{year}`` for a file: the same refusal for anyone but a
    root administrator, the same validation (the file's year must be ``year``), stored and
    committed before the running cases are told to recompute."""
    if not reference.is_root(actor):
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "the working-day calendar is national (State Council notice): only an administrator "
            "at the root jurisdiction 000000 may load a year",
        )
    if len(data) > reference.MAX_TABLE_BYTES:
        raise reference._too_large(reference.MAX_TABLE_BYTES)
    table = reference._table_from_body(data, year)
    summary = await calendar_admin.store_year(
        session,
        table,
        loaded_by=actor.username,
        now=datetime.now(UTC),
        audit_actor_id=actor.id,
    )
    # Committed before the cases are told: their recompute reads the table from the database.
    await session.commit()
    return summary, await reference._recompute(temporal, sessions)
