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
import hashlib
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
        with open(self.log, "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                dev_server_argv(self.db, self.port), stdout=log, stderr=subprocess.STDOUT
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
        payload: tuple[bytes, str] | None = None,
    ) -> tuple[int, Any]:
        deadline = time.monotonic() + self.patience
        delay = 0.2
        while True:
            headers = {"Idempotency-Key": key} if key else {}
            token = self.token(user) if user else None
            try:
                status, answer = call(
                    method,
                    f"{self.base}{path}",
                    body,
                    token=token,
                    form=form,
                    headers=headers,
                    payload=payload,
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


def multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one part ``file``, and its type."""
    boundary = f"yuanzhu-{hashlib.sha256(data).hexdigest()[:24]}"
    out = b""
    for name, value in fields.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{file_name}"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    out += data + f"\r\n--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def upload_visit_photo(client: Client, case_id: str, data: bytes) -> None:
    """A visit photo for the case (the reviewer's, who may hand one in too), retried as any
    call (an upload is idempotent by its content: the same bytes again are the row already
    held, 200)."""
    status, answer = client.call(
        "POST",
        f"/api/v1/cases/{case_id}/materials",
        payload=multipart({"evidence_code": "visit_photo", "source": "officer"}, "门口.jpg", data),
        user="wf_reviewer",
    )
    assert status in (200, 201), answer


def file_invariants(files_root: Path, rows: list[tuple[str, str, str, str | None]]) -> list[str]:
    """What is wrong with the materials after a run (empty when nothing): a row whose file
    (or preview) is missing from the store or whose bytes do not hash to its name, and two
    rows for the same (case, evidence code, hash). ``rows``: (case, code, content hash,
    preview hash)."""
    stored = {p.name: p for p in files_root.rglob("*") if p.is_file()}
    wrong = []
    seen: set[tuple[str, str, str]] = set()
    for case_id, code, digest, preview in rows:
        if (case_id, code, digest) in seen:
            wrong.append(f"{case_id}: two rows for {code} {digest}")
        seen.add((case_id, code, digest))
        for name in (digest, preview):
            if name is None:
                continue
            path = stored.get(name)
            if path is None:
                wrong.append(f"{case_id}: {name} missing from the store")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != name:
                wrong.append(f"{case_id}: {name} does not hash to its name")
    return wrong
