"""The public application form (申请): anyone may apply online, without an account, through the
same service as the API's ``POST /api/v1/applications`` (``application.services.applications``),
as the online channel (网上申请).

The applicant first chooses the place (county, street/township or community); the regional
policy pack applying there decides the categories (申报类别) and materials (所提供资料) the form
offers. The form has the fields of the seeds' application forms (新余市就业困难人员认定申请表:
姓名 ... 户籍地址, 联系电话, 申报类别, 所提供资料, 就业创业意愿 with its six choices); the ID
number is checked as it is typed (htmx, ``/apply/check-id``) and again on submit, so the form
works without JavaScript. Below the category come the questions the place's pack needs for it
(:func:`domain.questions.application_questions`: 户籍, 劳动能力, 就业意愿, 失业登记, work and
income, the category's own facts), typed inputs named ``fact.<path>``; choosing another
category swaps them (htmx, ``/apply/questions``) or, without JavaScript, its button posts the
form back with everything kept (``refresh``). A submitted application leads to a receipt (回执) with
the case number, printable.

A visitor has no session, so the CSRF token is bound to a random cookie of this form instead
(``yz_apply``: an HMAC of it, as :func:`web.common.csrf_token` does for the session cookie).
The receipt's link is signed with the same cookie: only the browser that applied sees the
receipt, and a case number alone shows nobody's name.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from application.errors import Problem
from application.http import FilesDep, SessionDep, SettingsDep, client_address, get_temporal
from application.rate_limits import anonymous_application
from application.schemas.applications import ApplicationIn
from application.services.materials import (
    FILE_FIELD,
    FileBatch,
    FilesForm,
    apply_with_files,
    check_batch,
    is_multipart,
    read_files_form,
)
from application.services.supplements import current_code
from domain.calendar import SHANGHAI
from domain.facts import (
    CHOICE_NAMES,
    HUKOU_ADDRESS_MAX_LENGTH,
    INTENTION_OTHER_MAX_LENGTH,
    ApplicantFacts,
    set_stored_fact,
    stated_facts,
)
from domain.ids import (
    PhoneNumberError,
    ResidentIdError,
    mask_id_number,
    parse_phone,
    parse_resident_id,
)
from domain.labels import (
    CLOCK_UNITS,
    EMPLOYMENT_INTENTIONS_ZH as INTENTIONS,
    MARITAL_STATUSES as MARITAL,
    SEXES as SEX,
)
from domain.policy.model import PolicyPack
from domain.questions import Question, answer_problems, application_questions
from domain.text import TextRefused, clean_line
from store.packs import pinned_pack
from web import public_view as web_public
from web.common import APPLY_FORM, HTMX, alert_for, problem_words, refusal_words, render
from web.i18n import current_locale, gettext as _

router = APIRouter(include_in_schema=False)

# What a material's file input offers (store/file_checks.py decides from the bytes).
ACCEPTED_TYPES = "image/jpeg,image/png,application/pdf"


# The choices of the seeds' form are the usual ones of Chinese personnel forms; the value
# stored is the Chinese word itself (the model keeps free text).
POLITICAL = ("中共党员", "中共预备党员", "共青团员", "民主党派成员", "无党派人士", "群众")
EDUCATION = (
    "研究生",
    "大学本科",
    "大学专科",
    "中等专科",
    "技工学校",
    "高中",
    "初中",
    "小学及以下",
)
# The model's field paths (the service's and the validator's errors) -> the form's fields.
FIELD_OF = {
    "facts.person.name": "name",
    "person.name": "name",
    "facts.person.id_number": "id_number",
    "person.id_number": "id_number",
    "person.sex": "sex",
    "person": "id_number",  # the ID number against sex: the model's cross-check
    "person.ethnicity": "ethnicity",
    "person.political_status": "political_status",
    "person.education": "education",
    "person.marital_status": "marital_status",
    "unemployment.unemployed_since": "unemployed_since",
    "unemployment.employment_card_no": "employment_card_no",
    "residence.hukou_address": "hukou_address",
    "facts.residence.hukou_address": "hukou_address",
    "person.phone": "phone",
    "facts.person.phone": "phone",
    "person.employment_intentions": "employment_intentions",
    "person.employment_intentions_other": "employment_intentions_other",
    "requested_category": "category",
    "evidence": "evidence",
}
TEXT_FIELDS = (
    "name",
    "sex",
    "ethnicity",
    "political_status",
    "education",
    "marital_status",
    "id_number",
    "employment_card_no",
    "unemployed_since",
    "hukou_address",
    "phone",
    "category",
    "employment_intentions_other",
)
PARTIAL_ID = re.compile(r"[0-9]{1,17}")
MAX_LENGTH = {
    "name": 50,
    "ethnicity": 20,
    "employment_card_no": 40,
    "id_number": 40,
    "hukou_address": HUKOU_ADDRESS_MAX_LENGTH,
    "phone": 30,
    "employment_intentions_other": INTENTION_OTHER_MAX_LENGTH,
}
# The free texts the model refuses control characters in (a pasted tab is only a space).
# Held to domain/text.py's rule (no control, direction or invisible characters), as the API is.
PLAIN_TEXT_FIELDS = ("name", "hukou_address", "employment_intentions_other")


# --- the receipt's signature ---------------------------------------------------------------


def _sign(request: Request, purpose: str, cookie: str) -> str:
    secret = request.app.state.settings.secret_key.encode()
    return hmac.new(secret, f"{purpose}:{cookie}".encode(), hashlib.sha256).hexdigest()


def receipt_url(request: Request, case_id: str, cookie: str) -> str:
    signature = _sign(request, f"receipt:{case_id}", cookie)
    return f"/apply/receipt/{quote(case_id, safe='')}?t={signature}"


# --- the form ----------------------------------------------------------------------------


@dataclass
class FormState:
    """What was typed (kept on every answer) and what is wrong with it, by field."""

    values: dict[str, str] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    intentions: list[str] = field(default_factory=list)
    # The answers to the pack's questions as typed, by fact path (domain/questions.py).
    answers: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    alert: str = ""
    alert_detail: str = ""


def _today() -> date:
    return datetime.now(SHANGHAI).date()


def id_message(exc: ResidentIdError | PhoneNumberError) -> str:
    """The ID module's own explanation of a bad ID or telephone number in the page's language
    (it carries both)."""
    return exc.message if current_locale() == "en" else exc.message_zh


def _has_hidden_characters(text: str) -> bool:
    try:
        clean_line(text, limit=len(text))  # the length has its own message above
    except TextRefused:
        return True
    return False


def _materials(pack: PolicyPack) -> list[dict[str, Any]]:
    """The pack's evidence as the form lists it: the common ones first, then those of a
    category, each with the categories that ask for it."""
    needed_by: dict[str, list[Any]] = {}
    for c in pack.categories:
        for code in c.evidence:
            needed_by.setdefault(code, []).append(c)
    common = [e for e in pack.evidence if e.code in pack.common_evidence]
    rest = [e for e in pack.evidence if e.code not in pack.common_evidence]
    return [
        {
            "item": e,
            "common": e.code in pack.common_evidence,
            "categories": needed_by.get(e.code, []),
            "is_form": e.code == web_public.APPLICATION_FORM,
        }
        for e in [*common, *rest]
    ]


# The questions the basic fields above already ask (the seeds' form has them whatever the
# pack): the questions' section leaves them out rather than ask twice.
ASKED_ABOVE = {
    "person.marital_status": "marital_status",
    "unemployment.unemployed_since": "unemployed_since",
}
ANSWER_PREFIX = "fact."
# An answer longer than any date or amount is cut before it is read.
ANSWER_MAX_LENGTH = 20
# Months and yuan have no use beyond these (a working life is under 600 months).
NUMBER_MAX = {"int": 1200, "float": 100_000_000}


@dataclass(frozen=True)
class QuestionView:
    """A question as the form shows it: the domain's question with its field's name and id,
    its words in the page's language and its choices named."""

    q: Question
    name: str
    id: str
    label: str
    unit: str
    choices: list[tuple[str, str]]
    # "Answer if … is yes": the words of the question this one follows.
    hint: str = ""


def _questions(pack: PolicyPack, category: str) -> list[Question]:
    """The pack's questions for the category chosen (none chosen or unknown: the common
    ones), minus those the basic fields ask."""
    known = category if pack.category(category) is not None else None
    return [q for q in application_questions(pack, known) if q.path not in ASKED_ABOVE]


def _label(q: Question, pack: PolicyPack, en: bool) -> str:
    # The domain's English is lower-case, for integrators; a label starts capitalised.
    label = q.label_en[:1].upper() + q.label_en[1:] if en else q.label_zh
    if q.path == "residence.hukou_local" and not en:
        # Where "here" is (the pack names its region in Chinese only).
        label += f"（{pack.region}）"
    return label


def _question_views(pack: PolicyPack, category: str) -> list[tuple[str, list[QuestionView]]]:
    """The questions grouped under their headings, in the pack's order."""
    en = current_locale() == "en"
    chosen = pack.category(category)
    titles = {
        "base_condition": _("基本条件"),
        "exclusion": _("就业和收入情况"),
        "category": _("申报类别「%(name)s」的情况")
        % {"name": (chosen.name_en if en else chosen.name) if chosen else ""},
    }
    groups: dict[str, list[QuestionView]] = {}
    asked = _questions(pack, category)
    words = {q.path: _label(q, pack, en) for q in asked}
    for q in asked:
        groups.setdefault(q.group, []).append(
            QuestionView(
                q=q,
                name=ANSWER_PREFIX + q.path,
                id="fact-" + q.path.replace(".", "-"),
                label=words[q.path],
                hint=(
                    _("“%(question)s”选“是”时填写") % {"question": words[q.follows]}
                    if q.follows in words
                    else ""
                ),
                unit=q.unit_en if en else q.unit_zh,
                choices=[
                    (c, CHOICE_NAMES[c][1 if en else 0] if c in CHOICE_NAMES else c)
                    for c in q.choices
                ],
            )
        )
    return [(titles[g], items) for g, items in groups.items()]


def _parse_answer(q: Question, text: str) -> tuple[Any, str]:
    """(value, error) of one typed answer; an empty answer is unknown (None), never "no"."""
    if not text:
        return None, ""
    if q.type == "bool":
        if text in ("true", "false"):
            return text == "true", ""
        return None, _("请选择“是”“否”或“不清楚”")
    if q.type == "date":
        try:
            return date.fromisoformat(text), ""
        except ValueError:
            return None, _("请按“年-月-日”填写日期，如 2025-03-01")
    if q.type in ("int", "float"):
        try:
            number: int | float = int(text) if q.type == "int" else float(text)
        except ValueError:
            number = -1
        if not 0 <= number <= NUMBER_MAX[q.type] or number != number:
            if q.type == "int":
                return None, _("请填写 0 到 %(max)s 之间的整数") % {"max": NUMBER_MAX["int"]}
            return None, _("请填写 0 到 %(max)s 之间的数字") % {"max": NUMBER_MAX["float"]}
        return number, ""
    if q.type == "enum":
        if text in q.choices:
            return text, ""
        return None, _("请从所列选项中选择")
    return text, ""


def _answers(form: FormState, pack: PolicyPack) -> dict[str, Any]:
    """The answers to the questions asked now, read by type; errors next to each."""
    out: dict[str, Any] = {}
    for q in _questions(pack, form.values.get("category", "")):
        value, error = _parse_answer(q, form.answers.get(q.path, ""))
        if error:
            form.errors[ANSWER_PREFIX + q.path] = error
        elif value is not None:
            out[q.path] = value
    return out


def _validate(form: FormState, pack: PolicyPack) -> None:
    """The checks a person filling the form can act on, with messages next to the fields."""
    v = form.values
    for name, limit in MAX_LENGTH.items():
        if len(v.get(name, "")) > limit:
            form.errors[name] = _("最多 %(n)s 个字") % {"n": limit}
    if not v.get("name"):
        form.errors["name"] = _("请填写姓名")
    rid = None
    if not v.get("id_number"):
        form.errors["id_number"] = _("请填写身份证号码")
    elif "id_number" not in form.errors:
        try:
            rid = parse_resident_id(v["id_number"], today=_today())
        except ResidentIdError as exc:
            form.errors["id_number"] = id_message(exc)
    if v.get("sex") and v["sex"] not in SEX:
        form.errors["sex"] = _("请选择性别")
    elif rid is not None and v.get("sex") and v["sex"] != rid.sex:
        form.errors["sex"] = _("性别与身份证号码不符（身份证号码为%(sex)s性）") % {
            "sex": _(SEX[rid.sex])
        }
    if v.get("marital_status") and v["marital_status"] not in MARITAL:
        form.errors["marital_status"] = _("请选择婚否")
    if v.get("political_status") and v["political_status"] not in POLITICAL:
        form.errors["political_status"] = _("请选择政治面貌")
    if v.get("education") and v["education"] not in EDUCATION:
        form.errors["education"] = _("请选择文化程度")
    for name in PLAIN_TEXT_FIELDS:
        if name not in form.errors and _has_hidden_characters(v.get(name, "")):
            form.errors[name] = _("不能包含控制字符、文字方向控制符或不可见字符")
    if v.get("phone") and "phone" not in form.errors:
        try:
            parse_phone(v["phone"])
        except PhoneNumberError as exc:
            form.errors["phone"] = id_message(exc)
    if v.get("unemployed_since"):
        try:
            since = date.fromisoformat(v["unemployed_since"])
        except ValueError:
            form.errors["unemployed_since"] = _("请按“年-月-日”填写失业时间，如 2025-03-01")
        else:
            if since > _today():
                form.errors["unemployed_since"] = _("失业时间不能晚于今天")
    categories = {c.code for c in pack.categories}
    if not v.get("category"):
        form.errors["category"] = _("请选择申报类别")
    elif v["category"] not in categories:
        form.errors["category"] = _("该类别不属于本地区的政策，请重新选择")
    known = {e.code for e in pack.evidence}
    if any(code not in known for code in form.evidence):
        form.errors["evidence"] = _("所选资料不属于本地区的政策，请重新选择")
    if any(code not in INTENTIONS for code in form.intentions):
        form.errors["employment_intentions"] = _("请从所列的就业创业意愿中选择")
    answers = _answers(form, pack)
    if answers.get("person.willing_to_work") is False and (
        form.intentions or v.get("employment_intentions_other")
    ):
        # Ticking a wish is stating 有就业意愿 (domain/facts.py Person).
        form.errors[ANSWER_PREFIX + "person.willing_to_work"] = _(
            "已选择就业创业意愿，有就业意愿应为“是”"
        )


def _facts(form: FormState, pack: PolicyPack) -> ApplicantFacts:
    v = form.values
    evidence = list(dict.fromkeys(form.evidence))
    # Filling this form online is handing in the region's application form (认定表).
    if any(e.code == web_public.APPLICATION_FORM for e in pack.evidence):
        form_code = web_public.APPLICATION_FORM
        evidence = [form_code, *(e for e in evidence if e != form_code)]
    intentions = [code for code in INTENTIONS if code in form.intentions]
    if v.get("employment_intentions_other") and "other" not in intentions:
        # Words typed next to 其他 are the 其他 choice, ticked or not.
        intentions.append("other")
    data: dict[str, Any] = {
        "person": {
            "name": v.get("name") or None,
            "id_number": v.get("id_number") or None,
            "sex": v.get("sex") or None,
            "ethnicity": v.get("ethnicity") or None,
            "political_status": v.get("political_status") or None,
            "education": v.get("education") or None,
            "marital_status": v.get("marital_status") or None,
            "phone": v.get("phone") or None,
            # Any of them is the applicant's 有就业意愿 (the model sets willing_to_work).
            "employment_intentions": intentions,
            "employment_intentions_other": v.get("employment_intentions_other") or None,
        },
        "residence": {"hukou_address": v.get("hukou_address") or None},
        "unemployment": {
            "employment_card_no": v.get("employment_card_no") or None,
            "unemployed_since": v.get("unemployed_since") or None,
        },
        "requested_category": v.get("category") or None,
        "evidence": evidence,
    }
    with pack.fact_scope():  # its own facts ([[facts]]) are kept by path
        for path, value in _answers(form, pack).items():
            set_stored_fact(data, path, value)
    return ApplicantFacts.model_validate(data)


def _field_of(path: str) -> str | None:
    """The form's field of a model or service error's location (``facts.`` prefixed or not):
    a basic field, or a question's answer."""
    if path in FIELD_OF:
        return FIELD_OF[path]
    fact = path.removeprefix("facts.")
    if fact in ASKED_ABOVE:
        return ASKED_ABOVE[fact]
    if fact.startswith("pack_facts."):
        # A pack's own fact: its answer's field has the fact's path like any other.
        return ANSWER_PREFIX + fact.removeprefix("pack_facts.")
    return ANSWER_PREFIX + fact if fact in stated_facts() else None


def _field_errors(form: FormState, errors: list[dict[str, Any]]) -> None:
    """The model's or the service's field errors, each next to its field (the rest above),
    in Chinese where the service gives it (``message_zh``)."""
    for err in errors:
        target = _field_of(str(err.get("field", "")))
        message = str(err.get("message", ""))
        if err.get("message_zh") and current_locale() != "en":
            message = str(err["message_zh"])
        if target and target not in form.errors:
            form.errors[target] = message
        elif not target:
            form.alert = _("填写的内容有误")
            form.alert_detail = message


async def _form_page(
    request: Request,
    session: SessionDep,
    place_code: str,
    form: FormState,
    *,
    status: int = 200,
    files_sent: bool = False,
) -> Response:
    cookie, new = APPLY_FORM.cookie(request)
    if files_sent and not form.alert:
        # A browser never keeps a chosen file across pages: say so, once, above the form.
        form.alert = _("请修改标出的内容。已选择的文件没有保存，提交前请重新选择。")
    places = await web_public.application_places(session)
    place = next((p for p in places if p.code == place_code), None)
    if place_code and place is None and not form.alert:
        form.alert = _("请选择申请地点")
        status = 422 if request.method == "POST" else 404
    regions: dict[str, list[web_public.Place]] = {}
    for p in places:
        regions.setdefault(p.pack.id, []).append(p)
    response = render(
        request,
        "public/apply.html",
        status=status,
        csrf=APPLY_FORM.token(request, cookie),
        regions=regions,
        place=place,
        pack=place.pack if place else None,
        materials=_materials(place.pack) if place else [],
        question_groups=(
            _question_views(place.pack, form.values.get("category", "")) if place else []
        ),
        ANSWER_MAX_LENGTH=ANSWER_MAX_LENGTH,
        form=form,
        SEX=SEX,
        MARITAL=MARITAL,
        INTENTIONS=INTENTIONS,
        MAX_LENGTH=MAX_LENGTH,
        POLITICAL=POLITICAL,
        EDUCATION=EDUCATION,
        HTMX=HTMX,
        FILE_FIELD=FILE_FIELD,
        ACCEPT=ACCEPTED_TYPES,
        FILE_MAX_MB=request.app.state.settings.material_max_bytes // (1024 * 1024),
    )
    if new:
        APPLY_FORM.set_cookie(request, response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/apply", response_class=HTMLResponse)
async def apply_page(
    request: Request, session: SessionDep, place: str = "", category: str = ""
) -> Response:
    # ?category= chooses the category (and so its questions) in a link to the form.
    form = FormState(values={"category": category[:60]} if category else {})
    return await _form_page(request, session, place[:12], form)


def _read_form(data: Any) -> FormState:
    """What the form posted, each value cut to its field's bound."""
    answers: dict[str, str] = {}
    for key, value in data.multi_items():
        if key.startswith(ANSWER_PREFIX) and len(answers) < 100:
            answers[key[len(ANSWER_PREFIX) :][:80]] = str(value).strip()[:ANSWER_MAX_LENGTH]
    return FormState(
        values={k: str(data.get(k, "")).strip() for k in TEXT_FIELDS},
        evidence=[str(x) for x in data.getlist("evidence")][:50],
        intentions=[str(x) for x in data.getlist("employment_intentions")][:20],
        answers=answers,
    )


@router.post("/apply/questions", response_class=HTMLResponse)
async def questions(request: Request, session: SessionDep) -> Response:
    """The questions for the place and category chosen, for htmx when the category changes;
    the answers already given are kept. Without JavaScript, the category's 更新问题 button
    posts the whole form back (``refresh``) for the same result."""
    data = await request.form()
    APPLY_FORM.check(request, str(data.get("csrf", "")))
    form = _read_form(data)
    place = await web_public.application_place(session, str(data.get("place", ""))[:12])
    if place is None:
        raise Problem(404, "not-found", "Not found", "no application can be filed there")
    return render(
        request,
        "public/_questions.html",
        question_groups=_question_views(place.pack, form.values.get("category", "")),
        category=place.pack.category(form.values.get("category", "")),
        ANSWER_MAX_LENGTH=ANSWER_MAX_LENGTH,
        form=form,
    )


async def _check_files(
    form: FormState, posted: FilesForm | None, pack: PolicyPack, settings: Any
) -> FileBatch:
    """The files handed in with the form, each checked (nothing kept yet): each refusal
    beside its item's input (``file.<code>``); an item with a file fit to keep is ticked."""
    if posted is None:
        return FileBatch()
    # Off the event loop: normalising photos and rendering PDFs would hold every request.
    batch = await asyncio.to_thread(check_batch, pack, posted.files, settings)
    refused = dict(batch.refused)
    for code, refusals in posted.too_large.items():
        refused.setdefault(code, []).extend(refusals)
    for code, refusals in refused.items():
        form.errors[FILE_FIELD + code] = " ".join(refusal_words(r) for r in refusals)
    for upload in batch.accepted:
        if upload.evidence_code not in form.evidence:
            form.evidence.append(upload.evidence_code)
    return batch


@router.post("/apply", response_class=HTMLResponse)
async def apply(
    request: Request, session: SessionDep, settings: SettingsDep, files: FilesDep
) -> Response:
    posted: FilesForm | None = None
    if is_multipart(request):
        # The form with its materials' files (enctype multipart/form-data).
        try:
            posted = await read_files_form(request, settings)
        except Problem as problem:
            # Past the whole form's bound nothing of it could be read, what was typed neither.
            return await _form_page(
                request, session, "", FormState(alert=problem_words(problem)), status=problem.status
            )
        data: Any = posted.fields
    else:
        data = await request.form()
    cookie = APPLY_FORM.check(request, str(data.get("csrf", "")))
    form = _read_form(data)
    place_code = str(data.get("place", ""))[:12]
    place = await web_public.application_place(session, place_code)
    if place is None:
        form.alert = _("请选择申请地点")
        return await _form_page(request, session, "", form, status=422)
    if data.get("refresh"):
        # The category's 更新问题 button (no JavaScript): the questions for the category
        # chosen, everything typed kept, nothing checked yet.
        return await _form_page(request, session, place.code, form)
    batch = await _check_files(form, posted, place.pack, settings)
    _validate(form, place.pack)
    if form.errors:
        return await _form_page(
            request, session, place.code, form, status=422, files_sent=bool(posted and posted.files)
        )
    try:
        # _validate required the name and the ID number in the page's words, so the schema's
        # own requirement of both never answers here.
        application = ApplicationIn(
            jurisdiction_code=place.code, policy_id=place.pack.id, facts=_facts(form, place.pack)
        )
    except ValidationError as exc:
        _field_errors(
            form,
            [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ],
        )
        return await _form_page(request, session, place.code, form, status=422)
    # The service makes the same checks across answers; made here, before the rate limit
    # counts a submission, with the same words.
    with place.pack.fact_scope():  # its own dates are checked and shown beside their inputs
        _field_errors(
            form,
            [
                {"field": p.path, "message": p.message, "message_zh": p.message_zh}
                for p in answer_problems(application.facts, _today())
            ],
        )
    if form.errors:
        return await _form_page(request, session, place.code, form, status=422)
    try:
        # The public form is the anonymous channel whoever is signed in: always limited.
        async with anonymous_application(
            session, settings, client_address(request), application.facts.person.id_number
        ) as places:
            temporal = await get_temporal(request)
            # The case and its files are stored together or not at all (the files are checked
            # above, so a refused application stored none). The staff's counter intake is JSON
            # and hands in its papers through the case's materials API (source ``counter``).
            case = await apply_with_files(
                session, temporal, settings, files, application, batch.accepted, places
            )
    except Problem as problem:
        if problem.status == 429:
            form.alert = alert_for(problem)["message"]
            page = await _form_page(request, session, place.code, form, status=problem.status)
            page.headers.update(problem.headers)
            return page
        if problem.type == "invalid-id-number":
            form.errors["id_number"] = problem_words(problem)
        elif problem.type == "validation-error" and problem.extra.get("errors"):
            _field_errors(form, list(problem.extra["errors"]))
        else:
            alert = alert_for(problem)  # a server-side failure's correlation id with it
            form.alert, form.alert_detail = alert["message"], alert["detail"]
        return await _form_page(request, session, place.code, form, status=problem.status)
    return RedirectResponse(receipt_url(request, case.case_id, cookie), status_code=303)


@router.post("/apply/check-id", response_class=HTMLResponse)
async def check_id(request: Request) -> Response:
    """The ID number's check as it is typed: a small fragment for htmx. Partial input gets a
    count of what is still to type, not an error."""
    data = await request.form()
    APPLY_FORM.check(request, str(data.get("csrf", "")))
    value = "".join(str(data.get("id_number", "")).split())[:40]
    if not value:
        return render(request, "public/_id_check.html", ok=False, message="", error=False)
    if len(value) < 18 and PARTIAL_ID.fullmatch(value):
        # Still typing (a 15-digit legacy number is checked in full on submit).
        message = _("已输入 %(n)s 位，共 18 位") % {"n": len(value)}
        return render(request, "public/_id_check.html", ok=False, message=message, error=False)
    try:
        rid = parse_resident_id(value, today=_today())
    except ResidentIdError as exc:
        return render(
            request, "public/_id_check.html", ok=False, message=id_message(exc), error=True
        )
    message = _("号码有效：出生日期 %(born)s，性别 %(sex)s") % {
        "born": rid.birth_date.isoformat(),
        "sex": _(SEX[rid.sex]),
    }
    return render(request, "public/_id_check.html", ok=True, message=message, error=False)


# --- the receipt -------------------------------------------------------------------------


def _duration(value: int, unit: str) -> str:
    # An unknown unit reads as working days, the packs' usual one.
    named = CLOCK_UNITS.get(unit, CLOCK_UNITS["working_days"])
    return _("%(n)s %(unit)s") % {"n": value, "unit": _(named)}


@router.get("/apply/receipt/{case_id}", response_class=HTMLResponse)
async def receipt(
    request: Request, case_id: str, session: SessionDep, settings: SettingsDep, t: str = ""
) -> Response:
    cookie = request.cookies.get(APPLY_FORM.cookie_name, "")
    expected = _sign(request, f"receipt:{case_id}", cookie) if cookie else ""
    if not expected or not hmac.compare_digest(t.encode(), expected.encode()):
        # Only the browser that applied may see the receipt: anyone else, as if none existed.
        raise Problem(404, "not-found", "Not found", f"receipt {case_id[:40]} was not found")
    case = await web_public.submitted_case(session, case_id)
    pack = await pinned_pack(session, case)
    clock = pack.clocks.identification_deadline
    stages = pack.procedure.stages if pack.procedure else []
    response = render(
        request,
        "public/receipt.html",
        case=case,
        id_masked=mask_id_number(case.id_number),
        submitted=case.submitted_at,
        place_full=await web_public.place_name(session, case.jurisdiction_code),
        pack=pack,
        category=next(
            (c for c in pack.categories if c.code == case.facts.get("requested_category")), None
        ),
        stages=[s for s in stages if s.role != "system"],
        period=_duration(clock.value, clock.unit) if clock else "",
        supplement=(
            _duration(pack.clocks.supplement_deadline.value, pack.clocks.supplement_deadline.unit)
            if pack.clocks.supplement_deadline
            else ""
        ),
        now=datetime.now(UTC),
        # Once the one-time notice is served, its code, for the online supplement.
        supplement_code=await current_code(session, settings, case),
    )
    response.headers["Cache-Control"] = "no-store"
    return response
