"""Shandong's other target groups (山东 二(二)–(四)) for the API and the pages: supervisors
declare emergencies; officers enrol rural surplus labour, low-income-family graduates in their
job-seeking period and, under a declared emergency, temporary assistance persons — one at a time
or in bulk from a list — and their assistance starts.

Who may do what (the notice leaves it open; decided here):

- **declare an emergency**: a supervisor or administrator, for a place in their area whose pack
  has temporary assistance (二(四)); its period may start in the past (an emergency is declared
  after it strikes) but must not be over, and lasts at most a year (a longer one is declared
  again: the assumption keeps temporary assistance temporary).
- **see emergencies**: every staff role sees those declared for their place or above it (they
  cover them) and those inside their area.
- **enrol**: a grassroots officer, county reviewer or administrator, for a township/street or
  community in their area; a temporary assistance person also inside the emergency's area and
  within its period. The group's conditions are :func:`domain.target_groups.check_enrolment`'s.

An enrolment is an intake batch (``ledger_imports`` of kind ``enrolment``): one transaction
writes the batch, the cases (status ``enrolled``) and their timeline events, then the
``LedgerImportWorkflow`` starts each assistance, exactly as for a ledger import; when Temporal
cannot be reached the batch stays ``pending`` and is resumed by the next import or enrolment. A
person already enrolled in the group, or already in assistance as a difficulty person, is
refused one at a time (409) and skipped in bulk (counted as already present).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from application.actor import Actor
from application.errors import Problem, not_found
from application.schemas.enrolment import EmergencyIn, EnrolmentIn
from application.services import release_before_workflow
from application.services.ledger import file_checked, place_in_scope, start_batch
from application.services.reference import today
from domain.enrolment import parse_enrolment_rows
from domain.ids import ResidentIdError, parse_resident_id
from domain.labels import label
from domain.target_groups import (
    EMERGENCY_KINDS,
    ENROLLED_GROUPS,
    TEMPORARY_ASSISTANCE,
    check_enrolment,
    group_of,
)
from domain.vocabulary import Role
from store import enrolment_repo, ledger_repo, repos
from store.audit import record_audit
from store.ledger_repo import BatchPerson
from store.models_enrolment import Emergency
from store.models_ledger import LedgerImport
from store.packs import pack_in_force, packs_in_force

log = logging.getLogger(__name__)

DECLARE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
ENROL_ROLES = frozenset({Role.GRASSROOTS_OFFICER, Role.COUNTY_REVIEWER, Role.ADMIN})
MAX_EMERGENCY_DAYS = 366


def _not_allowed(detail: str) -> Problem:
    return Problem(403, "actor-not-allowed", "Not allowed", detail)


def _invalid(field: str, message: str, message_zh: str, code: str = "invalid") -> Problem:
    return Problem(
        422,
        "validation-error",
        "Invalid request",
        f"body.{field}: {message}",
        errors=[
            {"field": f"body.{field}", "message": message, "message_zh": message_zh, "code": code}
        ],
    )


# --- emergencies ------------------------------------------------------------------------------


async def declare_emergency(session: AsyncSession, actor: Actor, body: EmergencyIn) -> Emergency:
    """Declare an emergency; 409 ``emergency-exists`` for a double submission."""
    if actor.role not in DECLARE_ROLES:
        raise _not_allowed("emergencies are declared by supervisors and administrators")
    place = await place_in_scope(session, actor, body.jurisdiction)
    if body.kind not in EMERGENCY_KINDS:
        raise _invalid("kind", f"{body.kind!r} is not epidemic, disaster or policy", "类型无效")
    if body.ends_on < body.starts_on:
        raise _invalid("ends_on", "the period ends before it starts", "结束日期早于开始日期")
    if (body.ends_on - body.starts_on).days + 1 > MAX_EMERGENCY_DAYS:
        raise _invalid(
            "ends_on",
            f"an emergency lasts at most {MAX_EMERGENCY_DAYS} days; declare it again to extend",
            f"突发事件期间最长{MAX_EMERGENCY_DAYS}天，到期后可重新发布",
        )
    if body.ends_on < today():
        raise _invalid("ends_on", "the period is over already", "该期间已经结束")
    try:
        pack_id: str | None = await repos.pack_id_at(session, place)
    except repos.NoPolicyPack:
        pack_id = None
    pack = (await packs_in_force(session)).find(pack_id)
    if pack is None or group_of(pack, TEMPORARY_ASSISTANCE) is None:
        raise Problem(
            422,
            "target-group-not-in-pack",
            "No temporary assistance here",
            f"the policy of {place.name} ({pack_id or 'none'}) has no temporary assistance "
            "(山东 二(四)); emergencies are declared where it does",
        )
    if await enrolment_repo.overlapping(
        session, place.path, body.kind, body.name, body.starts_on, body.ends_on
    ):
        raise Problem(
            409,
            "emergency-exists",
            "Emergency already declared",
            f"{body.name!r} is already declared for {place.name} in an overlapping period",
        )
    now = datetime.now(UTC)
    emergency = await enrolment_repo.add_emergency(
        session,
        Emergency(
            kind=body.kind,
            name=body.name,
            description=body.description,
            jurisdiction_code=place.code,
            jurisdiction_path=place.path,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            declared_by=actor.username,
            declared_by_id=actor.id,
            declared_at=now,
        ),
    )
    record_audit(
        session,
        now=now,
        actor_id=actor.id,
        action="emergency_declared",
        object_type="emergency",
        object_id=str(emergency.id),
        detail={
            "jurisdiction": place.code,
            "kind": body.kind,
            "name": body.name,
            "starts_on": body.starts_on.isoformat(),
            "ends_on": body.ends_on.isoformat(),
        },
    )
    return emergency


async def list_emergencies(
    session: AsyncSession, actor: Actor, *, active_only: bool, limit: int
) -> list[Emergency]:
    return await enrolment_repo.list_emergencies(
        session, actor.jurisdiction_path, active_on=today() if active_only else None, limit=limit
    )


async def get_emergency(
    session: AsyncSession, actor: Actor, emergency_id: int
) -> tuple[Emergency, enrolment_repo.EnrolmentCounts]:
    emergency = await enrolment_repo.emergency_in_scope(
        session, emergency_id, actor.jurisdiction_path
    )
    if emergency is None:
        raise not_found("emergency", str(emergency_id))
    return emergency, await enrolment_repo.enrolment_counts(session, emergency.id)


# --- enrolment --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolled:
    batch: LedgerImport
    case_id: str


def check_may_enrol(actor: Actor) -> None:
    if actor.role not in ENROL_ROLES:
        raise _not_allowed(
            "persons are enrolled by grassroots officers, county reviewers and administrators"
        )


async def _emergency_for(session: AsyncSession, actor: Actor, emergency_id: int) -> Emergency:
    emergency = await enrolment_repo.emergency_in_scope(
        session, emergency_id, actor.jurisdiction_path
    )
    if emergency is None:
        raise not_found("emergency", str(emergency_id))
    return emergency


def _event(group: str, emergency: Emergency | None, source: str) -> str:
    under = (
        f"（突发事件：{emergency.name}，至{emergency.ends_on.isoformat()}）" if emergency else ""
    )
    return f"纳入就业援助：{label('enrolment_group', group)}{under}，{source}"


async def enrol(
    session: AsyncSession, temporal: Client | None, task_queue: str, actor: Actor, body: EnrolmentIn
) -> Enrolled:
    """Enrol one person (committed here) and start their assistance."""
    check_may_enrol(actor)
    if body.target_group not in ENROLLED_GROUPS:
        raise _invalid(
            "target_group",
            f"{body.target_group!r} is not enrolled by an officer ({', '.join(ENROLLED_GROUPS)})",
            "该援助对象类别不能直接纳入",
        )
    place = await place_in_scope(session, actor, body.jurisdiction)
    try:
        rid = parse_resident_id(body.id_number, today=today())
    except ResidentIdError as exc:
        raise _invalid("id_number", exc.message, exc.message_zh) from None
    emergency: Emergency | None = None
    if body.target_group == TEMPORARY_ASSISTANCE:
        if body.emergency_id is None:
            raise _invalid(
                "emergency_id",
                "a temporary assistance person is enrolled under a declared emergency",
                "临时援助对象须在已发布的突发事件下纳入",
                "missing",
            )
        emergency = await _emergency_for(session, actor, body.emergency_id)
        if not place.path.startswith(emergency.jurisdiction_path):
            raise _invalid(
                "jurisdiction",
                f"{place.name} is outside the emergency's area",
                f"{place.name}不在该突发事件范围内",
            )
    places = await enrolment_repo.enrolment_places(session, place.path, body.target_group)
    where = places.get(place.code)
    if where is None:
        raise _invalid(
            "jurisdiction",
            f"{place.name} is not a township/street or community whose policy has this group",
            f"{place.name}不是本地政策设有该援助对象类别的镇街或社区",
        )
    pack = await pack_in_force(session, where.pack_id)
    period = (emergency.starts_on, emergency.ends_on) if emergency else None
    problems = check_enrolment(pack, body.target_group, body.conditions(), today(), period)
    if problems:
        raise Problem(
            422,
            "enrolment-conditions-not-met",
            "Conditions not met",
            "; ".join(f"{p.field}: {p.message}" for p in problems),
            errors=[
                {
                    "field": f"body.{p.field}",
                    "message": p.message,
                    "message_zh": p.message_zh,
                    "code": "condition",
                }
                for p in problems
            ],
        )
    present = await enrolment_repo.present_cases(
        session, [(where.pack_id, rid.number)], body.target_group
    )
    if rid.number in present:
        found = present[rid.number]
        raise Problem(
            409,
            "already-enrolled",
            "Already in assistance",
            f"this person already has case {found.case_id} ({found.status})"
            + (" in assistance" if found.in_assistance else ""),
            case_id=found.case_id,
        )
    person = BatchPerson(
        line=1,
        name=body.name,
        id_number=rid.number,
        place_code=where.code,
        pack_id=where.pack_id,
        identified_on=today(),
        target_group=body.target_group,
        facts={
            "target_group": body.target_group,
            "enrolment": {
                **{k: v for k, v in body.conditions().items() if not isinstance(v, date)},
                "left_school_on": body.left_school_on.isoformat() if body.left_school_on else None,
                "phone": body.phone,
            },
            "emergency_id": emergency.id if emergency else None,
        },
        note=body.note,
        event_kind="enrolled",
        event_summary=_event(body.target_group, emergency, f"经办人{actor.display_name}"),
        event_after={"target_group": body.target_group, "note": body.note},
    )
    entry, [case_id] = await _store(
        session, actor, [person], body.target_group, where.code, emergency, ""
    )
    if temporal is not None:
        # Not waited for: the plan task appears in the inbox within moments; a batch Temporal
        # could not take stays pending and is resumed (resume_pending).
        await start_batch(temporal, task_queue, entry)
        await session.refresh(entry)
    return Enrolled(entry, case_id)


async def _store(
    session: AsyncSession,
    actor: Actor,
    people: list[BatchPerson],
    group: str,
    scope_code: str,
    emergency: Emergency | None,
    file_name: str,
    already_present: int = 0,
) -> tuple[LedgerImport, list[str]]:
    scope = await repos.get_jurisdiction(session, scope_code)
    assert scope is not None
    now = datetime.now(UTC)
    entry, case_ids = await ledger_repo.store_batch(
        session,
        people,
        kind="enrolment",
        scope_code=scope.code,
        scope_path=scope.path,
        file_name=file_name,
        by=actor.username,
        by_id=actor.id,
        already_present=already_present,
        skipped_exited=0,
        now=now,
        emergency_id=emergency.id if emergency else None,
    )
    record_audit(
        session,
        now=now,
        actor_id=actor.id,
        action="persons_enrolled",
        object_type="ledger_import",
        object_id=str(entry.id),
        detail={
            "target_group": group,
            "jurisdiction": scope.code,
            "emergency_id": emergency.id if emergency else None,
            "file_name": file_name,
            "created": entry.created,
            "already_present": already_present,
        },
    )
    await release_before_workflow(session)  # the cases exist before their assistances start
    return entry, case_ids


async def enrol_bulk(
    session: AsyncSession,
    temporal: Client | None,
    task_queue: str,
    actor: Actor,
    emergency_id: int,
    *,
    jurisdiction: str | None,
    file_name: str,
    data: bytes,
) -> LedgerImport:
    """Enrol the persons of an emergency's list, all or nothing (422
    ``enrolment-file-invalid`` with line errors), and start their assistance in batches."""
    check_may_enrol(actor)
    emergency = await _emergency_for(session, actor, emergency_id)
    day = today()
    if not emergency.starts_on <= day <= emergency.ends_on:
        raise Problem(
            422,
            "emergency-not-active",
            "Emergency not in its period",
            f"{emergency.name!r} runs from {emergency.starts_on} to {emergency.ends_on}; "
            "persons are enrolled under it only within that period",
        )
    scope = enrolment_repo.narrower(actor.jurisdiction_path, emergency.jurisdiction_path)
    assert scope is not None  # a visible emergency covers or lies inside the caller's area
    place = await place_in_scope(session, actor, jurisdiction)
    places = await enrolment_repo.enrolment_places(session, scope, TEMPORARY_ASSISTANCE)
    parsed = await file_checked(
        "enrolment-file-invalid",
        file_name,
        lambda: ledger_repo.read_table_bytes(
            data,
            file_name,
            lambda rows: parse_enrolment_rows(
                rows,
                places,
                today=day,
                default_place=place.code if place.code in places else None,
            ),
        ),
    )
    present = await enrolment_repo.present_cases(
        session, [(ln.pack_id, ln.id_number) for ln in parsed.lines], TEMPORARY_ASSISTANCE
    )
    people = [
        BatchPerson(
            line=ln.line,
            name=ln.name,
            id_number=ln.id_number,
            place_code=ln.place_code,
            pack_id=ln.pack_id,
            identified_on=day,
            target_group=TEMPORARY_ASSISTANCE,
            facts={
                "target_group": TEMPORARY_ASSISTANCE,
                "enrolment": {"phone": ln.phone},
                "emergency_id": emergency.id,
            },
            note=ln.note,
            event_kind="enrolled",
            event_summary=_event(
                TEMPORARY_ASSISTANCE, emergency, f"名单导入（{file_name} 第{ln.line}行）"
            ),
            event_after={"target_group": TEMPORARY_ASSISTANCE, "note": ln.note},
        )
        for ln in parsed.lines
        if ln.id_number not in present
    ]
    # The batch belongs to the place the list is for, inside the emergency's area.
    if place.path.startswith(emergency.jurisdiction_path):
        scope_code = place.code
    elif scope == emergency.jurisdiction_path:
        scope_code = emergency.jurisdiction_code
    else:
        scope_code = actor.jurisdiction_code
    entry, _ = await _store(
        session,
        actor,
        people,
        TEMPORARY_ASSISTANCE,
        scope_code,
        emergency,
        file_name,
        already_present=len(parsed.lines) - len(people),
    )
    if temporal is not None and people:
        await start_batch(temporal, task_queue, entry)
        await session.refresh(entry)
    return entry


__all__ = [
    "DECLARE_ROLES",
    "ENROL_ROLES",
    "Enrolled",
    "declare_emergency",
    "enrol",
    "enrol_bulk",
    "get_emergency",
    "list_emergencies",
]
