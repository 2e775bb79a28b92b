"""Seed year tables from the ``chinese_calendar`` package (the State Council's annual notices).

``chinese_calendar`` ships the General Office of the State Council's holiday arrangements
(国务院办公厅关于部分节假日安排的通知) as two dicts: ``holidays`` (every official day off
inside a holiday period, weekend days included) and ``workdays`` (make-up working days). We
turn them into one :class:`~domain.calendar.YearTable` per year it covers (2004-2026 in
version 1.11). This is the only module that imports the package, so a newer table can always
be supplied as data (``yuanzhu calendar import``) without upgrading it. Results are cached:
the package data is immutable for the life of the process.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import lru_cache

import chinese_calendar
from chinese_calendar import constants as _cc

from domain.calendar import WorkingCalendar, YearTable

__all__ = ["SEED_SOURCE", "seed_calendar", "seed_year_tables"]

SEED_SOURCE = f"chinese-calendar {chinese_calendar.__version__} (国务院办公厅通知)"


@lru_cache(maxsize=1)
def _seed_tables() -> tuple[YearTable, ...]:
    holidays: dict[int, set[date]] = defaultdict(set)
    workdays: dict[int, set[date]] = defaultdict(set)
    for d in _cc.holidays:
        holidays[d.year].add(d)
    for d in _cc.workdays:
        workdays[d.year].add(d)
    # A year with holidays but no make-up days is possible (none moved); a year the package
    # does not cover has neither and is simply absent.
    years = sorted(set(holidays) | set(workdays))
    return tuple(YearTable.build(y, holidays[y], workdays[y], source=SEED_SOURCE) for y in years)


def seed_year_tables() -> list[YearTable]:
    """One table per year covered by the installed ``chinese_calendar``, ascending."""
    return list(_seed_tables())


@lru_cache(maxsize=1)
def seed_calendar() -> WorkingCalendar:
    """The calendar of the seed tables only (no administrator imports)."""
    return WorkingCalendar(_seed_tables())
