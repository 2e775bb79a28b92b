"""The supervision (督导) queries: SLA figures of a jurisdiction subtree aggregated in SQL.

Every query is confined to a subtree (a path range) and aggregates in the database with GROUP
BY on the path, the kind or the assignee; the callers roll paths up to the few places they
report on (a city has thousands of places, never millions), so no query ever brings the
subtree's task rows into Python. Functions take an ``AsyncSession`` and never commit.

SLA states at ``now`` are the inbox's (:mod:`store.tasks_repo`), not re-defined here:
``at_risk`` and ``breached`` are the conditions of its ``at_risk`` and ``breached`` views
(``at_risk_at <= now < due_at``; ``due_at <= now``, which includes the tasks past their
deadline too). ``past_deadline`` (``deadline_at <= now``) has no view in tasks_repo; it is the
``PAST_DEADLINE`` state of :func:`domain.sla.state_at` written on the stored instant, as the
views write theirs.

Dialect-specific SQL (kept to two expressions): the end instant of a deadline *date* and the
length of a time span in seconds. Both databases store instants as UTC (SQLite as
``YYYY-MM-DD HH:MM:SS.ffffff`` text, which compares in time order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    TIMESTAMP,
    ColumnElement,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import deadline_end
from domain.vocabulary import CaseStatus
from store import tasks_repo
from store.models import Case, Jurisdiction, SlaBreach, Task, User
from store.repos import in_subtree

OPEN = tasks_repo.OPEN
COMPLETED = "completed"
TASK_STATES = (OPEN, COMPLETED, "cancelled")  # store.models.Task.state
ESCALATION_KIND = "escalation"  # workflows.contracts.TaskKind.ESCALATION (督办)
COUNTY_LEVEL = "county"  # workflows.contracts.LEVELS: the district / county level

TaskGroup = Literal["jurisdiction", "kind", "officer"]
GroupKey = str | int | None


# --- SLA conditions (the inbox's definitions, see the module docstring) --------------------


def _view(path: str, view: str, now: datetime) -> ColumnElement[bool]:
    """The conditions of the inbox view ``view`` over open tasks of the subtree ``path``."""
    viewer = tasks_repo.Viewer(user_id=0, role="", path=path)
    flt = tasks_repo.TaskFilter(view=view, state=OPEN)
    return and_(*tasks_repo.view_conditions(viewer, flt, now, tasks_repo.ANY_INDEX))


def open_in_scope(path: str, now: datetime) -> ColumnElement[bool]:
    """Open tasks in the subtree (the inbox's ``scope`` view of open tasks)."""
    return _view(path, "scope", now)


def at_risk(path: str, now: datetime) -> ColumnElement[bool]:
    return _view(path, "at_risk", now)


def breached(path: str, now: datetime) -> ColumnElement[bool]:
    return _view(path, "breached", now)


def past_deadline(now: datetime) -> ColumnElement[bool]:
    """``domain.sla.state_at`` is PAST_DEADLINE from ``deadline_at`` on."""
    return Task.deadline_at <= now


def _count_if(condition: ColumnElement[bool]) -> Any:
    # COUNT skips the NULLs of the CASE's missing ELSE: the number of rows matching.
    return func.count(case((condition, literal(1))))


# --- places and people -----------------------------------------------------------------------


async def children(session: AsyncSession, code: str) -> list[Jurisdiction]:
    """The direct children of a place, by code."""
    q = select(Jurisdiction).where(Jurisdiction.parent_code == code).order_by(Jurisdiction.code)
    return list((await session.scalars(q)).all())


async def county_places(session: AsyncSession, path: str) -> list[Jurisdiction]:
    """The county-level places (区/县) in the subtree, the place itself included, by code."""
    q = (
        select(Jurisdiction)
        .where(Jurisdiction.level == COUNTY_LEVEL, in_subtree(Jurisdiction.path, path))
        .order_by(Jurisdiction.code)
    )
    return list((await session.scalars(q)).all())


async def officers_in_scope(session: AsyncSession, path: str, roles: Iterable[str]) -> list[User]:
    """Active users of ``roles`` whose jurisdiction is in the subtree."""
    q = select(User).where(
        in_subtree(User.jurisdiction_path, path),
        User.role.in_(list(roles)),
        User.active.is_(True),
    )
    return list((await session.scalars(q)).all())


async def users_by_id(session: AsyncSession, ids: Iterable[int]) -> list[User]:
    wanted = set(ids)
    if not wanted:
        return []
    return list((await session.scalars(select(User).where(User.id.in_(wanted)))).all())


# --- open tasks: counts and ages --------------------------------------------------------------


@dataclass(frozen=True)
class OpenCounts:
    """Open tasks of one group key and how many of them are in each SLA state."""

    key: GroupKey
    open: int
    at_risk: int
    breached: int
    past_deadline: int
    unassigned: int


def _task_group_column(group: TaskGroup) -> Any:
    return {
        "jurisdiction": Task.jurisdiction_path,
        "kind": Task.kind,
        "officer": Task.assignee_id,
    }[group]


async def open_counts(
    session: AsyncSession, path: str, group: TaskGroup, now: datetime
) -> list[OpenCounts]:
    """Open tasks of the subtree grouped by path, kind or assignee (None: unassigned), with
    their SLA states at ``now``. One GROUP BY; the caller rolls paths up to places."""
    column = _task_group_column(group)
    q = (
        select(
            column,
            func.count(),
            _count_if(at_risk(path, now)),
            _count_if(breached(path, now)),
            _count_if(past_deadline(now)),
            _count_if(Task.assignee_id.is_(None)),
        )
        .where(open_in_scope(path, now))
        .group_by(column)
    )
    return [OpenCounts(*row) for row in (await session.execute(q)).all()]


async def open_load_by_assignee(
    session: AsyncSession, path: str, now: datetime
) -> list[OpenCounts]:
    """Open tasks of the subtree per assignee (assigned tasks only)."""
    return [c for c in await open_counts(session, path, "officer", now) if c.key is not None]


def _age_bucket(now: datetime, edges_days: Sequence[int]) -> Any:
    """The index of the age bucket of a task's wait ``now - created_at``: bucket i holds
    waits in [edges[i-1], edges[i]) days (the first from 0, the last unbounded)."""
    whens = [
        (Task.created_at > now - timedelta(days=edge), literal(i))
        for i, edge in enumerate(edges_days)
    ]
    return case(*whens, else_=literal(len(edges_days)))


async def age_counts(
    session: AsyncSession,
    path: str,
    group: Literal["jurisdiction", "kind"],
    now: datetime,
    edges_days: Sequence[int],
) -> list[tuple[str, int, int]]:
    """(path or kind, bucket index, open tasks) over the open tasks of the subtree."""
    inner = (
        select(
            _task_group_column(group).label("g"),
            _age_bucket(now, edges_days).label("b"),
        )
        .where(open_in_scope(path, now))
        .subquery()
    )
    # Grouped outside the CASE's subquery: PostgreSQL would not match a GROUP BY expression
    # whose bound parameters are numbered apart from the select list's.
    q = select(inner.c.g, inner.c.b, func.count()).group_by(inner.c.g, inner.c.b)
    return [(str(g), int(b), int(n)) for g, b, n in (await session.execute(q)).all()]


async def oldest_open(session: AsyncSession, path: str, now: datetime, limit: int) -> list[Task]:
    """The open tasks of the subtree that have waited longest (created first), then by id."""
    q = select(Task).where(open_in_scope(path, now)).order_by(Task.created_at, Task.id).limit(limit)
    return list((await session.scalars(q)).all())


# --- completions --------------------------------------------------------------------------


def _seconds_between(start: Any, end: Any, dialect: str) -> Any:
    """``end - start`` in seconds (float on SQLite, numeric on PostgreSQL)."""
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


@dataclass(frozen=True)
class Completions:
    """Tasks a user completed in a period and the median time from creation to completion."""

    user_id: int
    completed: int
    median_seconds: float


async def completions_by_user(
    session: AsyncSession, path: str, start: datetime, end: datetime
) -> list[Completions]:
    """Per user (``completed_by``): tasks of the subtree completed in [start, end) and the
    median of ``completed_at - created_at``. The median is computed in SQL with window
    functions (both databases): the middle row, or the mean of the two middle rows."""
    seconds = _seconds_between(Task.created_at, Task.completed_at, session.get_bind().dialect.name)
    ranked = (
        select(
            Task.completed_by.label("uid"),
            seconds.label("s"),
            func.row_number().over(partition_by=Task.completed_by, order_by=seconds).label("rn"),
            func.count().over(partition_by=Task.completed_by).label("n"),
        )
        .where(
            Task.state == COMPLETED,
            in_subtree(Task.jurisdiction_path, path),
            Task.completed_at >= start,
            Task.completed_at < end,
            Task.completed_by.is_not(None),
        )
        .subquery()
    )
    # Rows number rn of n with n/2 <= rn <= n/2 + 1: the middle one (n odd), two (n even).
    q = (
        select(ranked.c.uid, func.max(ranked.c.n), func.avg(ranked.c.s))
        .where(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
        .group_by(ranked.c.uid)
    )
    return [
        Completions(int(uid), int(n), float(median))
        for uid, n, median in (await session.execute(q)).all()
    ]


# --- escalations (督办) ------------------------------------------------------------------------

CreatedKey = tuple[datetime, str]


def _escalations(
    path: str, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    conds = [
        Task.kind == ESCALATION_KIND,
        # Every state, spelled out: the path range then serves from ix_tasks_inbox (state
        # first) instead of a scan of the whole table.
        Task.state.in_(TASK_STATES),
        in_subtree(Task.jurisdiction_path, path),
    ]
    if start is not None:
        conds.append(Task.created_at >= start)
    if end is not None:
        conds.append(Task.created_at < end)
    return conds


async def escalation_page(
    session: AsyncSession,
    path: str,
    *,
    states: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
    after: CreatedKey | None,
    limit: int,
) -> list[Task]:
    """Escalation tasks of the subtree opened in [start, end), newest first, keyset on
    (created_at, id) descending: the page starts strictly after ``after``."""
    q = select(Task).where(*_escalations(path, start, end))
    if states is not None:
        q = q.where(Task.state.in_(list(states)))
    if after is not None:
        q = q.where(tuple_(Task.created_at, Task.id) < (after[0], after[1]))
    q = q.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit)
    return list((await session.scalars(q)).all())


async def escalation_states(
    session: AsyncSession, path: str, start: datetime | None, end: datetime | None
) -> dict[str, int]:
    """Escalation tasks of the subtree opened in [start, end), counted per state."""
    q = select(Task.state, func.count()).where(*_escalations(path, start, end)).group_by(Task.state)
    return {state: int(n) for state, n in (await session.execute(q)).all()}


async def breaches_of_cases(session: AsyncSession, case_ids: Iterable[str]) -> list[SlaBreach]:
    """The breach records of some cases (read by the indexed case id)."""
    ids = set(case_ids)
    if not ids:
        return []
    return list((await session.scalars(select(SlaBreach).where(SlaBreach.case_id.in_(ids)))).all())


# --- breach records -------------------------------------------------------------------------

BreachKey = tuple[datetime, int]


def _breaches(path: str, start: datetime | None, end: datetime | None) -> list[Any]:
    conds: list[Any] = [in_subtree(SlaBreach.jurisdiction_path, path)]
    if start is not None:
        conds.append(SlaBreach.at >= start)
    if end is not None:
        conds.append(SlaBreach.at < end)
    return conds


async def breach_page(
    session: AsyncSession,
    path: str,
    *,
    start: datetime | None,
    end: datetime | None,
    clock: str | None,
    event: str | None,
    after: BreachKey | None,
    limit: int,
) -> list[SlaBreach]:
    """Breach records of the subtree (where they were recorded: the place escalated to),
    newest first, keyset on (at, id) descending: the page starts strictly after ``after``.
    A record added meanwhile is newer than the walk's position (not shown) or sorts after it
    (shown once); nothing is skipped or repeated."""
    q = select(SlaBreach).where(*_breaches(path, start, end))
    if clock is not None:
        q = q.where(SlaBreach.clock == clock)
    if event is not None:
        q = q.where(SlaBreach.event == event)
    if after is not None:
        q = q.where(tuple_(SlaBreach.at, SlaBreach.id) < (after[0], after[1]))
    q = q.order_by(SlaBreach.at.desc(), SlaBreach.id.desc()).limit(limit)
    return list((await session.scalars(q)).all())


async def breach_counts(
    session: AsyncSession, path: str, group: TaskGroup, start: datetime, end: datetime
) -> dict[GroupKey, int]:
    """Breach records of the subtree in [start, end), grouped by the recording place's path,
    by clock (``task:<kind>`` or ``identification_deadline``), or by the current assignee of
    the breached task (None: unassigned, or a case-level clock without a task)."""
    column: Any
    if group == "jurisdiction":
        column = SlaBreach.jurisdiction_path
    elif group == "kind":
        column = SlaBreach.clock
    else:
        column = Task.assignee_id
    q = select(column, func.count()).select_from(SlaBreach)
    if group == "officer":
        q = q.outerjoin(Task, Task.id == SlaBreach.task_id)
    q = q.where(*_breaches(path, start, end)).group_by(column)
    return {key: int(n) for key, n in (await session.execute(q)).all()}


# --- identification deadlines (认定时限) ---------------------------------------------------------


def _deadline_end(dialect: str) -> Any:
    """The instant the case's deadline day ends (:func:`domain.calendar.deadline_end`: the
    next day's 00:00 in Shanghai), as SQL on the date column. Shanghai has a fixed offset, so
    the end is the date's UTC midnight plus a constant taken from deadline_end itself."""
    offset = deadline_end(date(2000, 1, 1)) - datetime(2000, 1, 1, tzinfo=UTC)
    seconds = int(offset.total_seconds())
    if dialect == "sqlite":
        # 'YYYY-MM-DD HH:MM:SS', ordered like the stored 'YYYY-MM-DD HH:MM:SS.ffffff'.
        return func.datetime(Case.identification_deadline, f"+{seconds} seconds")
    naive_utc = cast(Case.identification_deadline, TIMESTAMP()) + offset
    return func.timezone("UTC", naive_utc)


@dataclass(frozen=True)
class DeadlineOutcomes:
    """Cases of one path whose identification deadline falls in a period, by outcome."""

    path: str
    on_time: int
    late: int
    pending_overdue: int
    pending_within: int


async def deadline_outcomes(
    session: AsyncSession, path: str, first: date, last: date, today: date
) -> list[DeadlineOutcomes]:
    """Per case path: cases of the subtree with ``identification_deadline`` in [first, last],
    concluded on time (identified or closed before the deadline day ended, Shanghai time),
    concluded late, pending past the deadline and pending within it, at the Shanghai date
    ``today``. A case concludes when it is identified (``identified_at``; it stays open in
    assistance) or closed otherwise (``closed_at``: refused, withdrawn); the earlier instant
    counts, as the workflow writes the one or the other at its conclusion."""
    concluded = func.coalesce(Case.identified_at, Case.closed_at)
    end = _deadline_end(session.get_bind().dialect.name)
    pending = and_(Case.identified_at.is_(None), Case.closed_at.is_(None))
    q = (
        select(
            Case.jurisdiction_path,
            _count_if(and_(concluded.is_not(None), concluded < end)),
            _count_if(and_(concluded.is_not(None), concluded >= end)),
            # Past the end of the deadline day exactly when that day is before today.
            _count_if(and_(pending, Case.identification_deadline < today)),
            _count_if(and_(pending, Case.identification_deadline >= today)),
        )
        .where(
            in_subtree(Case.jurisdiction_path, path),
            Case.identification_deadline >= first,
            Case.identification_deadline <= last,
        )
        .group_by(Case.jurisdiction_path)
    )
    return [DeadlineOutcomes(*row) for row in (await session.execute(q)).all()]


# --- cases by stage and identification decisions (the dashboard's headline) -------------------

# The statuses of a case still on its way to an identification decision (the rest are decided
# or closed: identified, enrolled, refused, not accepted, withdrawn, exited).
IN_IDENTIFICATION = (
    CaseStatus.SUBMITTED.value,
    CaseStatus.AWAITING_MATERIALS.value,
    CaseStatus.ACCEPTED.value,
    CaseStatus.UNDER_REVIEW.value,
    CaseStatus.IN_PUBLICITY.value,
)


def _has_open_task() -> ColumnElement[bool]:
    """The case has an open task in someone's inbox (a 督办 is about a task, not a stage)."""
    return exists().where(Task.case_id == Case.id, Task.state == OPEN, Task.kind != ESCALATION_KIND)


def _pending(today: date) -> list[ColumnElement[bool]]:
    return [Case.status.in_(IN_IDENTIFICATION), Case.identification_deadline < today]


@dataclass(frozen=True)
class StageCounts:
    """Cases of the subtree in identification at one stored stage (None in rows written
    before stages were stored) and status: how many, how many have an open task, how many are
    past their identification deadline (its day ended before ``today``)."""

    stage: str | None
    status: str
    cases: int
    with_open_task: int
    past_deadline: int


async def cases_by_stage(session: AsyncSession, path: str, today: date) -> list[StageCounts]:
    """Cases in identification (:data:`IN_IDENTIFICATION`) of the subtree by stage and status:
    also those no task stands for (a case in publicity, waiting on its clock)."""
    q = (
        select(
            Case.stage,
            Case.status,
            func.count(),
            _count_if(_has_open_task()),
            _count_if(Case.identification_deadline < today),
        )
        .where(in_subtree(Case.jurisdiction_path, path), Case.status.in_(IN_IDENTIFICATION))
        .group_by(Case.stage, Case.status)
    )
    return [StageCounts(*row) for row in (await session.execute(q)).all()]


def _decided_at() -> Any:
    """When the identification was decided: identified, or refused (不予认定; its close)."""
    refused_at = case((Case.status == CaseStatus.REFUSED.value, Case.closed_at))
    return func.coalesce(Case.identified_at, refused_at)


@dataclass(frozen=True)
class Decisions:
    """Cases decided (identified or refused) in a period: within the identification deadline
    (before its day ended, Shanghai time), after it, and without a stored deadline."""

    on_time: int
    late: int
    without_deadline: int


async def decisions(session: AsyncSession, path: str, start: datetime, end: datetime) -> Decisions:
    """The identification decisions of the subtree in [start, end) against their deadline."""
    decided = _decided_at()
    deadline_ends = _deadline_end(session.get_bind().dialect.name)
    has_deadline = Case.identification_deadline.is_not(None)
    q = select(
        _count_if(and_(has_deadline, decided < deadline_ends)),
        _count_if(and_(has_deadline, decided >= deadline_ends)),
        _count_if(Case.identification_deadline.is_(None)),
    ).where(in_subtree(Case.jurisdiction_path, path), decided >= start, decided < end)
    on_time, late, without = (await session.execute(q)).one()
    return Decisions(int(on_time), int(late), int(without))


CaseListKind = Literal["stage", "past_deadline", "decided"]


async def case_list(
    session: AsyncSession,
    path: str,
    which: CaseListKind,
    *,
    stage: str | None = None,
    today: date | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int,
) -> list[Case]:
    """The cases behind a headline figure, at most ``limit``: in identification at ``stage``
    (a stage code, or a status for rows without a stage), oldest change first; pending past
    their identification deadline (before ``today``), earliest deadline first; decided in
    [start, end), latest first."""
    conds: list[Any] = [in_subtree(Case.jurisdiction_path, path)]
    order: list[Any]
    if which == "stage":
        conds.append(Case.status.in_(IN_IDENTIFICATION))
        conds.append(
            Case.stage == stage
            if stage not in IN_IDENTIFICATION
            else and_(Case.stage.is_(None), Case.status == stage)
        )
        order = [Case.updated_at, Case.id]
    elif which == "past_deadline":
        assert today is not None
        conds += _pending(today)
        order = [Case.identification_deadline, Case.id]
    else:
        assert start is not None and end is not None
        decided = _decided_at()
        conds += [decided >= start, decided < end]
        order = [decided.desc(), Case.id]
    q = select(Case).where(*conds).order_by(*order).limit(limit)
    return list((await session.scalars(q)).all())


async def has_open_task(session: AsyncSession, case_ids: Iterable[str]) -> set[str]:
    """Those of the cases with an open task (not a 督办)."""
    ids = set(case_ids)
    if not ids:
        return set()
    q = select(Task.case_id).where(
        Task.case_id.in_(ids), Task.state == OPEN, Task.kind != ESCALATION_KIND
    )
    return set((await session.scalars(q)).all())
