"""Backup and restore as docs/operations.md §5 describes, on a running system: the app database
(SQLite with ``sqlite3 .backup``, or PostgreSQL with ``pg_dump -Fc``) first, then Temporal's
(the dev server's SQLite file, ``sqlite3 .backup``), both taken while the worker and API run.
The materials' files (docs/operations.md §5.6) are copied after the app database's backup. The
lot is restored on a "new machine" (new files, a new database, new ports) and started: every
case is there with its tasks, every workflow is still running with the same timers pending at
the same instants, a material handed in before the backup is served byte for byte and
``yuanzhu files check`` finds every file, and a decision taken after the restore moves its case
on."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from temporalio.client import Client

from infra.temporal_client import DATA_CONVERTER
from tests.conftest import PG_ADMIN_URL, fresh_postgres_database
from tests.factories import application
from tests.materials_support import jpeg
from tests.reliability.faults import Client as Http, DevServer, approve
from tests.stack import Topology, free_port, prepare_database, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.smoke]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'live' / 'yuanzhu.db'}"
        return
    with fresh_postgres_database("backup") as url:
        yield url


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _sqlite_file(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(_sqlite_file(url)) as conn:
            return list(conn.execute(sql).fetchall())
    with psycopg.connect(_libpq(url)) as conn:
        return list(conn.execute(sql).fetchall())


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _backup_app(url: str, into: Path) -> Path:
    if url.startswith("sqlite"):
        _run("sqlite3", str(_sqlite_file(url)), f".backup {into / 'yuanzhu.db'}")
        return into / "yuanzhu.db"
    _run("pg_dump", "-Fc", "-f", str(into / "yuanzhu.dump"), _libpq(url))
    return into / "yuanzhu.dump"


def _restore_app(url: str, dump: Path, new_dir: Path) -> tuple[str, str | None]:
    """The app database restored from ``dump``; its URL and (PostgreSQL) the database to drop."""
    if url.startswith("sqlite"):
        target = new_dir / "yuanzhu.db"
        target.write_bytes(dump.read_bytes())
        return f"sqlite+aiosqlite:///{target}", None
    name = f"restored_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    restored = url.rsplit("/", 1)[0] + f"/{name}"
    _run("pg_restore", "--exit-on-error", "--no-owner", "-d", _libpq(restored), str(dump))
    return restored, name


async def _running(address: str) -> dict[str, list[datetime]]:
    """Every running workflow and the instants its pending timers fire (from its history)."""
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    out: dict[str, list[datetime]] = {}
    async for wf in client.list_workflows("ExecutionStatus='Running'"):
        pending: dict[str, datetime] = {}
        async for event in client.get_workflow_handle(wf.id).fetch_history_events():
            if event.HasField("timer_started_event_attributes"):
                a = event.timer_started_event_attributes
                pending[a.timer_id] = event.event_time.ToDatetime() + timedelta(
                    seconds=a.start_to_fire_timeout.ToTimedelta().total_seconds()
                )
            elif event.HasField("timer_fired_event_attributes"):
                pending.pop(event.timer_fired_event_attributes.timer_id, None)
            elif event.HasField("timer_canceled_event_attributes"):
                pending.pop(event.timer_canceled_event_attributes.timer_id, None)
        out[wf.id] = sorted(pending.values())
    return out


async def _quiet(address: str, expected: int) -> bool:
    """Whether ``expected`` workflows run and each one waits: no activity and no workflow task
    pending, so its timers are all set and its rows written."""
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    running = [wf async for wf in client.list_workflows("ExecutionStatus='Running'")]
    if len(running) != expected:
        return False
    for wf in running:
        raw = (await client.get_workflow_handle(wf.id).describe()).raw_description
        if raw.pending_activities or raw.HasField("pending_workflow_task"):
            return False
    return True


def _state(url: str) -> dict[str, Any]:
    cases = dict(_rows(url, "SELECT id, status FROM cases"))
    tasks = sorted(_rows(url, "SELECT id, kind, state FROM tasks"))
    return {"cases": cases, "tasks": tasks}


def _review_task(url: str, case_id: str) -> str | None:
    rows = _rows(
        url, f"SELECT id FROM tasks WHERE case_id = '{case_id}' AND kind = 'immediate_conclusion'"
    )
    return rows[0][0] if rows else None


def _approve(http: Http, url: str, case_id: str) -> None:
    """The reviewer approves the case at its immediate conclusion (once its task is there)."""
    task = wait_until(lambda: _review_task(url, case_id), 60, f"the review of {case_id}")
    approve(http, task, key=f"k-{case_id}")


def _hand_in(http: Http, base: str, case_id: str) -> dict[str, Any]:
    """A photo handed in at the counter for the case's ID card (the county reviewer, whose
    office holds the case)."""
    r = httpx.post(
        f"{base}/api/v1/cases/{case_id}/materials",
        headers={"Authorization": f"Bearer {http.token('wf_reviewer')}"},
        data={"evidence_code": "id_card", "source": "counter"},
        files={"file": ("身份证.jpg", jpeg(640, 480, orientation=6), "image/jpeg")},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    material: dict[str, Any] = r.json()
    return material


def _file(http: Http, base: str, url: str) -> bytes:
    r = httpx.get(
        f"{base}{url}",
        headers={"Authorization": f"Bearer {http.token('wf_reviewer')}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return r.content


def _files_check(top: Topology) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli", "files", "check"],
        env=top.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _start(tmp: Path, url: str, temporal_db: Path) -> tuple[DevServer, Topology]:
    server = DevServer(temporal_db, free_port(), tmp / "temporal.log")
    server.start()
    top = Topology(tmp, url, f"127.0.0.1:{server.port}", workers=1, apis=1, task_queue="backup")
    top.start_all()
    return server, top


async def test_restore_finds_every_case_and_timer(tmp_path: Path, app_database: str) -> None:
    live, backup, new = (tmp_path / d for d in ("live", "backup", "new"))
    for d in (live, backup, new):
        d.mkdir()
    await asyncio.to_thread(prepare_database, app_database)
    server, top = await asyncio.to_thread(_start, live, app_database, live / "temporal.db")
    http = Http(top.bases[0])
    address = f"127.0.0.1:{server.port}"
    case_ids = []
    try:
        for _ in range(6):
            status, body = await asyncio.to_thread(
                http.call, "POST", "/api/v1/applications", application("weifang-2023")
            )
            assert status == 201, body
            case_ids.append(body["case_id"])
        # Half of them identified: their assistance runs with the plan task's clocks; the
        # others wait at the review with the identification deadline running.
        for case_id in case_ids[:3]:
            await asyncio.to_thread(_approve, http, app_database, case_id)
        material = await asyncio.to_thread(_hand_in, http, top.bases[0], case_ids[4])
        served = await asyncio.to_thread(_file, http, top.bases[0], material["file_url"])
        await asyncio.to_thread(
            wait_until,
            lambda: len(_rows(app_database, "SELECT id FROM tasks")) == 9,
            60,
            "every case's task",
        )
        # Three identifications still waiting at the review, three assistances (the approved
        # cases' identifications have ended). The snapshot is taken once every workflow is
        # waiting (no activity or workflow task pending): an assistance sets its later clocks
        # only after its plan task is stored, so "some timer set" is not yet "every timer".
        deadline = time.monotonic() + 60
        while not await _quiet(address, 6):
            assert time.monotonic() < deadline, await _running(address)
            await asyncio.sleep(0.25)  # polling the workflows until each one waits
        before_db = _state(app_database)
        before_timers = await _running(address)
        # The backup, while everything runs: the app database first, then the files (every
        # file a dumped row names was stored before the dump), then Temporal's.
        app_dump = await asyncio.to_thread(_backup_app, app_database, backup)
        await asyncio.to_thread(
            shutil.copytree, Path(top.env["YUANZHU_DATA_DIR"]) / "files", backup / "files"
        )
        await asyncio.to_thread(
            _run, "sqlite3", str(live / "temporal.db"), f".backup {backup / 'temporal.db'}"
        )
    finally:
        await asyncio.to_thread(top.stop_all)
        server.stop()

    # The new machine: the two backups restored, everything started on new ports.
    restored_url, drop = await asyncio.to_thread(_restore_app, app_database, app_dump, new)
    (new / "temporal.db").write_bytes((backup / "temporal.db").read_bytes())
    shutil.copytree(backup / "files", new / "files")
    server, top = await asyncio.to_thread(_start, new, restored_url, new / "temporal.db")
    try:
        assert _state(restored_url) == before_db
        assert await _running(f"127.0.0.1:{server.port}") == before_timers
        http = Http(top.bases[0])
        # The material's file is back, byte for byte, and nothing a material names is missing.
        assert Path(top.env["YUANZHU_DATA_DIR"]) == new
        assert await asyncio.to_thread(_file, http, top.bases[0], material["file_url"]) == served
        assert "files intact: 2 named by materials" in await asyncio.to_thread(_files_check, top)
        # The restored workflows take decisions: a waiting review completed now moves its case.
        case_id = case_ids[3]
        await asyncio.to_thread(_approve, http, restored_url, case_id)
        await asyncio.to_thread(
            wait_until,
            lambda: _rows(
                restored_url,
                f"SELECT id FROM tasks WHERE case_id = '{case_id}' AND kind = 'assistance_plan'",
            ),
            60,
            "the plan task after the restore",
        )
    finally:
        await asyncio.to_thread(top.stop_all)
        server.stop()
        if drop:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{drop}" WITH (FORCE)')
