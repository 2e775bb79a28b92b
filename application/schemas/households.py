"""Request and response schemas of households (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from application.schemas.common import IsoDate, Note1000, PersonName

PlaceCode = Annotated[str, Field(pattern=r"^\d{6,12}$")]

Status = Literal["discovered", "identified", "cleared", "not_zero_employment"]

MemberStatus = Literal["student", "military", "retired"]

Way = Literal[
    "enterprise_absorption",
    "flexible_employment",
    "public_welfare_post",
    "self_employment",
    "other",
]


def _plain(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise ValueError("control characters are not allowed")
    return value


class MemberIn(BaseModel):
    """A member living in the household (共同生活成员) and the facts the definitions read."""

    model_config = ConfigDict(extra="forbid")

    name: PersonName
    id_number: str = Field(min_length=15, max_length=18, pattern=r"^[0-9]{15,17}[0-9Xx]?$")
    head: bool = Field(False, description="户主 (the first member when none is marked)")
    able_to_work: bool = True
    willing_to_work: bool = True
    employed: bool = False
    employed_non_farm: bool = Field(False, description="In the secondary or tertiary industry")
    status: MemberStatus | None = Field(
        None, description="在校学生 / 现役军人 / 退休人员 (not counted)"
    )
    transfer_registered: bool = Field(False, description="转移就业登记 (rural definitions)")

    _plain = field_validator("name")(_plain)


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction: PlaceCode = Field(description="The household's township/street or community")
    urban: bool = Field(True, description="城镇 (true) or 农村 (false)")
    definition: str | None = Field(
        None, max_length=60, pattern=r"^[a-z][a-z0-9_]*$", description="Default: by residence"
    )
    members: list[MemberIn] = Field(min_length=1, max_length=20)
    business_investment_or_property_income: bool = False
    annual_income_per_capita: float | None = Field(None, ge=0, le=10_000_000)
    local_average_annual_income_per_capita: float | None = Field(None, gt=0, le=10_000_000)


class MemberOut(BaseModel):
    id: int
    name: str
    id_number: str = Field(description="Masked (370***********123X)")
    head: bool
    case_id: str | None
    employed_on: dt.date | None
    employment: str | None
    facts: dict[str, Any]


class EventOut(BaseModel):
    at: dt.datetime
    kind: str
    status: str
    actor: str
    summary: str


class TaskRefOut(BaseModel):
    id: str
    kind: str
    kind_name: str
    due_at: dt.datetime | None
    deadline_at: dt.datetime | None


class HouseholdOut(BaseModel):
    id: int
    case_id: str | None
    head_name: str
    jurisdiction_code: str
    jurisdiction_name: str
    policy_pack_id: str
    definition: str
    definition_name: str
    definition_source: str
    urban: bool
    source: str
    status: str
    status_name: str
    overdue: bool
    discovered_at: dt.datetime | None
    identified_at: dt.datetime | None
    deadline_at: dt.datetime | None
    days_left: int | None = Field(description="Identified: days to the deadline (< 0: past)")
    cleared_at: dt.datetime | None
    clearing_member_id: int | None
    member_count: int
    members: list[MemberOut]
    history: list[EventOut] | None = Field(None, description="Status history (detail only)")
    open_tasks: list[TaskRefOut] | None = Field(None, description="Detail only")


class HouseholdsOut(BaseModel):
    items: list[HouseholdOut]


class RegisteredOut(HouseholdOut):
    workflow_started: bool = Field(
        description="False when the workflow engine could not be reached: the area's next "
        "discovery run starts it"
    )


class HouseholdsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    jurisdiction: PlaceCode | None = Field(None, description="A place inside your area")
    overdue: bool | None = None
    limit: int = Field(100, ge=1, le=500)


class EmploymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(ge=1, le=2**62, description="A member's id (see `members`)")
    how: Way = Field(description="企业吸纳 / 灵活就业 / 公益性岗位 / 自主创业 / 其他")
    employed_on: IsoDate | None = Field(None, ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))
    note: Note1000 = ""

    _plain = field_validator("note")(_plain)


class EmploymentOut(BaseModel):
    """``id`` is the update's id (the Idempotency-Key when one was sent); ``handling``:
    ``cleared``, or ``duplicate`` for a repeat of the request that cleared the household."""

    id: str
    handling: str
    household_id: int


class DiscoveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction: PlaceCode | None = Field(None, description="Default: your place")


class DiscoveryOut(BaseModel):
    workflow_id: str
    jurisdiction: str
    finished: bool = Field(description="False: still running after a short wait")
    started: list[int] = Field(description="The households whose verification it started")
