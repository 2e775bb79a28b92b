"""The worker leaves out the SDK's payload walks where they could change nothing, and keeps
them where a payload codec is set (worker.payload_passes, #22). Every workflow test runs
through the wrapped functions (build_worker installs them), with the project's converter."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import temporalio.bridge.worker as bridge_worker
from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.converter import DataConverter, PayloadCodec

from infra.temporal_client import DATA_CONVERTER
from worker import payload_passes


class _Base64(PayloadCodec):
    """A codec that changes every payload: base64 of its data, marked in its metadata."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"binary/b64"}, data=base64.b64encode(p.data))
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"json/plain"}, data=base64.b64decode(p.data))
            for p in payloads
        ]


class _Watched(DataConverter):
    """The project's kind of converter (no codec, no external storage) that counts the walks'
    calls into it."""

    calls = 0

    async def _decode_payload_sequence(self, payloads: Sequence[Payload]) -> list[Payload]:
        type(self).calls += 1
        return await super()._decode_payload_sequence(payloads)


def _activation(data: bytes) -> WorkflowActivation:
    activation = WorkflowActivation(run_id="run")
    job = activation.jobs.add()
    job.resolve_activity.seq = 1
    job.resolve_activity.result.completed.result.CopyFrom(
        Payload(metadata={"encoding": b"binary/b64"}, data=data)
    )
    return activation


def _result(activation: WorkflowActivation) -> Payload:
    return activation.jobs[0].resolve_activity.result.completed.result


def test_the_worker_wraps_the_sdk_passes() -> None:
    # Should a temporalio release drop or rename the functions wrapped, this fails (the SDK's
    # passes then run as before): look at worker/payload_passes.py again.
    assert payload_passes.install() is True
    assert bridge_worker.decode_activation.skips_unneeded_passes  # type: ignore[attr-defined]
    assert bridge_worker.encode_completion.skips_unneeded_passes  # type: ignore[attr-defined]


def test_the_projects_converter_needs_no_pass() -> None:
    assert not payload_passes.passes_needed(DATA_CONVERTER)
    assert payload_passes.passes_needed(DataConverter(payload_codec=_Base64()))


async def test_without_a_codec_the_activation_is_not_walked() -> None:
    payload_passes.install()
    _Watched.calls = 0
    activation = _activation(b'"unchanged"')
    await bridge_worker.decode_activation(activation, _Watched(), False, 1)
    assert _Watched.calls == 0  # the SDK's own pass calls it once for the activity's result
    assert _result(activation).data == b'"unchanged"'


async def test_with_a_codec_the_activation_is_decoded_as_before() -> None:
    payload_passes.install()
    activation = _activation(base64.b64encode(b'"hello"'))
    with_codec = DataConverter(payload_codec=_Base64())
    await bridge_worker.decode_activation(activation, with_codec, False, 1)
    assert _result(activation).data == b'"hello"'
    assert _result(activation).metadata["encoding"] == b"json/plain"
