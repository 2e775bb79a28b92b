"""Connecting to Temporal with the data converter every process must share (pydantic, so that
dates, datetimes and pydantic models survive the round trip)."""

from __future__ import annotations

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


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
