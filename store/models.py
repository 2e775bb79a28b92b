"""The application's tables: places (jurisdictions), people (users), cases, the task inbox,
the case timeline, notifications, the audit log and idempotency records.

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
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, PathString, UTCDateTime

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
    path: Mapped[str] = mapped_column(PathString(), unique=True)
    policy_pack_id: Mapped[str | None] = mapped_column(String(50), nullable=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    # Where the outbound adapter (SMTP) sends this user's notifications, when switched on.
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    jurisdiction_path: Mapped[str] = mapped_column(PathString(), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Every token names the epoch it was issued in; raising it ends all of the user's sessions
    # at once (logout, a password changed or reset, a new role or place, deactivation) —
    # application/security.py.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
    jurisdiction_path: Mapped[str] = mapped_column(PathString())
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
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # The eligibility pre-check shown to officers (never deciding alone).
    pre_check: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    identified_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    identifying_agency: Mapped[str | None] = mapped_column(String(120), nullable=True)
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
    jurisdiction_path: Mapped[str] = mapped_column(PathString())
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
    # The SLA spec, kept so a deadline computed provisionally can be recomputed.
    sla_goal: Mapped[int] = mapped_column(Integer, default=0)
    sla_deadline: Mapped[int] = mapped_column(Integer, default=0)
    sla_unit: Mapped[str] = mapped_column(String(20), default="working_days")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Indexes of the inbox (queries in store/tasks_repo.py). Every list is "state = ?, the
    # caller's subtree (a path range), view conditions, ORDER BY <sort key>, id LIMIT n" with a
    # keyset on the sort key, so each index is an equality prefix followed by the sort key
    # (an ordered scan that stops after n rows) and, where it pays, the path as a trailing
    # column so that rows outside the subtree are skipped inside the index. A path range
    # cannot precede the sort key without a sort of the whole subtree, hence two families:
    # path-first for small subtrees and sort-key-first for large ones (tasks_repo chooses).
    __table_args__ = (
        # Small subtrees (a street): the range on the path finds the few rows of the state
        # and they are sorted; also the capped probe that measures a subtree (SQLite) and the
        # capped badge count of "scope".
        Index("ix_tasks_inbox", "state", "jurisdiction_path", "due_at", "id"),
        # Large subtrees (a city: a million rows in scope): "scope", "at_risk" (due_at > now)
        # and "breached" (due_at <= now) walk due order from the keyset position, filtering
        # the path and at_risk_at from the index without visiting the table.
        Index("ix_tasks_due", "state", "due_at", "id", "jurisdiction_path", "at_risk_at"),
        # sort=priority over large subtrees: priority levels are few (0, 5, 8, 9), so the
        # repository walks them from the highest down, each level an ordered (due_at, id) scan
        # (ascending columns only: Alembic cannot compare expression or DESC indexes).
        Index("ix_tasks_priority", "state", "priority", "due_at", "id", "jurisdiction_path"),
        # "mine": the caller's claimed tasks, soonest due first (the path makes the capped
        # badge count index-only).
        Index("ix_tasks_assignee", "assignee_id", "state", "due_at", "id", "jurisdiction_path"),
        # "group" (unassigned open tasks of the caller's role; assignee_id IS NULL is an
        # equality on both databases) and its badge count, over large subtrees.
        Index(
            "ix_tasks_group",
            "state",
            "candidate_role",
            "assignee_id",
            "due_at",
            "id",
            "jurisdiction_path",
        ),
        # POST /tasks/next (the most urgent task of my groups: priority desc, due_at, id) and
        # the group view sorted by priority.
        Index(
            "ix_tasks_group_next",
            "state",
            "candidate_role",
            "assignee_id",
            "priority",
            "due_at",
            "id",
            "jurisdiction_path",
        ),
        # q=<4 digits>: the last characters of the ID number, in due order.
        Index("ix_tasks_last4", "state", "id_last4", "due_at", "id"),
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


class IdempotencyRecord(Base):
    """What an ``Idempotency-Key`` was first used for within its scope (the task completions,
    one person's assistance, one household) and, where kept, the first answer
    (:mod:`store.idempotency`): a repeat is answered as the first request was, another
    request under the same key is refused."""

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    # SHA-256 of what makes the request the same request (each caller says what that is).
    fingerprint: Mapped[str] = mapped_column(String(64))
    # PENDING / UNCERTAIN / the HTTP status of the stored answer; None: the workflow answers.
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who saw or changed what (every full view of an ID number is written here).

    Append-only and tamper-evident: entries form one chain in ``seq`` order, each
    ``entry_hash`` a SHA-256 over the entry's fields and the previous entry's hash
    (:mod:`store.audit` writes and verifies it; on PostgreSQL a trigger refuses UPDATE and
    DELETE)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Position in the chain, 1, 2, 3, … without gaps; unique, so two writers that raced past
    # the lock could never both extend the chain from the same entry.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(160))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


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


class PolicyPackInForce(Base):
    """A version of a pack an administrator put in force (``yuanzhu policy load``, ``POST
    /api/v1/admin/policy-packs``, the admin page): from ``effective_on`` it stands in for the
    packaged file of the same id, or adds a region no file has. One row per load; for an id,
    the row with the latest ``effective_on`` not after a day is the revision of that day
    (store.packs). Each load is in the audit log, and every version loaded or pinned stays in
    ``policy_pack_versions``. Running cases keep the version they pinned."""

    __tablename__ = "policy_packs_in_force"

    ref: Mapped[str] = mapped_column(ForeignKey("policy_pack_versions.ref"), primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(50), index=True)
    # The pack's effective_from, or the day it was put in force (Shanghai).
    effective_on: Mapped[date] = mapped_column(Date)
    # The test cases that passed when it was loaded (TOML), kept with it.
    cases: Mapped[str] = mapped_column(Text)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activated_by: Mapped[str] = mapped_column(String(100))
    replaced_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)


class SlaBreach(Base):
    """A clock that ran out: a task's goal or deadline, or the case's identification deadline.
    ``breach_key`` makes the writing activity idempotent (one row per breach and level, however
    often a worker retries); supervisors count these."""

    __tablename__ = "sla_breaches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    breach_key: Mapped[str] = mapped_column(String(220), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(160), nullable=True)
    clock: Mapped[str] = mapped_column(String(60))
    event: Mapped[str] = mapped_column(String(20))  # breached | past_deadline
    level: Mapped[int] = mapped_column(Integer)
    jurisdiction_code: Mapped[str] = mapped_column(String(12))
    jurisdiction_path: Mapped[str] = mapped_column(PathString())
    escalation_task_id: Mapped[str | None] = mapped_column(String(160), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_sla_breaches_scope", "jurisdiction_path", "at"),)


class Notification(Base):
    """An in-app notification (提醒/督办/分派). Addressed to one user, or to a group: every user
    with ``recipient_role`` whose jurisdiction contains ``recipient_path``."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    notification_key: Mapped[str] = mapped_column(String(240), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    recipient_role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    recipient_path: Mapped[str | None] = mapped_column(PathString(), nullable=True)
    kind: Mapped[str] = mapped_column(String(30))  # reminder | escalation | assignment
    case_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(160), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set once the outbound adapter sent it, so a retried activity never sends it twice.
    sent_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_notifications_group", "recipient_role", "recipient_path"),)


class NotificationRead(Base):
    """Who has read a notification. A notification addressed to a group is read by each of its
    members separately, so read state lives here and not on the notification row."""

    __tablename__ = "notification_reads"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RateLimitHit(Base):
    """One hit counted by a rate limit (``limits``' moving window, stored by
    ``store.ratelimit.DatabaseStorage``): the anonymous applications per client address and per
    ID number, the failed logins per account and per address. In the database so that several
    API processes share one count. ``key`` is the library's key for the limit and the caller
    (ID numbers only as an HMAC); a row past ``expires_at`` counts for nothing and is swept."""

    __tablename__ = "rate_limit_hits"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    # Seconds since the epoch, as the library's clock (time.time()) gives them.
    at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_rate_limit_hits_key", "key", "at"),
        Index("ix_rate_limit_hits_expires_at", "expires_at"),
    )


class Notice(Base):
    """A document served on the applicant: the one-time notice of missing materials
    (一次性告知书), the notice of non-identification (不予认定就业困难人员告知书), ..."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    notice_key: Mapped[str] = mapped_column(String(220), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AppSetting(Base):
    """Settings an administrator changes at run time (for example the outbound adapter)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))
