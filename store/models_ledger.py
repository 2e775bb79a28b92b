"""Ledger imports (台账导入): an office's migrated ledger (qingxin's 服务跟踪情况 template), one row
per import and one per person it made a case of, with the history the ledger carried (services
delivered, contacts, the plan) that the person's assistance starts from.

The import row is written with its lines in one transaction (nothing half-imported); the
``LedgerImportWorkflow`` then starts each person's assistance in bounded batches and counts
them in ``started``. A person is identified by ID number and pack (the case's ``open_key``), so
a re-import of the same ledger makes no second case."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import store.models_enrolment  # noqa: F401  (emergencies: the table of a foreign key here)
from store.base import Base, PathString, UTCDateTime
from store.models import BigIntPK


class LedgerImport(Base):
    """One import of a ledger file."""

    __tablename__ = "ledger_imports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12))
    jurisdiction_path: Mapped[str] = mapped_column(PathString(), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    imported_by: Mapped[str] = mapped_column(String(100))
    imported_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created: Mapped[int] = mapped_column(Integer)  # persons made cases
    already_present: Mapped[int] = mapped_column(Integer)  # skipped: already in assistance
    skipped_exited: Mapped[int] = mapped_column(Integer)  # skipped: 已退出 lines
    started: Mapped[int] = mapped_column(Integer, default=0)  # assistances started so far
    status: Mapped[str] = mapped_column(String(20))  # pending | running | done
    # ledger: an office's migrated ledger; enrolment: persons an officer enrolled in one of
    # Shandong's other target groups (store/models_enrolment.py), under ``emergency_id`` for
    # temporary assistance.
    kind: Mapped[str] = mapped_column(String(20), default="ledger", server_default="ledger")
    emergency_id: Mapped[int | None] = mapped_column(
        ForeignKey("emergencies.id"), nullable=True, index=True
    )
    workflow_id: Mapped[str] = mapped_column(String(100))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LedgerImportLine(Base):
    """A person an import made a case of, with the ledger's history for their assistance."""

    __tablename__ = "ledger_import_lines"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("ledger_imports.id"))
    line: Mapped[int] = mapped_column(Integer)
    identified_on: Mapped[date] = mapped_column(Date)
    intentions: Mapped[str] = mapped_column(Text, default="")
    planned: Mapped[list[str]] = mapped_column(JSON)
    services: Mapped[dict[str, Any]] = mapped_column(JSON)
    contacts: Mapped[int] = mapped_column(Integer)
    last_own_contact_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # 山东 二 (domain/target_groups.py): difficulty_person for a ledger's lines.
    target_group: Mapped[str] = mapped_column(
        String(30), default="difficulty_person", server_default="difficulty_person"
    )
    started: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_ledger_import_lines_page", "import_id", "case_id"),)
