"""Quarterly verification tables (定期审验, 清新 三(三)2): one batch per district and period,
and one item per person verified in it, which ties the person's task (a row of ``tasks``) to
the batch and to the township (镇) that verifies it, so progress by township is a grouped join
on an index rather than a parse of paths.

Written only by the verification activities, keyed by deterministic ids (the batch by district
and period, the item by its task id), so a retried activity or a second run of the same
quarter adds nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, PathString, UTCDateTime


class VerificationBatch(Base):
    """A district's verification of one period: when its tasks fall due, how far the creation
    got, and which clock events were handled. ``townships`` lists the district's townships
    (code, name, path) as they were when the batch began, the district itself last (persons
    whose case lies at the district office)."""

    __tablename__ = "verification_batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # <district>-<YYYY-MM>
    district_code: Mapped[str] = mapped_column(String(12))
    district_path: Mapped[str] = mapped_column(PathString())
    district_name: Mapped[str] = mapped_column(String(100))
    policy_pack_id: Mapped[str] = mapped_column(String(50))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM, the quarter's first month
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    at_risk_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # creating | open | at_risk | escalated | finished
    status: Mapped[str] = mapped_column(String(20))
    townships: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Persons found active in the last creation pass and tasks newly created over all passes.
    found: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    workflow_id: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_verification_batches_scope", "district_path", "period"),)


class VerificationItem(Base):
    """A person to verify in a batch: their task (``tasks.id``, which carries the state) and
    the township that verifies them."""

    __tablename__ = "verification_items"

    task_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("verification_batches.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    township_code: Mapped[str] = mapped_column(String(12))

    __table_args__ = (
        # Progress by township; and the keyset walk of a batch's items (escalation).
        Index("ix_verification_items_batch", "batch_id", "township_code"),
        Index("ix_verification_items_walk", "batch_id", "task_id"),
    )
