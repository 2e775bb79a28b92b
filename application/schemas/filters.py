"""Saved filters (保存的筛选) of the task list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    StrictBool,
)

from application.schemas.common import ShortLine
from application.schemas.tasks import TaskQueryIn


class SavedFilterIn(BaseModel):
    name: ShortLine
    query: TaskQueryIn = Field(default_factory=TaskQueryIn)
    shared_with_group: StrictBool = False


class SavedFilterOut(BaseModel):
    id: int
    name: str
    query: dict[str, Any]
    owner_id: int
    owner_name: str
    shared_with_group: bool
    shared_role: str | None
    shared_path: str | None
    created_at: datetime
