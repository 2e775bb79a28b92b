"""Reading and writing imported holiday tables, and the calendar everyone should use.

:func:`effective_calendar` is the one way to get the working-day calendar in a process that
has a database: the built-in (seed) tables with the administrator's imports applied over them,
year by year. Rows are validated again on the way out, so a hand-edited row that breaks the
rules fails loudly instead of silently shifting deadlines.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import CalendarDataError, WorkingCalendar, YearTable
from domain.calendar_seed import seed_year_tables
from store.models_calendar import CalendarYear

__all__ = ["effective_calendar", "load_year_tables", "save_year_table"]


async def save_year_table(
    session: AsyncSession, table: YearTable, *, loaded_by: str, now: datetime
) -> None:
    """Insert or replace the row for ``table.year`` (the caller's transaction commits)."""
    holidays = [d.isoformat() for d in sorted(table.holidays)]
    workdays = [d.isoformat() for d in sorted(table.workdays)]
    row = await session.get(CalendarYear, table.year)
    if row is None:
        session.add(
            CalendarYear(
                year=table.year,
                source=table.source[:200],
                holidays=holidays,
                workdays=workdays,
                loaded_at=now,
                loaded_by=loaded_by[:100],
            )
        )
    else:
        row.source = table.source[:200]
        row.holidays = holidays
        row.workdays = workdays
        row.loaded_at = now
        row.loaded_by = loaded_by[:100]
    await session.flush()


def _dates(year: int, field: str, values: list[str]) -> list[date]:
    try:
        return [date.fromisoformat(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise CalendarDataError(f"calendar_years[{year}].{field}: {exc}") from None


# The imported tables as they are stored, one statement for the process (#22).
_IMPORTED = select(
    CalendarYear.year, CalendarYear.holidays, CalendarYear.workdays, CalendarYear.source
).order_by(CalendarYear.year)


async def load_year_tables(session: AsyncSession) -> list[YearTable]:
    """All imported tables, ascending by year."""
    return [
        YearTable.build(
            row.year,
            _dates(row.year, "holidays", row.holidays),
            _dates(row.year, "workdays", row.workdays),
            row.source,
        )
        for row in (await session.execute(_IMPORTED)).all()
    ]


async def effective_calendar(session: AsyncSession) -> WorkingCalendar:
    """Seed tables with the imported tables applied over them (an import replaces a year).

    The imported tables are read and validated on every call, so an import is seen at once
    and a row that breaks the rules fails every time. The calendar built from them is kept
    per process (:func:`_calendar_of`): a task's opening and each deadline ask for it, and
    building it anew — the seed's twenty-odd years, each year's working days listed again —
    was ~0.2 ms of the ~1.1 ms a call took (#22)."""
    return _calendar_of(tuple(await load_year_tables(session)))


@lru_cache(maxsize=8)
def _calendar_of(imported: tuple[YearTable, ...]) -> WorkingCalendar:
    """The calendar of the seed tables and these imported ones. A calendar is immutable, so
    one built from equal tables is shared."""
    return WorkingCalendar([*seed_year_tables(), *imported])
