"""A run started on this code has its visibility record written at its start and at its close,
not again in between (#22). Its first completed workflow task used to write it a second time:
the SDK's core upserted TemporalChangeVersion for the run's patch marker, and the server added
the worker's build id to BuildIds. Now the run's patches are answered from its memo, with no
marker (``workflows.steps.started_here``), and the run starts with the BuildIds the server
would add (``workflows.steps.build_ids`` of ``infra.temporal_client.WORKER_BUILD_ID``, the
build id ``worker.factory`` gives the worker): perf counted that second write at a fifth of
the dev server's CPU in a burst of applications.

Counted with the dev server's own metrics (``visibility_persistence_requests``), as
``yuanzhu up`` starts it, for runs started through ``application.gateway.start`` and the
children they start through ``workflows.steps.start_child``; and, so that the check can fail,
for runs started plainly on the same server."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from application import gateway
from infra.temporal_client import WORKER_BUILD_ID
from store.settings import Settings
from tests.ops.test_dev_server_reads import _counted, connected
from tests.stack import free_port, wait_until
from worker.factory import build_worker
from worker.supervisor import dev_server_argv
from workflows import steps

RUNS = 10
QUEUE = "visibility"


@workflow.defn(name="AsksAPatch", sandboxed=False)
class AsksAPatch:
    """Asks a patch, as each of the system's workflows does at its start; ``children`` more
    of itself started as a workflow starts its children."""

    @workflow.run
    async def run(self, children: int) -> bool:
        asked = steps.patched(steps.LOCAL_WRITES)
        info = workflow.info()
        for n in range(children):
            child = await steps.start_child(AsksAPatch.run, 0, id=f"{info.workflow_id}-{n}")
            asked = asked and await child
        return asked


def _records(metrics_port: int, operation: str) -> float:
    return _counted(metrics_port, "visibility_persistence_requests", operation)


async def _second_writes(client: Client, metrics: int, start: str) -> float:
    """The visibility records written again per run, between its start and its close, for
    ``RUNS`` runs (each with a child) started ``start`` (through the gateway, or plainly)."""
    closed = _records(metrics, "RecordWorkflowExecutionClosed")
    before = _records(metrics, "UpsertWorkflowExecution")
    handles = []
    for n in range(RUNS):
        wid = f"{start}-{n}"
        if start == "gateway":
            handle = await gateway.start(client, AsksAPatch.run, 1, id=wid, task_queue=QUEUE)
            assert handle is not None
        else:
            handle = await client.start_workflow(AsksAPatch.run, 1, id=wid, task_queue=QUEUE)
        handles.append(handle)
    assert await asyncio.gather(*(h.result() for h in handles)) == [True] * RUNS
    # Visibility records are written after the run moves on, and the server publishes its
    # counts now and then: the writes in between are counted once the closing ones are, which
    # come after them.
    wait_until(
        lambda: _records(metrics, "RecordWorkflowExecutionClosed") >= closed + 2 * RUNS,
        30,
        "every run's closing record",
    )
    return (_records(metrics, "UpsertWorkflowExecution") - before) / (2 * RUNS)


async def test_a_run_started_here_writes_its_visibility_record_only_at_start_and_close(
    tmp_path: Path,
) -> None:
    port, metrics = free_port(), free_port()
    proc = subprocess.Popen(
        [*dev_server_argv(tmp_path / "temporal.db", port), "--metrics-port", str(metrics)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = await connected(port)  # with the system's data converter
        async with Worker(
            client,
            task_queue=QUEUE,
            workflows=[AsksAPatch],
            workflow_runner=UnsandboxedWorkflowRunner(),
            build_id=WORKER_BUILD_ID,  # as worker.factory gives it (checked below)
        ):
            assert await _second_writes(client, metrics, "gateway") == 0
            # Started plainly, each parent is written again at its first workflow task (its
            # child, started through steps.start_child, is not).
            assert await _second_writes(client, metrics, "plain") >= 0.5
    finally:
        proc.terminate()
        proc.wait(15)


async def test_the_system_s_worker_has_the_build_id_the_api_starts_runs_with(
    time_env: WorkflowEnvironment,
) -> None:
    worker = build_worker(time_env.client, Settings())
    assert worker.config()["build_id"] == WORKER_BUILD_ID
    assert WORKER_BUILD_ID.startswith("yuanzhu-")
