"""A case's materials as files (证明材料): upload a scan or photo to an evidence item of the
case's pinned pack (multipart), list them, open a file or an image's preview, judge a file
合格 / 不合格 (with the reason).

Every call is confined like the case endpoints: a case outside the caller's subtree, or a file
of another case, is 404 ``not-found`` exactly like a missing one; handing in and judging are
for grassroots officers, county reviewers and administrators (403 ``actor-not-allowed`` for a
supervisor). A closed case takes nothing more (409 ``case-closed``). A refused file
(``unsupported-file-type`` 415, ``file-too-large`` 413, ``pdf-active-content``,
``unreadable-file``, ``empty-file`` 422, ``too-many-files`` 409) carries its reason in English
(``detail``) and Chinese (``detail_zh``); nothing is stored for it. Every view of a file is
written to the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from application.http import CurrentActor, FilesDep, SessionDep, SettingsDep
from application.schemas.materials import (
    JudgementIn,
    MaterialListOut,
    MaterialOut,
    MaterialUploadOut,
)
from application.services import cases as case_service, materials as service
from inbox_api.routes.cases import PROBLEM, CaseId

router = APIRouter(prefix="/api/v1/cases", tags=["materials"])

MaterialId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The material's id")]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case in your jurisdiction, or no such file of it", **PROBLEM},
    422: {"description": "Malformed case or material id", **PROBLEM},
}

_UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["evidence_code", "file"],
    "properties": {
        "evidence_code": {
            "type": "string",
            "maxLength": 50,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
            "description": "An evidence code of the case's pinned pack (id_card, ...)",
        },
        "file": {
            "type": "string",
            "format": "binary",
            "description": "A scan or photo: JPEG, PNG or PDF (judged by its content), at "
            "most YUANZHU_MATERIAL_MAX_BYTES (10 MB by default)",
        },
        "source": {
            "type": "string",
            "enum": list(service.STAFF_SOURCES),
            "default": "officer",
            "description": "counter: handed in at the counter (窗口); officer: the officer's own",
        },
    },
}


@router.post(
    "/{case_id}/materials",
    status_code=201,
    response_model=MaterialUploadOut,
    summary="Hand in a material (a file for an evidence item)",
    responses={
        200: {
            "description": "These bytes were already held for the item",
            "model": MaterialUploadOut,
        },
        403: {"description": "Not a role that handles cases (`actor-not-allowed`)", **PROBLEM},
        404: NOT_FOUND[404],
        409: {"description": "`case-closed`, or `too-many-files`", **PROBLEM},
        413: {"description": "`file-too-large`", **PROBLEM},
        415: {"description": "`unsupported-file-type`, or not multipart", **PROBLEM},
        422: {
            "description": "`unknown-evidence-code`, `pdf-active-content`, `unreadable-file`, "
            "`empty-file`, `validation-error`",
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
async def upload_material(
    case_id: CaseId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    files: FilesDep,
    actor: CurrentActor,
) -> Response:
    """Check the file (type from its content, size, no active PDF content; an image turned
    upright, reduced, stripped of its metadata, previewed) and keep it for the evidence item.
    The same bytes for the same item again answer 200 with the material already held."""
    # Scope before the body is read: a case the caller may not see is 404 whatever is sent.
    await case_service.case_for(session, actor, case_id)
    upload = await service.read_upload(request, settings)
    material, created = await service.upload(session, files, settings, actor, case_id, upload)
    body = MaterialUploadOut(**material.model_dump(), created=created)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": material.file_url.removesuffix("/file")} if created else None,
    )


@router.get(
    "/{case_id}/materials",
    response_model=MaterialListOut,
    summary="A case's materials",
    responses=NOT_FOUND,
)
async def list_materials(
    case_id: CaseId, session: SessionDep, actor: CurrentActor
) -> MaterialListOut:
    """Every file the case holds, in the order they came, with its evidence item and its
    judgement (合格 / 不合格 and why)."""
    return MaterialListOut(items=await service.list_for(session, actor, case_id))


def _file_response(opened: service.OpenedFile) -> Response:
    headers = {
        "Content-Disposition": case_service.content_disposition(
            opened.download_name,
            fallback="material." + opened.download_name.rsplit(".", 1)[-1],
            inline=True,
        ),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if opened.media_type != "application/pdf":
        # An image opened in a tab of its own is a document that runs nothing and reaches
        # nothing. A PDF keeps the pages' policy instead: browsers refuse to show a sandboxed
        # PDF at all, and what could act in one was refused when it was handed in.
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    return Response(opened.data, media_type=opened.media_type, headers=headers)


_FILE = {
    200: {
        "description": "The file as kept",
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **NOT_FOUND,
}


@router.get(
    "/{case_id}/materials/{material_id}/file",
    response_class=Response,
    summary="Open a material's file",
    responses=_FILE,
)
async def material_file(
    case_id: CaseId,
    material_id: MaterialId,
    session: SessionDep,
    files: FilesDep,
    actor: CurrentActor,
) -> Response:
    """The file (inline, with its type); every view is written to the audit log."""
    return _file_response(await service.open_file(session, files, actor, case_id, material_id))


@router.get(
    "/{case_id}/materials/{material_id}/preview",
    response_class=Response,
    summary="An image material's preview",
    responses={
        200: {
            "description": "A small JPEG",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"description": "`not-found`, or `no-preview` (a PDF)", **PROBLEM},
        422: NOT_FOUND[422],
    },
)
async def material_preview(
    case_id: CaseId,
    material_id: MaterialId,
    session: SessionDep,
    files: FilesDep,
    actor: CurrentActor,
) -> Response:
    """An image's preview (a PDF has none: 404 ``no-preview``); audited like the file."""
    opened = await service.open_file(session, files, actor, case_id, material_id, preview=True)
    return _file_response(opened)


@router.post(
    "/{case_id}/materials/{material_id}/judgement",
    response_model=MaterialOut,
    summary="Judge a material 合格 / 不合格",
    responses={
        403: {"description": "Not a role that handles cases (`actor-not-allowed`)", **PROBLEM},
        404: NOT_FOUND[404],
        409: {"description": "`case-closed`", **PROBLEM},
        422: {"description": "A rejection without its reason, or bad input", **PROBLEM},
    },
)
async def judge_material(
    case_id: CaseId,
    material_id: MaterialId,
    body: JudgementIn,
    session: SessionDep,
    actor: CurrentActor,
) -> MaterialOut:
    """合格 (``accepted``) or 不合格 (``rejected`` with the reason the applicant will read);
    a later judgement replaces it, the audit log keeps each."""
    return await service.judge(session, actor, case_id, material_id, body)
