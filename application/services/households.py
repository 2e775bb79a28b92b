"""Zero-employment households (零就业家庭) for the API and the pages: officers register (identify)
a household with its members and facts, judged by the definition of the pack that applies at its
place (:func:`domain.households.first_zero_employment`), and its ``HouseholdWorkflow`` starts
(the plan and the one-month clearance task open at once); staff see the households of their
area with the members' ID numbers masked, the status history, the deadline and the days left;
an officer records a member employed (the workflow's ``record_member_employed`` update, the
``Idempotency-Key`` as its id) and the household is cleared; a county reviewer or administrator
starts discovery (``HouseholdDiscoveryWorkflow``) over the imported department lists; and
supervisors read, by place, the households open, their days left, those cleared within their
month or late, and those overdue.

Who may do what (the seeds leave it open; decided here):

- **register** and **record employment**: a grassroots officer, county reviewer or
  administrator, for a place in their area (the street officers do the work, 新余 第四条(五));
- **discovery**: a county reviewer or administrator (the county's data comparison, 山东 五(二));
- **read**: every staff role, households inside their subtree;
- **supervision**: supervisors and administrators (``/api/v1/supervision/households``).

Scoping as everywhere: a household or place outside the caller's subtree is 404 ``not-found``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from application import gateway
from application.actor import Actor
from application.errors import Problem, not_found
from application.schemas.households import EmploymentIn, HouseholdIn
from application.services import release_before_workflow
from application.services.supervision import (
    TOTAL_ZH,
    Period,
    PeriodOut,
    PlaceOut,
    child_code,
    place_for,
)
from domain.calendar import local_date
from domain.households import (
    Household,
    HouseholdAssessment,
    Member,
    assess_household,
    first_zero_employment,
    member_working_age,
)
from domain.ids import ResidentIdError, completed_years, mask_id_number, parse_resident_id
from domain.policy.model import HouseholdDefinition, PolicyPack
from domain.vocabulary import Role
from store import household_repo, repos, supervision_repo
from store.audit import record_audit
from store.models import Case, Jurisdiction, Task
from store.models_household import (
    OPEN_HOUSEHOLD_STATUSES,
    HouseholdEventRow,
    HouseholdMemberRow,
    HouseholdRow,
)
from store.packs import InForce, packs_in_force
from store.tasks_repo import OPEN
from workflows import contracts as c
from workflows.household import (
    HouseholdDiscoveryWorkflow,
    HouseholdWorkflow,
    input_of,
)
from workflows.rules import household_setup

log = logging.getLogger(__name__)

REGISTER_ROLES = frozenset({Role.GRASSROOTS_OFFICER, Role.COUNTY_REVIEWER, Role.ADMIN})
EMPLOY_ROLES = REGISTER_ROLES
DISCOVERY_ROLES = frozenset({Role.COUNTY_REVIEWER, Role.ADMIN})
STATUSES = ("discovered", "identified", "cleared", "not_zero_employment")
# Days left at or under which an open household counts as "due soon" (about a week of the
# month: the clearance task's reminder comes at about the same time).
DUE_SOON_DAYS = 7
DISCOVERY_WAIT_SECONDS = 30.0
DISCOVERY_POLL_SECONDS = 0.1
HOUSEHOLD_TASK_KINDS = frozenset(
    {c.TaskKind.HOUSEHOLD_VERIFICATION, c.TaskKind.HOUSEHOLD_PLAN, c.TaskKind.HOUSEHOLD_CLEARANCE}
)


def _not_allowed(detail: str) -> Problem:
    return Problem(403, "actor-not-allowed", "Not allowed", detail)


def _invalid(errors: list[dict[str, str]]) -> Problem:
    return Problem(
        422,
        "validation-error",
        "Invalid request",
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        errors=errors,
    )


def days_left(deadline: datetime | None, now: datetime) -> int | None:
    """Calendar days from today (Shanghai) to the deadline's day; negative when past."""
    if deadline is None:
        return None
    return (local_date(deadline) - local_date(now)).days


# --- registration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    household: HouseholdRow
    assessment: HouseholdAssessment
    started: bool


def check_may_register(actor: Actor) -> None:
    if actor.role not in REGISTER_ROLES:
        raise _not_allowed(
            "households are registered by grassroots officers, county reviewers and administrators"
        )


async def pack_at(session: AsyncSession, place: Jurisdiction) -> PolicyPack | None:
    """The pack in force at ``place``, or None where none applies."""
    try:
        return (await packs_in_force(session)).find(await repos.pack_id_at(session, place))
    except repos.NoPolicyPack:
        return None


def _definitions(pack: PolicyPack, body: HouseholdIn) -> list[HouseholdDefinition]:
    if body.definition:
        d = pack.household_definition(body.definition)
        if d is None:
            raise _invalid(
                [
                    {
                        "field": "body.definition",
                        "message": f"the policy {pack.id} defines no household {body.definition!r}",
                        "message_zh": "该地政策没有此类零就业家庭认定标准",
                        "code": "invalid",
                    }
                ]
            )
        return [d]
    return [d for d in pack.households if (d.residence == "urban") == body.urban]


def _household(body: HouseholdIn, on: date) -> Household:
    """The household as the domain judges it; 422 naming each member whose number is bad."""
    errors: list[dict[str, str]] = []
    members: list[Member] = []
    seen: set[str] = set()
    for i, m in enumerate(body.members):
        where = f"body.members.{i}.id_number"
        try:
            rid = parse_resident_id(m.id_number, today=on)
        except ResidentIdError as e:
            errors.append(
                {"field": where, "message": e.message, "message_zh": e.message_zh, "code": e.code}
            )
            continue
        if rid.number in seen:
            errors.append(
                {
                    "field": where,
                    "message": "the same person is listed twice",
                    "message_zh": "同一成员重复填写",
                    "code": "duplicate",
                }
            )
            continue
        seen.add(rid.number)
        members.append(
            Member(
                key=rid.number,
                sex=rid.sex,
                age=completed_years(rid.birth_date, on),
                within_working_age=member_working_age(rid.birth_date, rid.sex, on),
                able_to_work=m.able_to_work,
                willing_to_work=m.willing_to_work,
                employed=m.employed or m.employed_non_farm,
                employed_non_farm=m.employed_non_farm,
                status=m.status,
                transfer_registered=m.transfer_registered,
            )
        )
    if sum(1 for m in body.members if m.head) > 1:
        errors.append(
            {
                "field": "body.members",
                "message": "at most one head of household",
                "message_zh": "户主只能有一位",
                "code": "invalid",
            }
        )
    if errors:
        raise _invalid(errors)
    return Household(
        urban=body.urban,
        members=tuple(members),
        business_investment_or_property_income=body.business_investment_or_property_income,
        annual_income_per_capita=body.annual_income_per_capita,
        local_average_annual_income_per_capita=body.local_average_annual_income_per_capita,
    )


def _member_facts(m: Member) -> dict[str, Any]:
    return {
        "sex": m.sex,
        "age": m.age,
        "within_working_age": m.within_working_age,
        "able_to_work": m.able_to_work,
        "willing_to_work": m.willing_to_work,
        "employed": m.employed,
        "employed_non_farm": m.employed_non_farm,
        "status": m.status,
        "transfer_registered": m.transfer_registered,
    }


async def register(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client | None,
    task_queue: str,
    actor: Actor,
    body: HouseholdIn,
) -> Registered:
    """Judge the household by the place's pack and, when it is zero-employment, make it
    (identified now; committed here) and start its workflow. A Temporal that cannot be reached
    leaves the workflow to the next discovery run of the area (``started`` False)."""
    check_may_register(actor)
    place = await _place_in_scope(session, actor, body.jurisdiction)
    now = datetime.now(UTC)
    on = local_date(now)
    pack = await pack_at(session, place)
    if pack is None or not pack.households:
        raise Problem(
            422,
            "no-household-definition",
            "No household definition here",
            f"the policy of {place.name} ({pack.id if pack else 'none'}) defines no "
            "zero-employment household",
        )
    definitions = _definitions(pack, body)
    if not definitions:
        raise Problem(
            422,
            "no-household-definition",
            "No household definition here",
            f"the policy {pack.id} defines no {'urban' if body.urban else 'rural'} "
            "zero-employment household",
        )
    household = _household(body, on)
    found = first_zero_employment(household, definitions)
    if found is None:
        failed = [assess_household(household, d) for d in definitions]
        errors = [
            {
                "field": "body",
                "message": reason,
                "message_zh": reason,
                "code": a.definition,
                "source": a.source,
            }
            for a in failed
            for reason in a.reasons
        ]
        raise Problem(
            422,
            "not-zero-employment",
            "Not a zero-employment household",
            "; ".join(f"{a.definition}: {'；'.join(a.reasons)}" for a in failed),
            errors=errors,
        )
    numbers = [m.key for m in household.members]
    taken = await household_repo.open_member_numbers(session, numbers)
    if taken:
        raise Problem(
            409,
            "household-exists",
            "Already in an open household",
            "members already in an open zero-employment household: "
            + ", ".join(mask_id_number(n) for n in sorted(taken)),
            members=[mask_id_number(n) for n in sorted(taken)],
        )
    own_cases = await household_repo.open_person_cases(session, numbers)
    by_number = {m.key: m for m in household.members}
    new_members = []
    for m_in, m in zip(body.members, household.members, strict=True):
        new_members.append(
            household_repo.NewMember(
                id_number=m.key,
                name=m_in.name,
                facts=_member_facts(by_number[m.key]),
                head=m_in.head,
                case_id=own_cases[m.key].id if m.key in own_cases else None,
            )
        )
    row = await household_repo.create_household(
        session,
        pack=pack,
        definition_code=found.definition,
        urban=body.urban,
        place=place,
        members=new_members,
        status="identified",
        source="registration",
        now=now,
        facts={
            "business_investment_or_property_income": (body.business_investment_or_property_income),
            "annual_income_per_capita": body.annual_income_per_capita,
            "local_average_annual_income_per_capita": body.local_average_annual_income_per_capita,
            "registered_by": actor.display_name,
            "source": found.source,
        },
    )
    row.identified_at = now
    record_audit(
        session,
        now=now,
        actor_id=actor.id,
        action="household_registered",
        object_type="household",
        object_id=str(row.id),
        detail={"jurisdiction": place.code, "definition": found.definition},
    )
    household_id = row.id
    await release_before_workflow(session)
    started = False
    if temporal is not None:
        started = await start_household(sessions, temporal, task_queue, household_id)
    await session.refresh(row)
    return Registered(row, found, started)


async def start_household(
    sessions: async_sessionmaker[AsyncSession], temporal: Client, task_queue: str, household_id: int
) -> bool:
    async with sessions() as session:
        setup = household_setup(await household_repo.stored_household(session, household_id))
    handle = await gateway.start(
        temporal,
        HouseholdWorkflow.run,
        input_of(setup),
        id=setup.workflow_id or c.household_workflow_id(household_id),
        task_queue=task_queue,
    )
    if handle is None:
        log.warning("household %s: workflow not started (Temporal unavailable)", household_id)
        return False
    return True


async def _place_in_scope(session: AsyncSession, actor: Actor, code: str | None) -> Jurisdiction:
    place = await repos.get_jurisdiction(session, code or actor.jurisdiction_code)
    if place is None or not place.path.startswith(actor.jurisdiction_path):
        raise not_found("jurisdiction", code or "")
    return place


# --- reading ---------------------------------------------------------------------------------


@dataclass
class HouseholdView:
    row: HouseholdRow
    members: list[HouseholdMemberRow]
    events: list[HouseholdEventRow] = field(default_factory=list)
    place_name: str = ""
    definition_name: str = ""
    definition_source: str = ""
    head_name: str = ""
    open_tasks: list[Task] = field(default_factory=list)

    def days_left(self, now: datetime) -> int | None:
        if self.row.status != "identified":
            return None
        return days_left(self.row.deadline_at, now)


def _definition(row: HouseholdRow, packs: InForce) -> HouseholdDefinition | None:
    pack = packs.find(row.policy_pack_id)  # None for a pack no longer in force: show the code
    return pack.household_definition(row.definition_code) if pack else None


async def household_for(session: AsyncSession, actor: Actor, household_id: int) -> HouseholdRow:
    row = await session.get(HouseholdRow, household_id)
    if row is None or not row.jurisdiction_path.startswith(actor.jurisdiction_path):
        raise not_found("household", str(household_id))
    return row


async def _view(session: AsyncSession, row: HouseholdRow, *, full: bool) -> HouseholdView:
    members = await household_repo.members_of(session, row.id)
    place = await session.get(Jurisdiction, row.jurisdiction_code)
    d = _definition(row, await packs_in_force(session))
    head = next((m for m in members if m.head), members[0] if members else None)
    view = HouseholdView(
        row=row,
        members=members,
        place_name=place.name if place else row.jurisdiction_code,
        definition_name=d.name if d else row.definition_code,
        definition_source=d.citation if d else "",
        head_name=head.name if head else "",
    )
    if full:
        view.events = await household_repo.events_of(session, row.id)
        if row.case_id:
            view.open_tasks = list(
                (
                    await session.scalars(
                        select(Task)
                        .where(Task.case_id == row.case_id, Task.state == OPEN)
                        .order_by(Task.created_at)
                    )
                ).all()
            )
    return view


async def get_household(session: AsyncSession, actor: Actor, household_id: int) -> HouseholdView:
    row = await household_for(session, actor, household_id)
    return await _view(session, row, full=True)


async def list_households(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    jurisdiction: str | None = None,
    overdue: bool | None = None,
    limit: int = 100,
) -> list[HouseholdView]:
    """The households of the caller's subtree (or of ``jurisdiction`` inside it; 404
    outside), open ones first by deadline, then the newest."""
    place = await _place_in_scope(session, actor, jurisdiction)
    q = select(HouseholdRow).where(repos.in_subtree(HouseholdRow.jurisdiction_path, place.path))
    if status:
        q = q.where(HouseholdRow.status == status)
    if overdue is not None:
        q = q.where(HouseholdRow.overdue.is_(overdue))
    rows = list((await session.scalars(q.order_by(HouseholdRow.id.desc()).limit(limit))).all())
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(
        key=lambda r: (
            r.status not in OPEN_HOUSEHOLD_STATUSES,
            r.deadline_at or far,
            -r.id,
        )
    )
    return [await _view(session, r, full=False) for r in rows]


# --- recording a member employed ----------------------------------------------------------------


@dataclass(frozen=True)
class EmploymentDone:
    id: str
    handling: str  # cleared | duplicate
    household_id: int


def _closed(row: HouseholdRow) -> Problem:
    return Problem(
        409,
        "household-closed",
        "Household closed",
        f"household {row.id} is {row.status}: a member's employment clears only an identified "
        "household",
        status_now=row.status,
    )


def _bad_member(member_id: int) -> Problem:
    return Problem(
        422,
        "not-a-member",
        "Not a member",
        f"member {member_id} is not in this household",
        errors=[
            {
                "field": "body.member_id",
                "message": "not a member of this household",
                "message_zh": "不是该家庭的成员",
                "code": "not_a_member",
            }
        ],
    )


async def record_employment(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    household_id: int,
    body: EmploymentIn,
    key: str | None,
) -> EmploymentDone:
    """Send ``record_member_employed`` to the household's workflow (the ``Idempotency-Key`` is
    the update id: a retry is applied once; the key used for another request is 422
    ``idempotency-key-reused``). 409 ``household-closed`` when it is not (or no
    longer) identified — except the repeat of the request that cleared it, answered
    ``duplicate``; 422 ``not-a-member`` / ``bad-field`` for the member and the way."""
    if actor.role not in EMPLOY_ROLES:
        raise _not_allowed(
            "employment is recorded by grassroots officers, county reviewers and administrators"
        )
    row = await household_for(session, actor, household_id)
    members = {m.id for m in await household_repo.members_of(session, row.id)}
    if body.member_id not in members:
        raise _bad_member(body.member_id)
    request = c.MemberEmployedRequest(
        member_id=body.member_id,
        how=body.how,
        employed_on=body.employed_on,
        note=body.note,
        actor_id=actor.id,
        actor_name=actor.display_name,
    )
    if key:  # the key stands for this request only, also once the household is cleared
        await gateway.claim_key(
            session,
            f"household:{row.id}",
            key,
            gateway.fingerprint("record_member_employed", request),
            where=" on this household",
        )
    if row.status == "cleared" and key and row.clearing_member_id == body.member_id:
        return EmploymentDone(key, "duplicate", row.id)
    if row.status != "identified" or row.workflow_id is None:
        raise _closed(row)
    workflow_id = row.workflow_id
    await release_before_workflow(session)
    update_id = key or str(uuid.uuid4())

    async def closed() -> Problem:
        # The workflow is gone (cleared meanwhile, or never started): the row says which.
        again = await session.get(HouseholdRow, household_id, populate_existing=True)
        assert again is not None
        return _closed(again)

    try:
        result: c.RecordResult = await gateway.update(
            temporal,
            workflow_id,
            HouseholdWorkflow.record_member_employed,
            request,
            key=update_id,
            words=_REFUSED,
            closed=closed,
        )
    except Problem as problem:
        # Cleared by the request this one repeats: its answer, not a conflict.
        if problem.type == "household-closed" and key:
            again = await session.get(HouseholdRow, household_id, populate_existing=True)
            if again and again.status == "cleared" and again.clearing_member_id == body.member_id:
                return EmploymentDone(key, "duplicate", household_id)
        raise
    return EmploymentDone(result.id or update_id, result.handling, household_id)


def _bad_field(cause: ApplicationError) -> list[dict[str, str]]:
    """The field a refusal names (the way of employment unless it says otherwise)."""
    if cause.type != c.ERR_BAD_FIELD:
        return []
    details = cause.details[0] if cause.details else {}
    name = details.get("field", "how") if isinstance(details, dict) else "how"
    return [{"field": f"body.{name}", "message": cause.message, "code": "bad_field"}]


_REFUSED = gateway.Refusals(
    "Not accepted by the household",
    titles={"household-closed": "Household closed"},
    fields=_bad_field,
)


# --- discovery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoveryDone:
    workflow_id: str
    jurisdiction: str
    finished: bool
    started: list[int]


def check_may_discover(actor: Actor) -> None:
    if actor.role not in DISCOVERY_ROLES:
        raise _not_allowed("discovery is started by county reviewers and administrators")


async def discover(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    actor: Actor,
    jurisdiction: str | None,
) -> DiscoveryDone:
    """Start discovery over the imported lists for a place of the caller's area and wait a
    little for it: the households it started (``finished``), or the workflow id to follow."""
    check_may_discover(actor)
    place = await _place_in_scope(session, actor, jurisdiction)
    now = datetime.now(UTC)
    workflow_id = c.household_discovery_workflow_id(
        place.code, now.strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]
    )
    record_audit(
        session,
        now=now,
        actor_id=actor.id,
        action="household_discovery",
        object_type="jurisdiction",
        object_id=place.code,
        detail={"workflow_id": workflow_id},
    )
    before = await session.scalar(select(func.max(HouseholdRow.id))) or 0
    await release_before_workflow(session)
    handle = await gateway.start(
        temporal,
        HouseholdDiscoveryWorkflow.run,
        c.HouseholdDiscoveryInput(region_code=place.code),
        id=workflow_id,
        task_queue=task_queue,
    )
    if handle is None:
        raise gateway.temporal_unavailable()
    # Its state is read, not its result: waiting on a result lets a time-skipping test server
    # skip every other workflow's timers meanwhile (describe does not).
    loop = asyncio.get_running_loop()
    until = loop.time() + DISCOVERY_WAIT_SECONDS
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        if loop.time() > until:
            return DiscoveryDone(workflow_id, place.code, False, [])
        await asyncio.sleep(DISCOVERY_POLL_SECONDS)
    started = await session.scalars(
        select(HouseholdRow.id)
        .where(
            HouseholdRow.id > before,
            HouseholdRow.source == "discovery",
            repos.in_subtree(HouseholdRow.jurisdiction_path, place.path),
        )
        .order_by(HouseholdRow.id)
    )
    return DiscoveryDone(workflow_id, place.code, True, list(started))


# --- supervision ---------------------------------------------------------------------------------


class HouseholdFiguresRow(BaseModel):
    """One place (``code``; the totals row has none). Now: ``open`` households (discovered
    awaiting verification, or identified and not yet cleared), of them ``identified`` (the
    month running), ``due_soon`` (identified, at most 7 days left), ``overdue`` (identified,
    past the deadline) and ``min_days_left`` (the fewest days left of an identified household
    still within its month; null without one). In the period: ``cleared_within`` (cleared
    within their month), ``cleared_late`` (cleared after it), ``not_zero_employment``
    (verification found otherwise) and ``clearance_rate`` (cleared within ÷ all cleared)."""

    code: str | None = None
    name: str
    level: str | None = None
    open: int = 0
    discovered: int = 0
    identified: int = 0
    due_soon: int = 0
    overdue: int = 0
    min_days_left: int | None = None
    cleared_within: int = 0
    cleared_late: int = 0
    not_zero_employment: int = 0
    clearance_rate: float | None = None


class HouseholdFiguresOut(BaseModel):
    place: PlaceOut
    period: PeriodOut
    as_of: datetime
    rows: list[HouseholdFiguresRow]
    total: HouseholdFiguresRow


def _count(row: HouseholdFiguresRow, h: HouseholdRow, span: Period, now: datetime) -> None:
    if h.status in OPEN_HOUSEHOLD_STATUSES:
        row.open += 1
        if h.status == "discovered":
            row.discovered += 1
        else:
            row.identified += 1
            left = days_left(h.deadline_at, now)
            if h.overdue or (h.deadline_at is not None and h.deadline_at < now):
                row.overdue += 1
            elif left is not None:
                if left <= DUE_SOON_DAYS:
                    row.due_soon += 1
                row.min_days_left = (
                    left if row.min_days_left is None else min(row.min_days_left, left)
                )
        return
    closed = h.cleared_at if h.status == "cleared" else h.closed_at
    if closed is None or not span.start <= closed < span.end:
        return
    if h.status == "cleared":
        late = h.overdue or (
            h.deadline_at is not None and h.cleared_at is not None and h.cleared_at > h.deadline_at
        )
        if late:
            row.cleared_late += 1
        else:
            row.cleared_within += 1
    elif h.status == "not_zero_employment":
        row.not_zero_employment += 1


def _merge(into: HouseholdFiguresRow, row: HouseholdFiguresRow) -> None:
    for name in (
        "open",
        "discovered",
        "identified",
        "due_soon",
        "overdue",
        "cleared_within",
        "cleared_late",
        "not_zero_employment",
    ):
        setattr(into, name, getattr(into, name) + getattr(row, name))
    if row.min_days_left is not None:
        into.min_days_left = (
            row.min_days_left
            if into.min_days_left is None
            else min(into.min_days_left, row.min_days_left)
        )


def _rate(row: HouseholdFiguresRow) -> None:
    cleared = row.cleared_within + row.cleared_late
    row.clearance_rate = row.cleared_within / cleared if cleared else None


def _empty(row: HouseholdFiguresRow) -> bool:
    return not (row.open or row.cleared_within or row.cleared_late or row.not_zero_employment)


async def figures(
    session: AsyncSession, actor: Actor, *, code: str | None, span: Period, now: datetime
) -> HouseholdFiguresOut:
    """The households of the place by direct child (and the place itself when households sit
    there), with totals. No personal data appears."""
    place = await place_for(session, actor, code)
    rows = (
        await session.scalars(
            select(HouseholdRow).where(
                repos.in_subtree(HouseholdRow.jurisdiction_path, place.path),
                or_(
                    HouseholdRow.status.in_(OPEN_HOUSEHOLD_STATUSES),
                    HouseholdRow.cleared_at >= span.start,
                    HouseholdRow.closed_at >= span.start,
                ),
            )
        )
    ).all()
    own = HouseholdFiguresRow(code=place.code, name=place.name, level=place.level)
    kids = {
        j.code: HouseholdFiguresRow(code=j.code, name=j.name, level=j.level)
        for j in await supervision_repo.children(session, place.code)
    }
    for h in rows:
        child = child_code(place, h.jurisdiction_path)
        target = (
            own
            if child is None
            else kids.setdefault(child, HouseholdFiguresRow(code=child, name=child))
        )
        _count(target, h, span, now)
    total = HouseholdFiguresRow(name=TOTAL_ZH)
    ordered = [kids[k] for k in sorted(kids)]
    if not _empty(own):
        ordered.insert(0, own)
    for r in ordered:
        _merge(total, r)
    for r in (*ordered, total):
        _rate(r)
    return HouseholdFiguresOut(
        place=PlaceOut(code=place.code, name=place.name, level=place.level),
        period=span.out(),
        as_of=now,
        rows=ordered,
        total=total,
    )


async def household_of_case(session: AsyncSession, case: Case) -> HouseholdRow | None:
    return await session.scalar(select(HouseholdRow).where(HouseholdRow.case_id == case.id))


__all__ = [
    "HOUSEHOLD_TASK_KINDS",
    "HouseholdFiguresOut",
    "HouseholdView",
    "mask_id_number",
]
