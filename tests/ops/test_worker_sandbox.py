"""The worker runs its workflows in the SDK's sandbox with the sandbox's glue code compiled
once per process (worker.sandbox, #22); every workflow test runs through it (build_worker)."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker.sandbox import CompiledSandboxRunner, compiled, workflow_runner


def test_the_worker_uses_the_sandbox_with_its_glue_compiled_once() -> None:
    # Should a temporalio release drop the private method it overrides, this fails (the
    # fallback is the plain sandbox): look at worker/sandbox.py again.
    runner = workflow_runner()
    assert isinstance(runner, CompiledSandboxRunner)
    assert isinstance(runner, SandboxedWorkflowRunner)  # its restrictions, unchanged


def test_one_code_object_per_code_string() -> None:
    code = "__x = 1\n"
    assert compiled(code) is compiled(code)
    scope: dict[str, object] = {}
    exec(compiled(code), scope, scope)
    assert scope["__x"] == 1
