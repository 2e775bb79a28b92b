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


async def load_year_tables(session: AsyncSession) -> list[YearTable]:
    """All imported tables, ascending by year."""
    rows = (await session.scalars(select(CalendarYear).order_by(CalendarYear.year))).all()
    return [
        YearTable.build(
            row.year,
            _dates(row.year, "holidays", row.holidays),
            _dates(row.year, "workdays", row.workdays),
            row.source,
        )
        for row in rows
    ]


# The imported tables as they are stored, one statement for the process (#22).
_IMPORTED = select(
    CalendarYear.year, CalendarYear.holidays, CalendarYear.workdays, CalendarYear.source
).order_by(CalendarYear.year)

# An imported year as stored: (year, holidays, workdays, source).
StoredYear = tuple[int, tuple[str, ...], tuple[str, ...], str]


async def effective_calendar(session: AsyncSession) -> WorkingCalendar:
    """Seed tables with the imported tables applied over them (an import replaces a year).

    Read on every call, so an import is seen at once; the calendar built from what was read
    is kept per process, by the rows' content (:func:`_calendar_of`). A task's opening and
    each deadline ask for it: building it anew — the seed's twenty-odd years, the tables
    validated, each year's working days listed again — was about 1 ms each time (#22)."""
    rows = (await session.execute(_IMPORTED)).all()
    return _calendar_of(
        tuple((r.year, tuple(r.holidays), tuple(r.workdays), r.source) for r in rows)
    )


@lru_cache(maxsize=8)
def _calendar_of(imported: tuple[StoredYear, ...]) -> WorkingCalendar:
    """The calendar of the seed tables and these imported rows. A calendar is immutable, so
    one built from the same rows can be shared; rows that break the rules raise each time
    (an exception is not kept)."""
    tables = [
        YearTable.build(
            year,
            _dates(year, "holidays", list(holidays)),
            _dates(year, "workdays", list(workdays)),
            source,
        )
        for year, holidays, workdays, source in imported
    ]
    return WorkingCalendar([*seed_year_tables(), *tables])
