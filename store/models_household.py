"""Zero-employment households (零就业家庭): the household, its members and its status over time.

A household is found by discovery from department lists (``discovered``), or registered by an
officer, then identified (``identified``: the one-month clock runs from ``identified_at`` to
``deadline_at``), and ends ``cleared`` the day one member is recorded as employed
(``cleared_at``, ``clearing_member_id``), or ``not_zero_employment`` when the officer's
verification finds otherwise. ``overdue`` is set (and stays set) once the deadline passed
uncleared, so "cleared late" is ``cleared`` with ``overdue``. Every change is also a row of
``household_events`` (keyed, so a retried activity writes it once). ``case_id`` is the
household's own case row (channel ``household``), which owns its tasks and timeline; see
workflows/household.py for why.

Members are linked to their persons by ID number and to their own cases where they have one.
``source_key`` is the key discovery found the household under (``<pack>:<list>:<户号>``); it
is unique, so discovering the same household again finds the row instead of making another.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, PathString, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; BigInteger elsewhere.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

# Statuses in which a household is still open (its members cannot start another household).
OPEN_HOUSEHOLD_STATUSES = ("discovered", "identified")


class HouseholdRow(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True, unique=True)
    workflow_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    policy_pack_id: Mapped[str] = mapped_column(String(50))
    policy_pack_ref: Mapped[str] = mapped_column(String(120))
    # The pack's HouseholdDefinition code (urban_zero_employment, rural_zero_transfer ...).
    definition_code: Mapped[str] = mapped_column(String(60))
    urban: Mapped[bool] = mapped_column(Boolean)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    jurisdiction_path: Mapped[str] = mapped_column(PathString())
    # discovered | identified | cleared | not_zero_employment
    status: Mapped[str] = mapped_column(String(30))
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20))  # discovery | registration
    source_key: Mapped[str | None] = mapped_column(String(160), unique=True, nullable=True)
    # The household facts (income, business income ...) and what discovery saw.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    discovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set by the household workflow's first write: discovery starts the workflows not yet
    # started (a run that stopped between making the row and starting its workflow).
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A household_members.id, without a foreign key: members point at their household, and a
    # key back would make a cycle the initial migration cannot create in one pass.
    clearing_member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_households_scope", "jurisdiction_path", "status"),)


class HouseholdMemberRow(Base):
    __tablename__ = "household_members"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(100))
    id_last4: Mapped[str] = mapped_column(String(4))
    # The member's own case (a difficulty person identified, on this basis or another).
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    head: Mapped[bool] = mapped_column(Boolean, default=False)  # 户主 / the applicant
    # The person facts the definitions read (domain.households.Member, without the key).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    employed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    employment: Mapped[str | None] = mapped_column(String(40), nullable=True)


class HouseholdEventRow(Base):
    """The household's status over time (one row per change, keyed for idempotency)."""

    __tablename__ = "household_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
