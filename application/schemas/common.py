"""Identifiers and dates as they arrive from clients, bounded so that no value reaches the
database that its columns cannot hold (an empty id, a 2**64 row id, a 10 kB string); the
masked tail of an ID number, which is all a list ever shows."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from fastapi import Path
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
)

from domain.text import NOTE_MAX, PERSON_NAME_MAX, clean_line, clean_note

# Identifiers as they arrive from clients, bounded so that no value reaches the database that
# its columns cannot hold (an empty id, a 2**64 row id, a 10 kB string).
MAX_ROW_ID = 2**63 - 1


TaskIdStr = Annotated[str, Field(min_length=1, max_length=160)]


RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


TaskIdPath = Annotated[str, Path(min_length=1, max_length=160, description="task id")]


CaseIdPath = Annotated[str, Path(min_length=1, max_length=40, description="case id")]


RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
)


def _iso_date_text(value: object) -> object:
    # Pydantic would also take 0 or "0" (a Unix timestamp) for a date; the contract says
    # YYYY-MM-DD, and an officer's typo should be refused, not read as 1970-01-01.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _iso_datetime_text(value: object) -> object:
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
        return value
    if isinstance(value, datetime):
        return value
    raise ValueError("must be a date and time written YYYY-MM-DDTHH:MM[:SS][+08:00]")


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_text)]


def mask_tail(last4: str) -> str:
    """A masked ID number built from its last four characters (lists never hold more)."""
    return "*" * 14 + last4


# --- free text (domain/text.py's one rule): no control, direction or invisible characters ---


def _required_line(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        text = clean_line(value, limit)
        if text is None:
            raise ValueError("must not be empty")
        return text

    return AfterValidator(check)


def _note(limit: int) -> AfterValidator:
    return AfterValidator(lambda value: clean_note(value, limit))


# A person's name (申请人、家庭成员、纳入人员).
PersonName = Annotated[
    str, Field(min_length=1, max_length=PERSON_NAME_MAX), _required_line(PERSON_NAME_MAX)
]
# A short required line: a display name, a saved filter's name; an emergency's name.
ShortLine = Annotated[str, Field(min_length=1, max_length=100), _required_line(100)]
Line = Annotated[str, Field(min_length=1, max_length=200), _required_line(200)]
# Free text with line breaks (a note, a reason, an objection), by its column's size.
Note500 = Annotated[str, Field(max_length=500), _note(500)]
Note1000 = Annotated[str, Field(max_length=1000), _note(1000)]
Note = Annotated[str, Field(max_length=NOTE_MAX), _note(NOTE_MAX)]
