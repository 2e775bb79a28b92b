"""rate_limit_hits replaces login_attempts: one store for every rate limit

The rate limits (anonymous applications, the login throttle) count hits with the ``limits``
library's moving window over this table (``store.ratelimit.DatabaseStorage``). The login
throttle's own table goes: its rows are throttling state only, so none is carried over (an
account partway to a lockout starts again from zero once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    with op.batch_alter_table("rate_limit_hits") as batch:
        batch.create_index("ix_rate_limit_hits_key", ["key", "at"], unique=False)
        batch.create_index("ix_rate_limit_hits_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("login_attempts") as batch:
        batch.drop_index("ix_login_attempts_user")
        batch.drop_index("ix_login_attempts_ip")
    op.drop_table("login_attempts")


def downgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts") as batch:
        batch.create_index("ix_login_attempts_ip", ["client_ip", "at"], unique=False)
        batch.create_index("ix_login_attempts_user", ["username", "at"], unique=False)
    with op.batch_alter_table("rate_limit_hits") as batch:
        batch.drop_index("ix_rate_limit_hits_expires_at")
        batch.drop_index("ix_rate_limit_hits_key")
    op.drop_table("rate_limit_hits")
