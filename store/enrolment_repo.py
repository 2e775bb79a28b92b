"""All SQL of emergencies and enrolments (山东 二(二)–(四)): declaring and listing emergencies,
the places an enrolment may name, what an enrolled person already has, and a temporary
assistance's end. The enrolment's cases and lines are written by
:func:`store.ledger_repo.store_batch` (one write for every intake batch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import SHANGHAI
from domain.enrolment import EnrolmentPlace
from domain.target_groups import TEMPORARY_ASSISTANCE, group_of
from store import ledger_repo, repos
from store.models import Case
from store.models_assistance import Assistance
from store.models_enrolment import Emergency
from store.models_ledger import LedgerImport, LedgerImportLine
from store.packs import packs_in_force


def _self_and_ancestors(path: str) -> list[str]:
    """'/a/b/c/' -> ['/a/', '/a/b/', '/a/b/c/'] (paths end with '/')."""
    return [path[: i + 1] for i, ch in enumerate(path) if ch == "/" and i > 0]


def end_instant(ends_on: date) -> datetime:
    """When an emergency whose last day is ``ends_on`` is over: midnight after it, Shanghai."""
    return datetime.combine(ends_on + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)


async def add_emergency(session: AsyncSession, emergency: Emergency) -> Emergency:
    session.add(emergency)
    await session.flush()
    return emergency


async def overlapping(
    session: AsyncSession, path: str, kind: str, name: str, starts_on: date, ends_on: date
) -> Emergency | None:
    """The same emergency declared already (same place, kind and name, periods overlapping):
    a double submission."""
    return await session.scalar(
        select(Emergency).where(
            Emergency.jurisdiction_path == path,
            Emergency.kind == kind,
            Emergency.name == name,
            Emergency.starts_on <= ends_on,
            Emergency.ends_on >= starts_on,
        )
    )


def _visible(scope_path: str) -> object:
    # Declared for the caller's place or a place above it (it covers them), or inside their
    # area (they supervise it).
    return or_(
        repos.in_subtree(Emergency.jurisdiction_path, scope_path),
        Emergency.jurisdiction_path.in_(_self_and_ancestors(scope_path)),
    )


async def list_emergencies(
    session: AsyncSession, scope_path: str, *, active_on: date | None, limit: int
) -> list[Emergency]:
    q = select(Emergency).where(_visible(scope_path))  # type: ignore[arg-type]
    if active_on is not None:
        q = q.where(Emergency.starts_on <= active_on, Emergency.ends_on >= active_on)
    q = q.order_by(Emergency.starts_on.desc(), Emergency.id.desc()).limit(limit)
    return list(await session.scalars(q))


async def emergency_in_scope(
    session: AsyncSession, emergency_id: int, scope_path: str
) -> Emergency | None:
    return await session.scalar(
        select(Emergency).where(Emergency.id == emergency_id, _visible(scope_path))  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class EnrolmentCounts:
    enrolled: int
    active: int


async def enrolment_counts(session: AsyncSession, emergency_id: int) -> EnrolmentCounts:
    """Persons enrolled under the emergency, and those whose assistance is still running."""
    rows = (
        await session.execute(
            select(
                func.count(), func.count(Assistance.case_id).filter(Assistance.status != "exited")
            )
            .select_from(LedgerImportLine)
            .join(LedgerImport, LedgerImport.id == LedgerImportLine.import_id)
            .outerjoin(Assistance, Assistance.case_id == LedgerImportLine.case_id)
            .where(LedgerImport.emergency_id == emergency_id)
        )
    ).one()
    return EnrolmentCounts(int(rows[0]), int(rows[1]))


async def enrolment_places(
    session: AsyncSession, scope_path: str, group: str
) -> dict[str, EnrolmentPlace]:
    """The streets/townships and communities under ``scope_path`` whose pack has ``group``."""
    out: dict[str, EnrolmentPlace] = {}
    packs = await packs_in_force(session)
    for code, place in (await ledger_repo.import_places(session, scope_path)).items():
        if group_of(packs.get(place.pack_id), group) is not None:
            out[code] = EnrolmentPlace(place.code, place.name, place.pack_id)
    return out


def narrower(a: str, b: str) -> str | None:
    """The narrower of two paths when one holds the other (None: disjoint areas)."""
    if a.startswith(b):
        return a
    if b.startswith(a):
        return b
    return None


@dataclass(frozen=True)
class Present:
    """A case the person already has that an enrolment must not duplicate."""

    case_id: str
    status: str
    in_assistance: bool


async def present_cases(
    session: AsyncSession, pack_and_ids: Sequence[tuple[str, str]], group: str
) -> dict[str, Present]:
    """By ID number: the person's open case in the same group, or their difficulty-person case
    in assistance (they are served already), under the same pack."""
    keys: dict[str, str] = {}
    for pack_id, number in pack_and_ids:
        keys[ledger_repo.open_key_for(pack_id, number, group)] = number
        keys[ledger_repo.open_key_for(pack_id, number)] = number
    out: dict[str, Present] = {}
    items = list(keys)
    for i in range(0, len(items), 500):
        found = (
            await session.execute(
                select(Case.open_key, Case.id, Case.status, Assistance.status)
                .outerjoin(Assistance, Assistance.case_id == Case.id)
                .where(Case.open_key.in_(items[i : i + 500]))
            )
        ).all()
        for open_key, case_id, status, assisted in found:
            number = keys[str(open_key)]
            same_group = str(open_key).endswith(f":{group}")
            in_assistance = assisted is not None and assisted != "exited"
            if same_group or in_assistance:
                out[number] = Present(case_id, status, in_assistance)
    return out


async def emergency_end(
    session: AsyncSession, import_id: int
) -> tuple[datetime | None, int | None]:
    """(end instant, emergency id) of the emergency an enrolment batch was made under."""
    emergency = await session.scalar(
        select(Emergency)
        .join(LedgerImport, LedgerImport.emergency_id == Emergency.id)
        .where(LedgerImport.id == import_id)
    )
    if emergency is None:
        return None, None
    return end_instant(emergency.ends_on), emergency.id


__all__ = [
    "TEMPORARY_ASSISTANCE",
    "EnrolmentCounts",
    "Present",
    "add_emergency",
    "emergency_end",
    "emergency_in_scope",
    "end_instant",
    "enrolment_counts",
    "enrolment_places",
    "list_emergencies",
    "narrower",
    "overlapping",
    "present_cases",
]
