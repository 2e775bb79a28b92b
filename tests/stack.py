"""The whole system as a newcomer starts it: `yuanzhu up` in a subprocess on free ports with a
temporary data directory (SQLite by default, or a given database URL), and plain HTTP calls to
it. Used by the smoke test and the API fuzz run."""

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

from worker.demo import DEMO_PASSWORD


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
    """`yuanzhu up` on free ports; ``database_url`` None means the embedded SQLite default."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
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
        if database_url:
            self.env["YUANZHU_DATABASE_URL"] = database_url
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
