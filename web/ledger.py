"""The assistance ledger page (帮扶台账, ``/ledger``): export the ledger of a place in the user's
subtree as an Excel workbook (the layout, full ID numbers for the roles allowed, persons who
exited since a day) and, for county reviewers and administrators, import an office's ledger
(qingxin's 服务跟踪情况 template) with its line-level errors when the file is refused, and the
imports with their progress (cases made, lines skipped, assistances started).

The rules are :mod:`application.services.ledger`'s, the same as ``GET /api/v1/ledger`` and
``POST /api/v1/ledger/imports``: who may see full ID numbers, who may import, the audit entry
of every export, all-or-nothing imports. The export is a POST with the CSRF token (unlike the
API's GET) because it writes the audit log and hands out personal data: a page of another site
must not be able to make a user's browser do it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from application.errors import Problem
from application.http import Actor, SessionDep, SettingsDep
from application.schemas.ledger import XLSX, LedgerQuery
from application.services import ledger as service
from application.services.reference import MAX_UPLOAD_BYTES, read_form
from store.models_ledger import LedgerImport
from web.admin import place_options
from web.common import PageActor, alert_for, check_csrf, is_htmx, render
from web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

IMPORTS_SHOWN = 100
POLL = "every 5s"  # while an import is still starting its persons' assistance


@dataclass
class ExportForm:
    """The export form as typed (echoed back) and the messages beside its fields."""

    jurisdiction: str = ""
    layout: str = ""
    full_ids: bool = False
    exited_since: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def read_export_form(
    jurisdiction: str, layout: str, full_ids: str, exited_since: str
) -> tuple[ExportForm, LedgerQuery | None]:
    """The form as typed, checked by the API's own query model (``GET /api/v1/ledger``): the
    query to export, or None with a message beside each wrong field."""
    form = ExportForm(jurisdiction.strip(), layout.strip(), full_ids == "1", exited_since.strip())
    try:
        query = LedgerQuery(
            jurisdiction=form.jurisdiction or None,
            layout=form.layout or None,
            full_ids=form.full_ids,
            exited_since=form.exited_since or None,
            format="xlsx",
        )
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            if name == "jurisdiction":
                form.errors.setdefault(name, _("请选择管辖范围内的行政区划"))
            elif name == "layout":
                form.errors.setdefault(name, _("请选择台账格式"))
            elif err["type"] in ("greater_than_equal", "less_than_equal"):
                form.errors.setdefault(name, _("请填写1990年以后的日期"))
            else:
                form.errors.setdefault(name, _("请按“年-月-日”填写日期，例如 2024-03-01"))
        return form, None
    return form, query


async def imports_context(session: SessionDep, actor: Actor) -> dict[str, Any]:
    """The imports into places of the user's subtree, newest first, and whether the list
    should poll (an import whose persons' assistances are still being started)."""
    imports = await service.list_imports(session, actor, IMPORTS_SHOWN)
    return {
        "imports": imports,
        "POLL": POLL if any(i.status != "done" for i in imports) else None,
    }


async def ledger_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    status: int = 200,
    **ctx: Any,
) -> Response:
    places = await place_options(session, actor)
    listing = await imports_context(session, actor)
    imported_id = ctx.pop("imported_id", 0)
    ctx["imported"] = next(
        (i for i in listing["imports"] if imported_id and i.id == imported_id), None
    )
    ctx.setdefault("form", ExportForm())
    ctx.setdefault("problem", None)
    ctx.setdefault("import_problem", None)
    ctx.setdefault("import_errors", [])
    ctx.setdefault("import_field_errors", {})
    ctx.setdefault("import_place", "")
    return render(
        request,
        "ledger/ledger.html",
        status=status,
        actor=actor,
        places=places,
        place_names={p.code: p.name for p in places},
        may_full_ids=actor.role in service.EXPORT_ROLES_FULL_IDS,
        may_import=actor.role in service.IMPORT_ROLES,
        max_mib=MAX_UPLOAD_BYTES // (1024 * 1024),
        **listing,
        **ctx,
    )


@router.get("/ledger", response_class=HTMLResponse)
async def ledger_home(
    request: Request, session: SessionDep, actor: PageActor, imported: int = 0
) -> Response:
    """The export form, the import form (county reviewers, administrators) and the imports;
    ``imported`` names the import just made (after the redirect)."""
    return await ledger_page(request, session, actor, imported_id=imported)


@router.get("/ledger/imports", response_class=HTMLResponse)
async def imports_fragment(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """The imports table alone, for htmx's polling while an import is starting; without
    JavaScript the page itself is the list."""
    if not is_htmx(request):
        return RedirectResponse("/ledger#imports-heading", status_code=303)
    places = await place_options(session, actor)
    return render(
        request,
        "ledger/_imports.html",
        actor=actor,
        place_names={p.code: p.name for p in places},
        **await imports_context(session, actor),
    )


@router.post("/ledger/export", response_class=HTMLResponse)
async def export_ledger(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    csrf: Annotated[str, Form(max_length=200)] = "",
    jurisdiction: Annotated[str, Form(max_length=40)] = "",
    layout: Annotated[str, Form(max_length=40)] = "",
    full_ids: Annotated[str, Form(max_length=5)] = "",
    exited_since: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The workbook as ``GET /api/v1/ledger?format=xlsx`` gives it (audited by the service),
    or the page again with the refusal in place."""
    check_csrf(request, csrf)
    form, query = read_export_form(jurisdiction, layout, full_ids, exited_since)
    if query is None:
        return await ledger_page(request, session, actor, 422, form=form)
    try:
        export = await service.export_ledger(session, actor, query)
    except Problem as p:
        return await ledger_page(
            request, session, actor, p.status, form=form, problem=p, alert=alert_for(p)
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


@router.post("/ledger/imports", response_class=HTMLResponse)
async def import_ledger(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor
) -> Response:
    """Import an office's ledger as ``POST /api/v1/ledger/imports``: every line valid or
    nothing imported, the line errors shown; then back to the page naming the import."""
    service.check_may_import(actor)  # the 403 page before the body is read, as the API
    try:
        upload = await read_form(request, MAX_UPLOAD_BYTES)
    except Problem as p:
        return await ledger_page(
            request, session, actor, p.status, import_problem=p, import_alert=alert_for(p)
        )
    check_csrf(request, upload.fields.get("csrf"))
    place = (upload.fields.get("jurisdiction") or "").strip()[:40]
    if upload.file_name is None:
        return await ledger_page(
            request,
            session,
            actor,
            422,
            import_field_errors={"file": _("请选择要上传的文件")},
            import_place=place,
        )
    temporal = await request.app.state.temporal.get()
    try:
        entry: LedgerImport = await service.import_ledger(
            session,
            temporal,
            settings.temporal_task_queue,
            actor,
            jurisdiction=place or None,
            file_name=upload.file_name,
            data=upload.data,
        )
    except Problem as p:
        return await ledger_page(
            request,
            session,
            actor,
            p.status,
            import_problem=p,
            import_alert=alert_for(p),
            import_errors=p.extra.get("errors") or [],
            error_count=p.extra.get("error_count", 0),
            more_errors=p.extra.get("more_errors", 0),
            file_name=upload.file_name,
            import_place=place,
        )
    return RedirectResponse(f"/ledger?imported={entry.id}", status_code=303)
