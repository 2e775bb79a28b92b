"""The fault injectors of the reliability suite, and the client that lives through them.

- :class:`TcpProxy` stands between the processes and PostgreSQL; ``outage()`` cuts every open
  connection and refuses new ones until it ends — the database "unavailable for a while"
  without stopping the PostgreSQL server other tests share.
- :class:`DevServer` is the Temporal dev server persisted in a SQLite file, restartable on the
  same port (SIGTERM or SIGKILL) with all its workflows, timers and task queues.
- :class:`Client` is an integrator that retries what the system says to retry (503, a dropped
  connection) with the same Idempotency-Key, and counts every answer by status.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.stack import call, wait_until
from worker.demo import DEMO_PASSWORD
from worker.supervisor import dev_server_argv


class TcpProxy:
    """A TCP relay from a free local port to ``target``; can cut the line for a while."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._down = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.cut = 0  # connections cut by outages
        self.refused = 0  # connections refused during outages
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self._down.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
                with self._lock:
                    self._open.discard(s)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The database is unreachable inside the block: open connections are cut at once and
        new ones are refused until the block ends."""
        self._down.set()
        with self._lock:
            victims = list(self._open)
        self.cut += len(victims) // 2
        for s in victims:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        try:
            yield
        finally:
            self._down.clear()

    def close(self) -> None:
        self.listener.close()


class DevServer:
    """``temporal server start-dev`` persisted in ``db``; restart keeps every workflow."""

    def __init__(self, db: Path, port: int, log: Path) -> None:
        self.db, self.port, self.log = db, port, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            dev_server_argv(self.db, self.port),
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the child keeps it
            stderr=subprocess.STDOUT,
        )
        wait_until(self._listening, 60, "the Temporal dev server")

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"temporal exited:\n{self.log.read_text()[-2000:]}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, *, kill: bool = False) -> None:
        assert self.proc is not None
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait(60)

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()
        self.restarts += 1


RETRY = {502, 503, 504}


class Client:
    """HTTP calls that retry, with the same Idempotency-Key, what the system says is passing:
    503 (database or Temporal unavailable) and dropped connections — as an integrator would."""

    def __init__(self, base: str, *, patience: float = 300) -> None:
        self.base = base
        self.patience = patience
        self.answers: Counter[int] = Counter()  # every answer by status (0: no answer)
        self.retries = 0
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._login_lock = threading.Lock()

    def _count(self, status: int) -> None:
        with self._lock:
            self.answers[status] += 1

    def token(self, user: str) -> str:
        # One login per account, however many threads want it at once: one token serves them
        # all (a burst of right logins is not throttled, application/throttle.py, but each
        # costs a slow password check).
        with self._login_lock:
            if user not in self._tokens:
                status, body = self.call(
                    "POST",
                    "/api/v1/auth/token",
                    form={"username": user, "password": DEMO_PASSWORD},
                )
                assert status == 200, body
                self._tokens[user] = str(body["access_token"])
            return self._tokens[user]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str | None = None,
        key: str | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        deadline = time.monotonic() + self.patience
        delay = 0.2
        while True:
            headers = {"Idempotency-Key": key} if key else {}
            token = self.token(user) if user else None
            try:
                status, answer = call(
                    method, f"{self.base}{path}", body, token=token, form=form, headers=headers
                )
            except (urllib.error.URLError, OSError, ValueError):
                status, answer = 0, None  # no answer: the connection dropped
            self._count(status)
            if status and status not in RETRY:
                return status, answer
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path}: still {status} after {self.patience}s")
            with self._lock:
                self.retries += 1
            time.sleep(delay)  # the client's back-off between retries, not a synchronisation
            delay = min(delay * 2, 3.0)


APPROVE = {"outcome": "approve", "fields": {"category": "older_unemployed"}}


def approve(client: Client, task_id: str, key: str) -> None:
    """The reviewer approves the case at its immediate conclusion (weifang's review task)."""
    status, answer = client.call(
        "POST", f"/api/v1/tasks/{task_id}/complete", APPROVE, user="wf_reviewer", key=key
    )
    assert status == 200, answer
