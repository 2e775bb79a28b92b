"""The ``calendar_years`` table: holiday tables imported by an administrator.

The built-in tables come from the ``chinese_calendar`` package (see
:mod:`domain.calendar_seed`); a row here adds a year the package does not know yet (the State
Council publishes each year's arrangement late in the previous year) or replaces a built-in
year. Dates are stored as JSON lists of ISO strings: a year is always read and written whole,
and this keeps the table identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCDateTime


class CalendarYear(Base):
    __tablename__ = "calendar_years"

    # The calendar year; no autoincrement: the key is the year itself.
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200))
    # Official days off, ISO dates ("2027-01-01"), sorted.
    holidays: Mapped[list[str]] = mapped_column(JSON)
    # Make-up working days (weekend days that are worked), ISO dates, sorted.
    workdays: Mapped[list[str]] = mapped_column(JSON)
    # UTCDateTime is DateTime(timezone=True) that also keeps the offset on SQLite.
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(String(100))
