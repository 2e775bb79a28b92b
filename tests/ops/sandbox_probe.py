"""Workflows that test the sandbox (tests/ops/test_worker_sandbox.py): one that reads the wall
clock, one that opens a file, one that does neither. The first two fail, rather than retry
their workflow task, so that a test can see the sandbox's refusal."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError

REFUSED = [RestrictedWorkflowAccessError]


@workflow.defn(failure_exception_types=REFUSED)
class WallClockProbe:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()


@workflow.defn(failure_exception_types=REFUSED)
class FileProbe:
    @workflow.run
    async def run(self, path: str) -> str:
        with open(path) as f:
            return f.read()


@workflow.defn(failure_exception_types=REFUSED)
class WorkflowClockProbe:
    @workflow.run
    async def run(self) -> str:
        return workflow.now().isoformat()
