"""Printable documents with print CSS (``web/static/print.css``: A4, the site's header and the
toolbar not printed): the application form (认定表) as filled, the notice of non-identification
(不予认定就业困难人员告知书) and the one-time notice of missing materials (一次性告知书).

For logged-in staff whose jurisdiction holds the case (:func:`application.services.cases.
case_for`; anything else is 404 like a missing case). The application form shows the full ID
number, so every view of it is audited as a full view of the case; a notice shows the masked
number and is audited like the API's download of it. The documents are official and always in
Chinese; the toolbar around them (print button, back link) follows the page's language.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from application.http import SessionDep
from application.services import cases as case_service
from domain.calendar import SHANGHAI
from domain.labels import EMPLOYMENT_INTENTIONS_ZH, label
from domain.policy.model import PolicyPack
from store import repos
from store.models import Case
from store.packs import pinned_pack
from web import public_view as web_public
from web.common import PageActor, render
from workflows.rules import resolve_level

router = APIRouter(include_in_schema=False)

# The opinion boxes of the form: the stages whose office signs the form (the seeds' forms
# have the street's initial-review box and the county's identification box).
SIGNING_STAGES = ("initial_review", "review", "immediate_conclusion")
FINAL_STAGES = ("review", "immediate_conclusion")
CaseId = Annotated[str, Path(min_length=1, max_length=40, pattern=case_service.CASE_ID_PATTERN)]
NoticeId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _no_store(response: Response) -> Response:
    # A document about a named person: never kept in a shared machine's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _chinese_date(value: Any) -> str:
    if value is None:
        return ""
    local = value.astimezone(SHANGHAI).date() if hasattr(value, "astimezone") else value
    return case_service.chinese_date(local)


def _opinions(case: Case, pack: PolicyPack) -> list[dict[str, str]]:
    """One box per signing stage of the pack: the decision where the case has one (the final
    stage's identification or refusal), else empty for the office's signature and seal."""
    stages = pack.procedure.stages if pack.procedure else []
    boxes: list[dict[str, str]] = []
    for stage in stages:
        if stage.kind not in SIGNING_STAGES:
            continue
        text = ""
        signed_by, signed_on = "", ""
        if stage.kind in FINAL_STAGES and case.identified_at is not None:
            category = next((c for c in pack.categories if c.code == case.category_code), None)
            text = "经审核，符合就业困难人员认定条件，予以认定。认定类别：" + (
                category.name if category else (case.category_code or "")
            )
            signed_by = "　".join(
                x
                for x in (
                    f"认定机构：{case.identifying_agency}" if case.identifying_agency else "",
                    f"经办人：{case.identified_by}" if case.identified_by else "",
                )
                if x
            )
            signed_on = _chinese_date(case.identified_at)
        elif stage.kind in FINAL_STAGES and case.status == "refused":
            text = "不予认定。原因：" + (_text(case.outcome_reason) or "见不予认定告知书")
            signed_on = _chinese_date(case.closed_at)
        boxes.append({"title": f"{stage.name}意见", "text": text, "by": signed_by, "on": signed_on})
    return boxes


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
            # The seed form's six boxes, the applicant's ticked; 其他 with its words.
            intentions=[(name, code in wished) for code, name in EMPLOYMENT_INTENTIONS_ZH.items()],
            intention_other=_text(person.get("employment_intentions_other")),
            commitment=bool(facts.get("written_commitment")),
            opinions=_opinions(case, pack),
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
    actor: PageActor,
    case_id: CaseId,
    notice_id: NoticeId,
) -> Response:
    case, notice = await case_service.notice_for(session, actor, case_id, notice_id)
    case_service.audit_notice_download(session, actor, case, notice, "print")
    pack = await pinned_pack(session, case)
    context = await case_service.notice_context(session, case, notice)
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
