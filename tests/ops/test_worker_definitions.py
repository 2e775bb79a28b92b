"""A workflow class's definition and its handlers' type hints are read once per process
(worker.definitions, #22): a fresh import of the same code — what the sandbox makes for every
run — gets its own definition, equal to the SDK's reading, made of its own handlers; changed
code, and hints that name what each import makes anew, are read again."""

from __future__ import annotations

import asyncio
import sys
import types
from typing import Any
from unittest import mock

import pytest
import temporalio.common
import temporalio.workflow
from temporalio.api.common.v1 import Payloads
from temporalio.worker import WorkflowInstanceDetails

from infra.temporal_client import DATA_CONVERTER
from worker import definitions
from worker.sandbox import workflow_runner
from workflows.contracts import CompleteTaskRequest
from workflows.identification import IdentificationWorkflow

MODULE = "yz_reimported_workflow"

SOURCE = '''
from __future__ import annotations

from temporalio import workflow

from workflows.contracts import CompleteTaskRequest, CompleteTaskResult


class Local:
    """Made anew by each import of this module."""


@workflow.defn(name="Reimported")
class Reimported:
    @workflow.init
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id

    @workflow.run
    async def run(self, case_id: str) -> str:
        return case_id

    @workflow.update
    async def complete_task(self, req: CompleteTaskRequest) -> CompleteTaskResult:
        return CompleteTaskResult(task_id=req.task_id, outcome=req.outcome, case_status="x")

    @complete_task.validator
    def _validate(self, req: CompleteTaskRequest) -> None:
        pass

    @workflow.signal
    def nudge(self, note: str) -> None:
        pass

    @workflow.query
    def local(self) -> Local:
        return Local()

    @workflow.query
    def status(self) -> str:
        return "ok"
'''

# The same class with its validator's parameter changed: the SDK refuses it.
CHANGED = SOURCE.replace(
    "def _validate(self, req: CompleteTaskRequest)", "def _validate(self, req: str)"
)


def _import(source: str) -> types.ModuleType:
    """A fresh import of ``source`` as MODULE, as the sandbox makes one for each run."""
    module = types.ModuleType(MODULE)
    sys.modules[MODULE] = module
    exec(compile(source, f"<{MODULE}>", "exec"), module.__dict__)
    return module


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Any:
    assert definitions.install()
    monkeypatch.setitem(sys.modules, MODULE, types.ModuleType(MODULE))
    # Forget what earlier tests read of MODULE (the process keeps it otherwise).
    monkeypatch.setattr(definitions, "_validated", {})
    monkeypatch.setattr(definitions, "_hints", {})
    rebuilt = mock.Mock(wraps=definitions._rebuilt)
    monkeypatch.setattr(definitions, "_rebuilt", rebuilt)
    return rebuilt


def _reading(cls: type) -> dict[str, Any]:
    """What a definition says, with each handler named by its attribute on ``cls``."""
    defn = temporalio.workflow._Definition.must_from_class(cls)
    own = {id(value): name for name, value in vars(cls).items() if callable(value)}

    def handlers(found: Any) -> list[tuple[Any, ...]]:
        return [
            (key, own[id(d.fn)], d.arg_types, getattr(d, "ret_type", None))
            for key, d in found.items()
        ]

    return {
        "name": defn.name,
        "run": own[id(defn.run_fn)],
        "arg_types": defn.arg_types,
        "ret_type": defn.ret_type,
        "signals": handlers(defn.signals),
        "queries": handlers(defn.queries),
        "updates": handlers(defn.updates),
        "validator": own[id(defn.updates["complete_task"].validator)],
        "sandboxed": defn.sandboxed,
        "failure_exception_types": list(defn.failure_exception_types),
        "versioning_behavior": defn.versioning_behavior,
        "dynamic_config_fn": defn.dynamic_config_fn,
    }


def test_the_sdk_functions_are_replaced() -> None:
    # Should a temporalio release drop or rename them, install() is False and this fails:
    # look at worker/definitions.py again.
    assert definitions.install()
    assert getattr(temporalio.common._type_hints_from_func, "kept_once", False)
    assert getattr(temporalio.workflow._Definition._apply_to_class, "kept_once", False)


def test_a_fresh_import_gets_its_own_definition_equal_to_the_sdks(fresh: Any) -> None:
    first = _import(SOURCE).Reimported  # read by the SDK
    assert fresh.call_count == 0
    second = _import(SOURCE).Reimported  # built from what was read
    assert fresh.call_count == 1
    first_reading, second_reading = _reading(first), _reading(second)
    # Every handler is the second import's own (the names map through its own attributes)…
    defn = temporalio.workflow._Definition.must_from_class(second)
    assert defn.cls is second and defn.run_fn is vars(second)["run"]
    assert defn.updates["complete_task"].fn is vars(second)["complete_task"]
    assert defn.updates["complete_task"].validator is vars(second)["_validate"]
    assert defn.signals["nudge"].fn is vars(second)["nudge"]
    # …and the query that names the module's own class names the second import's.
    assert defn.queries["local"].ret_type is _import_local(second)
    assert first_reading.pop("queries") != second_reading.pop("queries")
    # Everything else reads as the SDK read the first.
    assert first_reading == second_reading
    assert second_reading["arg_types"] == [str]
    assert second_reading["updates"][0][2:] == (
        [sys.modules["workflows.contracts"].CompleteTaskRequest],
        sys.modules["workflows.contracts"].CompleteTaskResult,
    )


def _import_local(cls: type) -> Any:
    return vars(cls)["local"].__globals__["Local"]


def test_changed_code_is_checked_by_the_sdk_again(fresh: Any) -> None:
    _import(SOURCE)
    with pytest.raises(ValueError, match="parameters do not match"):
        _import(CHANGED)
    assert fresh.call_count == 0


def test_kept_hints_are_handed_out_as_copies(fresh: Any) -> None:
    def handler(self, req: CompleteTaskRequest) -> None:  # type: ignore[no-untyped-def]
        return None

    args, ret = temporalio.common._type_hints_from_func(handler)
    assert args == [CompleteTaskRequest] and ret is type(None)
    args.append(str)  # a caller that changes its list changes no one else's
    again, _ = temporalio.common._type_hints_from_func(handler)
    assert again == [CompleteTaskRequest]


def test_the_sandbox_gives_each_run_its_own_definition() -> None:
    runner = workflow_runner()
    outside = temporalio.workflow._Definition.must_from_class(IdentificationWorkflow)
    details = WorkflowInstanceDetails(
        payload_converter_factory=DATA_CONVERTER.payload_converter_class,
        failure_converter_class=DATA_CONVERTER.failure_converter_class,
        interceptor_classes=[],
        defn=outside,
        info=mock.MagicMock(),
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=None,
    )

    async def two_runs() -> list[type]:
        instances = [runner.create_instance(details) for _ in range(3)]
        return [i.globals_and_locals["__temporal_workflow_class"] for i in instances]  # type: ignore[attr-defined]

    classes = asyncio.run(two_runs())
    assert len({id(c) for c in classes}) == 3 and IdentificationWorkflow not in classes
    for cls in classes:
        defn = temporalio.workflow._Definition.must_from_class(cls)
        assert defn.cls is cls and defn.run_fn is vars(cls)["run"]
        assert defn.updates.keys() == outside.updates.keys()
        assert defn.signals.keys() == outside.signals.keys()
        assert defn.queries.keys() == outside.queries.keys()
        for name, update in defn.updates.items():
            assert update.fn is vars(cls)[update.fn.__name__]
            assert update.arg_types == outside.updates[name].arg_types
            assert (update.validator is None) == (outside.updates[name].validator is None)
        assert defn.arg_types == outside.arg_types and defn.ret_type == outside.ret_type
