"""Department lists (部门信息共享): the imports an administrator made and the records they hold.

A department's list is a full snapshot of its scope, so importing a list of one kind replaces
every record of that kind (see :func:`store.department_repo.replace_list`, one transaction).
The import rows are kept as history (who imported which file when, how many records it had and
how many it replaced); only the records of the latest import of each kind exist.

Lookups: by person (``id_number``, then ``list_kind``) for the identification check, and by
``(list_kind, jurisdiction_code)`` for discovering households in a place. ``list_kind`` holds a
:class:`domain.department_data.DepartmentList` value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; BigInteger elsewhere.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class DepartmentImport(Base):
    """One import of a department list (an administrator's file)."""

    __tablename__ = "department_imports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    list_kind: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(255))
    # Records in this import.
    rows: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    imported_by: Mapped[str] = mapped_column(String(100))
    # True when records of this kind existed and were replaced (false for a first import).
    replaces_previous: Mapped[bool] = mapped_column(Boolean)
    # How many records of this kind the import deleted.
    replaced_rows: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The latest import of each kind.
        Index("ix_department_imports_kind", "list_kind", "imported_at"),
    )


class DepartmentRecordRow(Base):
    """One person on one department list (a line of the latest import of that kind)."""

    __tablename__ = "department_records"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("department_imports.id"))
    list_kind: Mapped[str] = mapped_column(String(40))
    # Normalised 18-character resident ID number.
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Where the department placed the person (administrative division code), if it said.
    jurisdiction_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    # The other columns of the line: header -> text.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # A person's records on every list (the identification check).
        Index("ix_department_records_person", "id_number", "list_kind"),
        # Everyone of a kind in a place (household discovery); the leading list_kind also
        # serves the DELETE of a kind when a list is replaced.
        Index("ix_department_records_place", "list_kind", "jurisdiction_code"),
    )
