"""The quarterly verification Schedule (定期审验) against the dev server (the time-skipping server
runs no Schedules): one per pack region whose pack has quarterly verification, created at
worker start and updated in place on the next (an operator's pause kept), firing at 00:05
Shanghai time on the 1st of the pack's months and starting the region's workflow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from domain.calendar import SHANGHAI
from infra.temporal_client import DATA_CONVERTER
from store.db import session_scope
from store.migrate import upgrade
from store.settings import Settings
from tests.conftest import make_settings
from worker.binaries import find_binary
from worker.demo import seed_demo
from worker.schedules import ensure_schedules, schedule_id


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=DATA_CONVERTER,
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def seeded(tmp_path: Path, queue: str) -> Settings:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'yuanzhu.db'}", tmp_path, temporal_task_queue=queue
    )
    await asyncio.to_thread(upgrade, settings)
    async with session_scope(settings) as session:
        await seed_demo(session)
    return settings


async def test_one_schedule_per_verification_region(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client: Client = dev_env.client
    settings = await seeded(tmp_path, "verification-q1")
    # Only qingxin's pack (region 441803) has quarterly verification among the demo regions.
    assert await ensure_schedules(client, settings) == [schedule_id("441803")]
    handle = client.get_schedule_handle(schedule_id("441803"))
    desc = await handle.describe()
    spec = desc.schedule.spec
    assert spec.time_zone_name == "Asia/Shanghai"
    [cal] = spec.calendars
    assert [r.start for r in cal.month] == [1, 4, 7, 10]
    assert [r.start for r in cal.day_of_month] == [1]
    assert ([r.start for r in cal.hour], [r.start for r in cal.minute]) == ([0], [5])
    action = desc.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "QuarterlyVerificationWorkflow"
    assert action.task_queue == "verification-q1"
    # The next starts: the first days of the verification months, 00:05 in Shanghai.
    upcoming = [t.astimezone(SHANGHAI) for t in desc.info.next_action_times[:4]]
    assert len(upcoming) == 4
    assert {(t.day, t.hour, t.minute) for t in upcoming} == {(1, 0, 5)}
    assert {t.month for t in upcoming} == {1, 4, 7, 10}

    # Paused by an operator, then the worker restarts with another task queue: one schedule,
    # updated in place, still paused.
    await handle.pause(note="审验暂停")
    settings2 = settings.model_copy(update={"temporal_task_queue": "verification-q2"})
    assert await ensure_schedules(client, settings2) == [schedule_id("441803")]
    desc = await handle.describe()
    assert desc.schedule.state.paused is True
    action = desc.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.task_queue == "verification-q2"
    ids = [s.id async for s in await client.list_schedules()]
    assert ids.count(schedule_id("441803")) == 1

    # Triggered now: the region's workflow starts (no worker here, so it stays running).
    await handle.unpause()
    await handle.trigger()
    deadline = time.monotonic() + 20
    while not (await handle.describe()).info.recent_actions:
        assert time.monotonic() < deadline, "the schedule did not start its workflow"
        await asyncio.sleep(0.1)
    started = (await handle.describe()).info.recent_actions[0].action
    assert started.workflow_id.startswith("quarterly-verification-441803")
    run = client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id)
    assert (await run.describe()).workflow_type == "QuarterlyVerificationWorkflow"
    await run.terminate("test over")
    await handle.delete()
