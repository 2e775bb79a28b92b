"""Where the worker's metrics endpoint listens: ``YUANZHU_WORKER_METRICS_PORT`` as set, and
under ``yuanzhu up`` a known port when unset; a port in use is said in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.metrics import worker_metrics_address
from store.migrate import upgrade
from tests.conftest import make_settings
from tests.stack import free_port
from worker import supervisor
from worker.run import StartupError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _settings(tmp_path: Path, **extra: object):  # type: ignore[no-untyped-def]
    return make_settings(f"sqlite+aiosqlite:///{tmp_path / 'y.db'}", tmp_path, **extra)


def test_worker_metrics_address_follows_the_settings(tmp_path: Path) -> None:
    assert worker_metrics_address(_settings(tmp_path)) is None
    assert worker_metrics_address(_settings(tmp_path, worker_metrics_port=0)) is None
    on = _settings(tmp_path, worker_metrics_port=9999, bind_host="0.0.0.0")
    assert worker_metrics_address(on) == "0.0.0.0:9999"


def test_up_turns_worker_metrics_on_at_the_known_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setattr(supervisor, "UP_WORKER_METRICS_PORT", port)
    said: list[str] = []
    assert supervisor._worker_metrics_port(_settings(tmp_path), said.append) == port
    assert said == []


def test_up_goes_on_without_worker_metrics_when_the_known_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held_port: int
) -> None:
    monkeypatch.setattr(supervisor, "UP_WORKER_METRICS_PORT", held_port)
    said: list[str] = []
    assert supervisor._worker_metrics_port(_settings(tmp_path), said.append) == 0
    assert said == [
        f"worker metrics off: port {held_port} is in use (set YUANZHU_WORKER_METRICS_PORT)"
    ]


def test_up_refuses_a_chosen_port_in_use_and_honours_0(tmp_path: Path, held_port: int) -> None:
    with pytest.raises(StartupError, match=f"port {held_port} .*YUANZHU_WORKER_METRICS_PORT"):
        supervisor._worker_metrics_port(_settings(tmp_path, worker_metrics_port=held_port), print)
    assert supervisor._worker_metrics_port(_settings(tmp_path, worker_metrics_port=0), print) == 0


def test_worker_with_its_metrics_port_in_use_stops_with_one_line(
    tmp_path: Path, held_port: int
) -> None:
    """Before connecting to Temporal (nothing listens at the address given here)."""
    upgrade(_settings(tmp_path))
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUANZHU_")}
    env.update(
        YUANZHU_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'y.db'}",
        YUANZHU_DATA_DIR=str(tmp_path),
        YUANZHU_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        YUANZHU_WORKER_METRICS_PORT=str(held_port),
        YUANZHU_LOG_FORMAT="json",
    )
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: port {held_port} on 127.0.0.1 is already in use, so the worker metrics "
        "endpoint cannot start (is another yuanzhu running?); stop it or set "
        "YUANZHU_WORKER_METRICS_PORT to another port"
    )
