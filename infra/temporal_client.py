"""Connecting to Temporal with the data converter every process must share (pydantic, so that
dates, datetimes and pydantic models survive the round trip)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from weakref import WeakKeyDictionary

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from store.settings import Settings

# One pydantic JSON converter, and so one TypeAdapter cache, for the whole process. The worker
# builds a payload converter for every workflow instance (``payload_converter_class()``), and
# temporalio's ``PydanticPayloadConverter`` brings a new, empty cache each time: every instance
# would build the pydantic schema of its input again (~15-30 ms for ``AssistanceInput``).
# A TypeAdapter holds no per-call state (pydantic documents it as safe to share between
# threads), and the workflows' payload types are the worker's own classes (workflows/payloads.py
# and the passed-through contracts), so the cache holds one adapter per payload type.
_SHARED_JSON = PydanticJSONPlainPayloadConverter()


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """temporalio's ``PydanticPayloadConverter`` (the same encodings, the same JSON) with the
    process-wide TypeAdapter cache above instead of one per instance."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _SHARED_JSON if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


def _workflow_code_build_id() -> str:
    """A hash of the workflow code (``workflows/*.py``): the same in every process of one
    release, and another when the workflow code changes (the SDK's default hashes every module
    a worker has loaded, which no other process could compute)."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parents[1] / "workflows").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"yuanzhu-{digest.hexdigest()[:16]}"


# The build id of this code's workers (worker.factory), which the API knows too: it starts a
# run with the BuildIds search attribute the run's first workflow task would add
# (workflows.steps.build_ids; application.gateway.start).
WORKER_BUILD_ID = _workflow_code_build_id()

_KEEPS_BUILD_IDS: WeakKeyDictionary[Client, bool] = WeakKeyDictionary()


async def server_keeps_build_ids(client: Client) -> bool:
    """Whether ``client``'s server keeps the BuildIds search attribute, so that a run may be
    started with it (workflows.steps.build_ids): every Temporal server since build-id
    versioning does (its system info says so), the time-skipping test server does not, and
    refuses a start that gives it. Asked once per client."""
    known = _KEEPS_BUILD_IDS.get(client)
    if known is None:
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        known = _KEEPS_BUILD_IDS[client] = info.capabilities.build_id_based_versioning
    return known


async def build_id_to_start_with(client: Client) -> str | None:
    """The workers' build id, for a run started through ``client`` to be given in its BuildIds
    (workflows.steps.started_here); None where the server keeps no BuildIds."""
    return WORKER_BUILD_ID if await server_keeps_build_ids(client) else None


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
