"""Command one for real: `yuanzhu up` in a subprocess on free ports and a temporary data
directory; wait for /healthz, submit an application, see its task in the officer's inbox,
stop with Ctrl-C (SIGINT), start again and find the case and its task still there."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.heap import API_YOUNG_GENERATION
from tests.factories import application
from tests.stack import Stack, call, wait_until

pytestmark = pytest.mark.smoke


def test_command_one_runs_stops_and_resumes(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    stack.start()
    try:
        output = stack.log.read_text()
        assert f"{stack.base}/docs" in output and f"127.0.0.1:{stack.ui_port}" in output
        status, page = call("GET", f"{stack.base}/login")
        assert status == 200 and "登录" in page
        # Each process froze what its start-up made before serving; only the API widened its
        # young generation, the worker's sandboxes being cycles (infra/heap.py, #22).
        widened = f"young generation every {API_YOUNG_GENERATION} allocations"
        for process, widens in (("api", True), ("worker", False)):
            log = tmp_path / "log" / f"{process}.log"
            wait_until(
                lambda log=log: "start-up objects frozen" in log.read_text(),
                60,
                f"the {process}'s collector settled",
            )
            assert (widened in log.read_text()) is widens, process
        # A Jilin case: acceptance, then initial review at the street (吉人社发〔2022〕10号 二).
        body = application("jilin-2022")
        status, created = call("POST", f"{stack.base}/api/v1/applications", body)
        assert status == 201, created
        case_id = created["case_id"]
        token = stack.token("jl_officer")

        def task(kind: str) -> Any:
            _, page = call("GET", f"{stack.base}/api/v1/tasks?kind={kind}", token=token)
            return next((t for t in page["items"] if t["case_id"] == case_id), None)

        first = wait_until(lambda: task("acceptance"), 60, "the acceptance task")
        assert stack.stop() == 0
        assert (tmp_path / "temporal.db").exists() and (tmp_path / "yuanzhu.db").exists()

        stack.start()  # resume: same files
        token = stack.token("jl_officer")
        assert task("acceptance")["id"] == first["id"]
        status, done = call(
            "POST",
            f"{stack.base}/api/v1/tasks/{first['id']}/complete",
            {"outcome": "accept"},
            token=token,
        )
        assert status == 200, done  # the workflow survived the restart and took the update
        assert wait_until(lambda: task("initial_review"), 60, "the initial review task")
    finally:
        if stack.proc and stack.proc.poll() is None:
            assert stack.stop() == 0


def test_port_in_use_gets_a_clear_message(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", stack.api_port))
        s.listen()
        result = subprocess.run(
            [sys.executable, "-m", "worker.cli", "up"],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"port {stack.api_port}" in result.stderr and "already in use" in result.stderr
    assert "Traceback" not in result.stderr
