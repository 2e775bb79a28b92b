"""Request and response schemas of notifications (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from application.services.notifications import MAX_ID

Kind = Literal["reminder", "escalation", "assignment"]


class NotificationLinks(BaseModel):
    """Where the inbox goes from a notification (present when it concerns a task / case)."""

    task: str | None = Field(default=None, description="GET the task (API)")
    case: str | None = Field(default=None, description="GET the case (API)")
    task_page: str | None = Field(default=None, description="The task's web page")
    case_page: str | None = Field(default=None, description="The case's web page")


class NotificationOut(BaseModel):
    id: int
    kind: str = Field(description="reminder | escalation | assignment")
    kind_zh: str = Field(description="提醒 | 督办 | 分派")
    message: str
    case_id: str | None
    task_id: str | None
    created_at: datetime = Field(description="When the event behind it happened")
    recipient: Literal["user", "group"] = Field(
        description="Addressed to you personally, or to a group you are in"
    )
    read: bool
    read_at: datetime | None = Field(description="When you marked it read (None while unread)")
    links: NotificationLinks


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="Pass back as ``cursor`` for the next page")


class NotificationCountsOut(BaseModel):
    """Unread notifications for the badge; a count equal to ``cap`` means "cap or more"."""

    total: int
    reminder: int
    escalation: int
    assignment: int
    cap: int


class ReadAllIn(BaseModel):
    up_to_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Only notifications with an id up to this one (the newest you have seen), "
        "so one arriving meanwhile is not marked read unseen",
    )
    kind: Kind | None = Field(default=None, description="Only notifications of this kind")


class ReadAllOut(BaseModel):
    changed: int = Field(description="How many notifications were unread and are now read")
