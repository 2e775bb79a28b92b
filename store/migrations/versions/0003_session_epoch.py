"""users.session_epoch: sessions that can be ended

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 23:20:00

Every access token and page cookie carries the epoch it was issued in; a token of an older
epoch is refused. Tokens issued before this revision have no epoch and end with it (everyone
logs in again once).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
