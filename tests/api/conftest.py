from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from store.settings import Settings
from tests.system import System, running_system


@pytest.fixture(scope="session")
async def system(
    migrated_settings: Settings, time_env: WorkflowEnvironment
) -> AsyncIterator[System]:
    settings = migrated_settings.model_copy(
        update={"temporal_task_queue": f"yuanzhu-{migrated_settings.effective_database_url[:6]}"}
    )
    async with running_system(settings, time_env) as system:
        yield system
