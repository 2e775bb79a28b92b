"""The worker and the API run on uvloop, the API with httptools' parser (#22): both are
dependencies, so these choices are the ones every installation makes."""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from worker.run import run_on_fast_loop


def test_the_worker_runs_on_uvloop() -> None:
    async def loop_module() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert run_on_fast_loop(loop_module()).startswith("uvloop")


def test_the_api_is_served_on_uvloop_with_httptools() -> None:
    # run_api leaves uvicorn's loop and parser at "auto": the fast ones when installed.
    config = uvicorn.Config(app=lambda *_: None)
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
