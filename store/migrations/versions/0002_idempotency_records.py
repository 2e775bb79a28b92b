"""one idempotency store: idempotency_records replaces task_completions and assistance_requests

The task inbox's completion records and the assistance's key claims become rows of one table,
keyed by (scope, key): scope ``task-completion`` for completions (their keys were unique across
tasks), ``assistance:<case id>`` for an assistance's records. A completion's task and user
become its fingerprint (what makes a repeat the same request), computed here as
``application.gateway.fingerprint("complete_task", {"task_id", "user_id"})`` does — a frozen
copy, as a migration must not change with the code.

Downgrade restores the assistance claims; completion records go (their task and user live on
only in the fingerprint), so a repeat of such a key after a downgrade is a new request.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TASK_SCOPE = "task-completion"
ASSISTANCE_SCOPE = "assistance:"

_records = sa.table(
    "idempotency_records",
    sa.column("scope", sa.String),
    sa.column("key", sa.String),
    sa.column("fingerprint", sa.String),
    sa.column("status_code", sa.Integer),
    sa.column("body", sa.JSON),
    sa.column("created_at", store.base.UTCDateTime(timezone=True)),
)
_completions = sa.table(
    "task_completions",
    sa.column("idempotency_key", sa.String),
    sa.column("task_id", sa.String),
    sa.column("user_id", sa.Integer),
    sa.column("status_code", sa.Integer),
    sa.column("body", sa.JSON),
    sa.column("created_at", store.base.UTCDateTime(timezone=True)),
)
_claims = sa.table(
    "assistance_requests",
    sa.column("case_id", sa.String),
    sa.column("key", sa.String),
    sa.column("fingerprint", sa.String),
    sa.column("created_at", store.base.UTCDateTime(timezone=True)),
)


def _completion_print(task_id: str, user_id: int) -> str:
    text = json.dumps(
        ["complete_task", {"task_id": task_id, "user_id": user_id}], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("created_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_records")),
    )
    bind = op.get_bind()
    rows = [
        {
            "scope": TASK_SCOPE,
            "key": r.idempotency_key,
            "fingerprint": _completion_print(r.task_id, r.user_id),
            "status_code": r.status_code,
            "body": r.body,
            "created_at": r.created_at,
        }
        for r in bind.execute(sa.select(_completions))
    ]
    rows += [
        {
            "scope": ASSISTANCE_SCOPE + r.case_id,
            "key": r.key,
            "fingerprint": r.fingerprint,
            "status_code": None,  # the workflow answers a repeat (the key is the update id)
            "body": None,
            "created_at": r.created_at,
        }
        for r in bind.execute(sa.select(_claims))
    ]
    if rows:
        op.bulk_insert(_records, rows)

    with op.batch_alter_table("task_completions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_completions_task_id"))
    op.drop_table("task_completions")
    op.drop_table("assistance_requests")


def downgrade() -> None:
    op.create_table(
        "assistance_requests",
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_assistance_requests_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "key", name=op.f("pk_assistance_requests")),
    )
    op.create_table(
        "task_completions",
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("task_id", sa.String(length=160), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_task_completions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_task_completions")),
    )
    with op.batch_alter_table("task_completions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_completions_task_id"), ["task_id"], unique=False)

    bind = op.get_bind()
    claims = [
        {
            "case_id": r.scope.removeprefix(ASSISTANCE_SCOPE),
            "key": r.key,
            "fingerprint": r.fingerprint,
            "created_at": r.created_at,
        }
        for r in bind.execute(
            sa.select(_records).where(_records.c.scope.startswith(ASSISTANCE_SCOPE))
        )
    ]
    if claims:
        op.bulk_insert(_claims, claims)
    op.drop_table("idempotency_records")
