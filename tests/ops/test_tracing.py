"""OpenTelemetry tracing through the Temporal interceptor (infra/tracing.py): with
``otel_endpoint`` set, the API's client and the worker trace one case from the request that
starts its workflow to the activity that opens its first task. Spans go to an in-memory
exporter here (no collector)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from infra.tracing import configure_tracing, traced, tracing_enabled
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from tests.conftest import make_settings
from tests.factories import application
from tests.system import System
from worker.demo import seed_demo
from worker.factory import build_worker
from worker.server import create_app


def test_tracing_is_off_without_an_endpoint(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert not tracing_enabled(settings)
    assert configure_tracing(settings, "yuanzhu-test") is None
    client = object()
    assert traced(client, settings) is client  # type: ignore[arg-type]


async def test_a_case_is_traced_from_the_api_through_its_workflow_to_an_activity(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'yuanzhu.db'}",
        tmp_path,
        temporal_task_queue=f"trace-{uuid.uuid4().hex[:8]}",
        otel_endpoint="http://127.0.0.1:4318/v1/traces",  # never reached: spans stay in memory
    )
    await asyncio.to_thread(upgrade, settings)
    exporter = InMemorySpanExporter()
    provider = configure_tracing(settings, "yuanzhu-test", exporter=exporter)
    assert provider is not None
    client = traced(time_env.client, settings)
    assert client is not time_env.client

    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await seed_demo(session)
    app = create_app(settings, temporal_client=client)
    try:
        async with (
            build_worker(client, settings, sessions=sessions),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        ):
            r = await http.post("/api/v1/applications", json=application("jilin-2022"))
            assert r.status_code == 201, r.text
            case_id = r.json()["case_id"]
            system = System(settings=settings, env=time_env, http=http)
            await system.wait_for_task("jl_officer", case_id, "acceptance")
            deadline = time.monotonic() + 20
            while "RunActivity:open_task" not in {s.name for s in exporter.get_finished_spans()}:
                assert time.monotonic() < deadline, "no span of the open_task activity"
                await asyncio.sleep(0.05)
            # Ended while its worker runs: the session's time-skipping server is shared, and a
            # workflow left without a worker would hold a timer's workflow task forever.
            await client.get_workflow_handle(f"identification-{case_id}").terminate()
    finally:
        await app.state.engine.dispose()
        await engine.dispose()

    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}
    start = by_name["StartWorkflow:IdentificationWorkflow"]
    assert {
        "RunWorkflow:IdentificationWorkflow",
        "StartActivity:open_task",
        "RunActivity:open_task",
    } <= set(by_name)
    # One trace: the API's start, the workflow, the activity.
    workflow_id = f"identification-{case_id}"
    assert start.attributes is not None and start.attributes["temporalWorkflowID"] == workflow_id
    for name in ("RunWorkflow:IdentificationWorkflow", "RunActivity:open_task"):
        span = by_name[name]
        assert span.context is not None and start.context is not None
        assert span.context.trace_id == start.context.trace_id, name
    assert start.resource.attributes["service.name"] == "yuanzhu-test"
