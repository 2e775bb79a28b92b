"""The workflow sandbox, with one sandboxed import of each workflow module per worker and its
glue compiled once (#22).

temporalio's sandbox imports a workflow's module afresh for every run it starts or replays,
so that no run sees another's module state, and runs the run's code with the sandbox's
restrictions (no wall clock, no I/O, no randomness but the workflow's). The fresh import was
the largest single cost of starting a run: 1.75 ms of CPU in-process for an identification
workflow, about 4 ms of the worker's ~12 ms per application under load (the module's code
loaded and run again, its decorators and type hints read again, each of its import
statements through the sandbox's importer).

This runner keeps the restrictions and drops the fresh import:

- **One sandboxed import per workflow module per runner** (one runner per worker). The runs
  of a module share its sandboxed import: the module's code runs once, inside the sandbox,
  and every run's instance is made from the class it defined there. Everything the workflow
  modules import was already shared by every run (they pass their imports through:
  ``domain``, the contracts, the activities' types); now their own module-level names are
  too. They hold no state a run could change: only constants, classes and functions, checked
  by ``tests/ops/test_worker_sandbox.py`` for every workflow module.
- **The restrictions are the sandbox's, enforced per thread.** The SDK keeps "importing"
  and "running a workflow" as two flags of the importer's context; runs that share an
  importer can activate on different threads at once, so the flags are kept per thread
  (:class:`_PerThreadFlags`). A run's wall-clock read or file open still fails its workflow
  task, the first run of a module as the thousandth.
- **Glue compiled once.** The sandbox runs each instance's calls — every activation, and
  every payload's serialization context — by ``exec`` of a two-line code string, compiled
  again on every call: 30 µs each, tens per completed task. Each string's code object is
  kept (:func:`compiled`); ``exec`` of a code object is ``exec`` of its source.

It overrides a private class (``_Instance``: its constructor, to share the importer, and
``_run_code``); should a temporalio release change them, :func:`workflow_runner` falls back to
the plain sandbox, and the test that runs through it says so."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

try:
    from temporalio.worker.workflow_sandbox._importer import Importer
    from temporalio.worker.workflow_sandbox._restrictions import RestrictionContext
    from temporalio.worker.workflow_sandbox._runner import _Instance
except ImportError:  # pragma: no cover - a temporalio release without them
    _Instance = None  # type: ignore[assignment,misc]


@functools.lru_cache(maxsize=256)
def compiled(code: str) -> CodeType:
    return compile(code, "<string>", "exec")


def _shape_known() -> bool:
    """This temporalio's sandbox is the one this module was written against: an ``_Instance``
    that makes its importer in its constructor and runs code by ``_run_code``, and a
    restriction context holding the two flags."""
    if _Instance is None or not hasattr(_Instance, "_run_code"):
        return False  # pragma: no cover
    context = RestrictionContext()
    return vars(context) == {"is_runtime": False, "in_activation": False}


if _shape_known():

    class _PerThreadFlags(RestrictionContext):
        """The sandbox's restriction context with its two flags — ``is_runtime`` (running a
        workflow, not importing its module) and ``in_activation`` — kept per thread: the
        runs sharing an importer activate on the worker's workflow threads at once, and one
        run's import or end must not lift another's restrictions."""

        def __init__(self) -> None:
            self._flags = threading.local()
            super().__init__()

        @property
        def is_runtime(self) -> bool:
            return bool(getattr(self._flags, "is_runtime", False))

        @is_runtime.setter
        def is_runtime(self, value: bool) -> None:
            self._flags.is_runtime = value

        @property
        def in_activation(self) -> bool:
            return bool(getattr(self._flags, "in_activation", False))

        @in_activation.setter
        def in_activation(self, value: bool) -> None:
            self._flags.in_activation = value

    class _SharedImportInstance(_Instance):
        """A run's sandboxed instance, made from its module's shared sandboxed import."""

        def __init__(
            self,
            instance_details: WorkflowInstanceDetails,
            runner_class: type[WorkflowRunner],
            importer: Importer,
        ) -> None:
            # _Instance.__init__, with the importer given rather than made anew: the module
            # is already in its sys.modules after the first run, so _create_instance's import
            # statement finds it there and makes only this run's instance.
            self.instance_details = instance_details
            self.runner_class = runner_class
            self.importer = importer
            self._current_thread_id: int | None = None
            self.globals_and_locals = {"__file__": "workflow_sandbox.py"}
            self._create_instance()

        def _run_code(self, code: str, **extra_globals: Any) -> None:
            super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]

    @dataclass(frozen=True)
    class SharedImportSandboxRunner(SandboxedWorkflowRunner):
        """The SDK's sandbox and restrictions, each workflow module imported into it once."""

        _importers: dict[str, Importer] = field(
            default_factory=dict, init=False, repr=False, compare=False
        )

        def importer_for(self, module: str) -> Importer:
            # Called on the worker's event loop (prepare_workflow, then each new run). Were two
            # first runs of a module ever made at once, each would still have a whole import.
            importer = self._importers.get(module)
            if importer is None:
                importer = Importer(
                    self.restrictions, _PerThreadFlags(), workflow_module_name=module
                )
                self._importers[module] = importer
            return importer

        def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
            module = det.defn.cls.__module__
            if module == "__main__":  # the SDK's own rule (_Instance._workflow_module_name)
                module = "__temporal_main__"
            return _SharedImportInstance(det, self.runner_class, self.importer_for(module))

    def workflow_runner() -> WorkflowRunner:
        return SharedImportSandboxRunner()

else:  # pragma: no cover

    def workflow_runner() -> WorkflowRunner:
        return SandboxedWorkflowRunner()
