"""policy_packs_in_force: packs an administrator loads into the running system

A pack loaded without a deploy (``yuanzhu policy load``, ``POST /api/v1/admin/policy-packs``)
is stored whole in ``policy_pack_versions`` and put in force here under its id from a day
(``effective_on``), in place of the packaged file of the same id or as a new region. No rows:
every place runs its packaged pack, as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 08:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_packs_in_force",
        sa.Column("ref", sa.String(length=120), nullable=False),
        sa.Column("pack_id", sa.String(length=50), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("cases", sa.Text(), nullable=False),
        sa.Column("activated_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_by", sa.String(length=100), nullable=False),
        sa.Column("replaced_ref", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["ref"],
            ["policy_pack_versions.ref"],
            name=op.f("fk_policy_packs_in_force_ref_policy_pack_versions"),
        ),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_policy_packs_in_force")),
    )
    with op.batch_alter_table("policy_packs_in_force") as batch:
        batch.create_index("ix_policy_packs_in_force_pack_id", ["pack_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("policy_packs_in_force") as batch:
        batch.drop_index("ix_policy_packs_in_force_pack_id")
    op.drop_table("policy_packs_in_force")
