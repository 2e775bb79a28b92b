"""A case's materials as files (证明材料): upload one to an evidence item of the case's pinned
pack, list them, open one (the file or its preview), judge one 合格 / 不合格 — for the API and
the officer's pages alike.

Besides the pack's catalogue, every case takes the officer's photos of a visit or contact
(``visit_photo``, domain/vocabulary.py ``VISIT_PHOTO``): images only, from an officer's own
hand (source ``officer``), each with the time it was taken when its EXIF says.

Every call finds the case as every case endpoint does (``cases.case_for``: inside the caller's
subtree, else 404 as if it did not exist); handing in and judging are for the roles that work
cases (grassroots officer, county reviewer, administrator), 403 for a supervisor. A closed case
(不予认定, 不予受理, 撤回, 退出) takes no new file and no judgement: 409 ``case-closed``. A
file is checked (store/file_checks.py) before anything is stored; a refused one leaves nothing
behind. Every upload, every view of a file or its preview, and every judgement is written to
the audit log with the case and the file."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from temporalio.client import Client

from application.actor import Actor
from application.errors import Problem, file_store_unavailable, not_found
from application.rate_limits import ApplicationPlaces
from application.schemas.applications import ApplicationIn
from application.schemas.materials import JudgementIn, MaterialOut
from application.services.applications import SubmittedCase, submit_application
from application.services.cases import case_for
from application.services.reference import read_form
from domain.policy.model import PolicyPack
from domain.vocabulary import VISIT_PHOTO, VISIT_PHOTO_NAME, CaseStatus, Role
from store import materials_repo
from store.audit import record_audit
from store.db import write_turn
from store.file_checks import (
    PDF,
    CheckedFile,
    FileRefused,
    UnsupportedType,
    check_count,
    check_file,
    check_size,
    download_name,
)
from store.files import FileStore, FileStoreUnavailable, digest_of
from store.models import Case
from store.models_materials import CaseMaterial, Judgement, MaterialSource
from store.packs import pinned_pack
from store.settings import Settings

log = logging.getLogger(__name__)

# What the staff API's upload may say of where a file came from (the applicant's own and the
# supplements come through the public pages).
STAFF_SOURCES = (MaterialSource.OFFICER.value, MaterialSource.COUNTER.value)
# An evidence code as the packs write them (CODE_PATTERN), within its column.
EVIDENCE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
HANDLING_ROLES = frozenset({Role.GRASSROOTS_OFFICER, Role.COUNTY_REVIEWER, Role.ADMIN})
# What a file's name may be as stored and shown (a path is cut to its last part).
FILE_NAME_MAX = 255


def file_refused(refusal: FileRefused) -> Problem:
    """A refused file as a problem: its status, its stable type, both languages."""
    return Problem(
        refusal.status,
        refusal.code,
        "File refused",
        refusal.en,
        detail_zh=refusal.zh,
        file_name=refusal.file_name,
        errors=[
            {
                "field": "file",
                "message": refusal.en,
                "message_zh": refusal.zh,
                "code": refusal.code,
            }
        ],
    )


def _not_allowed(what: str) -> Problem:
    return Problem(
        403,
        "actor-not-allowed",
        "Not allowed",
        f"{what} is for grassroots officers, county reviewers and administrators",
    )


def _closed(case: Case, what_en: str, what_zh: str) -> Problem:
    status = CaseStatus(case.status)
    closed_on = case.closed_at.date().isoformat() if case.closed_at else "?"
    return Problem(
        409,
        "case-closed",
        "Case closed",
        f"case {case.id} closed ({status.value}) on {closed_on}: {what_en}",
        detail_zh=f"案件 {case.id} 已于 {closed_on} 办结（{status.value}），{what_zh}。",
    )


def _evidence_name(pack: PolicyPack, code: str) -> str:
    if code == VISIT_PHOTO:
        return VISIT_PHOTO_NAME[0]
    item = pack.evidence_item(code)
    return item.name if item else code


def _visit_photo_refused(upload: Upload) -> Problem | None:
    """A visit photo is the officer's own picture: handed in as ``officer``, never at the
    counter for the applicant."""
    if upload.evidence_code == VISIT_PHOTO and upload.source != MaterialSource.OFFICER:
        message = "a visit photo is the officer's own: its source is 'officer'"
        return Problem(
            422,
            "validation-error",
            "Invalid request",
            f"source: {message}",
            errors=[{"field": "source", "message": message, "code": "visit_photo_source"}],
        )
    return None


def clean_file_name(raw: str | None) -> str:
    """The name as shown: its last path part, no control characters, at most 255 long."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "file"
    return name[-FILE_NAME_MAX:]


def material_out(case: Case, row: CaseMaterial, pack: PolicyPack) -> MaterialOut:
    base = f"/api/v1/cases/{case.id}/materials/{row.id}"
    return MaterialOut(
        id=row.id,
        case_id=row.case_id,
        evidence_code=row.evidence_code,
        evidence_name=_evidence_name(pack, row.evidence_code),
        file_name=row.file_name,
        media_type=row.media_type,
        size_bytes=row.size_bytes,
        sha256=row.content_hash,
        source=row.source,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        taken_at=row.taken_at,
        judgement=row.judgement,
        judgement_reason=row.judgement_reason,
        judged_by=row.judged_by,
        judged_at=row.judged_at,
        file_url=f"{base}/file",
        preview_url=f"{base}/preview" if row.preview_hash else None,
    )


async def read_upload(request: Request, settings: Settings) -> Upload:
    """The upload's multipart form (``evidence_code``, ``file``, optional ``source``): 415 for
    another content type, 413 ``file-too-large`` past the size limit (by the declared length
    before the body is read, else while it is read), 422 for a missing part or field."""
    try:
        form = await read_form(request, settings.material_max_bytes)
    except Problem as problem:
        if problem.status != 413:
            raise
        declared = request.headers.get("content-length", "")
        size = int(declared) if declared.isdigit() else settings.material_max_bytes + 1
        try:
            check_size("上传的文件", size, settings.material_max_bytes)
        except FileRefused as refusal:
            raise file_refused(refusal) from None
        raise
    if form.file_name is None:
        raise _invalid_field("file", "a file part named 'file' is required", "missing")
    code = form.fields.get("evidence_code", "")
    if not EVIDENCE_CODE.fullmatch(code):
        raise _invalid_field(
            "evidence_code", "an evidence code (letters, digits, '._-', at most 50)", "invalid"
        )
    source = form.fields.get("source", MaterialSource.OFFICER.value)
    if source not in STAFF_SOURCES:
        raise _invalid_field("source", f"one of {', '.join(STAFF_SOURCES)}", "enum")
    return Upload(code, form.file_name, form.data, MaterialSource(source))


def _invalid_field(field: str, message: str, code: str) -> Problem:
    return Problem(
        422,
        "validation-error",
        "Invalid request",
        f"{field}: {message}",
        errors=[{"field": field, "message": message, "code": code}],
    )


@dataclass(frozen=True)
class Upload:
    """A file as the request brought it: the evidence item, the name, the bytes, how."""

    evidence_code: str
    file_name: str
    data: bytes
    source: MaterialSource


def check_declared_size(file_name: str | None, size: int | None, settings: Settings) -> None:
    """Refuse a file whose size, known before it is read, is already over the limit."""
    if size is not None:
        try:
            check_size(clean_file_name(file_name), size, settings.material_max_bytes)
        except FileRefused as refusal:
            raise file_refused(refusal) from None


async def upload(
    session: AsyncSession,
    files: FileStore,
    settings: Settings,
    actor: Actor,
    case_id: str,
    upload: Upload,
) -> tuple[MaterialOut, bool]:
    """Check and keep a file for an evidence item of the case; the material and whether it is
    new (the same bytes for the same item again are the material already held)."""
    case = await case_for(session, actor, case_id)
    if actor.role not in HANDLING_ROLES:
        raise _not_allowed("handing in a material")
    if CaseStatus(case.status).closed:
        raise _closed(case, "no material can be added", "不能再补充材料")
    pack = await pinned_pack(session, case)
    refused = _visit_photo_refused(upload)
    if refused is not None:
        raise refused
    code = upload.evidence_code
    if code != VISIT_PHOTO and pack.evidence_item(code) is None:
        known = ", ".join([*(e.code for e in pack.evidence), VISIT_PHOTO])
        message = (
            f"{upload.evidence_code!r} is not an evidence item of the case's policy "
            f"({pack.ref}); known: {known}"
        )
        raise Problem(
            422,
            "unknown-evidence-code",
            "Unknown evidence item",
            message,
            errors=[{"field": "evidence_code", "message": message, "code": "unknown"}],
        )
    item_name = _evidence_name(pack, code)
    name = clean_file_name(upload.file_name)
    try:
        # Off the event loop: normalising a photo or rendering a PDF's first page takes
        # tens to hundreds of milliseconds that every other request would wait through.
        checked = await asyncio.to_thread(check_file, name, upload.data, settings)
        if code == VISIT_PHOTO and checked.media_type == PDF:
            raise UnsupportedType(
                name,
                f"文件“{name}”是 PDF；走访现场照片须为照片（JPEG 或 PNG）。",
                f"file {name!r} is a PDF; a visit photo must be a photo (JPEG or PNG)",
            )
    except FileRefused as refusal:
        raise file_refused(refusal) from None
    digest_row = await materials_repo.held(session, case.id, code, digest_of(checked.data))
    if digest_row is not None:
        return material_out(case, digest_row, pack), False
    in_item, in_case = await materials_repo.counts(session, case.id, code)
    try:
        check_count(
            name, in_item=in_item, in_case=in_case, evidence_name=item_name, settings=settings
        )
    except FileRefused as refusal:
        raise file_refused(refusal) from None
    row, created = await _keep(
        session, files, case, CheckedUpload(code, name, checked), upload.source, actor.id
    )
    return material_out(case, row, pack), created


@dataclass(frozen=True)
class CheckedUpload:
    """A file that passed its checks, for an evidence item: ready to keep."""

    evidence_code: str
    file_name: str
    file: CheckedFile


@dataclass
class FileBatch:
    """The files of one form (the public application, a supplement), each checked: those fit
    to keep, and the refusals by evidence code (the page shows each beside its input)."""

    accepted: list[CheckedUpload] = field(default_factory=list)
    refused: dict[str, list[FileRefused]] = field(default_factory=dict)


def check_batch(
    pack: PolicyPack,
    uploads: Sequence[tuple[str, str | None, bytes]],
    settings: Settings,
    *,
    held: dict[str, int] | None = None,
    allowed: Collection[str] | None = None,
) -> FileBatch:
    """Check every (evidence code, file name, bytes) of a form before anything is stored: the
    type from the content, the size, a PDF's active content, the counts (with ``held``, the
    files the case holds already by item). ``allowed``: the only items the form may hand in
    (a supplement: what is missing)."""
    batch = FileBatch()
    counts = dict(held or {})
    seen: set[tuple[str, str]] = set()
    for code, raw_name, data in uploads:
        item = pack.evidence_item(code)
        name = clean_file_name(raw_name)
        try:
            if item is None or (allowed is not None and code not in allowed):
                raise FileRefused(
                    name,
                    f"文件“{name}”所属的材料不在需提交的材料之列。",
                    f"file {name!r} is for an item that is not asked for",
                )
            checked = check_file(name, data, settings)
            key = (code, digest_of(checked.data))
            if key in seen:
                continue  # the same bytes twice for one item are one file
            check_count(
                name,
                in_item=counts.get(code, 0),
                in_case=sum(counts.values()),
                evidence_name=item.name,
                settings=settings,
            )
        except FileRefused as refusal:
            batch.refused.setdefault(code, []).append(refusal)
            continue
        seen.add(key)
        counts[code] = counts.get(code, 0) + 1
        batch.accepted.append(CheckedUpload(code, name, checked))
    return batch


async def held_counts(session: AsyncSession, case_id: str) -> dict[str, int]:
    """How many files the case holds by evidence code (the limits' starting point)."""
    return (await materials_repo.held_per_case(session, [case_id])).get(case_id, {})


async def keep_batch(
    session: AsyncSession,
    files: FileStore,
    case: Case,
    batch: Sequence[CheckedUpload],
    source: MaterialSource,
) -> list[CaseMaterial]:
    """Keep files checked by :func:`check_batch` for a case the applicant has proved to be
    theirs (the public form's new case, a supplement under the notice's code): no account,
    so the files and the audit name no user; the source says how they came."""
    if CaseStatus(case.status).closed:
        raise _closed(case, "no material can be added", "不能再补充材料")
    # Every file's bytes before any row: a store failing part-way leaves no row behind.
    stored = await _store_all(files, batch)
    now = datetime.now(UTC)
    return [(await _add(session, case, one, source, None, now))[0] for one in stored]


async def _store_all(files: FileStore, batch: Sequence[CheckedUpload]) -> list[StoredUpload]:
    """The bytes of a form's files, or 503 ``file-store-unavailable`` as a :class:`Problem`
    (answered by the page itself, which keeps what the applicant filled in)."""
    try:
        return [await store_bytes(files, upload) for upload in batch]
    except FileStoreUnavailable as exc:
        log.warning("a form's files cannot be stored: %s", exc)
        raise file_store_unavailable() from exc


@dataclass(frozen=True)
class StoredUpload:
    """A checked upload whose bytes (and preview) the file store holds: a row may name them."""

    upload: CheckedUpload
    content_hash: str
    preview_hash: str | None

    def row(
        self, case_id: str, source: MaterialSource, actor_id: int | None, now: datetime
    ) -> materials_repo.NewMaterial:
        checked = self.upload.file
        return materials_repo.NewMaterial(
            case_id=case_id,
            evidence_code=self.upload.evidence_code,
            content_hash=self.content_hash,
            preview_hash=self.preview_hash,
            file_name=self.upload.file_name,
            media_type=checked.media_type,
            size_bytes=len(checked.data),
            source=source.value,
            uploaded_by=actor_id,
            uploaded_at=now,
            taken_at=checked.taken_at,
        )


async def store_bytes(files: FileStore, upload: CheckedUpload) -> StoredUpload:
    """The bytes first, then the row: a row never names bytes that are not there. Bytes whose
    row is then not committed stay unnamed (content addressed, they harm nothing and the same
    upload again finds them). :class:`store.files.FileStoreUnavailable` when the store cannot
    take them (503 ``file-store-unavailable``: nothing was kept)."""
    checked = upload.file
    content_hash = await files.put(checked.data)
    preview_hash = await files.put(checked.preview) if checked.preview is not None else None
    return StoredUpload(upload, content_hash, preview_hash)


def _audit_upload(
    session: AsyncSession, row: CaseMaterial, actor_id: int | None, now: datetime
) -> None:
    record_audit(
        session,
        actor_id=actor_id,
        action="upload_material",
        object_type="case",
        object_id=row.case_id,
        detail={
            "material_id": row.id,
            "evidence_code": row.evidence_code,
            "sha256": row.content_hash,
            "size": row.size_bytes,
            "source": row.source,
        },
        now=now,
    )


async def _keep(
    session: AsyncSession,
    files: FileStore,
    case: Case,
    upload: CheckedUpload,
    source: MaterialSource,
    actor_id: int | None,
) -> tuple[CaseMaterial, bool]:
    stored = await store_bytes(files, upload)
    return await _add(session, case, stored, source, actor_id, datetime.now(UTC))


async def _add(
    session: AsyncSession,
    case: Case,
    stored: StoredUpload,
    source: MaterialSource,
    actor_id: int | None,
    now: datetime,
) -> tuple[CaseMaterial, bool]:
    """The row naming stored bytes (the one already there for a retried upload), audited when
    new."""
    row, created = await materials_repo.add(session, stored.row(case.id, source, actor_id, now))
    if created:
        _audit_upload(session, row, actor_id, now)
    return row, created


async def apply_with_files(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    files: FileStore,
    application: ApplicationIn,
    batch: Sequence[CheckedUpload],
    window_places: ApplicationPlaces | None = None,
) -> SubmittedCase:
    """The public application with its materials' files (checked by :func:`check_batch`) and
    its ``window_places`` in the anonymous limits (:func:`submit_application`): the
    bytes are stored first, then the case and its materials' rows are committed in one
    transaction, before its workflow starts. A store that cannot take a file refuses the
    application whole (503, nothing kept); a case is never stored without the files it was
    sent with."""
    stored = await _store_all(files, batch)

    async def add_materials(case: Case) -> None:
        now = case.submitted_at
        rows = [
            CaseMaterial(**s.row(case.id, MaterialSource.APPLICANT, None, now).__dict__)
            for s in stored
        ]
        session.add_all(rows)
        await session.flush()  # the rows' ids, for the audit
        for row in rows:
            _audit_upload(session, row, None, now)

    return await submit_application(
        session,
        temporal,
        settings,
        application,
        actor=None,
        with_case=add_materials,
        window_places=window_places,
    )


async def list_for(session: AsyncSession, actor: Actor, case_id: str) -> list[MaterialOut]:
    case = await case_for(session, actor, case_id)
    pack = await pinned_pack(session, case)
    return [material_out(case, row, pack) for row in await materials_repo.of_case(session, case.id)]


async def _material_for(
    session: AsyncSession, actor: Actor, case_id: str, material_id: int
) -> tuple[Case, CaseMaterial]:
    case = await case_for(session, actor, case_id)
    row = await materials_repo.one_of_case(session, case.id, material_id)
    if row is None:
        raise not_found("material", f"{material_id} of case {case.id}")
    return case, row


@dataclass(frozen=True)
class OpenedFile:
    data: bytes
    media_type: str
    download_name: str


async def open_file(
    session: AsyncSession,
    files: FileStore,
    actor: Actor,
    case_id: str,
    material_id: int,
    *,
    preview: bool = False,
) -> OpenedFile:
    """A material's file (or its preview), for a caller who may see the case; audited."""
    case, row = await _material_for(session, actor, case_id, material_id)
    if preview and row.preview_hash is None:
        raise Problem(
            404,
            "no-preview",
            "No preview",
            f"material {row.id} ({row.media_type}) has no preview: open its file",
        )
    digest = row.preview_hash if preview and row.preview_hash else row.content_hash
    data = await files.get(digest)
    record_audit(
        session,
        actor_id=actor.id,
        action="view_material_preview" if preview else "view_material_file",
        object_type="case",
        object_id=case.id,
        detail={"material_id": row.id, "evidence_code": row.evidence_code},
        now=datetime.now(UTC),
    )
    if preview:
        return OpenedFile(
            data, "image/jpeg", download_name(f"preview-{row.file_name}", "image/jpeg")
        )
    return OpenedFile(data, row.media_type, download_name(row.file_name, row.media_type))


async def judge(
    session: AsyncSession, actor: Actor, case_id: str, material_id: int, verdict: JudgementIn
) -> MaterialOut:
    """Record 合格 / 不合格 (with its reason) on one file; audited."""
    case, row = await _material_for(session, actor, case_id, material_id)
    if actor.role not in HANDLING_ROLES:
        raise _not_allowed("judging a material")
    if CaseStatus(case.status).closed:
        raise _closed(case, "its materials can no longer be judged", "不能再审查材料")
    now = datetime.now(UTC)
    judgement = Judgement(verdict.verdict)
    materials_repo.judge(
        row, judgement=judgement, reason=verdict.reason, judged_by=actor.id, at=now
    )
    record_audit(
        session,
        actor_id=actor.id,
        action="judge_material",
        object_type="case",
        object_id=case.id,
        detail={
            "material_id": row.id,
            "evidence_code": row.evidence_code,
            "judgement": judgement.value,
            "reason": row.judgement_reason,
        },
        now=now,
    )
    await session.flush()
    return material_out(case, row, await pinned_pack(session, case))


@dataclass(frozen=True)
class VisitPhotos:
    """What became of a visit's photos: those kept (a photo sent again is the one already
    held) and, for each refused, the refusal in both languages."""

    kept: list[MaterialOut]
    refused: list[Problem]


async def upload_visit_photos(
    session: AsyncSession,
    files: FileStore,
    settings: Settings,
    actor: Actor,
    case_id: str,
    photos: list[tuple[str, bytes]],
) -> VisitPhotos:
    """Keep each photo of a visit or contact (``visit_photo``, source ``officer``) as a
    material of the case. Each is checked and kept on its own: one refused photo does not lose
    the others, which a weak connection has already paid for. A photo sent again (a double tap,
    a resend after a timeout) is the row already held (content addressed, unique per case,
    code and hash), so a retried submission adds nothing."""
    kept: list[MaterialOut] = []
    refused: list[Problem] = []
    # Committed in this process's turn to write, before the decision is sent: the completion
    # takes its own turn (its idempotency key), and on SQLite a transaction still holding
    # these rows' write lock while it waits for a turn would wait on a writer waiting on it.
    async with write_turn(session):
        for file_name, data in photos:
            try:
                material, _created = await upload(
                    session,
                    files,
                    settings,
                    actor,
                    case_id,
                    Upload(VISIT_PHOTO, file_name, data, MaterialSource.OFFICER),
                )
            except Problem as problem:
                if problem.status in (403, 404) or problem.type == "case-closed":
                    raise  # about the case, not the photo: no other photo fares better
                refused.append(problem)
            else:
                kept.append(material)
    return VisitPhotos(kept, refused)


async def visit_photos_of(session: AsyncSession, actor: Actor, case_id: str) -> list[MaterialOut]:
    """The case's visit photos, in the order they came (a task page shows them by the form)."""
    return [m for m in await list_for(session, actor, case_id) if m.evidence_code == VISIT_PHOTO]


# --- a page's form with files (the public application, a supplement) -----------------------

# A public form's whole body may be this many times the per-file limit: room for a few scans
# and for one far too large, which is then refused by name beside its input with everything
# typed kept. Past it the form cannot be read at all (413, nothing kept).
FORM_BODY_FACTOR = 8
# Files one public form may carry (a form of 10+ items, a few pages each).
FORM_MAX_FILES = 30
# Text fields of the public form (its answers, ticks and choices) with room to spare.
FORM_MAX_FIELDS = 400
FILE_FIELD = "file."


@dataclass
class FilesForm:
    """A page's multipart form: its text fields, the files for each evidence item (the
    inputs named ``file.<code>``), and those refused for their size before being read."""

    fields: FormData
    files: list[tuple[str, str | None, bytes]] = field(default_factory=list)
    too_large: dict[str, list[FileRefused]] = field(default_factory=dict)


def is_multipart(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "multipart/form-data"


async def read_files_form(request: Request, settings: Settings) -> FilesForm:
    """Read a page's multipart form with files: at most :data:`FORM_MAX_FILES` files and
    :data:`FORM_BODY_FACTOR` times the per-file limit in all (else 413 / 422, nothing read); a
    file over the per-file limit is refused by name without being read into memory (the
    parser spools it to disk)."""
    limit = settings.material_max_bytes * FORM_BODY_FACTOR
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)

    async def bounded() -> AsyncGenerator[bytes, None]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            yield chunk

    parser = MultiPartParser(
        request.headers, bounded(), max_files=FORM_MAX_FILES, max_fields=FORM_MAX_FIELDS
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise _invalid_field(
            "body", f"not a form this page can read: {exc.message}", "multipart"
        ) from None
    out = FilesForm(FormData())
    texts: list[tuple[str, str | UploadFile]] = []
    try:
        for key, value in form.multi_items():
            if not isinstance(value, UploadFile):
                texts.append((key, value))
                continue
            if not key.startswith(FILE_FIELD) or not (value.filename or value.size):
                continue  # an input left empty sends an empty, nameless part
            code = key[len(FILE_FIELD) :][:50]
            if value.size is not None and value.size > settings.material_max_bytes:
                try:
                    check_size(
                        clean_file_name(value.filename), value.size, settings.material_max_bytes
                    )
                except FileRefused as refusal:
                    out.too_large.setdefault(code, []).append(refusal)
                continue
            out.files.append((code, value.filename, await value.read()))
    finally:
        await form.close()
    out.fields = FormData(texts)
    return out


def body_too_large(limit: int) -> Problem:
    mb = limit // (1024 * 1024)
    return Problem(
        413,
        "payload-too-large",
        "Payload too large",
        f"the form with its files is larger than {mb} MB in all; hand in fewer files at once",
        detail_zh=f"表单连同文件超过 {mb} MB，请分次提交。",
    )
