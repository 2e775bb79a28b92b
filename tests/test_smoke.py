"""Command one for real: `yuanzhu up` in a subprocess on free ports and a temporary data
directory; wait for /healthz, submit an application, see its task in the officer's inbox,
stop with Ctrl-C (SIGINT), start again and find the case and its task still there."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.factories import application
from worker.demo import DEMO_PASSWORD

pytestmark = pytest.mark.smoke


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            ctype = resp.headers.get("content-type", "")
            return resp.status, json.loads(raw) if "json" in ctype else raw.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Stack:
    def __init__(self, data_dir: Path) -> None:
        self.api_port, self.t_port, self.ui_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.env = {
            **os.environ,
            "YUANZHU_DATA_DIR": str(data_dir),
            "YUANZHU_BIND_PORT": str(self.api_port),
            "YUANZHU_TEMPORAL_PORT": str(self.t_port),
            "YUANZHU_TEMPORAL_UI_PORT": str(self.ui_port),
            "YUANZHU_TEMPORAL_ADDRESS": f"127.0.0.1:{self.t_port}",
            "YUANZHU_TEMPORAL_UI_URL": f"http://127.0.0.1:{self.ui_port}",
        }
        self.env.pop("YUANZHU_DATABASE_URL", None)
        self.log = data_dir / "up.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "up"],
            env=self.env,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the child keeps it
            stderr=subprocess.STDOUT,
        )
        wait_until(
            lambda: (
                self._alive()
                and "Press Ctrl-C" in self.log.read_text()
                and call("GET", f"{self.base}/healthz")[0] == 200
            ),
            120,
            "/healthz",
        )

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"yuanzhu up exited:\n{self.log.read_text()}")
        return True

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)

    def token(self, user: str) -> str:
        status, body = call(
            "POST",
            f"{self.base}/api/v1/auth/token",
            form={"username": user, "password": DEMO_PASSWORD},
        )
        assert status == 200, body
        return str(body["access_token"])


def test_command_one_runs_stops_and_resumes(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    stack.start()
    try:
        output = stack.log.read_text()
        assert f"{stack.base}/docs" in output and f"127.0.0.1:{stack.ui_port}" in output
        status, page = call("GET", f"{stack.base}/login")
        assert status == 200 and "登录" in page
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
