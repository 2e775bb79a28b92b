"""``/healthz``: whether the database and Temporal answer."""

from __future__ import annotations

from pydantic import (
    BaseModel,
)


class HealthOut(BaseModel):
    status: str
    database: str
    temporal: str
