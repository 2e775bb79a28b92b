"""Tables of the task inbox that the API writes (not projections): comments on tasks and
saved filters.

A comment is plain text as typed (at most 2000 characters); it is never interpreted as markup
here, and the web pages escape it when they render it.

A saved filter is a name and the list endpoint's query parameters (validated against them
before they are stored), owned by one user and optionally shared with the owner's group: the
users whose role is ``shared_role`` and whose jurisdiction subtree contains ``shared_path``
(the owner's jurisdiction path when it was shared) — the same "group" as for tasks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, PathString, UTCDateTime
from store.models import BigIntPK

COMMENT_MAX_CHARS = 2000


class TaskComment(Base):
    __tablename__ = "task_comments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # A task's comments in the order they were written.
    __table_args__ = (Index("ix_task_comments_task", "task_id", "id"),)


class SavedFilter(Base):
    __tablename__ = "saved_filters"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    shared_role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    shared_path: Mapped[str | None] = mapped_column(PathString(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # One name per owner (also the owner's listing, by name).
        UniqueConstraint("owner_id", "name"),
        # Filters shared with a group: role = ? and the path inside the caller's subtree.
        Index("ix_saved_filters_group", "shared_role", "shared_path"),
    )
