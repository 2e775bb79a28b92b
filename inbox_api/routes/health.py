"""GET /healthz: database and Temporal reachability (503 when either is down)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    database = "ok"
    try:
        async with state.sessions() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), timeout=5)
    except Exception as exc:  # reported, not raised: this endpoint exists to say what is down
        database = f"unreachable: {type(exc).__name__}"
    temporal = "ok"
    client = await state.temporal.get()
    if client is None:
        temporal = "unreachable"
    else:
        try:
            await asyncio.wait_for(client.service_client.check_health(), timeout=5)
        except Exception as exc:
            temporal = f"unreachable: {type(exc).__name__}"
    ok = database == "ok" and temporal == "ok"
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": database, "temporal": temporal},
        status_code=200 if ok else 503,
    )
