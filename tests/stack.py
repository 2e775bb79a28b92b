"""The whole system as a newcomer starts it: `yuanzhu up` in a subprocess on free ports with a
temporary data directory (SQLite by default, or a given database URL), and plain HTTP calls to
it. Used by the smoke test and the API fuzz run."""

from __future__ import annotations

import asyncio
import itertools
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from infra.mail import SmtpConfig
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import User
from store.outbound_settings import save_smtp_config
from store.settings import Settings
from worker.demo import DEMO_PASSWORD, seed_demo

# The stacks' tests submit many anonymous applications from 127.0.0.1 (the limits have their
# own tests, tests/api/test_application_limits.py).
UNLIMITED_APPLICATIONS = {
    "YUANZHU_APPLICATION_LIMIT_PER_ADDRESS": "1000000/second",
    "YUANZHU_APPLICATION_LIMIT_PER_ID_NUMBER": "1000000/second",
}


def _port_block() -> range:
    """This test process's own ports: below the kernel's ephemeral range (32768 and up), where
    no outgoing connection takes a port between the moment a test picks it and the moment its
    server binds it, and a block of its own per xdist process, so that two never pick alike."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    block = int(worker) if worker.isdigit() else 0
    start = 20000 + (block % 8) * 1500
    return range(start, start + 1500)


_ports = itertools.cycle(_port_block())


def free_port() -> int:
    """A port nothing listens on now, which no other test of this run will pick."""
    for _ in range(2000):
        port = next(_ports)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left in this test process's block")


def call(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    payload: tuple[bytes, str] | None = None,
) -> tuple[int, Any]:
    """One HTTP call: a JSON ``body``, a urlencoded ``form`` or a ready ``payload`` (bytes,
    content type: a multipart upload); the status and the answer (JSON decoded)."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if payload is not None:
        data, headers["Content-Type"] = payload
    elif form is not None:
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


def login(base: str, user: str) -> str:
    """A bearer token for the demo account ``user`` from the API at ``base``."""
    status, body = call(
        "POST",
        f"{base}/api/v1/auth/token",
        form={"username": user, "password": DEMO_PASSWORD},
    )
    assert status == 200, body
    return str(body["access_token"])


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
            **UNLIMITED_APPLICATIONS,
        }
        # The address and the UI link follow the ports, as for a newcomer who moves them.
        for name in ("YUANZHU_DATABASE_URL", "YUANZHU_TEMPORAL_ADDRESS", "YUANZHU_TEMPORAL_UI_URL"):
            self.env.pop(name, None)
        if database_url:
            self.env["YUANZHU_DATABASE_URL"] = database_url
        self.log = data_dir / "up.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "worker.cli", "up"],
                env=self.env,
                stdout=log,
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
        return login(self.base, user)


class Topology:
    """The production topology on one machine, without Docker: ``workers`` worker processes and
    ``apis`` API processes (``yuanzhu worker`` / ``yuanzhu api``) against one Temporal address
    and one database that the caller migrated. Each process logs to its own file in ``logs``."""

    def __init__(
        self,
        logs: Path,
        database_url: str,
        temporal_address: str,
        *,
        workers: int = 2,
        apis: int = 2,
        task_queue: str | None = None,
    ) -> None:
        self.logs = logs
        self.env = {
            **os.environ,
            "YUANZHU_DATA_DIR": str(logs),
            "YUANZHU_DATABASE_URL": database_url,
            "YUANZHU_TEMPORAL_ADDRESS": temporal_address,
            "YUANZHU_TEMPORAL_TASK_QUEUE": task_queue or f"scale-{os.getpid()}-{free_port()}",
            **UNLIMITED_APPLICATIONS,
        }
        self.api_ports = [free_port() for _ in range(apis)]
        self.bases = [f"http://127.0.0.1:{port}" for port in self.api_ports]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.names = [f"worker-{i}" for i in range(workers)] + [f"api-{i}" for i in range(apis)]

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, name: str) -> None:
        """Start one process (``worker-N`` or ``api-N``) and wait until it serves."""
        kind, index = name.split("-")
        env = dict(self.env)
        if kind == "api":
            env["YUANZHU_BIND_PORT"] = str(self.api_ports[int(index)])
        seen = self.log(name).read_text() if self.log(name).exists() else ""
        with open(self.log(name), "ab") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "worker.cli", kind],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if kind == "api":
            base = self.bases[int(index)]
            wait_until(
                lambda: self._alive(name) and call("GET", f"{base}/healthz")[0] == 200,
                60,
                f"{name} /healthz",
            )
        else:
            wait_until(
                # After a restart the log holds the last run's lines too: look past them.
                lambda: (
                    self._alive(name)
                    and "worker polling" in self.log(name).read_text()[len(seen) :]
                ),
                60,
                f"{name} polling",
            )

    def start_all(self) -> None:
        for name in self.names:
            self.start(name)

    def _alive(self, name: str) -> bool:
        if self.procs[name].poll() is not None:
            raise AssertionError(f"{name} exited:\n{self.log(name).read_text()}")
        return True

    def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to finish anything (a crash, an OOM kill)."""
        self.procs[name].kill()
        self.procs[name].wait(30)

    def stop_all(self) -> dict[str, int]:
        """SIGTERM to every running process; their exit codes."""
        running = {n: p for n, p in self.procs.items() if p.poll() is None}
        for proc in running.values():
            proc.send_signal(signal.SIGTERM)
        return {name: proc.wait(60) for name, proc in running.items()}

    def token(self, user: str, api: int = 0) -> str:
        return login(self.bases[api], user)


def prepare_database(database_url: str, smtp_port: int | None = None) -> None:
    """Migrate and seed the demo accounts, as the compose file's one-shot step does; with
    ``smtp_port`` every user gets an e-mail address and notifications go out to that relay."""
    settings = Settings(database_url=database_url)
    upgrade(settings)

    async def seed() -> None:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await seed_demo(session)
                if smtp_port is not None:
                    await session.execute(
                        update(User).values(email=User.username + "@rsj.example.cn")
                    )
                    await save_smtp_config(
                        session,
                        SmtpConfig(True, "127.0.0.1", smtp_port, "yuanzhu@rsj.example.cn"),
                        by="test",
                        now=datetime.now(UTC),
                    )
        finally:
            await engine.dispose()

    asyncio.run(seed())
