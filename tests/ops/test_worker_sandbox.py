"""The worker runs its workflows in the SDK's sandbox, each workflow module imported into it
once per worker and the sandbox's glue compiled once (worker.sandbox, #22); every workflow
test runs through it (build_worker). The runs of a module share its sandboxed import; the
sandbox's restrictions hold for each of them, on whichever thread it activates."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import re
import sys
import threading
import types
import uuid
from unittest import mock

import pytest
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import _Definition

from infra.temporal_client import DATA_CONVERTER
from tests.ops.sandbox_probe import FileProbe, WallClockProbe, WorkflowClockProbe
from worker.factory import WORKFLOWS
from worker.sandbox import SharedImportSandboxRunner, compiled, workflow_runner
from workflows.identification import IdentificationWorkflow


def test_the_worker_uses_the_sandbox_with_one_import_per_module() -> None:
    # Should a temporalio release change the private class it builds on, this fails (the
    # fallback is the plain sandbox): look at worker/sandbox.py again.
    runner = workflow_runner()
    assert isinstance(runner, SharedImportSandboxRunner)
    assert isinstance(runner, SandboxedWorkflowRunner)  # its restrictions, unchanged


def test_one_code_object_per_code_string() -> None:
    code = "__x = 1\n"
    assert compiled(code) is compiled(code)
    scope: dict[str, object] = {}
    exec(compiled(code), scope, scope)
    assert scope["__x"] == 1


def _details(cls: type) -> WorkflowInstanceDetails:
    return WorkflowInstanceDetails(
        payload_converter_factory=DATA_CONVERTER.payload_converter_class,
        failure_converter_class=DATA_CONVERTER.failure_converter_class,
        interceptor_classes=[],
        defn=_Definition.must_from_class(cls),
        info=mock.MagicMock(),
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=None,
    )


def test_the_runs_of_a_module_share_one_sandboxed_import() -> None:
    runner = workflow_runner()
    other = workflow_runner()
    details = _details(IdentificationWorkflow)

    async def classes(r: object) -> list[type]:
        made = [r.create_instance(details) for _ in range(3)]  # type: ignore[attr-defined]
        return [i.globals_and_locals["__temporal_workflow_class"] for i in made]

    first, second = asyncio.run(classes(runner)), asyncio.run(classes(other))
    # One class per runner (worker), made in the sandbox: not the host's.
    assert len({id(c) for c in first}) == 1 and first[0] is not IdentificationWorkflow
    assert first[0].__module__ == "workflows.identification"
    # Another worker has an import of its own.
    assert first[0] is not second[0]
    # The sandbox's module sees datetime through the sandbox's restricting proxy.
    module = runner.importer_for("workflows.identification").new_modules[  # type: ignore[attr-defined]
        "workflows.identification"
    ]
    assert module.datetime is not dt.datetime
    assert type(module.datetime).__name__ == "_RestrictedProxy"


def test_the_restriction_flags_are_each_threads_own() -> None:
    runner = workflow_runner()
    flags = runner.importer_for("workflows.identification").restriction_context  # type: ignore[attr-defined]
    flags.is_runtime = True
    flags.in_activation = True
    seen: list[tuple[bool, bool]] = []
    thread = threading.Thread(target=lambda: seen.append((flags.is_runtime, flags.in_activation)))
    thread.start()
    thread.join()
    assert seen == [(False, False)]
    assert (flags.is_runtime, flags.in_activation) == (True, True)
    flags.is_runtime = flags.in_activation = False


async def test_every_run_of_a_shared_import_is_restricted(time_env: WorkflowEnvironment) -> None:
    """A wall-clock read and a file's open fail their workflows — the first run of the module
    and the later ones alike, before, between and beside runs that do neither."""
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    client = time_env.client
    # Real time: nothing here waits on a timer, and skipping time while a run's workflow task
    # is on a worker's thread would time the task out.
    with time_env.auto_time_skipping_disabled():
        await _probe_runs(client, queue)


async def _probe_runs(client: Client, queue: str) -> None:
    async with Worker(
        client,
        task_queue=queue,
        workflows=[WallClockProbe, FileProbe, WorkflowClockProbe],
        workflow_runner=workflow_runner(),
    ):

        async def run(workflow: object, *args: object) -> str:
            return await client.execute_workflow(  # type: ignore[call-overload,no-any-return]
                workflow, *args, id=f"probe-{uuid.uuid4().hex}", task_queue=queue
            )

        async def refused(workflow: object, *args: object) -> str:
            with pytest.raises(WorkflowFailureError) as failed:
                await run(workflow, *args)
            return str(failed.value.cause)

        for _ in range(2):
            assert await run(WorkflowClockProbe.run)
            assert "datetime.datetime.now" in await refused(WallClockProbe.run)
            assert "__builtins__.open" in await refused(FileProbe.run, __file__)
        # Side by side: each run's activation on its own thread of the worker.
        answers = await asyncio.gather(
            *(refused(WallClockProbe.run) for _ in range(4)),
            *(run(WorkflowClockProbe.run) for _ in range(4)),
        )
        assert all("datetime.datetime.now" in a for a in answers[:4])


# What a module-level name of a workflow module may hold: the runs of the module share them.
_UNCHANGEABLE = (
    str,
    bytes,
    int,
    float,
    bool,
    type(None),
    frozenset,
    enum.Enum,
    types.MappingProxyType,
    dt.timedelta,
    dt.tzinfo,
    re.Pattern,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    type,
    staticmethod,
    classmethod,
    property,
)


def _unchangeable(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_unchangeable(v) for v in value)
    return isinstance(value, _UNCHANGEABLE) or type(value).__module__ == "__future__"


@pytest.mark.parametrize("module", sorted({cls.__module__ for cls in WORKFLOWS}))
def test_a_workflow_module_holds_nothing_a_run_could_change(module: str) -> None:
    """The runs of a workflow module share its names and its classes' (worker.sandbox): a
    list or dict there would be one run's state seen by the next. Constants are tuples,
    frozensets and read-only mappings."""
    namespace = vars(sys.modules[module])
    changeable = [
        k for k, v in namespace.items() if not k.startswith("__") and not _unchangeable(v)
    ]
    for cls in [v for v in namespace.values() if isinstance(v, type) and v.__module__ == module]:
        changeable += [
            f"{cls.__name__}.{k}"
            for k, v in vars(cls).items()
            if not k.startswith("__") and not _unchangeable(v)
        ]
    assert changeable == []
