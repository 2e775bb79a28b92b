"""Task pages: one form per task kind, built from the workflow's own form definition
(``payload.form``: the outcomes, the fields each outcome needs, the allowed values), with what
the officer weighs beside it (the applicant's facts, the eligibility pre-check, the department
data; the one-time notice's missing materials; the objection and who raised it; the refusal
to pass on), claim and release, and the task's comments. A decision task also asks for the
facts its pre-check leaves unknown that its stage may verify (核实事项, #21) and lists those
verified on the case's earlier tasks, by whom and when.

A visit or contact task (入户核实, 定期走访, 联系提醒: ``VISIT_TASK_KINDS``) is made for a phone
at the person's door: its form is multipart and takes photos from the camera, each kept as a
``visit_photo`` material of the case (with the time it was taken) before the decision is sent.
A resubmission of the same form (a double tap, a resend after a timeout) carries the same form
key and the same photos: one decision, one set of photos.

The form is checked here against the same definition the workflow's validator enforces, so a
missing or invalid field is answered beside that field with what the officer typed kept; the
workflow checks everything again, and its refusal is shown in the same places. A completed
task, or one held by someone else, shows read-only with who completed or holds it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from application import task_fields
from application.errors import Problem
from application.http import Actor, FilesDep, SessionDep, SettingsDep, get_temporal
from application.schemas.materials import JudgementIn, MaterialOut
from application.schemas.tasks import CommentIn, CompleteTaskIn
from application.services import (
    assistance as assistance_service,
    cases as case_service,
    followup,
    materials as materials_service,
    tasks as task_service,
)
from domain import labels
from domain.facts import CHOICE_NAMES, DataFinding, FactInput
from domain.vocabulary import VISIT_PHOTO, VISIT_PHOTO_NAME, VISIT_TASK_KINDS
from store.settings import Settings
from web import case_view as web_cases, households
from web.common import PageActor, alert_for, check_csrf, problem_words, render
from web.i18n import current_locale, gettext as _

router = APIRouter(include_in_schema=False)

# Suggestions for how the applicant was told (告知方式); the officer may write another.
CHANNELS_ZH = ("电话告知", "短信告知", "当面告知", "书面送达")
TEXT_LIMIT = task_fields.TEXT_LIMIT
# Control characters other than line breaks and tabs (NUL cannot even be stored in
# PostgreSQL text, and none of them belongs in a record).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_KEY = re.compile(r"^[A-Za-z0-9-]{8,100}$")

ASSISTANCE_KINDS = assistance_service.ASSISTANCE_TASK_KINDS
# Which fields are lists and which take a day: the application's one definition.
TASK_LIST_FIELDS = task_fields.LIST_FIELDS
DATE_FIELDS = task_fields.DATE_FIELDS
# A field that means something else in the assistance ("channel" is how the person was
# reached, not how a decision was served) is named by its own words first there.
ASSISTANCE_FIELD_NAMES = {**labels.FIELDS, **labels.ASSISTANCE_FIELDS}
HOUSEHOLD_FIELD_NAMES = {**labels.FIELDS, **labels.HOUSEHOLD_FIELDS}


def instant(value: Any) -> datetime | None:
    """An ISO instant from a workflow payload or snapshot (plain JSON) for ``|local``."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class TaskForm:
    """What the officer submitted (kept on a refusal) and the messages beside each field;
    ``errors`` keys are field names, ``outcome`` and ``comment``."""

    outcome: str = ""
    values: dict[str, list[str]] = field(default_factory=dict)
    comment: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    # Facts the officer verified (path -> what was typed, blank left out); their messages are
    # in ``errors`` under ``verified_facts.<path>``, as the API names them.
    verified: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidenceFiles:
    """One evidence item in the page's materials: its files and, when a department data
    finding stood in for its paper, that finding (``replaced_by``)."""

    code: str
    name: str
    files: list[MaterialOut]
    replaced_by: DataFinding | None = None


@dataclass(frozen=True)
class VerifyInput:
    """One input of the form's 核实事项 (a fact the pre-check leaves unknown, #21)."""

    path: str
    kind: str
    label: web_cases.Named
    # The quantity the system computes from it, when that is another fact (子女出生日期 →
    # 抚养未成年子女).
    decides: web_cases.Named | None
    unit: web_cases.Named | None
    choices: list[tuple[str, web_cases.Named]]
    integer: bool

    @property
    def name(self) -> str:
        return f"v_{self.path}"

    @property
    def error_key(self) -> str:
        return f"verified_facts.{self.path}"


def verify_inputs(offered: list[FactInput]) -> list[VerifyInput]:
    out = []
    for i in offered:
        out.append(
            VerifyInput(
                path=i.path,
                kind=i.kind,
                label=web_cases.Named(i.label_zh, i.label_en),
                decides=web_cases.Named(i.verifies_zh, i.verifies_en) if i.verifies_zh else None,
                unit=web_cases.Named(i.unit_zh, i.unit_en) if i.unit_zh else None,
                choices=[(c, web_cases.Named(*CHOICE_NAMES.get(c, (c, c)))) for c in i.choices],
                integer=i.integer,
            )
        )
    return out


# The words beside a verified fact's input for each code of the API's refusal (the same
# check: application/task_fields.py check_verified_facts).
VERIFY_WORDS = {
    "unknown_fact": "未知的核实事项",
    "not_verifiable": "本环节不能核实此项",
    "bool_type": "请选择“是”或“否”",
    "date_type": "请填写有效的日期（年-月-日）",
    "int_type": "请填写整数",
    "float_type": "请填写数字",
    "greater_than_equal": "不能为负数",
    "enum": "所选的值不在可选范围内",
    "list_type": "请填写有效的日期（年-月-日），多个日期用逗号分隔",
    "too_long": "日期过多",
}


form_definition = task_fields.form_definition
form_fields = task_fields.form_fields


def _text_error(value: str) -> str | None:
    if len(value) > TEXT_LIMIT:
        return _("不能超过 %(n)s 个字") % {"n": TEXT_LIMIT}
    if _CONTROL.search(value):
        return _("不能包含控制字符")
    return None


def read_form(
    form: FormData, outcomes: dict[str, list[str]], offered: list[FactInput] | None = None
) -> TaskForm:
    values: dict[str, list[str]] = {}
    for name in form_fields(outcomes):
        typed = [str(v) for v in form.getlist(f"f_{name}")]
        values[name] = [v for v in typed if v.strip()]
    verified = {i.path: str(form.get(f"v_{i.path}", "")).strip() for i in offered or []}
    return TaskForm(
        outcome=str(form.get("outcome", "")),
        values=values,
        comment=str(form.get("comment", "")),
        verified={path: typed for path, typed in verified.items() if typed},
    )


def validate(
    submitted: TaskForm,
    outcomes: dict[str, list[str]],
    choices: dict[str, list[str]],
    kind: str = "",
) -> dict[str, str]:
    """The workflow validator's rules (``HumanTasks.validate``), answered per field."""
    errors: dict[str, str] = {}
    if submitted.outcome not in outcomes:
        errors["outcome"] = _("请选择办理结果")
    else:
        chosen = _(labels.outcome_label(kind, submitted.outcome))
        for name in outcomes[submitted.outcome]:
            if not submitted.values.get(name):
                errors[name] = _("选择“%(outcome)s”时必须填写此项") % {"outcome": chosen}
    for name, allowed in choices.items():
        if any(v not in allowed for v in submitted.values.get(name, [])):
            errors[name] = _("所选的值不在可选范围内")
    for name, values in submitted.values.items():
        for value in values:
            problem = _text_error(value)
            if problem and name not in errors:
                errors[name] = problem
            if name in DATE_FIELDS and name not in errors and not _is_date(value):
                errors[name] = _("请填写有效的日期（年-月-日）")
    problem = _text_error(submitted.comment)
    if problem:
        errors["comment"] = problem
    return errors


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _field_value(name: str, values: list[str]) -> object:
    """What the workflow receives for a field: a list for list fields, else the one value."""
    if name in TASK_LIST_FIELDS:
        return values
    return values[0].strip() if name in DATE_FIELDS else values[0]


def errors_of(problem: Problem, submitted: TaskForm, outcomes: dict[str, list[str]]) -> None:
    """Place the workflow's refusal beside the fields it names (the problem's field errors:
    ``outcome`` or ``fields.<name>``; a verified fact's ``verified_facts.<path>``)."""
    if problem.type == "validation-error":
        for error in problem.extra.get("errors", []):
            name = str(error.get("field", ""))
            if name.startswith("verified_facts"):
                code = str(error.get("code", ""))
                word = VERIFY_WORDS.get(code)
                submitted.errors[name] = _(word) if word else str(error.get("message", ""))
    words = {
        "bad-outcome": _("请选择本事项提供的办理结果"),
        "missing-fields": _("此项为必填项"),
        "bad-field": _("所选的值不在可选范围内"),
    }.get(problem.type)
    if words is None:
        return
    for error in problem.extra.get("errors", []):
        name = str(error.get("field", "")).removeprefix("fields.")
        known = problem.type == "missing-fields" or name in submitted.values
        submitted.errors[name if known else "outcome"] = words


async def _page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    task_id: str,
    *,
    status: int = 200,
    submitted: TaskForm | None = None,
    alert: dict[str, str] | None = None,
    idempotency_key: str | None = None,
    comment_body: str = "",
    comment_error: str | None = None,
    judgement_error: dict[int, str] | None = None,
) -> Response:
    view = await web_cases.task_view(session, actor, task_id)
    # The visit form (photos from the camera) for the officer who can complete it; otherwise
    # the visit's photos are listed with the case's other files.
    visiting = (
        view.task.kind in VISIT_TASK_KINDS
        and view.case is not None
        and view.task.state == "open"
        and view.can_complete
    )
    outcomes, choices = form_definition(view.task.payload or {})
    # Facts to verify on this decision task, and those verified on the case's earlier ones.
    to_verify = verify_inputs(await task_service.verification_inputs(session, view.task))
    verified_facts = (
        await task_service.verified_facts_of(session, view.case.id)
        if view.case is not None and view.task.kind in task_fields.DECISION_KINDS
        else []
    )
    assisting = view.task.kind in ASSISTANCE_KINDS
    assistance = None
    if assisting and view.case is not None:
        try:
            assistance = await assistance_service.view(session, actor, view.case.id)
        except Problem as problem:
            if problem.status not in (404, 409):
                raise
    requirements: dict[str, list[str]] = {}
    for outcome, required in outcomes.items():
        for name in required:
            requirements.setdefault(name, []).append(outcome)
    # Names of the codes a field offers: the pack's categories, materials and standards (by
    # locale), the assistance's service kinds and contact channels.
    choice_labels: dict[str, dict[str, web_cases.Named]] = {
        "category": view.categories,
        "evidence": {
            **{
                str(m.get("code")): web_cases.Named(str(m.get("name", m.get("code"))))
                for m in (view.task.payload or {}).get("missing", [])
                if isinstance(m, dict)
            },
            **view.materials,
        },
        "services": web_cases.named("service_kind"),
        "channel": web_cases.named("contact_channel") if assisting else {},
        "method": web_cases.named("verification_method"),
        # The quarterly verification proposes an exit with one of the pack's reasons.
        "reason": {
            r.code: web_cases.Named(r.name, r.name_en)
            for r in (view.pack.exit_reasons if view.pack else [])
        },
        "standards": {
            s.code: web_cases.Named(s.name, s.name_en)
            for s in (view.pack.assistance_standards if view.pack else [])
        },
    }
    # A zero-employment household's task: the household beside the form, its members by name.
    household = None
    field_names = ASSISTANCE_FIELD_NAMES if assisting else labels.FIELDS
    if view.task.kind in households.HOUSEHOLD_KINDS:
        extra = await households.task_context(session, view.case)
        household = extra["household"]
        choice_labels.update(extra["labels"])
        field_names = HOUSEHOLD_FIELD_NAMES
    # The case's files by evidence item, in the pack's catalogue order, each with its
    # judgement form (the same service as the API; a view of a file is audited when opened).
    # An item whose paper a department data finding replaced (weifang 二(一)) says so there,
    # with the finding's source and date, rather than seeming not handed in.
    materials: list[EvidenceFiles] = []
    if view.case is not None and view.pack is not None:
        held = await materials_service.list_for(session, actor, view.case.id)
        replaced = view.papers_replaced
        for item in view.pack.evidence:
            files = [m for m in held if m.evidence_code == item.code]
            if files or item.code in replaced:
                name = item.name_en if current_locale() == "en" else item.name
                materials.append(EvidenceFiles(item.code, name, files, replaced.get(item.code)))
    # A visit task shows its photos by the form (below); other tasks list them with the rest.
    visit_photos: list[MaterialOut] = []
    if view.case is not None:
        visit_photos = await materials_service.visit_photos_of(session, actor, view.case.id)
        if visit_photos and not visiting:
            english = current_locale() == "en"
            name = VISIT_PHOTO_NAME[1 if english else 0]
            materials.append(EvidenceFiles(VISIT_PHOTO, name, visit_photos))
    return render(
        request,
        "tasks/task.html",
        status=status,
        materials=materials,
        visiting=visiting,
        visit_photos=visit_photos if visiting else [],
        judgement_error=judgement_error,
        actor=actor,
        view=view,
        task=view.task,
        outcomes=outcomes,
        choices=choices,
        fields=form_fields(outcomes),
        requirements=requirements,
        choice_labels=choice_labels,
        sla_state=case_service.task_sla_state(view.task, datetime.now(UTC)),
        CHANNELS_ZH=CHANNELS_ZH,
        submitted=submitted or TaskForm(),
        alert=alert,
        idempotency_key=idempotency_key or str(uuid.uuid4()),
        comment_body=comment_body,
        comment_error=comment_error,
        field_names=field_names,
        household=household,
        HOUSEHOLD_KINDS=households.HOUSEHOLD_KINDS,
        LIST_FIELDS=TASK_LIST_FIELDS,
        DATE_FIELDS=DATE_FIELDS,
        ASSISTANCE_KINDS=ASSISTANCE_KINDS,
        assistance=assistance,
        exit_reasons={r.code: r for r in view.pack.exit_reasons} if view.pack else {},
        instant=instant,
        to_verify=to_verify,
        verified_facts=verified_facts,
        Named=web_cases.Named,
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(
    request: Request, task_id: str, session: SessionDep, actor: PageActor
) -> Response:
    return await _page(request, session, actor, task_id)


# What a visit form's body may weigh: its photos at the per-file limit, and the fields.
_FORM_ENVELOPE_BYTES = 256 * 1024


def _too_large(settings: Settings) -> Problem:
    most = settings.material_max_files_per_item
    mb = settings.material_max_bytes // (1024 * 1024)
    return Problem(
        413,
        "payload-too-large",
        "Payload too large",
        f"at most {most} photos of {mb} MB each can be sent with one visit",
        detail_zh=f"每次最多提交 {most} 张照片，每张不超过 {mb} MB。",
    )


async def _photos_of(form: FormData, settings: Settings) -> list[tuple[str, bytes]]:
    """The photos of a visit form (the ``photos`` inputs; an empty input sends a nameless
    empty part, which is no photo)."""
    photos = []
    for part in form.getlist("photos"):
        if isinstance(part, UploadFile):
            data = await part.read(settings.material_max_bytes + 1)
            if part.filename or data:
                photos.append((part.filename or "photo.jpg", data))
    return photos


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
async def task_submit(
    request: Request,
    task_id: str,
    session: SessionDep,
    actor: PageActor,
    settings: SettingsDep,
    files: FilesDep,
) -> Response:
    """One handler for every task kind: the fields are named ``f_<field>`` after the task's
    own form definition; checked here, then by the workflow. A visit task's photos are kept
    first (each on its own), then the decision is sent."""
    most_photos = settings.material_max_files_per_item
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > (
        most_photos * settings.material_max_bytes + _FORM_ENVELOPE_BYTES
    ):
        raise _too_large(settings)
    form = await request.form(max_files=most_photos)
    check_csrf(request, str(form.get("csrf", "")))
    task = await task_service.get_task(session, actor, task_id)  # 404 outside the subtree
    outcomes, choices = form_definition(task.payload or {})
    submitted = read_form(form, outcomes, await task_service.verification_inputs(session, task))
    typed_key = str(form.get("idempotency_key", ""))
    # A repeat of the same submission keeps its key, so the decision is applied once.
    key = typed_key if _KEY.match(typed_key) else str(uuid.uuid4())
    # A closed task is not checked here: the service answers a stale completion (409).
    is_open = task.state == "open"
    submitted.errors = validate(submitted, outcomes, choices, task.kind) if is_open else {}
    # A visit's photos are kept whatever the fields say: they were taken at the door and have
    # crossed a weak network once; a corrected form need not send them again. A closed task
    # takes none (its resubmission is answered by the service with what was recorded).
    photos = await _photos_of(form, settings)
    if photos and is_open and task.kind in VISIT_TASK_KINDS:
        outcome = await materials_service.upload_visit_photos(
            session, files, settings, actor, task.case_id, photos
        )
        if outcome.refused:
            submitted.errors["photos"] = " ".join(problem_words(p) for p in outcome.refused)
    if submitted.errors:
        alert = {"message": _("填写的内容有误，请按提示修改"), "detail": ""}
        return await _page(
            request,
            session,
            actor,
            task_id,
            status=422,
            submitted=submitted,
            alert=alert,
            idempotency_key=key,
        )
    try:
        temporal = await get_temporal(request)  # away: said on the form, as a refusal is
        # Only the fields the chosen outcome asks for: what was typed for another outcome
        # (before the officer changed their mind) is not part of this decision.
        fields: dict[str, object] = {
            name: _field_value(name, values)
            for name, values in submitted.values.items()
            if values and name in outcomes.get(submitted.outcome, [])
        }
        # validate() checked the form against the task's own definition, stricter than the
        # schema; a closed task's form is not checked, so the service answers it (409) whatever
        # was typed, as the API would a valid body.
        completion = CompleteTaskIn.model_construct(
            outcome=submitted.outcome,
            fields=fields,
            comment=submitted.comment,
            # Checked by the service against the task's form, as the API's are.
            verified_facts=dict(submitted.verified),
        )
        await task_service.complete_task(
            session,
            temporal,
            actor,
            task_id,
            completion,
            idempotency_key=key,
            form_key=True,  # the key is this rendered form's: a resubmission is its decision
        )
    except Problem as problem:
        if problem.status == 404:
            raise
        errors_of(problem, submitted, outcomes)
        return await _page(
            request,
            session,
            actor,
            task_id,
            status=problem.status,
            submitted=submitted,
            alert=alert_for(problem),
            # The key was released (nothing was recorded): the corrected form may reuse it.
            idempotency_key=key,
        )
    # The workflow answers before it opens the next step: wait (bounded) until it is
    # recorded, so the inbox the officer lands on already shows it, and says what follows.
    await followup.after_completion(session, actor, task_id)
    query = urlencode({"done": "completed", "task": task_id})
    return RedirectResponse(f"/inbox?{query}", status_code=303)


async def _claim_action(
    request: Request, session: SessionDep, actor: Actor, task_id: str, release: bool
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    try:
        if release:
            await task_service.unclaim(session, actor, task_id)
        else:
            await task_service.claim(session, actor, task_id)
    except Problem as problem:
        if problem.status == 404:
            raise
        await session.rollback()
        return await _page(
            request, session, actor, task_id, status=problem.status, alert=alert_for(problem)
        )
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}/claim", response_class=HTMLResponse)
async def claim(request: Request, task_id: str, session: SessionDep, actor: PageActor) -> Response:
    """Claim the task (the API's compare-and-set: of two officers, one gets it, the other
    sees who has it)."""
    return await _claim_action(request, session, actor, task_id, release=False)


@router.post("/tasks/{task_id}/unclaim", response_class=HTMLResponse)
async def unclaim(
    request: Request, task_id: str, session: SessionDep, actor: PageActor
) -> Response:
    """Release the claim (its holder, or a supervisor)."""
    return await _claim_action(request, session, actor, task_id, release=True)


@router.post("/tasks/{task_id}/materials/{material_id}/judgement", response_class=HTMLResponse)
async def judge_material(
    request: Request, task_id: str, material_id: int, session: SessionDep, actor: PageActor
) -> Response:
    """合格 / 不合格 of one of the case's files, from the task page (the API's service)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    task = await task_service.get_task(session, actor, task_id)  # 404 outside the subtree
    try:
        verdict = JudgementIn(
            verdict=str(form.get("verdict", "")),
            reason=str(form.get("reason", "")) or None,
        )
    except ValidationError:
        error = (
            _("不合格时请填写原因")
            if form.get("verdict") == "rejected"
            else _("请选择合格或不合格")
        )
        return await _page(
            request, session, actor, task_id, status=422, judgement_error={material_id: error}
        )
    await materials_service.judge(session, actor, task.case_id, material_id, verdict)
    return RedirectResponse(f"/tasks/{task_id}#material-{material_id}", status_code=303)


@router.post("/tasks/{task_id}/comments", response_class=HTMLResponse)
async def add_comment(
    request: Request, task_id: str, session: SessionDep, actor: PageActor
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    body = str(form.get("body", ""))
    error = _("请填写意见内容") if not body.strip() else _text_error(body)
    if error:
        await task_service.get_task(session, actor, task_id)  # 404 before anything else
        return await _page(
            request, session, actor, task_id, status=422, comment_body=body, comment_error=error
        )
    await task_service.add_comment(session, actor, task_id, CommentIn(body=body))
    return RedirectResponse(f"/tasks/{task_id}#comments", status_code=303)
