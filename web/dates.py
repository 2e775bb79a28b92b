"""The one way the pages write dates and times (the templates' ``|moment``, ``|day``,
``|last_day``, ``|day_words``, ``|month`` filters and ``day_span``): Beijing time
(Asia/Shanghai) whatever the server's zone, in the reader's language.

Two kinds of stored value look alike and must not be confused. An *instant* (submitted, done,
commented) is shown as it is: ``2026-12-07 09:30``. The *end of a period* (a task's due and
deadline instants, the publicity's end, an escalation's deadline) is stored exclusive — the
next day's 00:00 — and people read its inclusive last day: 2026-12-08T00:00+08:00 is shown
``2026-12-07`` (``|last_day``), in the inbox, on the task page, on the case page and in the
documents alike (:func:`domain.case_clock.last_day` is the rule).
"""

from __future__ import annotations

from datetime import date, datetime

from domain import calendar
from domain.calendar import SHANGHAI
from domain.case_clock import as_utc, last_day as _last_day
from web.i18n import current_locale

__all__ = ["beijing_day", "day", "day_span", "day_words", "last_day", "moment", "month"]


def _instant(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _date(value: datetime | date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return date.fromisoformat(value) if len(value) == 10 else _date(_instant(value))
    if isinstance(value, datetime):
        return _instant(value).astimezone(SHANGHAI).date()
    return value


def beijing_day(value: datetime | date | str | None) -> date | None:
    """The Beijing date of an instant (a naive one, as SQLite returns it, is UTC), or a date."""
    return _date(value)


def moment(value: datetime | date | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant in Beijing time, ``2026-12-07 09:30`` (a date alone: ``2026-12-07``)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime | str) and not (isinstance(value, str) and len(value) == 10):
        return _instant(value).astimezone(SHANGHAI).strftime(fmt)
    d = _date(value)
    return d.isoformat() if d else ""


def day(value: datetime | date | str | None) -> str:
    """The Beijing date of an instant, or a date, as ``2026-12-07``."""
    d = _date(value)
    return d.isoformat() if d else ""


def month(value: date | None) -> str:
    """A month (a subsidy's first month, the first month recovered) as ``2026-12``."""
    return f"{value.year:04d}-{value.month:02d}" if value is not None else ""


def last_day(value: datetime | date | str | None) -> str:
    """The inclusive last day of a period stored by its exclusive end instant, ``2026-12-07``
    for 2026-12-08T00:00+08:00; a date is already a last day."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) or (isinstance(value, str) and len(value) > 10):
        return _last_day(_instant(value)).isoformat()
    return day(value)


def day_words(value: datetime | date | str | None, year: bool = False) -> str:
    """A day as prose writes it: 12月7日 / 7 December (with the year: 2026年12月7日 /
    7 December 2026)."""
    d = _date(value)
    return "" if d is None else calendar.day_words(d, zh=current_locale() != "en", year=year)


def day_span(first: date, last: date) -> str:
    """Two days, both inclusive: 12月8日至12月10日 / 8–10 December (8 December – 3 January
    across months; the year is written when the two years differ)."""
    years = first.year != last.year
    if current_locale() == "en":
        if not years and first.month == last.month:
            return f"{first.day}–{day_words(last)}"
        return f"{day_words(first, years)} – {day_words(last, years)}"
    return f"{day_words(first, years)}至{day_words(last, years)}"
