"""Optional OpenTelemetry tracing through the Temporal interceptor
(``temporalio.contrib.opentelemetry.TracingInterceptor``), on with ``YUANZHU_OTEL_ENDPOINT``.

The API's client and the worker share the interceptor, so one trace runs from the request
that starts or updates a case workflow (``StartWorkflow:…``, ``StartWorkflowUpdate:…``) through
the workflow (``RunWorkflow:…``) to each activity (``StartActivity:…``, ``RunActivity:…``).
Spans go over OTLP/HTTP to the endpoint, in batches; when the collector is away they are dropped
with a warning, and the cases go on.

OpenTelemetry is not installed with the app: ``pip install 'yuanzhu[otel]'`` (the image has
it). Everything here imports it only when tracing is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.client import Client

from store.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer


class TracingUnavailable(RuntimeError):
    """Tracing is configured but OpenTelemetry is not installed."""


def tracing_enabled(settings: Settings) -> bool:
    return bool(settings.otel_endpoint)


def configure_tracing(
    settings: Settings, service_name: str, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install the process's tracer provider (OpenTelemetry allows one per process) exporting to
    ``settings.otel_endpoint``, or to ``exporter`` when given; None when tracing is off."""
    if not tracing_enabled(settings) and exporter is None:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint)
            processor: Any = BatchSpanProcessor(exporter)
        else:  # a test's in-memory exporter: spans visible as soon as they end
            processor = SimpleSpanProcessor(exporter)
    except ImportError as exc:
        raise TracingUnavailable(
            f"YUANZHU_OTEL_ENDPOINT is set but OpenTelemetry is not installed ({exc.name}); "
            "install yuanzhu[otel] or unset YUANZHU_OTEL_ENDPOINT"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


def traced(client: Client, settings: Settings, tracer: Tracer | None = None) -> Client:
    """``client`` with the tracing interceptor added when tracing is on (or a ``tracer`` is
    given); workers built on the returned client trace too. The same client otherwise."""
    if not tracing_enabled(settings) and tracer is None:
        return client
    from temporalio.contrib.opentelemetry import TracingInterceptor

    config = client.config()
    config["interceptors"] = [*config["interceptors"], TracingInterceptor(tracer)]
    return Client(**config)
