"""The worker's metrics behind the metrics token (#20 §9): a real `yuanzhu worker` with
``YUANZHU_METRICS_TOKEN`` set answers its metrics port only to a scraper sending the token
(401 otherwise), serves the SDK's metrics to it, and still stops with exit code 0."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from tests.reliability.faults import DevServer
from tests.reliability.report import tally
from tests.stack import Topology, free_port, prepare_database

TOKEN = "scrape-5b1e0d7c"


def _scrape(port: int, authorization: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_the_workers_metrics_answer_only_the_token(tmp_path: Path) -> None:
    dev = DevServer(tmp_path / "temporal.db", free_port(), tmp_path / "temporal.log")
    dev.start()
    try:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'yuanzhu.db'}"
        prepare_database(database_url)
        top = Topology(tmp_path, database_url, f"127.0.0.1:{dev.port}", workers=1, apis=0)
        port = free_port()
        top.env["YUANZHU_WORKER_METRICS_PORT"] = str(port)
        top.env["YUANZHU_METRICS_TOKEN"] = TOKEN
        top.start("worker-0")  # returns once the worker polls its task queue
        try:
            for authorization in (None, "Bearer wrong", TOKEN, f"Basic {TOKEN}"):
                status, _ = _scrape(port, authorization)
                assert status == 401, authorization
                tally("security", "metrics scrapes refused without the metrics token", 1)
            status, body = _scrape(port, f"Bearer {TOKEN}")
            assert status == 200 and "temporal_" in body, body[:500]
        finally:
            codes = top.stop_all()
        assert codes["worker-0"] == 0, top.log("worker-0").read_text()[-3000:]
    finally:
        dev.stop()
