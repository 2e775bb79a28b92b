"""The workflow sandbox with its glue compiled once per process (#22).

temporalio's sandbox runs each workflow instance's calls — every activation, and every
payload's serialization context (one per command, several per activation) — by ``exec`` of a
two-line code string, compiled again on every call: 30 µs each, tens of them per completed
task. This runner keeps each string's code object (there are a handful: one per workflow class
for its import, and the four calls). What runs in the sandbox, its restrictions and its
determinism checks are the SDK's, unchanged: ``exec`` of a code object is ``exec`` of its
source. It overrides a private method (``_Instance._run_code``); should a temporalio release
drop it, :func:`workflow_runner` falls back to the plain sandbox runner, and the test that
runs through it says so. The runner also has each workflow class's definition read once per
process rather than once per run (:mod:`worker.definitions`)."""

from __future__ import annotations

import functools
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker import definitions

try:
    from temporalio.worker.workflow_sandbox._runner import _Instance
except ImportError:  # pragma: no cover - a temporalio release without it
    _Instance = None  # type: ignore[assignment,misc]


@functools.lru_cache(maxsize=256)
def compiled(code: str) -> CodeType:
    return compile(code, "<string>", "exec")


if _Instance is not None and hasattr(_Instance, "_run_code"):

    class _CompiledInstance(_Instance):
        def _run_code(self, code: str, **extra_globals: Any) -> None:
            super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]

    class CompiledSandboxRunner(SandboxedWorkflowRunner):
        """The SDK's sandbox, its glue code compiled once."""

        def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
            return _CompiledInstance(det, self.runner_class, self.restrictions)

    def workflow_runner() -> WorkflowRunner:
        definitions.install()
        return CompiledSandboxRunner()

else:  # pragma: no cover

    def workflow_runner() -> WorkflowRunner:
        definitions.install()
        return SandboxedWorkflowRunner()
