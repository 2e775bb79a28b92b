"""The application's way to the workflows: the Temporal client, connected on first use and
again after a failure, so that the API and the pages start while Temporal is still coming up."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from infra.temporal_client import connect
from infra.tracing import traced
from store.settings import Settings


class TemporalHolder:
    """Hands out the Temporal client, connecting on first use and retrying after failures."""

    def __init__(self, settings: Settings, client: Client | None) -> None:
        self.settings = settings
        self.client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client | None:
        if self.client is not None:
            return self.client
        async with self._lock:
            if self.client is None:
                try:
                    client = await asyncio.wait_for(connect(self.settings), timeout=5)
                    self.client = traced(client, self.settings)
                except Exception:
                    return None
        return self.client
