"""The workflows' payload types live outside the modules the sandbox re-executes per instance,
and the data converter keeps one pydantic TypeAdapter per type for the whole process (see
workflows/payloads.py and infra/temporal_client.py)."""

from __future__ import annotations

from datetime import date
from typing import Any, get_args

import pytest
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.vocabulary import PlaceRef
from infra import temporal_client
from infra.temporal_client import DATA_CONVERTER
from worker.factory import WORKFLOWS
from workflows.contracts import VerificationPeriod
from workflows.payloads import VerificationBatchInput

WORKFLOW_MODULES = {cls.__module__ for cls in WORKFLOWS}


def _payload_types(cls: type) -> list[Any]:
    """The types the converter decodes for a workflow: its input and result, and the arguments
    and results of its signals, updates and queries."""
    # The SDK's own definition of the class (what the worker reads), not a guess from hints.
    defn = workflow._Definition.must_from_class(cls)
    found: list[Any] = [*(defn.arg_types or []), defn.ret_type]
    for sig in defn.signals.values():
        found += sig.arg_types or []
    for upd in defn.updates.values():
        found += [*(upd.arg_types or []), upd.ret_type]
    for query in defn.queries.values():
        found += [*(query.arg_types or []), query.ret_type]
    return found


def _classes(hint: Any) -> list[type]:
    """The classes a hint names, inside ``X | None``, ``list[X]`` and the like."""
    args = get_args(hint)
    if args:
        return [c for a in args for c in _classes(a)]
    return [hint] if isinstance(hint, type) else []


@pytest.mark.parametrize("cls", WORKFLOWS, ids=lambda c: c.__name__)
def test_no_payload_type_is_defined_in_a_workflow_module(cls: type) -> None:
    # A class defined in a workflow module is a new class in every sandboxed instance: its
    # schema would be built per instance and the shared TypeAdapter cache would keep the
    # instance's module alive.
    inside = [
        c.__qualname__
        for hint in _payload_types(cls)
        for c in _classes(hint)
        if c.__module__ in WORKFLOW_MODULES
    ]
    assert inside == [], f"{cls.__name__}: move {inside} to workflows/payloads.py"


def test_the_check_sees_the_input_types() -> None:
    # The check above reads resolved hints; unresolved ones would let it pass on nothing.
    from workflows.assistance import AssistanceWorkflow
    from workflows.payloads import AssistanceInput, BatchResult
    from workflows.verification import VerificationBatchWorkflow

    assert AssistanceInput in _payload_types(AssistanceWorkflow)
    assert BatchResult in _payload_types(VerificationBatchWorkflow)


def _batch_input() -> VerificationBatchInput:
    return VerificationBatchInput(
        district=PlaceRef("441803", "/000000/440000/441800/441803/", "county", "清新区"),
        pack_id="qingxin-2024",
        period=VerificationPeriod("2025-01", date(2025, 1, 1), date(2025, 1, 31)),
    )


def test_every_payload_converter_shares_one_type_adapter_per_type() -> None:
    # The worker asks the data converter for a new payload converter per workflow instance.
    cache = temporal_client._SHARED_JSON._type_adapter
    value = _batch_input()
    first = DATA_CONVERTER._new_payload_converter()
    payloads = first.to_payloads([value])
    assert first.from_payloads(payloads, [VerificationBatchInput]) == [value]
    size, hits = cache.cache_info().currsize, cache.cache_info().hits

    second = DATA_CONVERTER._new_payload_converter()
    assert second is not first
    assert second.from_payloads(payloads, [VerificationBatchInput]) == [value]
    assert cache.cache_info().currsize == size
    assert cache.cache_info().hits == hits + 1


def test_the_json_is_the_stock_pydantic_converters() -> None:
    # Histories recorded with temporalio's converter decode with this one and back.
    value = _batch_input()
    ours = DATA_CONVERTER.payload_converter.to_payloads([value])
    stock = pydantic_data_converter.payload_converter.to_payloads([value])
    assert ours == stock
    decoded = DATA_CONVERTER.payload_converter.from_payloads(stock, [VerificationBatchInput])
    assert decoded == [value]
