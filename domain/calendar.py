"""China's official working-day calendar (Asia/Shanghai) and deadline arithmetic.

A day is a working day iff it is Monday-Friday and not an official holiday, or it is an
official make-up working day (调休, a Saturday or Sunday worked in exchange for a longer
holiday). The State Council publishes each year's table only late in the previous year, so the
calendar is data: one :class:`YearTable` per year, seeded from the ``chinese_calendar`` package
and extendable by an administrator's import. For a year without a table the calendar falls back
to "weekends off" and marks every answer that depends on such a year as *provisional*, so that
a deadline can be shown with a warning and recomputed once the table arrives. Counting
convention for periods in working days (from the regional rules: "3 working days of publicity",
"10 working days from acceptance"): the day the period starts is not counted; the Nth working
day after the start is the last day of the period, which ends at the end of that day, Shanghai
time. Everything here is pure: callers pass dates and aware instants.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as _dt
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Final

__all__ = [
    "SHANGHAI",
    "CalendarDataError",
    "DayAnswer",
    "Deadline",
    "WorkingCalendar",
    "YearTable",
    "add_months_clamped",
    "day_words",
    "deadline_end",
    "local_date",
    "parse_year_table",
    "start_of_day",
    "year_table_to_json",
]

# A fixed +08:00 offset rather than ZoneInfo("Asia/Shanghai"): China has not observed daylight
# saving time since 1991, so the two agree for every date this system handles, and the fixed
# offset needs no tzdata from the operating system (which Temporal's workflow sandbox may
# restrict and which slim containers may lack).
SHANGHAI: Final = timezone(timedelta(hours=8), "Asia/Shanghai")

# Mon=0 .. Sun=6 as in date.weekday(); the weekend is fixed by the State Council's
# Provisions on Working Hours of Employees (国务院关于职工工作时间的规定, art. 7).
_SATURDAY: Final = 5

# The years a holiday table may be given for (the import format's range).
MIN_YEAR, MAX_YEAR = 1900, 2200


_MONTHS_EN: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day_words(d: date, *, zh: bool, year: bool = True) -> str:
    """A day as official documents and prose write it: 2026年12月7日 / 7 December 2026 (without
    the year: 12月7日 / 7 December). The one home of this wording: pages (web/dates.py), the
    pre-check's values (domain/policy/wording.py) and the printed documents all call it."""
    if zh:
        return (f"{d.year}年" if year else "") + f"{d.month}月{d.day}日"
    return f"{d.day} {_MONTHS_EN[d.month - 1]}" + (f" {d.year}" if year else "")


class CalendarDataError(ValueError):
    """A holiday table is inconsistent or malformed; the message names the field or date."""


def add_months_clamped(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months (may be negative); a day that does not exist in the
    target month (31 April, 29 February in a common year) becomes that month's last day."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


def _is_weekend(d: date) -> bool:
    return d.weekday() >= _SATURDAY


@dataclass(frozen=True)
class YearTable:
    """One year's official days off (``holidays``) and make-up working days (``workdays``).

    ``holidays`` holds every official day off of the holiday periods, including the weekend
    days inside them (harmless: a weekend day is off anyway). ``workdays`` holds only weekend
    days that are worked. Construction validates; :meth:`build` accepts any iterables.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str

    def __post_init__(self) -> None:
        # Validation lives here so that no code path can create an inconsistent table.
        if not date.min.year <= self.year <= date.max.year:
            raise CalendarDataError(f"year {self.year} is out of range")
        for kind, days in (("holiday", self.holidays), ("make-up workday", self.workdays)):
            for d in days:
                # datetime is a subclass of date but would break set lookups by date.
                if type(d) is not date:
                    raise CalendarDataError(f"{kind} {d!r} is not a date")
            for d in sorted(days):
                if d.year != self.year:
                    raise CalendarDataError(f"{kind} {d.isoformat()} is not in {self.year}")
        clash = sorted(self.holidays & self.workdays)
        if clash:
            raise CalendarDataError(
                f"{clash[0].isoformat()} is both a holiday and a make-up workday"
            )
        for d in sorted(self.workdays):
            if not _is_weekend(d):
                raise CalendarDataError(
                    f"make-up workday {d.isoformat()} is a {d.strftime('%A')}, "
                    "not a Saturday or Sunday"
                )

    @classmethod
    def build(
        cls, year: int, holidays: Iterable[date], workdays: Iterable[date], source: str
    ) -> YearTable:
        """Build and validate a table (raises :class:`CalendarDataError`)."""
        return cls(
            year=year, holidays=frozenset(holidays), workdays=frozenset(workdays), source=source
        )

    def is_workday(self, d: date) -> bool:
        """The official answer for a date of this table's year."""
        if d in self.workdays:
            return True
        return not _is_weekend(d) and d not in self.holidays


_TABLE_KEYS: Final = frozenset({"year", "holidays", "workdays", "note"})
_MAX_SOURCE: Final = 200  # the width of calendar_years.source


def _parse_dates(data: Mapping[str, object], field: str, year: int) -> list[date]:
    raw = data.get(field, [])
    if not isinstance(raw, list):
        raise CalendarDataError(f"{field}: expected a list of dates, got {type(raw).__name__}")
    seen: set[date] = set()
    out: list[date] = []
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, str):
            raise CalendarDataError(f"{where}: {item!r} is not a date string (YYYY-MM-DD)")
        try:
            # date.fromisoformat also accepts 20270101 and 2027-W01-1; insist on one spelling.
            if len(item) != 10:
                raise ValueError
            d = date.fromisoformat(item)
        except ValueError:
            raise CalendarDataError(f"{where}: {item!r} is not a date") from None
        if d.year != year:
            raise CalendarDataError(f"{where}: {item} is not in {year}")
        if d in seen:
            raise CalendarDataError(f"{where}: {item} is listed twice")
        seen.add(d)
        out.append(d)
    return out


def parse_year_table(data: Mapping[str, object], *, source: str) -> YearTable:
    """Parse the import format ``{"year": 2027, "holidays": [...], "workdays": [...],
    "note": "..."}`` (``workdays`` and ``note`` optional). ``source`` says where the data came
    from (e.g. the file name); a non-empty ``note`` is appended to it. Errors name the field and
    item index, e.g. ``holidays[3]: '2027-02-30' is not a date``."""
    unknown = sorted(set(data) - _TABLE_KEYS)
    if unknown:
        # Reject rather than ignore: "holiday" for "holidays" would otherwise load an empty year.
        raise CalendarDataError(f"unknown field {unknown[0]!r} (expected year, holidays, ...)")
    year = data.get("year")
    if type(year) is not int:
        raise CalendarDataError(f"year: expected an integer, got {year!r}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarDataError(f"year: {year} is out of range {MIN_YEAR}..{MAX_YEAR}")
    if "holidays" not in data:
        raise CalendarDataError("holidays: missing (a list of YYYY-MM-DD dates)")
    holidays = _parse_dates(data, "holidays", year)
    workdays = _parse_dates(data, "workdays", year)
    note = data.get("note", "")
    if not isinstance(note, str):
        raise CalendarDataError(f"note: expected a string, got {type(note).__name__}")
    full_source = f"{source}: {note.strip()}" if note.strip() else source
    for i, d in enumerate(workdays):
        if not _is_weekend(d):
            raise CalendarDataError(
                f"workdays[{i}]: {d.isoformat()} is a {d.strftime('%A')}, not a Saturday or Sunday"
            )
        if d in holidays:
            raise CalendarDataError(f"workdays[{i}]: {d.isoformat()} is also listed in holidays")
    return YearTable.build(year, holidays, workdays, full_source[:_MAX_SOURCE])


def year_table_to_json(t: YearTable) -> dict[str, object]:
    """The import format for ``t`` (sorted ISO dates; the source goes into ``note``)."""
    return {
        "year": t.year,
        "holidays": [d.isoformat() for d in sorted(t.holidays)],
        "workdays": [d.isoformat() for d in sorted(t.workdays)],
        "note": t.source,
    }


@dataclass(frozen=True)
class DayAnswer:
    """Whether a day is a working day; ``provisional`` when its year has no table (weekends-only
    rule). Truthy iff ``value``, so ``if cal.is_workday(d):`` does the obvious thing."""

    value: bool
    provisional: bool

    def __bool__(self) -> bool:
        return self.value


@dataclass(frozen=True)
class Deadline:
    """The last day of a period. ``provisional_years`` lists the years without a table that the
    computation passed through; ``provisional`` is true iff there are any."""

    date: _dt.date
    provisional: bool
    provisional_years: tuple[int, ...]


def deadline_end(d: date) -> datetime:
    """The instant a period whose last day is ``d`` ends: the next day's 00:00 in Shanghai."""
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def start_of_day(d: date) -> datetime:
    """00:00 of ``d`` in Shanghai (aware)."""
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


def local_date(instant: datetime) -> date:
    """The Shanghai calendar date of an aware instant; naive datetimes are rejected because
    their meaning depends on the machine's time zone."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: pass an aware datetime")
    return instant.astimezone(SHANGHAI).date()


class WorkingCalendar:
    """Working days from a set of year tables; years without a table use the weekends-only rule
    and make answers provisional. Immutable: :meth:`with_year` returns a new calendar.

    Internally each year's working days are kept (lazily, per year, as sorted proleptic
    ordinals, at most ~260 ints a year) so that adding thousands of working days is a few
    binary searches rather than a day-by-day walk.
    """

    def __init__(self, tables: Iterable[YearTable] = ()) -> None:
        by_year: dict[int, YearTable] = {}
        for t in tables:
            by_year[t.year] = t  # a later table for the same year replaces an earlier one
        self._tables: Final[dict[int, YearTable]] = by_year
        self._ordinals: dict[int, list[int]] = {}

    # -- tables ---------------------------------------------------------------------------

    def with_year(self, table: YearTable) -> WorkingCalendar:
        """A new calendar with ``table`` added (replacing any table for the same year)."""
        return WorkingCalendar([*self._tables.values(), table])

    def covers(self, year: int) -> bool:
        return year in self._tables

    @property
    def years(self) -> tuple[int, ...]:
        """The years that have a table, ascending."""
        return tuple(sorted(self._tables))

    def table(self, year: int) -> YearTable | None:
        return self._tables.get(year)

    @property
    def tables(self) -> tuple[YearTable, ...]:
        return tuple(self._tables[y] for y in sorted(self._tables))

    # -- single days ----------------------------------------------------------------------

    def is_workday(self, d: date) -> DayAnswer:
        table = self._tables.get(d.year)
        if table is None:
            return DayAnswer(value=not _is_weekend(d), provisional=True)
        return DayAnswer(value=table.is_workday(d), provisional=False)

    # -- periods --------------------------------------------------------------------------

    def _year_ordinals(self, year: int) -> list[int]:
        cached = self._ordinals.get(year)
        if cached is not None:
            return cached
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        # date.fromordinal(1) is Monday 0001-01-01, so (ordinal - 1) % 7 is the weekday.
        days = [o for o in range(first, last + 1) if (o - 1) % 7 < _SATURDAY]
        table = self._tables.get(year)
        if table is not None:
            off = {d.toordinal() for d in table.holidays}
            extra = {d.toordinal() for d in table.workdays}
            days = sorted({o for o in days if o not in off} | extra)
        self._ordinals[year] = days
        return days

    def _provisional_years(self, first: date, last: date) -> tuple[int, ...]:
        """Years without a table that intersect the closed range first..last (empty if
        first > last)."""
        if first > last:
            return ()
        return tuple(y for y in range(first.year, last.year + 1) if y not in self._tables)

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The Nth working day after ``start`` (``start`` itself is not counted, whether or not
        it is a working day). ``n == 0`` returns ``start`` unchanged and non-provisional: a
        zero-length period ends on the day it starts. Negative ``n`` raises ValueError."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return Deadline(date=start, provisional=False, provisional_years=())
        remaining = n
        year = start.year
        after = start.toordinal()  # find working days with ordinal > after
        while True:
            days = self._year_ordinals(year)
            idx = bisect_right(days, after)
            available = len(days) - idx
            if remaining <= available:
                result = date.fromordinal(days[idx + remaining - 1])
                break
            remaining -= available
            year += 1
            if year > date.max.year:
                raise OverflowError("deadline is beyond the supported date range")
        years = self._provisional_years(start + timedelta(days=1), result)
        return Deadline(date=result, provisional=bool(years), provisional_years=years)

    def add_calendar_days(self, start: date, n: int) -> Deadline:
        """``start`` plus ``n`` calendar days (n may be negative); never provisional."""
        return Deadline(date=start + timedelta(days=n), provisional=False, provisional_years=())

    def add_months(self, start: date, n: int) -> Deadline:
        """``start`` plus ``n`` calendar months, the day clamped to the month's end (31 Jan + 1
        month = 28/29 Feb); n may be negative. Used for the one-month and six-month clocks;
        never provisional."""
        return Deadline(date=add_months_clamped(start, n), provisional=False, provisional_years=())

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days d with a < d <= b; if b < a, minus the number with
        b < d <= a. So ``working_days_between(s, add_working_days(s, n).date) == n``."""
        if b < a:
            return -self.working_days_between(b, a)
        a_ord, b_ord = a.toordinal(), b.toordinal()
        total = 0
        for year in range(a.year, b.year + 1):
            days = self._year_ordinals(year)
            lo = bisect_right(days, a_ord) if year == a.year else 0
            hi = bisect_right(days, b_ord) if year == b.year else len(days)
            total += hi - lo
        return total

    def provisional_years_between(self, a: date, b: date) -> tuple[int, ...]:
        """Years without a table among the days a < d <= b (or b < d <= a)."""
        lo, hi = (a, b) if a <= b else (b, a)
        return self._provisional_years(lo + timedelta(days=1), hi)

    # -- instants (delegates, so callers holding a calendar need no other import) ----------

    @staticmethod
    def deadline_end(d: date) -> datetime:
        return deadline_end(d)

    @staticmethod
    def local_date(instant: datetime) -> date:
        return local_date(instant)
