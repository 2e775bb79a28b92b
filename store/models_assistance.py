"""Assistance tables (就业援助台账): the projection of each person's assistance (plan,
standards, counts, clocks, as the assistance workflow computed them), the entries officers
record (contacts, services, refusals), the subsidy ledger, exits and fraud recoveries.

Written only by the assistance activities, each write keyed by the update id (the request's
Idempotency-Key) or a deterministic key, so a retried activity never makes a second row. Exits
and subsidy grants carry the person's ID number and pack so that a later application of the
same person can honour the cooldown, the reasons that forbid re-identification and the
cumulative subsidy cap (xinyu 第三条(二))."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCDateTime


class Assistance(Base):
    """One identified person's assistance: the workflow's latest snapshot (plain JSON)."""

    __tablename__ = "assistance"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # active | exited
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssistanceEntry(Base):
    """A contact (联系: channel, whether it was the person's own), a service delivered (援助服务)
    or a service refused (拒绝), as an officer recorded it."""

    __tablename__ = "assistance_entries"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))  # contact | service | refusal
    channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    own: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    service_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recorded_by_name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_assistance_entries_case", "case_id", "at"),)


class SubsidyGrantRow(Base):
    """A subsidy granted (补贴): kind, first month, number of months, monthly amount in fen."""

    __tablename__ = "subsidy_grants"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    id_number: Mapped[str] = mapped_column(String(18))
    policy_pack_id: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(40))
    start_month: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)
    monthly_fen: Mapped[int] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    granted_by_name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_subsidy_grants_person", "policy_pack_id", "id_number"),)


class AssistanceExit(Base):
    """The end of a person's status (退出/注销) with the pack's reason."""

    __tablename__ = "assistance_exits"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18))
    policy_pack_id: Mapped[str] = mapped_column(String(50))
    reason_code: Mapped[str] = mapped_column(String(60))
    reason_name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(20))
    may_reapply: Mapped[bool] = mapped_column(Boolean)
    fraud: Mapped[bool] = mapped_column(Boolean, default=False)
    exited_on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_assistance_exits_person", "policy_pack_id", "id_number"),)


class SubsidyRecovery(Base):
    """Subsidies to recover after a cancellation for fraud (追回补贴), month by month."""

    __tablename__ = "subsidy_recoveries"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    should_have_ended_on: Mapped[date] = mapped_column(Date)
    from_month: Mapped[date] = mapped_column(Date)
    cancelled_on: Mapped[date] = mapped_column(Date)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    rule: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
