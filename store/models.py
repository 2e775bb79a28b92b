"""The application's tables: places (jurisdictions), people (users), cases, the task inbox,
the case timeline, notifications, the audit log and completion idempotency records.

The task table and the case columns are projections written by activities (idempotent
upserts keyed by deterministic ids); the workflows are the source of truth. Jurisdiction
scoping uses a materialised path (``/370700/370702/370702001/``) so that "everything in my
subtree" is a range scan on an ordinary B-tree index on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; BigInteger elsewhere.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Jurisdiction(Base):
    """A node of the administrative division tree (行政区划): province > city > county/district >
    street/township > community/village. ``policy_pack_id`` is set where a region's pack
    applies; descendants inherit it."""

    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.code"), nullable=True)
    path: Mapped[str] = mapped_column(String(200), unique=True)
    policy_pack_id: Mapped[str | None] = mapped_column(String(50), nullable=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    jurisdiction_path: Mapped[str] = mapped_column(String(200), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Case(Base):
    """One application and its life (案件). ``open_key`` is ``<pack id>:<ID number>`` while the
    case is open and NULL once closed: a unique index on it refuses a second open case for the
    same person in the same region on both databases (NULLs never collide)."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(100), unique=True)
    policy_pack_id: Mapped[str] = mapped_column(String(50))
    policy_pack_ref: Mapped[str] = mapped_column(String(120))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    jurisdiction_path: Mapped[str] = mapped_column(String(200))
    applicant_name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    id_last4: Mapped[str] = mapped_column(String(4))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    stage: Mapped[str | None] = mapped_column(String(30), nullable=True)
    category_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    outcome_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True, nullable=True)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    identification_deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_cases_scope", "jurisdiction_path", "submitted_at"),
        Index("ix_cases_name", "applicant_name"),
    )


class Task(Base):
    """A human task in the inbox (待办). Written only by activities; ``id`` is deterministic
    (``<workflow id>.<kind>.<sequence>``) so a retried activity never makes a second row.
    ``version`` is bumped on every change: claims are compare-and-set on it."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    workflow_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))  # open | completed | cancelled
    candidate_role: Mapped[str] = mapped_column(String(30))
    jurisdiction_code: Mapped[str] = mapped_column(String(12))
    jurisdiction_path: Mapped[str] = mapped_column(String(200))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    policy_pack_id: Mapped[str] = mapped_column(String(50))
    category_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    id_last4: Mapped[str] = mapped_column(String(4))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    at_risk_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sla_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_state: Mapped[str] = mapped_column(String(20), default="on_track")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        # The inbox: a scope (path range), open tasks, soonest due first, id as tie-breaker
        # for keyset pagination.
        Index("ix_tasks_inbox", "state", "jurisdiction_path", "due_at", "id"),
        Index("ix_tasks_assignee", "assignee_id", "state", "due_at", "id"),
    )


class CaseEvent(Base):
    """The case timeline (who did what when, before and after). ``event_key`` makes the
    activity that writes an event idempotent across retries."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class TaskCompletion(Base):
    """The first response to a completion request, keyed by its ``Idempotency-Key``: a repeat
    of the same key gets the same answer (the key is also the Temporal update id)."""

    __tablename__ = "task_completions"

    idempotency_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(160), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who saw or changed what (every full view of an ID number is written here)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(160))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class PolicyPackVersion(Base):
    """Every pack version a case was opened under, kept whole: a case pins ``ref`` and a later
    policy change never rewrites it; administrators diff versions from here."""

    __tablename__ = "policy_pack_versions"

    ref: Mapped[str] = mapped_column(String(120), primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(50), index=True)
    version: Mapped[str] = mapped_column(String(30))
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime())
