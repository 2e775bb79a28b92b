"""Administering the working-day calendar, shared by ``yuanzhu calendar`` and the API.

One implementation of each operation: :func:`parse_table` reads the import format (the JSON
object of ``yuanzhu calendar import`` and of ``PUT /api/v1/calendar/years/{year}``);
:func:`store_year` stores a year (replacing a built-in or earlier table) and writes the audit
entry; :func:`year_summaries` lists every year known (built-in from ``chinese_calendar``,
imported, or provisional: no table, weekends only); :func:`year_detail` gives a year's days
off and make-up working days with the holiday names where the State Council notice has them;
:func:`day_reason` and :func:`working_days` answer questions from the effective calendar
(:func:`store.calendar_repo.effective_calendar`). Recomputing provisional deadlines after a
load is :func:`application.calendar_sync.signal_provisional_clocks` (it needs a Temporal client).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

# Only for the holidays' names (display data): domain.calendar_seed turns the same package
# into the year tables; see the note there about being the package's only importer.
from chinese_calendar import constants as _notice
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import (
    CalendarDataError,
    Deadline,
    WorkingCalendar,
    YearTable,
    parse_year_table,
)
from domain.calendar_seed import SEED_SOURCE, seed_calendar
from domain.labels import label
from store.audit import record_audit
from store.calendar_repo import effective_calendar, save_year_table
from store.models_calendar import CalendarYear

__all__ = [
    "AUDIT_ACTION",
    "DayReason",
    "NamedDay",
    "Origin",
    "Reason",
    "WorkingDays",
    "YearDetail",
    "YearSummary",
    "day_reason",
    "parse_table",
    "store_year",
    "working_days",
    "year_detail",
    "year_summaries",
]

AUDIT_ACTION = "calendar_year_loaded"

# seed: the built-in table (chinese_calendar); imported: an administrator's table (it may
# replace a built-in year); none: no table, the weekends-only rule (provisional answers).
Origin = Literal["seed", "imported", "none"]
# Why a day is (not) a working day.
Reason = Literal["weekday", "weekend", "holiday", "makeup_workday"]


@dataclass(frozen=True)
class YearSummary:
    """One year as the calendar knows it."""

    year: int
    origin: Origin
    # Where the table came from (the seed package, "imported from 2027.json: <note>", ...);
    # None for a provisional year.
    source: str | None
    provisional: bool
    holidays: int
    workdays: int
    # True when an imported table replaces the built-in table of that year.
    replaces_seed: bool
    loaded_by: str | None
    loaded_at: datetime | None


@dataclass(frozen=True)
class NamedDay:
    """A day off or a make-up working day with the holiday it belongs to, when known."""

    date: date
    name: str | None
    name_zh: str | None


@dataclass(frozen=True)
class YearDetail:
    """A year with its days off and make-up working days, ascending."""

    summary: YearSummary
    holidays: tuple[NamedDay, ...]
    workdays: tuple[NamedDay, ...]


@dataclass(frozen=True)
class DayReason:
    """Whether a day is a working day and why; ``provisional`` when its year has no table."""

    date: date
    workday: bool
    provisional: bool
    reason: Reason
    reason_zh: str
    holiday: str | None
    holiday_zh: str | None


@dataclass(frozen=True)
class WorkingDays:
    """The ``n`` working days after ``start`` (``start`` not counted); ``date`` is the last."""

    start: date
    n: int
    deadline: Deadline
    days: tuple[date, ...]


def parse_table(data: object, *, source: str) -> YearTable:
    """Validate the import format (raises :class:`CalendarDataError` naming the field, e.g.
    ``holidays[3]: '2027-02-30' is not a date``)."""
    if not isinstance(data, dict):
        raise CalendarDataError("expected a JSON object with year, holidays and workdays")
    return parse_year_table(data, source=source)


def _named(d: date, names: Mapping[date, str]) -> NamedDay:
    name = names.get(d)
    return NamedDay(d, name, label("holiday", name) if name else None)


def _summary(year: int, table: YearTable | None, row: CalendarYear | None) -> YearSummary:
    if table is None:
        return YearSummary(year, "none", None, True, 0, 0, False, None, None)
    return YearSummary(
        year=year,
        origin="imported" if row is not None else "seed",
        source=table.source,
        provisional=False,
        holidays=len(table.holidays),
        workdays=len(table.workdays),
        replaces_seed=row is not None and seed_calendar().covers(year),
        loaded_by=row.loaded_by if row is not None else None,
        loaded_at=row.loaded_at if row is not None else None,
    )


async def _rows(session: AsyncSession) -> dict[int, CalendarYear]:
    rows = await session.scalars(select(CalendarYear).order_by(CalendarYear.year))
    return {row.year: row for row in rows}


async def store_year(
    session: AsyncSession,
    table: YearTable,
    *,
    loaded_by: str,
    now: datetime,
    audit_actor_id: int | None = None,
) -> YearSummary:
    """Store ``table`` (replacing the year's built-in or earlier table) in the caller's
    transaction. With ``audit_actor_id`` (an application account: the API) an audit entry is
    written as well; the CLI passes none, its row names the shell user in ``loaded_by``. The
    caller commits, and only then tells the running cases to recompute (their recompute reads
    the committed table)."""
    before = await session.get(CalendarYear, table.year)
    replaced = (
        before.source
        if before is not None
        else (SEED_SOURCE if seed_calendar().covers(table.year) else None)
    )
    await save_year_table(session, table, loaded_by=loaded_by, now=now)
    if audit_actor_id is not None:
        record_audit(
            session,
            now=now,
            actor_id=audit_actor_id,
            action=AUDIT_ACTION,
            object_type="calendar_year",
            object_id=str(table.year),
            detail={
                "by": loaded_by,
                "source": table.source,
                "holidays": len(table.holidays),
                "workdays": len(table.workdays),
                "replaced": replaced,
            },
        )
        await session.flush()
    row = await session.get(CalendarYear, table.year)
    return _summary(table.year, table, row)


async def year_summaries(session: AsyncSession, *, through_year: int) -> list[YearSummary]:
    """Every year from the first with a table to the later of the last with a table and
    ``through_year`` (pass next year, so an administrator sees which year still needs its
    table); years in between without a table are provisional. Ascending."""
    cal = await effective_calendar(session)
    rows = await _rows(session)
    years = cal.years
    if not years:
        return []
    last = max(years[-1], through_year)
    return [_summary(y, cal.table(y), rows.get(y)) for y in range(years[0], last + 1)]


async def year_detail(session: AsyncSession, year: int) -> YearDetail:
    """A year's days off and make-up working days (empty and provisional without a table)."""
    cal = await effective_calendar(session)
    row = await session.get(CalendarYear, year)
    table = cal.table(year)
    summary = _summary(year, table, row)
    if table is None:
        return YearDetail(summary, (), ())
    return YearDetail(
        summary,
        tuple(_named(d, _notice.holidays) for d in sorted(table.holidays)),
        tuple(_named(d, _notice.workdays) for d in sorted(table.workdays)),
    )


def day_reason(cal: WorkingCalendar, d: date) -> DayReason:
    """Whether ``d`` is a working day and why (weekday, weekend, holiday, make-up working
    day), with the holiday's name where the notice has one."""
    answer = cal.is_workday(d)
    table = cal.table(d.year)
    named: NamedDay | None = None
    reason: Reason
    if table is not None and d in table.workdays:
        reason, named = "makeup_workday", _named(d, _notice.workdays)
    elif table is not None and d in table.holidays:
        reason, named = "holiday", _named(d, _notice.holidays)
    elif d.weekday() >= 5:
        reason = "weekend"
    else:
        reason = "weekday"
    return DayReason(
        date=d,
        workday=answer.value,
        provisional=answer.provisional,
        reason=reason,
        reason_zh=label("day_reason", reason),
        holiday=named.name if named else None,
        holiday_zh=named.name_zh if named else None,
    )


def working_days(cal: WorkingCalendar, start: date, n: int) -> WorkingDays:
    """The ``n`` working days after ``start`` (raises OverflowError past 9999-12-31)."""
    deadline = cal.add_working_days(start, n)
    days: list[date] = []
    d = start
    while d < deadline.date:
        d += timedelta(days=1)
        if cal.is_workday(d):
            days.append(d)
    return WorkingDays(start, n, deadline, tuple(days))
