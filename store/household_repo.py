"""SQL for zero-employment households (零就业家庭): making a household with its members and its
own case row, the households discovery may start, the members already in an open household,
and the idempotent status writes of the household workflow. Runs in the caller's transaction
(the activity or the API service commits)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.households import HouseholdChange, StoredHousehold, StoredMember
from domain.policy.model import PolicyPack
from domain.vocabulary import household_case_id, household_workflow_id
from store import repos
from store.models import Case, Jurisdiction
from store.models_household import (
    OPEN_HOUSEHOLD_STATUSES,
    HouseholdEventRow,
    HouseholdMemberRow,
    HouseholdRow,
)
from store.packs import pinned_pack

HOUSEHOLD_CHANNEL = "household"


@dataclass
class NewMember:
    id_number: str
    name: str
    facts: dict[str, Any] = field(default_factory=dict)
    head: bool = False
    case_id: str | None = None


async def open_member_numbers(session: AsyncSession, id_numbers: Iterable[str]) -> set[str]:
    """The ID numbers among ``id_numbers`` that belong to a household still open."""
    numbers = list(set(id_numbers))
    if not numbers:
        return set()
    rows = await session.scalars(
        select(HouseholdMemberRow.id_number)
        .join(HouseholdRow, HouseholdRow.id == HouseholdMemberRow.household_id)
        .where(
            HouseholdMemberRow.id_number.in_(numbers),
            HouseholdRow.status.in_(OPEN_HOUSEHOLD_STATUSES),
        )
    )
    return set(rows.all())


async def open_person_cases(session: AsyncSession, id_numbers: Iterable[str]) -> dict[str, Case]:
    """The members' own open cases (a person case, not a household's), by ID number."""
    numbers = list(set(id_numbers))
    if not numbers:
        return {}
    rows = await session.scalars(
        select(Case).where(
            Case.id_number.in_(numbers),
            Case.closed_at.is_(None),
            Case.channel != HOUSEHOLD_CHANNEL,
        )
    )
    return {c.id_number: c for c in rows.all()}


async def by_source_key(session: AsyncSession, key: str) -> HouseholdRow | None:
    return await session.scalar(select(HouseholdRow).where(HouseholdRow.source_key == key))


async def create_household(
    session: AsyncSession,
    *,
    pack: PolicyPack,
    definition_code: str,
    urban: bool,
    place: Jurisdiction,
    members: Sequence[NewMember],
    status: str,
    source: str,
    now: datetime,
    source_key: str | None = None,
    facts: dict[str, Any] | None = None,
) -> HouseholdRow:
    """A household, its members and its case row (channel ``household``: the row its tasks,
    timeline and breaches hang on). The head (户主) names the case; without one, the first
    member does."""
    if not members:
        raise ValueError("a household needs at least one member")
    head = next((m for m in members if m.head), members[0])
    await repos.remember_pack_version(session, pack, now)
    row = HouseholdRow(
        policy_pack_id=pack.id,
        policy_pack_ref=pack.ref,
        definition_code=definition_code,
        urban=urban,
        jurisdiction_code=place.code,
        jurisdiction_path=place.path,
        status=status,
        overdue=False,
        source=source,
        source_key=source_key,
        facts=facts or {},
        discovered_at=now if status == "discovered" else None,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    case_id = household_case_id(row.id)
    # Row ids restart with a new database while Temporal's history may not (the tests share one
    # server between SQLite and PostgreSQL): a random suffix keeps workflow ids unique.
    workflow_id = f"{household_workflow_id(row.id)}-{secrets.token_hex(4)}"
    session.add(
        Case(
            id=case_id,
            workflow_id=workflow_id,
            policy_pack_id=pack.id,
            policy_pack_ref=pack.ref,
            jurisdiction_code=place.code,
            jurisdiction_path=place.path,
            applicant_name=f"{head.name}户",
            id_number=head.id_number,
            id_last4=head.id_number[-4:],
            facts={"household": {"id": row.id, "definition": definition_code, **(facts or {})}},
            channel=HOUSEHOLD_CHANNEL,
            status=status,
            stage=status,
            open_key=f"household:{row.id}",
            submitted_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    row.case_id = case_id
    row.workflow_id = workflow_id
    for m in members:
        session.add(
            HouseholdMemberRow(
                household_id=row.id,
                id_number=m.id_number,
                name=m.name,
                id_last4=m.id_number[-4:],
                case_id=m.case_id,
                head=m is head,
                facts=dict(m.facts),
            )
        )
    await session.flush()
    return row


async def members_of(session: AsyncSession, household_id: int) -> list[HouseholdMemberRow]:
    rows = await session.scalars(
        select(HouseholdMemberRow)
        .where(HouseholdMemberRow.household_id == household_id)
        .order_by(HouseholdMemberRow.id)
    )
    return list(rows.all())


async def not_started(session: AsyncSession, path: str) -> list[int]:
    """Households under ``path`` whose workflow has not written yet (discovery starts them)."""
    rows = await session.scalars(
        select(HouseholdRow.id)
        .where(
            repos.in_subtree(HouseholdRow.jurisdiction_path, path),
            HouseholdRow.started_at.is_(None),
            HouseholdRow.status.in_(OPEN_HOUSEHOLD_STATUSES),
        )
        .order_by(HouseholdRow.id)
    )
    return list(rows.all())


async def record(session: AsyncSession, inp: HouseholdChange) -> bool:
    """Apply one change of the household workflow (once per ``key``); also mirrors the status
    on the household's case row. Returns False when the key was already applied."""
    seen = await session.scalar(
        select(HouseholdEventRow.id).where(HouseholdEventRow.event_key == inp.key)
    )
    if seen is not None:
        return False
    row = await session.get(HouseholdRow, inp.household_id)
    if row is None:
        raise ValueError(f"household {inp.household_id} is not in the database")
    if row.started_at is None:
        row.started_at = inp.at
    if inp.status is not None:
        row.status = inp.status
    for name in ("identified_at", "deadline_at", "cleared_at", "clearing_member_id", "overdue"):
        value = getattr(inp, name)
        if value is not None:
            setattr(row, name, value)
    if inp.closed:
        row.closed_at = inp.at
    if inp.status == "cleared":
        # A household that becomes zero-employment again later is a new one (新出现的零就业
        # 家庭): free the discovery key. A "not zero-employment" verdict keeps it, so the same
        # list does not flag the household again.
        row.source_key = None
    row.updated_at = inp.at
    if inp.clearing_member_id is not None:
        member = await session.get(HouseholdMemberRow, inp.clearing_member_id)
        if member is not None:
            member.employed_on = inp.employed_on
            member.employment = inp.employment
    session.add(
        HouseholdEventRow(
            household_id=row.id,
            event_key=inp.key,
            at=inp.at,
            kind=inp.kind,
            status=row.status,
            actor=inp.actor[:100],
            summary=inp.summary,
            detail=dict(inp.detail),
        )
    )
    if row.case_id is not None:
        case = await session.get(Case, row.case_id)
        if case is not None:
            case.status = case.stage = row.status
            if inp.identified_at is not None:
                case.identified_at = inp.identified_at
            if inp.closed:
                case.closed_at = inp.at
                case.open_key = None
            case.updated_at = inp.at
    return True


async def events_of(session: AsyncSession, household_id: int) -> list[HouseholdEventRow]:
    rows = await session.scalars(
        select(HouseholdEventRow)
        .where(HouseholdEventRow.household_id == household_id)
        .order_by(HouseholdEventRow.at, HouseholdEventRow.id)
    )
    return list(rows.all())


async def stored_household(session: AsyncSession, household_id: int) -> StoredHousehold:
    """The household as its workflow starts from it (rules are made of it by
    :func:`workflows.rules.household_setup`)."""
    row = await session.get(HouseholdRow, household_id)
    if row is None or row.case_id is None:
        raise ValueError(f"household {household_id} is not in the database")
    case = await session.get(Case, row.case_id)
    place = await session.get(Jurisdiction, row.jurisdiction_code)
    if case is None or place is None:
        raise ValueError(f"household {household_id}: its case or place is not in the database")
    members = await members_of(session, household_id)
    member_cases = [m.case_id for m in members if m.case_id]
    found = await session.execute(
        select(Case.id, Case.category_code).where(Case.id.in_(member_cases))
    )
    categories: dict[str, str | None] = {case_id: code for case_id, code in found.all()}
    head = next((m for m in members if m.head), members[0])
    return StoredHousehold(
        household_id=row.id,
        case_id=row.case_id,
        head_name=case.applicant_name,
        head_id_last4=head.id_last4,
        definition_code=row.definition_code,
        pack=await pinned_pack(session, case),
        chain=await repos.place_chain(session, place),
        members=[
            StoredMember(m.id, m.id_last4, m.case_id, categories.get(m.case_id or ""))
            for m in members
        ],
        identified_at=row.identified_at if row.status == "identified" else None,
        discovery=dict(row.facts.get("discovery") or {}),
        workflow_id=row.workflow_id or "",
    )
