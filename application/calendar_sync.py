"""After a year's holiday table is loaded, running clocks computed provisionally for that year
(weekends only) are recomputed: every workflow with such a clock gets the ``calendar_updated``
signal and recomputes its open tasks' deadlines and its identification deadline."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from application import gateway
from store import repos


async def signal_provisional_clocks(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> int:
    """Signal every workflow holding a provisional clock; returns how many were told."""
    async with sessions() as session:
        workflow_ids = await repos.provisional_workflows(session)
    told = 0
    for workflow_id in workflow_ids:
        # one finished since has nothing left to recompute
        told += await gateway.signal(client, workflow_id, "calendar_updated")
    return told
