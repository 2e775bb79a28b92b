"""Request and response schemas of reference (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.department_data import DepartmentList
from store.policy_admin import (
    PACK_REF_PATTERN,
    PackListing,
)

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


class WorkingDaysQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=DATE_PATTERN, max_length=10, description="YYYY-MM-DD, not counted")
    n: int = Field(10, ge=0, le=1000, description="How many working days")


class ImportsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DepartmentList | None = Field(None, description="Only this list")
    limit: int = Field(100, ge=1, le=500)


class DiffQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_ref: str = Field(
        alias="from",
        pattern=PACK_REF_PATTERN,
        max_length=120,
        description="A pack id (its current version) or a pinned ref id@version#hash12",
    )
    to_ref: str = Field(
        alias="to", pattern=PACK_REF_PATTERN, max_length=120, description="As `from`"
    )


class CalendarYearOut(BaseModel):
    """One year of the calendar: ``origin`` seed (built-in, from chinese-calendar), imported
    (an administrator's table; ``replaces_seed`` when it replaces a built-in year) or none (no
    table: ``provisional``, weekends only)."""

    year: int
    origin: Literal["seed", "imported", "none"]
    source: str | None
    provisional: bool
    holiday_count: int
    workday_count: int
    replaces_seed: bool
    loaded_by: str | None
    loaded_at: dt.datetime | None


class CalendarYearsOut(BaseModel):
    items: list[CalendarYearOut]


class NamedDayOut(BaseModel):
    """A day off or make-up working day; the holiday's name where the notice has one."""

    date: dt.date
    name: str | None
    name_zh: str | None


class CalendarYearDetailOut(CalendarYearOut):
    holidays: list[NamedDayOut] = Field(description="Official days off (incl. weekend days)")
    workdays: list[NamedDayOut] = Field(description="Make-up working days (调休上班)")


class RecomputeOut(BaseModel):
    """``done``: the running cases with provisional deadlines were told (``signalled``);
    ``pending``: the workflow engine could not be reached."""

    status: Literal["done", "pending"]
    signalled: int | None
    detail: str


class CalendarLoadOut(BaseModel):
    year: CalendarYearOut
    recompute: RecomputeOut


class WorkingDaysOut(BaseModel):
    """The ``n`` working days after ``start`` (``start`` not counted); ``date`` is the Nth."""

    start: dt.date
    n: int
    date: dt.date
    provisional: bool
    provisional_years: list[int]
    days: list[dt.date]


class DayOut(BaseModel):
    date: dt.date
    workday: bool
    provisional: bool
    reason: Literal["weekday", "weekend", "holiday", "makeup_workday"]
    reason_zh: str
    holiday: str | None
    holiday_zh: str | None


class DepartmentImportOut(BaseModel):
    """One import (``yuanzhu department import --json``), with the list's Chinese name and
    whether its records are the ones in use (the latest import of its kind)."""

    import_id: int
    list: str
    list_name_zh: str | None
    file_name: str
    records: int
    imported_at: dt.datetime
    imported_by: str
    replaces_previous: bool
    replaced: int
    current: bool


class DepartmentImportsOut(BaseModel):
    items: list[DepartmentImportOut]


class PolicyPacksOut(BaseModel):
    items: list[PackListing]


class PackVersionOut(BaseModel):
    ref: str
    version: str
    content_hash: str
    first_used_at: dt.datetime
    current: bool = Field(description="The packaged pack has this content")


class PackVersionsOut(BaseModel):
    pack_id: str
    current_ref: str | None = Field(description="None when the pack is no longer packaged")
    versions: list[PackVersionOut]


class PackRefOut(BaseModel):
    ref: str
    pack_id: str
    version: str
    content_hash: str
    current: bool
    first_used_at: dt.datetime | None


class ChangeOut(BaseModel):
    path: str = Field(description="e.g. clocks.identification_deadline.value")
    kind: Literal["added", "removed", "changed"]
    before: Any
    after: Any


class PackDiffOut(BaseModel):
    from_version: PackRefOut
    to_version: PackRefOut
    changes: list[ChangeOut]
