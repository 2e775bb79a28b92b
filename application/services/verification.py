"""Quarterly verification (定期审验) for the API: the batches of the districts inside the
caller's subtree and each one's progress by township (created, completed, cancelled because
the person exited, left), read from the task rows, so completions show as they happen.

Scoping as everywhere: a batch is visible when its district lies inside the caller's
jurisdiction (the district's own reviewers and supervisors, and everyone above); otherwise
404 ``not-found``, the same answer as for a batch that does not exist. Township officers work
the tasks in their inbox; the batch is the district's view of the whole."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import not_found
from store import repos, verification_repo as repo
from store.models_verification import VerificationBatch


@dataclass(frozen=True)
class BatchProgress:
    batch: VerificationBatch
    townships: list[repo.TownshipProgress]
    overdue: bool

    @property
    def created(self) -> int:
        return sum(t.created for t in self.townships)

    @property
    def completed(self) -> int:
        return sum(t.completed for t in self.townships)

    @property
    def cancelled(self) -> int:
        return sum(t.cancelled for t in self.townships)

    @property
    def left(self) -> int:
        return sum(t.left for t in self.townships)


async def _progress(session: AsyncSession, batch: VerificationBatch) -> BatchProgress:
    """``overdue`` follows the batch's own clock (its workflow escalated what was left at the
    due date), so the API and the escalations never disagree about it."""
    townships = await repo.progress(session, batch)
    left = sum(t.left for t in townships)
    escalated = batch.status in ("escalated", "finished")
    return BatchProgress(batch, townships, overdue=left > 0 and escalated)


async def list_batches(
    session: AsyncSession,
    actor: Actor,
    *,
    district: str | None,
    period: str | None,
    limit: int,
) -> list[BatchProgress]:
    district_path = None
    if district is not None:
        place = await repos.get_jurisdiction(session, district)
        if place is None or not place.path.startswith(actor.jurisdiction_path):
            raise not_found("jurisdiction", district)
        district_path = place.path
    batches = await repo.batches_in_scope(
        session, actor.jurisdiction_path, district_path=district_path, period=period, limit=limit
    )
    return [await _progress(session, b) for b in batches]


async def get_batch(session: AsyncSession, actor: Actor, batch_id: str) -> BatchProgress:
    batch = await session.get(VerificationBatch, batch_id)
    if batch is None or not batch.district_path.startswith(actor.jurisdiction_path):
        raise not_found("verification batch", batch_id)
    return await _progress(session, batch)
