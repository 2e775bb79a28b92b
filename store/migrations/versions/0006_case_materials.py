"""case_materials: the applicant's papers as files, each tied to a case's evidence item

One row per file a case holds for an evidence code of its pinned pack, with its content hash
(the name of the bytes in the file store, store/files.py), who handed it in and how, and the
officer's judgement (合格 / 不合格 and why). Rows are never deleted while the case is kept: a
trigger refuses DELETE on both databases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_materials",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("evidence_code", sa.String(length=50), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("preview_hash", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("uploaded_by", _ID, nullable=True),
        sa.Column("uploaded_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("judgement", sa.String(length=20), nullable=True),
        sa.Column("judgement_reason", sa.Text(), nullable=True),
        sa.Column("judged_by", _ID, nullable=True),
        sa.Column("judged_at", store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_materials_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_case_materials_uploaded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["judged_by"], ["users.id"], name=op.f("fk_case_materials_judged_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_materials")),
        sa.UniqueConstraint(
            "case_id",
            "evidence_code",
            "content_hash",
            name=op.f("uq_case_materials_case_id_evidence_code_content_hash"),
        ),
    )
    with op.batch_alter_table("case_materials") as batch:
        batch.create_index("ix_case_materials_case", ["case_id", "uploaded_at", "id"])
        batch.create_index("ix_case_materials_content_hash", ["content_hash"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION case_materials_kept() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'case_materials are kept with their case: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER case_materials_no_delete BEFORE DELETE ON case_materials "
            "FOR EACH ROW EXECUTE FUNCTION case_materials_kept()"
        )
        op.execute(
            "CREATE TRIGGER case_materials_no_truncate BEFORE TRUNCATE ON case_materials "
            "FOR EACH STATEMENT EXECUTE FUNCTION case_materials_kept()"
        )
    else:
        op.execute(
            "CREATE TRIGGER case_materials_no_delete BEFORE DELETE ON case_materials "
            "BEGIN SELECT RAISE(ABORT, 'case_materials are kept with their case: DELETE "
            "refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_materials_no_truncate ON case_materials")
        op.execute("DROP TRIGGER IF EXISTS case_materials_no_delete ON case_materials")
        op.execute("DROP FUNCTION IF EXISTS case_materials_kept()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_materials_no_delete")
    with op.batch_alter_table("case_materials") as batch:
        batch.drop_index("ix_case_materials_content_hash")
        batch.drop_index("ix_case_materials_case")
    op.drop_table("case_materials")
