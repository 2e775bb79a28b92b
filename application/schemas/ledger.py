"""Request and response schemas of ledger (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from application.schemas.common import IsoDate

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LedgerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction: str | None = Field(
        None, pattern=r"^\d{6,12}$", description="A place in your area (default: yours)"
    )
    format: Literal["xlsx", "json"] = "xlsx"
    layout: Literal["service_tracking", "one_person_one_file"] | None = Field(
        None,
        description="服务跟踪情况 (qingxin) or 一人一册 (jilin); default: the place's pack's",
    )
    full_ids: bool = Field(False, description="Full ID numbers (county reviewer and above)")
    exited_since: IsoDate | None = Field(
        None,
        ge=dt.date(1990, 1, 1),
        le=dt.date(2999, 12, 31),
        description="Include persons who exited on or after this day (default: 1 Jan)",
    )


class LedgerOut(BaseModel):
    jurisdiction_code: str
    jurisdiction_name: str
    layout: str
    title: str
    full_ids: bool
    columns: list[str]
    rows: list[list[str | int | float | bool | dt.date | None]]


class LedgerImportOut(BaseModel):
    """``created``: persons made cases (their assistance starts in batches: ``started`` of
    them so far; ``status`` pending → running → done); ``already_present``: lines skipped
    because the person is already in assistance here (a re-import); ``skipped_exited``: lines
    of persons who have exited (已退出), not imported."""

    id: int
    jurisdiction_code: str
    file_name: str
    imported_by: str
    imported_at: dt.datetime
    created: int
    already_present: int
    skipped_exited: int
    started: int
    status: Literal["pending", "running", "done"]
    workflow_id: str
    kind: Literal["ledger", "enrolment"] = Field(
        "ledger", description="A ledger import, or an enrolment (山东 二(二)–(四))"
    )
    emergency_id: int | None = None


class LedgerImportsOut(BaseModel):
    items: list[LedgerImportOut]


class ImportsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=500)
