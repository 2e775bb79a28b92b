"""The audit log's one writer: who did or saw what, when. Every full view of a person's data
and every administrative act goes through :func:`record_audit`, so the log has one shape (and
one place to chain entries when the log becomes tamper-evident). The request boundary commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditEntry


def record_audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None,
    now: datetime,
) -> None:
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )
    )
