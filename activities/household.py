"""Household activities (零就业家庭): the household workflow's input from the store and its pinned
pack, its idempotent status writes, and discovery from the imported department lists.

Discovery (主动发现, 山东 五(二), 新余 第六条(二); 清新 三(一) 主动筛查): the
minimum-living-allowance list (民政低保, granted per household) is grouped by its household
number column (户号,
家庭编号 or 低保证号, kept in the record's ``detail`` by the import). A group looks
zero-employment when, under the pack's definition for its residence (``城乡`` = 农村 → rural,
otherwise urban), no counted member is employed by the lists' evidence (a valid employer
social-insurance record, or a business registration, which is also the household's business
income), and at least one counted member is on the unemployment-registration list (someone is
seeking work). Ability, willingness, studies or service are not on any list: they count as
met here, and the street officer's verification task checks them before the household is
identified. A group with a member already in an open household is left alone, and a group
found before keeps its row (``source_key``), so a second run opens no second task.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.calendar import local_date
from domain.department_data import DepartmentList
from domain.households import (
    Household,
    HouseholdChange,
    Member,
    first_zero_employment,
    member_working_age,
)
from domain.ids import ResidentIdError, completed_years, parse_resident_id
from store import household_repo, repos
from store.models import Jurisdiction
from store.models_department import DepartmentRecordRow
from store.packs import packs_in_force
from workflows.contracts import (
    DiscoverInput,
    DiscoveryResult,
    HouseholdSetup,
)
from workflows.rules import household_setup

# The columns of the 低保 list that name the household, in order of preference.
HOUSEHOLD_NUMBER_COLUMNS = ("户号", "家庭编号", "低保证号", "household", "household_id")
RURAL_MARKERS = ("农村", "rural")


def _household_number(detail: dict[str, Any]) -> str | None:
    for column in HOUSEHOLD_NUMBER_COLUMNS:
        value = str(detail.get(column) or "").strip()
        if value:
            return value
    return None


def _valid(row: DepartmentRecordRow, on: date) -> bool:
    return (row.valid_from is None or row.valid_from <= on) and (
        row.valid_to is None or on <= row.valid_to
    )


class HouseholdActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name="household_input")
    async def household_input(self, household_id: int) -> HouseholdSetup:
        async with self.sessions() as session:
            return household_setup(await household_repo.stored_household(session, household_id))

    @activity.defn(name="record_household")
    async def record_household(self, inp: HouseholdChange) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await household_repo.record(session, inp)
        except IntegrityError:
            return  # a concurrent retry wrote the same event first

    @activity.defn(name="discover_households")
    async def discover_households(self, inp: DiscoverInput) -> DiscoveryResult:
        on = local_date(inp.at)
        async with self.sessions() as session, session.begin():
            region = await session.get(Jurisdiction, inp.region_code)
            if region is None:
                raise ValueError(f"jurisdiction {inp.region_code} is not in the database")
            made, candidates, skipped = await self._discover(session, region, on, inp)
            pending = await household_repo.not_started(session, region.path)
        ids = sorted(set(made) | set(pending))
        return DiscoveryResult(household_ids=ids, candidates=candidates, skipped_open=skipped)

    async def _discover(
        self, session: AsyncSession, region: Jurisdiction, on: date, inp: DiscoverInput
    ) -> tuple[list[int], int, int]:
        allowance = [
            r
            for r in (
                await session.scalars(
                    select(DepartmentRecordRow).where(
                        DepartmentRecordRow.list_kind == DepartmentList.MINIMUM_LIVING_ALLOWANCE
                    )
                )
            ).all()
            if _valid(r, on) and r.jurisdiction_code
        ]
        places = {
            j.code: j
            for j in (
                await session.scalars(
                    select(Jurisdiction).where(
                        Jurisdiction.code.in_({r.jurisdiction_code for r in allowance}),
                        repos.in_subtree(Jurisdiction.path, region.path),
                    )
                )
            ).all()
        }
        groups: dict[str, list[DepartmentRecordRow]] = defaultdict(list)
        for r in allowance:
            number = _household_number(r.detail or {})
            if number is not None and r.jurisdiction_code in places:
                groups[number].append(r)
        numbers = {r.id_number for rows in groups.values() for r in rows}
        evidence = await self._evidence(session, numbers, on)
        in_open = await household_repo.open_member_numbers(session, numbers)
        own_cases = await household_repo.open_person_cases(session, numbers)
        made: list[int] = []
        candidates = skipped = 0
        packs = await packs_in_force(session)
        for number, rows in sorted(groups.items()):
            place = places[str(rows[0].jurisdiction_code)]
            try:
                pack_id = await repos.pack_id_at(session, place)
            except repos.NoPolicyPack:  # no pack, no household definition: not a candidate
                continue
            pack = packs.find(pack_id)
            if pack is None:  # a pack no longer in force: no definition to apply
                continue
            rural = any(str((r.detail or {}).get("城乡", "")) in RURAL_MARKERS for r in rows)
            household, registered = _household_from_lists(rows, evidence, on, urban=not rural)
            definitions = [
                d for d in pack.households if (d.residence == "urban") == household.urban
            ]
            found = first_zero_employment(household, definitions)
            if found is None or not any(k in registered for k in found.counted):
                continue
            candidates += 1
            if any(r.id_number in in_open for r in rows):
                skipped += 1
                continue
            key = f"{pack.id}:{DepartmentList.MINIMUM_LIVING_ALLOWANCE}:{number}"
            if await household_repo.by_source_key(session, key) is not None:
                continue
            row = await household_repo.create_household(
                session,
                pack=pack,
                definition_code=found.definition,
                urban=household.urban,
                place=place,
                members=[
                    household_repo.NewMember(
                        id_number=r.id_number,
                        name=r.name,
                        facts=_member_facts(household, r.id_number),
                        head=i == 0,
                        case_id=own_cases[r.id_number].id if r.id_number in own_cases else None,
                    )
                    for i, r in enumerate(rows)
                ],
                status="discovered",
                source="discovery",
                source_key=key,
                now=inp.at,
                facts={
                    "discovery": {
                        "list": DepartmentList.MINIMUM_LIVING_ALLOWANCE.value,
                        "household_number": number,
                        "definition": found.definition,
                        "source": found.source,
                        "registered_unemployed": len(registered & set(found.counted)),
                        "checked_on": on.isoformat(),
                    }
                },
            )
            made.append(row.id)
        return made, candidates, skipped

    async def _evidence(
        self, session: AsyncSession, numbers: set[str], on: date
    ) -> dict[str, set[str]]:
        """ID number -> the lists (valid on ``on``) that hold the person."""
        out: dict[str, set[str]] = defaultdict(set)
        if not numbers:
            return out
        rows = await session.scalars(
            select(DepartmentRecordRow).where(
                DepartmentRecordRow.id_number.in_(numbers),
                DepartmentRecordRow.list_kind.in_(
                    [
                        DepartmentList.SOCIAL_INSURANCE,
                        DepartmentList.BUSINESS_REGISTRATION,
                        DepartmentList.UNEMPLOYMENT_REGISTRATION,
                    ]
                ),
            )
        )
        for r in rows.all():
            if _valid(r, on):
                out[r.id_number].add(r.list_kind)
        return out


def _household_from_lists(
    rows: list[DepartmentRecordRow], evidence: dict[str, set[str]], on: date, *, urban: bool
) -> tuple[Household, set[str]]:
    """The household as the lists show it, and the members on the unemployment register."""
    members: list[Member] = []
    registered: set[str] = set()
    business = False
    for r in rows:
        try:
            rid = parse_resident_id(r.id_number)
        except ResidentIdError:
            continue
        lists = evidence.get(r.id_number, set())
        has_business = DepartmentList.BUSINESS_REGISTRATION in lists
        business = business or has_business
        employed = DepartmentList.SOCIAL_INSURANCE in lists or has_business
        members.append(
            Member(
                key=r.id_number,
                sex=rid.sex,
                age=completed_years(rid.birth_date, on),
                within_working_age=member_working_age(rid.birth_date, rid.sex, on),
                employed=employed,
            )
        )
        if DepartmentList.UNEMPLOYMENT_REGISTRATION in lists:
            registered.add(r.id_number)
    household = Household(
        urban=urban, members=tuple(members), business_investment_or_property_income=business
    )
    return household, registered


def _member_facts(household: Household, id_number: str) -> dict[str, Any]:
    m = next((m for m in household.members if m.key == id_number), None)
    if m is None:
        return {}
    return {
        "sex": m.sex,
        "age": m.age,
        "within_working_age": m.within_working_age,
        "employed": m.employed,
    }
