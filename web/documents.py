"""Printable documents with print CSS (``web/static/print.css``: A4, the site's header and the
toolbar not printed): the application form (认定表) as filled, with each office's opinion from
its recorded decisions; the notices served on the applicant (the notice of identification
认定结果告知书, the notice of non-identification 不予认定就业困难人员告知书, the one-time notice
of missing materials 一次性告知书); and the publicity list (公示名单) of a place and period.

For logged-in staff whose jurisdiction holds the case or the place (:func:`application.
services.cases.case_for`, :func:`application.services.supervision.place_for`; anything else is
404 like a missing one). The application form shows the full ID number, so every view of it is
audited as a full view of the case; a notice and the publicity list show masked numbers and
are audited as a download and a list view. The documents are official and always in Chinese;
the toolbar and the picker around them follow the page's language. Every document cites the
clause of the rule it applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from application.errors import Problem
from application.http import SessionDep, SettingsDep
from application.services import cases as case_service, publicity as publicity_service, supervision
from application.services.supervision import Period
from domain.calendar import local_date
from domain.labels import EMPLOYMENT_INTENTIONS_ZH, label
from domain.policy.model import PolicyPack
from store import cases_repo, repos, tasks_repo
from store.models import Case, Task
from store.packs import pinned_pack
from web import case_view, dates, public_view as web_public
from web.common import PageActor, check_csrf, render
from web.i18n import gettext as _
from workflows.rules import resolve_level

router = APIRouter(include_in_schema=False)

# The opinion boxes of the form: the stages whose office signs the form (the seeds' forms
# have the street's initial-review box and the county's identification box).
SIGNING_STAGES = ("initial_review", "review", "immediate_conclusion")
FINAL_STAGES = ("review", "immediate_conclusion")
# The task each stage records its decision in.
STAGE_TASKS = {
    "initial_review": "initial_review",
    "home_visit": "home_visit",
    "publicity": "publicity_report",
    "review": "review",
    "immediate_conclusion": "immediate_conclusion",
}
# What an office writes in its box for a recorded decision. The form's own words, not the
# inbox's labels: 初审 is passed or not (通过/不通过), never 认定 (the county identifies);
# jilin 二(二): 公示无异议，签署初步意见; 二(二)(三): 在认定表上注明原因.
OPINION_WORDS = {
    ("initial_review", "approve"): "初审通过。",
    ("initial_review", "refuse"): "初审不通过。",
    ("home_visit", "confirmed"): "经入户核实，情况属实。",
    ("home_visit", "not_confirmed"): "经入户核实，情况不符。",
    # Reported once every objection of the publicity is handled (workflows/identification.py):
    # an objection dismissed still leaves "无异议" untrue, so the box says the period ran out.
    ("publicity_report", "report"): "公示期满，签署初步意见并上报。",
    ("review", "approve"): "经审核，符合就业困难人员认定条件，予以认定。",
    ("review", "refuse"): "经审核，不符合就业困难人员认定条件，不予认定。",
    ("immediate_conclusion", "approve"): "经审核，符合就业困难人员认定条件，予以认定。",
    ("immediate_conclusion", "refuse"): "经审核，不符合就业困难人员认定条件，不予认定。",
}
CaseId = Annotated[str, Path(min_length=1, max_length=40, pattern=case_service.CASE_ID_PATTERN)]
NoticeId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _no_store(response: Response) -> Response:
    # A document about a named person: never kept in a shared machine's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _chinese_date(value: Any) -> str:
    """An instant's Beijing day as documents write it (a naive instant from SQLite is UTC)."""
    local = dates.beijing_day(value)
    return case_service.chinese_date(local) if local is not None else ""


@dataclass
class OpinionBox:
    """One office's box on the form: its decisions in the order taken (one line each, with the
    reason and the officer's note), who signed and when, and the clauses they apply."""

    title: str
    lines: list[str] = field(default_factory=list)
    by: str = ""
    on: str = ""
    basis: list[str] = field(default_factory=list)


def _decision_line(task: Task, category_name: str, level_name: str | None = None) -> str:
    """``level_name``: the pack's name of a review level that is not the one 初审 (街道复查),
    whose box says that level passed or did not."""
    outcome: dict[str, Any] = task.outcome if isinstance(task.outcome, dict) else {}
    code = str(outcome.get("outcome") or "")
    fields = outcome.get("fields") if isinstance(outcome.get("fields"), dict) else {}
    assert isinstance(fields, dict)
    words = OPINION_WORDS.get((task.kind, code)) or label("outcome", code, code)
    if level_name and task.kind == "initial_review" and code in ("approve", "refuse"):
        words = f"{level_name}{'通过' if code == 'approve' else '不通过'}。"
    parts = [words]
    if code == "approve" and task.kind in FINAL_STAGES and category_name:
        parts.append(f"认定类别：{category_name}。")
    for name in ("reason", "visit_record"):
        text = _text(fields.get(name))
        if text:
            parts.append(f"{label('field', name, name)}：{text}。")
    comment = _text(outcome.get("comment"))
    if comment:
        parts.append(f"备注：{comment}")
    return "".join(parts)


async def _opinions(session: AsyncSession, case: Case, pack: PolicyPack) -> list[OpinionBox]:
    """One box per signing stage of the pack, filled from the recorded decisions (the completed
    tasks): a stage that signs no box of its own (入户核实, the report after 公示) writes in
    the box of the signing stage at its level, as the street signs its initial opinion after
    the publicity (jilin 二(二)). A case decided before its tasks were kept falls back on the
    case's own record of the identification or refusal."""
    stages = pack.procedure.stages if pack.procedure else []
    category = next((c for c in pack.categories if c.code == case.category_code), None)
    category_name = category.name if category else (case.category_code or "")
    # Boxes by stage code (its id where the pack names one: each review level signs its own).
    boxes: dict[str, OpinionBox] = {}
    box_of_level: dict[str, OpinionBox] = {}
    for stage in stages:
        if stage.kind in SIGNING_STAGES:
            box = OpinionBox(title=f"{stage.name}意见")
            boxes[stage.stage_id] = box
            box_of_level.setdefault(stage.level, box)
    box_of_stage: dict[str, tuple[OpinionBox, str | None, str | None]] = {}
    stage_of_task: dict[str, str] = {}  # a task kind → the first stage it records
    for stage in stages:
        task_kind = STAGE_TASKS.get(stage.kind)
        signing = boxes.get(stage.stage_id) or box_of_level.get(stage.level)
        if task_kind and signing is not None:
            named = stage.name if stage.id else None
            box_of_stage[stage.stage_id] = (signing, stage.source, named)
            stage_of_task.setdefault(task_kind, stage.stage_id)
    tasks = await cases_repo.completed_tasks(session, case.id)
    names = await tasks_repo.display_names(session, (t.completed_by for t in tasks))
    for task in tasks:
        payload = task.payload if isinstance(task.payload, dict) else {}
        code = payload.get("stage_id") or stage_of_task.get(task.kind)
        if code not in box_of_stage:
            continue
        box, source, level_name = box_of_stage[code]
        box.lines.append(_decision_line(task, category_name, level_name))
        box.by = f"经办人：{names[task.completed_by]}" if task.completed_by in names else ""
        box.on = _chinese_date(task.completed_at)
        if source and f"依据{source}" not in box.basis:
            box.basis.append(f"依据{source}")
    final = next((boxes[s.stage_id] for s in stages if s.kind in FINAL_STAGES), None)
    if final is not None and case.identified_at is not None:
        if not final.lines:  # decided before the decisions were kept as tasks
            final.lines.append(
                OPINION_WORDS[("review", "approve")] + f"认定类别：{category_name}。"
            )
            final.by = f"经办人：{case.identified_by}" if case.identified_by else ""
            final.on = _chinese_date(case.identified_at)
        if case.identifying_agency:
            final.by = "　".join(
                x for x in (f"认定机构：{_agency_name(case.identifying_agency)}", final.by) if x
            )
        if category is not None and category.source:
            final.basis.append(f"认定类别依据{category.source}")
    elif final is not None and case.status == "refused" and not final.lines:
        final.lines.append("不予认定。原因：" + (_text(case.outcome_reason) or "见不予认定告知书"))
        final.on = _chinese_date(case.closed_at)
    return list(boxes.values())


def _agency_name(agency: str) -> str:
    # Stored as "<place code> <name>" (workflows/identification.py); the form names the office.
    code, _, name = agency.partition(" ")
    return name if code.isdigit() and name else agency


@router.get("/documents/cases/{case_id}/application", response_class=HTMLResponse)
async def application_form(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    case_id: CaseId,
) -> Response:
    case = await case_service.case_for(session, actor, case_id)
    await case_service.audit_full_view(session, actor, case)  # the full ID number is shown
    pack = await pinned_pack(session, case)
    facts: dict[str, Any] = case.facts if isinstance(case.facts, dict) else {}
    person = facts.get("person") or {}
    unemployment = facts.get("unemployment") or {}
    handed_in = set(facts.get("evidence") or [])
    residence = facts.get("residence") or {}
    wished = set(person.get("employment_intentions") or [])
    return _no_store(
        render(
            request,
            "documents/application.html",
            actor=actor,
            case=case,
            title=web_public.form_title(pack),
            filled_on=_chinese_date(case.submitted_at),
            place_full=await web_public.place_name(session, case.jurisdiction_code),
            person=person,
            sex=label("sex", person.get("sex"), ""),
            marital=label("marital_status", person.get("marital_status"), ""),
            employment_card_no=_text(unemployment.get("employment_card_no")),
            unemployed_since=_text(unemployment.get("unemployed_since")),
            hukou_address=_text(residence.get("hukou_address")),
            phone=_text(person.get("phone")),  # in full: the form is a full, audited view
            categories=[(c, c.code == facts.get("requested_category")) for c in pack.categories],
            materials=[(e, e.code in handed_in) for e in pack.evidence],
            # The papers held as files, with their judgement (#24 item 6).
            received=await case_service.materials_received(session, case),
            # The seed form's six boxes, the applicant's ticked; 其他 with its words.
            intentions=[(name, code in wished) for code, name in EMPLOYMENT_INTENTIONS_ZH.items()],
            intention_other=_text(person.get("employment_intentions_other")),
            commitment=bool(facts.get("written_commitment")),
            opinions=await _opinions(session, case, pack),
            # The revision the case was decided under (#23): the one it pinned.
            revision=pack,
        )
    )


async def _remedies(session: AsyncSession, case: Case, pack: PolicyPack) -> list[str]:
    """How to object to the decision, in the words of the pack's seed (qingxin 三(二): 有异议经
    核实、解释后申请人仍不服的，应报区级公共就业服务机构进行处理), with the office it goes to.
    Nothing where the seed says nothing: no wording of its own (行政复议, 诉讼) is made up."""
    place = await repos.get_jurisdiction(session, case.jurisdiction_code)
    if place is None or pack.procedure is None:
        return []
    chain = await repos.place_chain(session, place)
    lines: list[str] = []
    for stage in pack.procedure.stages:
        objection = stage.objection
        if objection is None or not objection.quote:
            continue
        office = resolve_level(chain, objection.escalates_to).name
        lines.append(
            f"如对本决定有异议，可向经办机构提出。依据{objection.source}：“{objection.quote}”。"
            f"上报处理机构：{office}。"
        )
    return list(dict.fromkeys(lines))


@router.get("/documents/cases/{case_id}/notices/{notice_id}", response_class=HTMLResponse)
async def notice_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    case_id: CaseId,
    notice_id: NoticeId,
) -> Response:
    case, notice = await case_service.notice_for(session, actor, case_id, notice_id)
    case_service.audit_notice_download(session, actor, case, notice, "print")
    pack = await pinned_pack(session, case)
    context = await case_service.notice_context(
        session, case, notice, secret_key=settings.secret_key
    )
    context["remedies"] = await _remedies(session, case, pack) if notice.kind == "refusal" else []
    return _no_store(
        render(
            request,
            "documents/notice_page.html",
            actor=actor,
            case=case,
            notice=notice,
            **context,
        )
    )


DateText = Annotated[str | None, Query(max_length=40)]
PlaceCode = Annotated[str | None, Query(max_length=12, pattern=r"^\d{1,12}$")]


@dataclass
class PeriodForm:
    """The dates as typed (echoed back, so the picker shows the period in use) and the
    messages next to the fields."""

    from_text: str = ""
    to_text: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _read_period(
    from_text: str | None, to_text: str | None, now: datetime
) -> tuple[Period | None, PeriodForm]:
    form = PeriodForm((from_text or "").strip(), (to_text or "").strip())
    dates: dict[str, date | None] = {}
    for name, text in (("from", form.from_text), ("to", form.to_text)):
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            form.errors[name] = _("请按“年-月-日”填写日期，例如 2024-03-01")
    if form.errors:
        return None, form
    try:
        period = publicity_service.publicity_period(dates["from"], dates["to"], now)
    except Problem as problem:
        if problem.status != 422:
            raise
        # The supervisor's period rules (application/services/supervision.py), in the words
        # the dashboard's period form uses for them.
        bounds = {"min": supervision.MIN_DATE.isoformat(), "max": supervision.MAX_DATE.isoformat()}
        for name, value in dates.items():
            if value is not None and not supervision.MIN_DATE <= value <= supervision.MAX_DATE:
                form.errors[name] = _("日期须在 %(min)s 至 %(max)s 之间") % bounds
        fields = [str(e.get("field", "")) for e in problem.extra.get("errors", [])]
        if not form.errors and "query.from" in fields:
            form.errors["from"] = _("开始日期不能晚于结束日期")
        elif not form.errors:
            form.errors["to"] = _("期间不能超过 %(days)s 天") % {
                "days": supervision.MAX_PERIOD_DAYS
            }
        return None, form
    # Show the period in use, defaults included.
    form.from_text, form.to_text = period.first.isoformat(), period.last.isoformat()
    return period, form


@router.get("/documents/publicity", response_class=HTMLResponse)
async def publicity_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    place: PlaceCode = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: DateText = None,
) -> Response:
    """The publicity list (公示名单) of a place of the caller's subtree for a period."""
    now = datetime.now(UTC)
    period, form = _read_period(from_, to, now)
    listing = None
    if period is not None:
        listing = await publicity_service.publicity_list(session, actor, place, period, now)
    options = await case_view.search_options(session, actor)
    return _no_store(
        render(
            request,
            "documents/publicity.html",
            status=200 if period is not None else 422,
            actor=actor,
            places=options.places,
            place_code=place or actor.jurisdiction_code,
            form=form,
            listing=listing,
            max_rows=publicity_service.MAX_ROWS,
            today=local_date(now),
            chinese_date=case_service.chinese_date,
        )
    )


@router.post("/documents/cases/{case_id}/identification-notice")
async def issue_identification_notice(
    request: Request, session: SessionDep, actor: PageActor, case_id: CaseId
) -> Response:
    """Issue the notice of identification of a case identified before such notices were
    written with the identification (older stored cases), then show it for printing."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    notice = await case_service.issue_identification_notice(
        session, actor, case_id, datetime.now(UTC)
    )
    return RedirectResponse(
        f"/documents/cases/{quote(case_id, safe='')}/notices/{notice.id}", status_code=303
    )
