"""The assistance targets' queries (帮扶率, 年度清零, exits by reason): counts of a jurisdiction
subtree's assistances over a period, aggregated in SQL.

Like :mod:`store.supervision_repo`, every query is confined to a subtree (a path range on the
case's ``jurisdiction_path``) and groups in the database — here by the case's place, pack and
category (or exit reason) — so the callers roll a few thousand groups up to the places they
report on and never bring the subtree's people into Python. Functions take an
``AsyncSession`` and never commit.

Who counts (one assistance = one identification; a person identified twice counts twice):
*in assistance during the period* — started before the period's end and not exited before its
first day. Of those, *assisted* — at least one service delivered (an ``assistance_entries`` row
of kind ``service``) within the period; *remaining* — not exited by the period's last day;
*cleared* — exited within the period (any reason). Exits are dated by ``exited_on`` (a Shanghai
date), services and starts by their instants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, exists, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Case
from store.models_assistance import Assistance, AssistanceEntry, AssistanceExit
from store.repos import in_subtree

SERVICE = "service"  # AssistanceEntry.kind of a service delivered (援助服务)


@dataclass(frozen=True)
class CohortCounts:
    """The assistances of one (place path, pack, category) group in the period."""

    path: str
    pack_id: str
    category_code: str | None
    persons: int
    assisted: int
    remaining: int
    cleared: int
    # Of ``remaining``, those whose assistance started on or after their pack's instant in
    # ``recent_since`` (still inside a per-person window such as the one-month clearance).
    remaining_recent: int = 0


@dataclass(frozen=True)
class ExitCounts:
    """Exits within the period of one (place path, pack, reason) group; ``reason_name`` is the
    name stored with the exit (the pinned pack's), for a code the current pack no longer has."""

    path: str
    pack_id: str
    reason_code: str
    reason_name: str
    exits: int


async def cohort_counts(
    session: AsyncSession,
    path: str,
    *,
    first: date,
    last: date,
    start: datetime,
    end: datetime,
    recent_since: Mapping[str, datetime] | None = None,
) -> list[CohortCounts]:
    """Assistances in the subtree that were active at some time in the period (dates
    ``first``..``last``, instants [``start``, ``end``)), counted per place, pack and category
    (see the module docstring for what each count means); ``remaining_recent`` counts the
    remaining ones that started on or after ``recent_since[pack]`` (0 for other packs)."""
    recent = or_(
        false(),
        *(
            and_(Case.policy_pack_id == pack, Assistance.started_at >= since)
            for pack, since in (recent_since or {}).items()
        ),
    )
    served = exists().where(
        AssistanceEntry.case_id == Assistance.case_id,
        AssistanceEntry.kind == SERVICE,
        AssistanceEntry.at >= start,
        AssistanceEntry.at < end,
    )
    exited_on = AssistanceExit.exited_on
    q = (
        select(
            Case.jurisdiction_path,
            Case.policy_pack_id,
            Case.category_code,
            func.count(),
            func.count(case((served, literal(1)))),
            func.count(case((or_(exited_on.is_(None), exited_on > last), literal(1)))),
            func.count(case((and_(exited_on >= first, exited_on <= last), literal(1)))),
            func.count(
                case((and_(or_(exited_on.is_(None), exited_on > last), recent), literal(1)))
            ),
        )
        .select_from(Assistance)
        .join(Case, Case.id == Assistance.case_id)
        .outerjoin(AssistanceExit, AssistanceExit.case_id == Assistance.case_id)
        .where(
            in_subtree(Case.jurisdiction_path, path),
            Assistance.started_at < end,
            or_(exited_on.is_(None), exited_on >= first),
        )
        .group_by(Case.jurisdiction_path, Case.policy_pack_id, Case.category_code)
    )
    return [
        CohortCounts(
            path=str(p),
            pack_id=str(pack),
            category_code=category,
            persons=int(persons),
            assisted=int(assisted),
            remaining=int(remaining),
            cleared=int(cleared),
            remaining_recent=int(recent_n),
        )
        for p, pack, category, persons, assisted, remaining, cleared, recent_n in (
            await session.execute(q)
        ).all()
    ]


async def exit_counts(
    session: AsyncSession, path: str, *, first: date, last: date
) -> list[ExitCounts]:
    """Exits (退出/注销) of the subtree's assistances dated within ``first``..``last``, per
    place, pack and reason."""
    q = (
        select(
            Case.jurisdiction_path,
            AssistanceExit.policy_pack_id,
            AssistanceExit.reason_code,
            func.max(AssistanceExit.reason_name),
            func.count(),
        )
        .select_from(AssistanceExit)
        .join(Case, Case.id == AssistanceExit.case_id)
        .where(
            in_subtree(Case.jurisdiction_path, path),
            AssistanceExit.exited_on >= first,
            AssistanceExit.exited_on <= last,
        )
        .group_by(Case.jurisdiction_path, AssistanceExit.policy_pack_id, AssistanceExit.reason_code)
    )
    return [
        ExitCounts(
            path=str(p), pack_id=str(pack), reason_code=str(code), reason_name=str(name), exits=n
        )
        for p, pack, code, name, n in (await session.execute(q)).all()
    ]
