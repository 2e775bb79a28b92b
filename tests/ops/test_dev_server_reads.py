"""The embedded dev server caches its search attributes' definitions (#22): started as
``yuanzhu up`` starts it (``dev_server_argv``), it does not read the cluster's metadata again
for every workflow that records a patch (the SDK upserts the ``TemporalChangeVersion`` search
attribute with each; every run of this system records one), as it does without the key.
Counted with the server's own metrics (``persistence_requests``), against the same server
started without the key, so that the check can fail."""

from __future__ import annotations

import asyncio
import re
import subprocess
import urllib.request
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from store.settings import Settings
from tests.stack import free_port, wait_until
from worker.run import connect_with_retry
from worker.supervisor import SEARCH_ATTRIBUTES_CACHE_KEY, dev_server_argv

STARTS = 20


def _counted(metrics_port: int, metric: str, operation: str) -> float:
    """The server's count of ``metric`` for ``operation``, summed over its services."""
    pattern = re.compile(
        rf'^{metric}\{{[^}}]*operation="{operation}"[^}}]*\}} (\S+)$'.encode(), re.MULTILINE
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
        return sum(float(m.group(1)) for m in pattern.finditer(r.read()))


def _metadata_reads(metrics_port: int) -> float:
    return _counted(metrics_port, "persistence_requests", "GetCurrentClusterMetadata")


def _closed_records(metrics_port: int) -> float:
    return _counted(
        metrics_port, "visibility_persistence_requests", "RecordWorkflowExecutionClosed"
    )


@workflow.defn(name="Patched")
class Patched:
    @workflow.run
    async def run(self) -> bool:
        return workflow.patched("a-patch")


async def connected(port: int) -> Client:
    """A client of the dev server on ``port`` once it answers, as ``yuanzhu up`` waits for it
    (it listens before its frontend is healthy: "Frontend is not healthy yet", seen in CI)."""
    settings = Settings(temporal_address=f"127.0.0.1:{port}", temporal_namespace="default")
    return await connect_with_retry(settings, attempts=60)


async def _reads_per_start(tmp_path: Path, *, cached: bool) -> float:
    """Cluster-metadata reads per workflow run to its end (a patch recorded)."""
    port, metrics = free_port(), free_port()
    argv = dev_server_argv(tmp_path / f"temporal-{cached}.db", port)
    if not cached:
        at = argv.index(f"{SEARCH_ATTRIBUTES_CACHE_KEY}=false")
        del argv[at - 1 : at + 1]
    proc = subprocess.Popen(
        [*argv, "--metrics-port", str(metrics)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = await connected(port)

        async with Worker(
            client,
            task_queue="patched",
            workflows=[Patched],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            # The first run fills the caches: counted from after it.
            await client.execute_workflow(Patched.run, id="first", task_queue="patched")
            wait_until(lambda: _closed_records(metrics) >= 1, 30, "the first run's records")
            before = _metadata_reads(metrics)
            await asyncio.gather(
                *(
                    client.execute_workflow(Patched.run, id=f"w{n}", task_queue="patched")
                    for n in range(STARTS)
                )
            )
        # A run's visibility records are written after it answers, and the server publishes
        # its counts now and then: the reads its records made are counted once their writes
        # are, which come after them.
        wait_until(lambda: _closed_records(metrics) > STARTS, 30, "every run's records")
        return (_metadata_reads(metrics) - before) / STARTS
    finally:
        proc.terminate()
        proc.wait(15)


async def test_the_dev_server_does_not_read_its_search_attributes_for_every_run(
    tmp_path: Path,
) -> None:
    assert await _reads_per_start(tmp_path, cached=True) < 0.5
    # Without the key the same server reads the cluster's metadata for every run.
    assert await _reads_per_start(tmp_path, cached=False) >= 1
