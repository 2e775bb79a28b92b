"""Zero-employment household pages (零就业家庭), issue #8: ``/households`` lists the households of
the user's area (open ones first, by deadline, with the days left; filtered by status), with
discovery for county reviewers and administrators; ``/households/new`` registers (identifies) a
household, judged by the place's pack, the conditions not met named beside the form;
``/households/{id}`` shows the members (ID numbers masked), the status, the deadline with the
days left, the status history and the open tasks, with the form that records a member
employed (which clears the household).

Everything goes through :mod:`application.services.households`, the service behind
``/api/v1/households``: a household outside the subtree is the 404 page. Also here: what the
task page needs for the household task kinds (the words of their outcomes, fields and choices,
and the household beside the form)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from application.errors import Problem, not_found
from application.http import SessionDep, get_temporal
from application.schemas.households import (
    EmploymentIn,
    HouseholdIn,
    MemberIn,
    MemberStatus,
    Way,
)
from application.services import households as service
from domain import labels
from domain.vocabulary import TaskKind
from store import household_repo
from store.models import Case
from web.admin import place_options
from web.case_view import Named, named
from web.common import PageActor, alert_for, check_csrf, render
from web.i18n import gettext as _
from workflows.contracts import EMPLOYMENT_WAYS

router = APIRouter(include_in_schema=False)

MEMBER_ROWS = 6
LISTED = 200
STATUS_FILTERS = ("", *service.STATUSES)
MEMBER_FLAGS = tuple(labels.MEMBER_FLAGS)
HOUSEHOLD_KINDS = frozenset(
    {TaskKind.HOUSEHOLD_VERIFICATION, TaskKind.HOUSEHOLD_PLAN, TaskKind.HOUSEHOLD_CLEARANCE}
)


@dataclass
class MemberForm:
    name: str = ""
    id_number: str = ""
    status: str = ""
    flags: set[str] = field(default_factory=lambda: {"able_to_work", "willing_to_work"})


@dataclass
class RegistrationForm:
    jurisdiction: str = ""
    urban: bool = True
    business_income: bool = False
    income: str = ""
    average: str = ""
    members: list[MemberForm] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


# --- list ------------------------------------------------------------------------------------


@router.get("/households", response_class=HTMLResponse)
async def households_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    status: str = "",
    discovered: str = "",
) -> Response:
    status = status if status in STATUS_FILTERS else ""
    views = await service.list_households(
        session, actor, status=status or None, jurisdiction=None, limit=LISTED
    )
    return render(
        request,
        "households/list.html",
        actor=actor,
        views=views,
        status_filter=status,
        STATUS_FILTERS=STATUS_FILTERS,
        now=datetime.now(UTC),
        may_register=actor.role in service.REGISTER_ROLES,
        may_discover=actor.role in service.DISCOVERY_ROLES,
        discovered=discovered if discovered.isdigit() else "",
    )


@router.post("/households/discovery", response_class=HTMLResponse)
async def discovery_submit(request: Request, session: SessionDep, actor: PageActor) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    service.check_may_discover(actor)
    temporal = await get_temporal(request)
    done = await service.discover(
        session, temporal, request.app.state.settings.temporal_task_queue, actor, None
    )
    return RedirectResponse(f"/households?discovered={len(done.started)}", status_code=303)


# --- registration ----------------------------------------------------------------------------


def _blank_form(actor_code: str) -> RegistrationForm:
    return RegistrationForm(
        jurisdiction=actor_code, members=[MemberForm() for _i in range(MEMBER_ROWS)]
    )


async def _registration_page(
    request: Request,
    session: AsyncSession,
    actor: Any,
    form: RegistrationForm,
    *,
    status: int = 200,
    alert: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "households/new.html",
        status=status,
        actor=actor,
        form=form,
        places=await place_options(session, actor),
        MEMBER_FLAGS=MEMBER_FLAGS,
        alert=alert,
    )


@router.get("/households/new", response_class=HTMLResponse)
async def registration_page(request: Request, session: SessionDep, actor: PageActor) -> Response:
    service.check_may_register(actor)
    return await _registration_page(request, session, actor, _blank_form(actor.jurisdiction_code))


def _number(text: str, name: str, errors: dict[str, str]) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[name] = _("请填写数字")
        return None
    if value < 0 or value > 10_000_000:
        errors[name] = _("请填写数字")
        return None
    return value


@router.post("/households/new", response_class=HTMLResponse)
async def registration_submit(request: Request, session: SessionDep, actor: PageActor) -> Response:
    data = await request.form()
    check_csrf(request, str(data.get("csrf", "")))
    service.check_may_register(actor)
    form = RegistrationForm(
        jurisdiction=str(data.get("jurisdiction", ""))[:12],
        urban=str(data.get("residence", "urban")) != "rural",
        business_income=bool(data.get("business_income")),
        income=str(data.get("income", ""))[:20],
        average=str(data.get("average", ""))[:20],
    )
    members: list[MemberIn] = []
    for i in range(MEMBER_ROWS):
        flags = {f for f in MEMBER_FLAGS if data.get(f"m{i}_{f}")}
        m = MemberForm(
            name=str(data.get(f"m{i}_name", "")).strip()[:100],
            id_number=str(data.get(f"m{i}_id_number", "")).strip().upper()[:18],
            status=str(data.get(f"m{i}_status", "")),
            flags=flags,
        )
        form.members.append(m)
        if not m.name and not m.id_number:
            continue
        if not m.name:
            form.errors[f"m{i}_name"] = _("请填写姓名")
        if not m.id_number:
            form.errors[f"m{i}_id_number"] = _("请填写身份证号码")
        members.append(
            MemberIn.model_construct(
                name=m.name,
                id_number=m.id_number,
                head="head" in flags,
                able_to_work="able_to_work" in flags,
                willing_to_work="willing_to_work" in flags,
                employed="employed" in flags,
                employed_non_farm="employed_non_farm" in flags,
                status=cast(MemberStatus, m.status) if m.status in labels.MEMBER_STATUSES else None,
                transfer_registered="transfer_registered" in flags,
            )
        )
    if not members:
        form.errors["members"] = _("请至少填写一名家庭成员")
    income = _number(form.income, "income", form.errors)
    average = _number(form.average, "average", form.errors)
    if form.errors:
        return await _registration_page(request, session, actor, form, status=422)
    temporal = await request.app.state.temporal.get()
    try:
        done = await service.register(
            session,
            request.app.state.sessions,
            temporal,
            request.app.state.settings.temporal_task_queue,
            actor,
            # Built from the form as checked above, without the API body's checks: the page's
            # ID numbers and place are judged by the service (parse_resident_id, the caller's
            # subtree), whose words it shows beside the row, as before the schema was shared.
            HouseholdIn.model_construct(
                jurisdiction=form.jurisdiction,
                urban=form.urban,
                members=members,
                business_investment_or_property_income=form.business_income,
                annual_income_per_capita=income,
                local_average_annual_income_per_capita=average,
            ),
        )
    except Problem as problem:
        if problem.status == 404:
            form.errors["jurisdiction"] = _("请选择管辖范围内的地区")
        elif problem.status not in (409, 422):
            raise
        for error in problem.extra.get("errors", []):
            where = str(error.get("field", ""))
            parts = where.split(".")
            message = str(error.get("message_zh") or error.get("message", ""))
            if len(parts) >= 4 and parts[1] == "members" and parts[2].isdigit():
                # body.members.<i>.id_number: the i-th filled row
                filled = [k for k, m in enumerate(form.members) if m.name or m.id_number]
                row = filled[int(parts[2])] if int(parts[2]) < len(filled) else 0
                form.errors[f"m{row}_{parts[3]}"] = message
            elif problem.type == "not-zero-employment":
                form.reasons.append(message)
        return await _registration_page(
            request, session, actor, form, status=problem.status, alert=alert_for(problem)
        )
    return RedirectResponse(f"/households/{done.household.id}?registered=1", status_code=303)


# --- one household ---------------------------------------------------------------------------


@dataclass
class EmploymentForm:
    member: str = ""
    how: str = ""
    employed_on: str = ""
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _household_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise not_found("household", text[:40])
    return int(text)


async def _household_page(
    request: Request,
    session: AsyncSession,
    actor: Any,
    household_id: int,
    *,
    status: int = 200,
    form: EmploymentForm | None = None,
    alert: dict[str, str] | None = None,
) -> Response:
    view = await service.get_household(session, actor, household_id)
    return render(
        request,
        "households/household.html",
        status=status,
        actor=actor,
        v=view,
        h=view.row,
        now=datetime.now(UTC),
        WAYS=EMPLOYMENT_WAYS,
        mask=service.mask_id_number,
        may_record=actor.role in service.EMPLOY_ROLES and view.row.status == "identified",
        form=form or EmploymentForm(),
        idempotency_key=str(uuid.uuid4()),
        alert=alert,
        registered=request.query_params.get("registered") == "1",
        cleared=request.query_params.get("cleared") == "1",
    )


@router.get("/households/{household_id}", response_class=HTMLResponse)
async def household_page(
    request: Request, household_id: str, session: SessionDep, actor: PageActor
) -> Response:
    return await _household_page(request, session, actor, _household_id(household_id))


@router.post("/households/{household_id}/employment", response_class=HTMLResponse)
async def employment_submit(
    request: Request, household_id: str, session: SessionDep, actor: PageActor
) -> Response:
    hid = _household_id(household_id)
    data = await request.form()
    check_csrf(request, str(data.get("csrf", "")))
    form = EmploymentForm(
        member=str(data.get("member", "")),
        how=str(data.get("how", "")),
        employed_on=str(data.get("employed_on", "")).strip(),
        note=str(data.get("note", ""))[:1000],
    )
    key = str(data.get("idempotency_key", ""))[:100] or None
    if not form.member.isdigit():
        form.errors["member"] = _("请选择实现就业的家庭成员")
    if form.how not in EMPLOYMENT_WAYS:
        form.errors["how"] = _("请选择就业方式")
    employed_on: date | None = None
    if form.employed_on:
        try:
            employed_on = date.fromisoformat(form.employed_on)
        except ValueError:
            form.errors["employed_on"] = _("请填写有效的日期（年-月-日）")
    if form.errors:
        return await _household_page(request, session, actor, hid, status=422, form=form)
    temporal = await get_temporal(request)
    try:
        await service.record_employment(
            session,
            temporal,
            actor,
            hid,
            # As the registration's: checked above and by the service (the member, the way)
            # and the workflow, in the page's words.
            EmploymentIn.model_construct(
                member_id=int(form.member),
                how=cast(Way, form.how),
                employed_on=employed_on,
                note=form.note,
            ),
            key,
        )
    except Problem as problem:
        if problem.status not in (409, 422):
            raise
        if problem.type == "not-a-member":
            form.errors["member"] = _("不是该家庭的成员")
        return await _household_page(
            request, session, actor, hid, status=problem.status, form=form, alert=alert_for(problem)
        )
    return RedirectResponse(f"/households/{hid}?cleared=1", status_code=303)


# --- the task page ---------------------------------------------------------------------------


async def task_context(session: AsyncSession, case: Case | None) -> dict[str, Any]:
    """For a household task: the household (for the side panel) and the words of the task's
    choices (members by name and last four digits, measures, ways of employment)."""
    row = await service.household_of_case(session, case) if case is not None else None
    members = {}
    if row is not None:
        for m in await household_repo.members_of(session, row.id):
            members[str(m.id)] = Named(f"{m.name}（尾号{m.id_last4}）", f"{m.name} (…{m.id_last4})")
    return {
        "household": row,
        "labels": {
            "member": members,
            "measures": named("household_measure"),
            "how": named("employment_way"),
        },
    }
