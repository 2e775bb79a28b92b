"""Emergencies (突发事件) declared for a place and period: under one, officers enrol the persons
it affected as temporary assistance persons (山东省人社厅《关于健全就业援助体系的通知》(2021)
二(四)), and each such assistance ends when the emergency's period does.

The enrolments themselves are intake batches of ``kind="enrolment"`` in ``ledger_imports``
(store/models_ledger.py): the same all-or-nothing write of cases and lines and the same
``LedgerImportWorkflow`` starting their assistance in bounded batches as a ledger import."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, PathString, UTCDateTime
from store.models import BigIntPK


class Emergency(Base):
    """An emergency declared by a supervisor for a jurisdiction and period."""

    __tablename__ = "emergencies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # epidemic | disaster | policy
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    jurisdiction_code: Mapped[str] = mapped_column(String(12))
    jurisdiction_path: Mapped[str] = mapped_column(PathString())
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    declared_by: Mapped[str] = mapped_column(String(100))
    declared_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_emergencies_path", "jurisdiction_path"),)
