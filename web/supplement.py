"""The public supplement page (补充材料): after the one-time notice (一次性告知) the applicant
hands in what is missing online, without an account, through
``application.services.supplements``.

``/supplement`` asks for the case number, the last six characters of the ID number and the
notice's supplement code (补正码); every attempt is counted against the page's limits and any
wrong answer gets the one message. The right three lead to a link signed for this browser (the
form cookie, as the receipt's), this supplement task and half an hour, where the page shows
only the names of the items missing, a file input for each, and takes the files."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from application.errors import Problem
from application.http import FilesDep, SessionDep, SettingsDep, client_address, get_temporal
from application.rate_limits import limit_supplement_attempt
from application.services.materials import (
    FILE_FIELD,
    FilesForm,
    is_multipart,
    read_files_form,
)
from application.services.supplements import (
    Supplement,
    check_files,
    hand_in,
    open_supplement,
    supplement_for,
)
from web.common import SUPPLEMENT_FORM, alert_for, problem_words, refusal_words, render
from web.i18n import current_locale, gettext as _

router = APIRouter(include_in_schema=False)

# How long the page of the missing items stays open after the code was given.
LINK_SECONDS = 30 * 60
ACCEPTED_TYPES = "image/jpeg,image/png,application/pdf"


def _sign(request: Request, case_id: str, task_id: str, until: int, cookie: str) -> str:
    secret = request.app.state.settings.secret_key.encode()
    what = f"supplement:{case_id}:{task_id}:{until}:{cookie}".encode()
    return hmac.new(secret, what, hashlib.sha256).hexdigest()


def _link(request: Request, supplement: Supplement, cookie: str) -> str:
    until = int(time.time()) + LINK_SECONDS
    signature = _sign(request, supplement.case.id, supplement.task.id, until, cookie)
    return (
        f"/supplement/{quote(supplement.case.id, safe='')}"
        f"?task={quote(supplement.task.id, safe='')}&until={until}&t={signature}"
    )


def _no_link() -> Problem:
    # As the receipt: a link not signed for this browser, or out of date, shows nothing.
    return Problem(
        404, "not-found", "Not found", "this link is not (or no longer) valid: enter the code again"
    )


def _check_link(request: Request, case_id: str, task: str, until: str, t: str) -> None:
    cookie = request.cookies.get(SUPPLEMENT_FORM.cookie_name, "")
    if not cookie or not until.isdigit() or int(until) < time.time():
        raise _no_link()
    expected = _sign(request, case_id, task, int(until), cookie)
    if not hmac.compare_digest(t.encode(), expected.encode()):
        raise _no_link()


def _page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    alert: str = "",
    status: int = 200,
) -> Response:
    cookie, new = SUPPLEMENT_FORM.cookie(request)
    response = render(
        request,
        "public/supplement.html",
        status=status,
        csrf=SUPPLEMENT_FORM.token(request, cookie),
        values=values or {},
        alert=alert,
    )
    if new:
        SUPPLEMENT_FORM.set_cookie(request, response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/supplement", response_class=HTMLResponse)
async def supplement_page(request: Request) -> Response:
    return _page(request)


@router.post("/supplement", response_class=HTMLResponse)
async def open_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    data = await request.form()
    cookie = SUPPLEMENT_FORM.check(request, str(data.get("csrf", "")))
    values = {
        "case_id": str(data.get("case_id", "")).strip()[:40],
        "id_tail": str(data.get("id_tail", "")).strip()[:6],
    }
    # The code is never echoed back into the page (nor logged): it is the applicant's secret.
    code = str(data.get("code", ""))[:20]
    try:
        await limit_supplement_attempt(
            session, settings, client_address(request), values["case_id"].upper()
        )
        found = await open_supplement(session, settings, values["case_id"], values["id_tail"], code)
    except Problem as problem:
        alert = problem_words(problem) if problem.type == "supplement-not-found" else ""
        page = _page(
            request,
            values=values,
            alert=alert or alert_for(problem)["message"],
            status=problem.status,
        )
        page.headers.update(problem.headers)
        return page
    return RedirectResponse(_link(request, found, cookie), status_code=303)


def _items_page(
    request: Request,
    supplement: Supplement,
    *,
    errors: dict[str, str] | None = None,
    alert: str = "",
    done: bool = False,
    status: int = 200,
) -> Response:
    cookie, _new = SUPPLEMENT_FORM.cookie(request)
    response = render(
        request,
        "public/supplement_items.html",
        status=status,
        csrf=SUPPLEMENT_FORM.token(request, cookie),
        case_id=supplement.case.id,
        missing=supplement.missing,
        en=current_locale() == "en",
        errors=errors or {},
        alert=alert,
        done=done,
        action=str(request.url.path) + "?" + str(request.url.query),
        FILE_FIELD=FILE_FIELD,
        ACCEPT=ACCEPTED_TYPES,
        FILE_MAX_MB=request.app.state.settings.material_max_bytes // (1024 * 1024),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/supplement/{case_id}", response_class=HTMLResponse)
async def items_page(
    request: Request,
    case_id: str,
    session: SessionDep,
    task: str = "",
    until: str = "",
    t: str = "",
) -> Response:
    _check_link(request, case_id, task, until, t)
    return _items_page(request, await supplement_for(session, case_id, task))


@router.post("/supplement/{case_id}", response_class=HTMLResponse)
async def hand_in_page(
    request: Request,
    case_id: str,
    session: SessionDep,
    settings: SettingsDep,
    files: FilesDep,
    task: str = "",
    until: str = "",
    t: str = "",
) -> Response:
    if not is_multipart(request):
        raise Problem(415, "unsupported-media-type", "Unsupported media type", "send a form")
    try:
        posted: FilesForm = await read_files_form(request, settings)
    except Problem as problem:
        _check_link(request, case_id, task, until, t)
        supplement = await supplement_for(session, case_id, task)
        return _items_page(request, supplement, alert=problem_words(problem), status=problem.status)
    # The form's token first, as every form's; then the link it was posted to.
    SUPPLEMENT_FORM.check(request, str(posted.fields.get("csrf", "")))
    _check_link(request, case_id, task, until, t)
    supplement = await supplement_for(session, case_id, task)
    batch = await check_files(session, supplement, posted.files, settings)
    errors: dict[str, str] = {}
    for code, refusals in [*batch.refused.items(), *posted.too_large.items()]:
        words = " ".join(refusal_words(r) for r in refusals)
        errors[code] = f"{errors[code]} {words}" if code in errors else words
    if errors:
        return _items_page(
            request,
            supplement,
            errors=errors,
            alert=_("请修改标出的文件。已选择的文件没有保存，提交前请重新选择。"),
            status=422,
        )
    try:
        temporal = await get_temporal(request)
        await hand_in(session, temporal, files, settings, supplement, batch.accepted)
    except Problem as problem:
        return _items_page(request, supplement, alert=problem_words(problem), status=problem.status)
    return _items_page(request, supplement, done=True)
