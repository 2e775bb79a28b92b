"""The SDK's payload passes skipped when they have nothing to do (#22).

For every workflow activation it receives and every completion it sends, temporalio walks the
whole protobuf message three times each way — the payload codec, external storage, and
external storage's references — calling the data converter on every list of payloads it
finds. For each call the workflow's serialization context is asked of the instance, inside
the sandbox. With no payload codec and no external storage, which is how this project's data
converter is made (``infra.temporal_client.DATA_CONVERTER``), each of those calls hands its
payloads back unchanged: the six walks change nothing and cost about 0.27 ms an activation on
this machine (bench/before_after.md, fifth round of #22; a completed task takes about ten).

So when the converter in use has neither, the walks are not made. A converter with a codec or
external storage gets the SDK's own passes, unchanged. What is given up: the SDK's error for
a payload stored externally while this worker has no external storage (TMPRL1105). Only a
client configured with external storage writes such payloads, and none of ours is; such a
payload would reach the payload converter as it is instead of being refused with that error.

It replaces two functions of a private module (``temporalio.bridge.worker``); should a
temporalio release drop or rename them, :func:`install` leaves the SDK as it is and says so
by returning False, and the test that checks it fails."""

from __future__ import annotations

import functools
from typing import Any

import temporalio.bridge.worker as bridge_worker
from temporalio.converter import DataConverter

try:
    from temporalio.converter._extstore import StorageOperationMetrics
except ImportError:  # pragma: no cover - a temporalio release without it
    StorageOperationMetrics = None  # type: ignore[assignment,misc]

_PASSES = ("decode_activation", "encode_completion")


def passes_needed(converter: DataConverter) -> bool:
    """Whether the SDK's walks could change a payload: a codec or external storage is set."""
    return (
        converter.payload_codec is not None
        or getattr(converter, "external_storage", None) is not None
    )


def _skipping(original: Any) -> Any:
    @functools.wraps(original)
    async def passes(message: Any, data_converter: DataConverter, *args: Any, **kwargs: Any) -> Any:
        if passes_needed(data_converter):
            return await original(message, data_converter, *args, **kwargs)
        return StorageOperationMetrics()  # nothing stored or retrieved

    passes.skips_unneeded_passes = True  # type: ignore[attr-defined]
    return passes


@functools.cache
def install() -> bool:
    """Wrap the SDK's activation decoding and completion encoding, once per process. False
    when this temporalio has not got them as expected (the SDK's passes then run as before)."""
    if StorageOperationMetrics is None or not all(hasattr(bridge_worker, n) for n in _PASSES):
        return False  # pragma: no cover - a temporalio release without them
    for name in _PASSES:
        setattr(bridge_worker, name, _skipping(getattr(bridge_worker, name)))
    return True
