"""Request and response schemas of verification (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


class TownshipOut(BaseModel):
    code: str
    name: str
    created: int
    completed: int
    cancelled: int
    left: int


class BatchOut(BaseModel):
    """A district's verification of one period. ``status``: ``creating`` (tasks are being
    opened), ``open``, ``at_risk`` (a week before the due date, townships reminded),
    ``escalated`` (the due date passed with tasks left: escalated to the district's
    supervisors), ``finished`` (the batch's clocks are done; tasks left stay open and overdue).
    ``overdue``: the due date has passed and tasks are left."""

    id: str
    district_code: str
    district_name: str
    policy_pack_id: str
    period: str
    starts_on: date
    due_on: date
    due_at: datetime
    status: Literal["creating", "open", "at_risk", "escalated", "finished"]
    created: int
    completed: int
    cancelled: int
    left: int
    overdue: bool


class BatchDetailOut(BatchOut):
    townships: list[TownshipOut]


class BatchList(BaseModel):
    items: list[BatchOut]
