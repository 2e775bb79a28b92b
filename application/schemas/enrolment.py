"""Request and response schemas of enrolment (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from application.schemas.common import IsoDate, Line, Note, Note500, PersonName
from application.schemas.ledger import LedgerImportOut

PlaceCode = Annotated[str, Field(pattern=r"^\d{6,12}$")]

Day = Annotated[IsoDate, Field(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))]


class EmergencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["epidemic", "disaster", "policy"] = Field(
        description="重大疫情 / 重大自然灾害 / 重大政策调整 (山东 二(四))"
    )
    name: Line
    jurisdiction: PlaceCode | None = Field(None, description="Default: your place")
    starts_on: Day
    ends_on: Day = Field(description="The last day; temporary assistance ends after it")
    description: Note = ""


class EmergencyOut(BaseModel):
    id: int
    kind: str
    kind_name: str
    name: str
    description: str
    jurisdiction_code: str
    starts_on: dt.date
    ends_on: dt.date
    active: bool
    declared_by: str
    declared_at: dt.datetime
    enrolled: int | None = Field(None, description="Persons enrolled under it (detail only)")
    in_assistance: int | None = Field(None, description="Of them, still in assistance")


class EmergenciesOut(BaseModel):
    items: list[EmergencyOut]


class EmergenciesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool = Field(False, description="Only those whose period includes today")
    limit: int = Field(100, ge=1, le=500)


class EnrolmentIn(BaseModel):
    """One person. The group's conditions (山东 二): rural surplus labour — ``willing``,
    ``able`` (the PES assessment) and not ``transferred``; a graduate — ``low_income_family``
    and ``left_school_on`` within the job-seeking period; temporary assistance —
    ``emergency_id`` of an emergency covering the place, today within its period."""

    model_config = ConfigDict(extra="forbid")

    target_group: Literal["rural_surplus_labour", "low_income_graduate", "temporary_assistance"]
    name: PersonName
    id_number: str = Field(min_length=15, max_length=18, pattern=r"^[0-9]{15,17}[0-9Xx]?$")
    jurisdiction: PlaceCode = Field(description="The township/street or community")
    phone: str = Field("", max_length=20, pattern=r"^$|^[0-9][0-9\- ]{5,19}$")
    note: Note500 = ""
    emergency_id: int | None = Field(None, ge=1, le=2**62)
    willing: bool | None = None
    able: bool | None = None
    transferred: bool | None = None
    low_income_family: bool | None = None
    left_school_on: Day | None = None

    def conditions(self) -> dict[str, Any]:
        """The facts the group's conditions are judged on."""
        return {
            "willing": self.willing,
            "able": self.able,
            "transferred": self.transferred,
            "low_income_family": self.low_income_family,
            "left_school_on": self.left_school_on,
        }


class EnrolmentOut(BaseModel):
    case_id: str
    target_group: str
    batch: LedgerImportOut = Field(
        description="The enrolment's batch: the assistance starts with it (status done), the "
        "plan task then opens in the inbox"
    )
