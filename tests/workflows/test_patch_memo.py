"""A run's patches answered from the memo it was started with (``workflows.steps``, #22).

A run started on this code (``steps.started_here``) is answered yes for every patch of its set
with no marker, so no upsert of TemporalChangeVersion either; a patch added after its set is
still asked on its own. A run started without the memo (before the change, or by a client of
its own) records the set's one marker, as before. And a run started with the memo but run by
a worker that does not read it (a mixed deployment's older one: it records the marker)
replays on this code unchanged: the replay asks the marker it finds."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from infra.temporal_client import DATA_CONVERTER
from workflows import steps

LATER_PATCH = "a-patch-in-no-set"


@workflow.defn(sandboxed=False)
class AsksPatches:
    """Asks a patch of the set, then, in a workflow task of its own, another of the set and
    one in none."""

    @workflow.run
    async def run(self) -> list[bool]:
        first = steps.patched(steps.LOCAL_WRITES)
        await workflow.sleep(timedelta(seconds=1))
        return [first, steps.patched(steps.DECISION_STARTS_ITS_CLOCK), steps.patched(LATER_PATCH)]


def markers(history: WorkflowHistory) -> list[str]:
    found = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = next(iter(e.marker_recorded_event_attributes.details.values()))
            found.append(json.loads(details.payloads[0].data)["id"])
    return found


def upserts(history: WorkflowHistory) -> int:
    kind = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    return sum(1 for e in history.events if e.event_type == kind)


async def run_once(env: WorkflowEnvironment, memo: dict[str, str] | None) -> WorkflowHistory:
    queue = f"patch-memo-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[AsksPatches],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await env.client.start_workflow(
            AsksPatches.run, id=f"asks-{queue}", task_queue=queue, memo=memo
        )
        assert await handle.result() == [True, True, True]
        return await handle.fetch_history()


async def replays(history: WorkflowHistory) -> None:
    replayer = Replayer(
        workflows=[AsksPatches],
        workflow_runner=UnsandboxedWorkflowRunner(),
        data_converter=DATA_CONVERTER,
    )
    await replayer.replay_workflow(history)  # raises on non-determinism


async def test_a_run_started_here_records_no_marker_of_its_set(
    time_env: WorkflowEnvironment,
) -> None:
    history = await run_once(time_env, steps.started_here(None).memo)
    assert markers(history) == [LATER_PATCH]
    assert upserts(history) == 1  # the later patch's, from the SDK's core
    await replays(history)


async def test_a_run_started_without_the_memo_records_its_sets_marker(
    time_env: WorkflowEnvironment,
) -> None:
    history = await run_once(time_env, None)
    assert markers(history) == [steps.STARTED_WITH_THESE_PATCHES, LATER_PATCH]
    await replays(history)


async def test_an_older_workers_run_replays_here(
    time_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as older:
        older.setattr(steps, "_started_with", lambda: None)  # does not read the memo
        history = await run_once(time_env, steps.started_here(None).memo)
    assert markers(history) == [steps.STARTED_WITH_THESE_PATCHES, LATER_PATCH]
    await replays(history)
