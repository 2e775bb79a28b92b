"""case_materials.taken_at: when a photo was taken, read from its EXIF before it is dropped

A home visit's photos (入户核实 / 走访) say when they were taken, not only when they reached the
server over a weak network; the time comes from the photo's EXIF DateTimeOriginal, read by
store/file_checks.py before the metadata is stripped. Null for a PDF, a scan, or a photo that
does not say. Numbered 0008: 0007 is reserved for the public upload's migration being written
beside this one; whichever merges second sets its ``down_revision`` to the other.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no default) on both databases: no table rebuild, so the
    # no-delete triggers of 0006 stay as they are.
    op.add_column(
        "case_materials",
        sa.Column("taken_at", store.base.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    # SQLite 3.35+ and PostgreSQL drop a column in place (no rebuild, triggers kept).
    op.drop_column("case_materials", "taken_at")
