"""Queries of the quarterly verification (定期审验): the active persons of a district in keyset
pages, the bulk creation of their tasks (idempotent: deterministic ids, existing rows skipped),
the keyset walk that marks what is left at the clock events, progress by township, and the
batches inside a caller's subtree.

Progress is read from the task rows themselves (joined through ``verification_items``), so a
completion recorded by the person's assistance workflow shows at once without the batch being
told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import insert_ignoring_duplicates
from store.models import Case, Jurisdiction, SlaBreach, Task
from store.models_assistance import Assistance
from store.models_verification import VerificationBatch, VerificationItem
from store.repos import in_subtree, path_range

OPEN = "open"
# A person to verify (:func:`cases_to_verify`): the case's id, place (code, path), pack (id,
# ref), category, name, id_last4, and the level of its place.
ToVerify = Row[str, str, str, str, str, str | None, str, str, str]


async def district_townships(session: AsyncSession, district: Jurisdiction) -> list[dict[str, str]]:
    """The district's townships (its children, by code), then the district itself for persons
    whose case lies at the district office."""
    children = (
        await session.scalars(
            select(Jurisdiction)
            .where(Jurisdiction.parent_code == district.code)
            .order_by(Jurisdiction.code)
        )
    ).all()
    return [{"code": j.code, "name": j.name, "path": j.path} for j in [*children, district]]


def township_of(townships: Sequence[dict[str, str]], path: str) -> str:
    """The township whose subtree holds ``path`` (the district itself when none does: the
    district is listed last and holds every path of the batch)."""
    for t in townships:
        if path.startswith(t["path"]):
            return t["code"]
    return townships[-1]["code"]


def _active_in_district(session: AsyncSession, district_path: str, after: str | None) -> Any:
    """The persons in assistance (not exited) in the district after the cursor ``after``, in
    case-id order: the conditions of a walk along the assistance table's primary key, where
    every page continues where the last stopped and the whole pass reads each row once.

    SQLite, without statistics, takes the district's path range on ``ix_cases_scope`` instead
    and sorts the whole district for every page: a page then costs as much as the district
    (40 ms at 20,000 persons) and the pass grows with its square. ``likely()`` (a no-op at run
    time) tells its planner that the range keeps most rows, so it walks the key from the
    cursor and stops at the page's end (under 1 ms). A pass then reads every person of the
    database once, which a district holding a small share of a large SQLite database pays for
    (a keyset on the place, then the case, would need an index on both). PostgreSQL plans
    from statistics."""
    lo, hi = path_range(district_path)
    path = Case.jurisdiction_path
    in_district: list[Any] = [path >= lo, path < hi]
    if session.get_bind().dialect.name == "sqlite":
        in_district = [func.likely(c) for c in in_district]
    conditions = [Assistance.status == "active", *in_district]
    if after is not None:
        conditions.append(Assistance.case_id > after)
    return and_(*conditions)


async def active_people(
    session: AsyncSession, district_path: str, after: str | None, limit: int
) -> list[str]:
    """Case ids of the persons in assistance (not exited) in the district, in case-id order
    after ``after`` (:func:`_active_in_district`)."""
    q = (
        select(Assistance.case_id)
        .join(Case, Case.id == Assistance.case_id)
        .where(_active_in_district(session, district_path, after))
        .order_by(Assistance.case_id)
        .limit(limit)
    )
    return list((await session.scalars(q)).all())


def _to_verify() -> Select[str, str, str, str, str, str | None, str, str, str]:
    """What a person's verification task copies from the case, and the level of its place."""
    return (
        select(
            Case.id,
            Case.jurisdiction_code,
            Case.jurisdiction_path,
            Case.policy_pack_id,
            Case.policy_pack_ref,
            Case.category_code,
            Case.applicant_name,
            Case.id_last4,
            Jurisdiction.level,
        )
        .select_from(Assistance)
        .join(Case, Case.id == Assistance.case_id)
        .join(Jurisdiction, Jurisdiction.code == Case.jurisdiction_code)
    )


async def insert_new_tasks(
    session: AsyncSession, tasks: Sequence[dict[str, Any]], items: Sequence[dict[str, Any]]
) -> set[str]:
    """Insert the tasks and their batch items that do not exist yet, in one statement each
    (``INSERT ... ON CONFLICT DO NOTHING``: a re-run page, a retried activity or an attempt
    still running beside its retry inserts nothing twice); returns the ids of the tasks
    inserted now. Only their items are inserted, as one row each was before."""
    if not tasks:
        return set()
    stmt = (
        insert_ignoring_duplicates(session, Task.__table__)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Task.__table__.c.id)
    )
    new = set((await session.execute(stmt, list(tasks))).scalars().all())
    mine = [i for i in items if i["task_id"] in new]
    if mine:
        await session.execute(
            insert_ignoring_duplicates(session, VerificationItem.__table__).on_conflict_do_nothing(
                index_elements=["task_id"]
            ),
            mine,
        )
    return new


async def cases_to_verify(session: AsyncSession, case_ids: Sequence[str]) -> Sequence[ToVerify]:
    """What the verification tasks of these persons (those still in assistance) copy from their
    cases, and the level of each case's place: one query."""
    return (
        await session.execute(
            _to_verify()
            .where(Case.id.in_(case_ids), Assistance.status == "active")
            .order_by(Case.id)
        )
    ).all()


async def cancel_exited(
    session: AsyncSession, batch_id: str, task_ids: Sequence[str], at: datetime
) -> int:
    """Cancel the open verification tasks (among ``task_ids``) of persons who left assistance
    since the batch opened them: there is nobody left to verify."""
    gone = (
        select(VerificationItem.task_id)
        .join(Assistance, Assistance.case_id == VerificationItem.case_id)
        .where(
            VerificationItem.batch_id == batch_id,
            VerificationItem.task_id.in_(task_ids),
            Assistance.status != "active",
        )
    )
    result = await session.execute(
        update(Task)
        .where(Task.id.in_(gone), Task.state == OPEN)
        .values(
            state="cancelled",
            outcome={"outcome": "cancelled", "fields": {}, "comment": "已退出援助，无需审验"},
            completed_at=at,
            version=Task.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def item_page(
    session: AsyncSession, batch_id: str, after: str | None, limit: int
) -> list[str]:
    q = (
        select(VerificationItem.task_id)
        .where(VerificationItem.batch_id == batch_id)
        .order_by(VerificationItem.task_id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(VerificationItem.task_id > after)
    return list((await session.scalars(q)).all())


async def open_tasks(session: AsyncSession, task_ids: Sequence[str]) -> list[Task]:
    return list(
        (
            await session.scalars(
                select(Task).where(Task.id.in_(task_ids), Task.state == OPEN).order_by(Task.id)
            )
        ).all()
    )


async def breach_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    return set(
        (
            await session.scalars(
                select(SlaBreach.breach_key).where(SlaBreach.breach_key.in_(keys))
            )
        ).all()
    )


@dataclass(frozen=True)
class TownshipProgress:
    code: str
    name: str
    created: int
    completed: int
    cancelled: int
    left: int


async def progress(session: AsyncSession, batch: VerificationBatch) -> list[TownshipProgress]:
    """Counts by township: tasks created, completed, cancelled (the person exited) and left
    (still open). Townships with nobody to verify are listed with zeros."""
    rows = await session.execute(
        select(
            VerificationItem.township_code,
            func.count(),
            func.sum(case((Task.state == "completed", 1), else_=0)),
            func.sum(case((Task.state == "cancelled", 1), else_=0)),
            func.sum(case((Task.state == OPEN, 1), else_=0)),
        )
        .join(Task, Task.id == VerificationItem.task_id)
        .where(VerificationItem.batch_id == batch.id)
        .group_by(VerificationItem.township_code)
    )
    counts: dict[str, tuple[int, int, int, int]] = {
        code: (int(n), int(done or 0), int(gone or 0), int(left or 0))
        for code, n, done, gone, left in rows.all()
    }
    out: list[TownshipProgress] = []
    for t in batch.townships:
        n, done, gone, left = counts.get(t["code"], (0, 0, 0, 0))
        if t["code"] == batch.district_code and n == 0:
            continue  # the district office itself only shows when it has persons
        out.append(TownshipProgress(t["code"], t["name"], n, done, gone, left))
    return out


async def batches_in_scope(
    session: AsyncSession,
    path: str,
    *,
    district_path: str | None = None,
    period: str | None = None,
    limit: int = 50,
) -> list[VerificationBatch]:
    """The batches of districts inside ``path`` (the caller's subtree), newest period first."""
    conditions: list[Any] = [in_subtree(VerificationBatch.district_path, path)]
    if district_path is not None:
        conditions.append(in_subtree(VerificationBatch.district_path, district_path))
    if period is not None:
        conditions.append(VerificationBatch.period == period)
    return list(
        (
            await session.scalars(
                select(VerificationBatch)
                .where(and_(*conditions))
                .order_by(VerificationBatch.period.desc(), VerificationBatch.district_code)
                .limit(limit)
            )
        ).all()
    )
