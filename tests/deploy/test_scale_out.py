"""Scale-out on one machine: two workers and two API processes (``yuanzhu worker`` /
``yuanzhu api``, exactly as the compose file runs them) against one Temporal and one
PostgreSQL database.

- On the Temporal dev server: every application submitted twice at once, once to each API,
  makes one case; every task completed at once through both APIs is applied once (one 200, one
  409), a retry of the winner through the *other* API gets the first answer; each case then has
  exactly one next task, one completion event, and nothing else open twice.
- On the time-skipping test server (the only way to let the SLA clocks run out in a test): the
  same topology with the clock skipped past every deadline; each breach is recorded once, each
  escalation task opened once per level, each notification sent once, though both workers poll
  the same queue while the timers fire.

Both workers and both APIs then stop on SIGTERM with exit code 0."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from temporalio.testing import WorkflowEnvironment

from infra.temporal_client import DATA_CONVERTER
from tests.activities.test_outbound import SmtpSink
from tests.conftest import fresh_postgres_database
from tests.factories import application
from tests.reliability.faults import DevServer
from tests.stack import Topology, call, free_port, prepare_database, wait_until
from tests.time_skip import skip
from worker.binaries import find_binary

# Many processes each (Makefile): never beside another such run.
pytestmark = [pytest.mark.postgres, pytest.mark.smoke, pytest.mark.xdist_group("stacks")]

CASES = 24
APPROVE = {"outcome": "approve", "fields": {"category": "older_unemployed"}}


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_postgres_database("scaleout") as url:
        yield url


def _rows(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return list(conn.execute(sql, params).fetchall())


def _in_parallel(calls: list[Any], threads: int = 16) -> list[Any]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda f: f(), calls))


def _open_task(top: Topology, token: str, case_id: str, kind: str, api: int) -> Any:
    _, page = call("GET", f"{top.bases[api]}/api/v1/tasks?kind={kind}&limit=100", token=token)
    return next((t for t in page["items"] if t["case_id"] == case_id), None)


def _submit_twice(top: Topology) -> list[str]:
    """Each application at once to both APIs (a double submission across processes): one
    case per person. Half are sent without a key: the other answer is the generic 409, which
    names no case (#20 §1); half under one Idempotency-Key: both answers are 201 naming the
    one case."""
    bodies = [application("weifang-2023") for _ in range(CASES)]

    keys = {i: uuid.uuid4().hex for i in range(CASES)}
    answers = _in_parallel(
        [
            (
                lambda i=i, b=body, api=api: call(
                    "POST",
                    f"{top.bases[api]}/api/v1/applications",
                    b,
                    headers={"Idempotency-Key": keys[i]} if i % 2 else None,
                )
            )
            for i, body in enumerate(bodies)
            for api in (0, 1)
        ]
    )
    case_ids = []
    for i, pair in enumerate(zip(answers[::2], answers[1::2], strict=True)):
        statuses = sorted(status for status, _ in pair)
        created = next(body for status, body in pair if status == 201)
        if i % 2:
            assert statuses == [201, 201], pair
            assert pair[0][1]["case_id"] == pair[1][1]["case_id"], pair
        else:
            assert statuses == [201, 409], pair
            refused = next(body for status, body in pair if status == 409)
            assert refused["type"] == "/problems/application-not-accepted", refused
            assert "case_id" not in refused and created["case_id"] not in str(refused), refused
        case_ids.append(created["case_id"])
    return case_ids


def _complete_through_both(top: Topology, token: str, task_id: str) -> dict[str, Any]:
    """One completion per API at the same moment, each with its own Idempotency-Key."""
    keys = [f"{task_id}-{api}-{uuid.uuid4().hex[:6]}" for api in (0, 1)]
    answers = _in_parallel(
        [
            (
                lambda api=api: call(
                    "POST",
                    f"{top.bases[api]}/api/v1/tasks/{task_id}/complete",
                    APPROVE,
                    token=token,
                    headers={"Idempotency-Key": keys[api]},
                )
            )
            for api in (0, 1)
        ],
        threads=2,
    )
    assert sorted(status for status, _ in answers) == [200, 409], answers
    winner = next(api for api, (status, _) in enumerate(answers) if status == 200)
    assert answers[1 - winner][1]["type"] == "/problems/task-closed", answers
    # The winner retries through the other process: the stored first answer, not a new effect.
    again = call(
        "POST",
        f"{top.bases[1 - winner]}/api/v1/tasks/{task_id}/complete",
        APPROVE,
        token=token,
        headers={"Idempotency-Key": keys[winner]},
    )
    assert again == answers[winner], (again, answers[winner])
    return dict(answers[winner][1])


def _assert_nothing_doubled(database_url: str, case_ids: list[str]) -> None:
    assert _rows(database_url, "SELECT count(*) FROM cases")[0][0] == len(case_ids)
    doubled = _rows(
        database_url,
        "SELECT case_id, kind, count(*) FROM tasks WHERE state = 'open' "
        "AND kind <> 'escalation' GROUP BY case_id, kind HAVING count(*) > 1",
    )
    assert doubled == []
    completions = _rows(
        database_url,
        "SELECT case_id, count(*) FROM case_events WHERE kind = 'task_completed' GROUP BY case_id",
    )
    assert sorted(completions) == sorted((c, 1) for c in case_ids)


def _stop(top: Topology) -> None:
    """SIGTERM stops everything cleanly: the workers exit 0; uvicorn finishes its graceful
    shutdown and then re-raises the signal, so an API process reports -SIGTERM (exit 143 under
    Docker), which is its clean stop."""
    codes = top.stop_all()
    clean = {name: -signal.SIGTERM if name.startswith("api") else 0 for name in top.names}
    assert codes == clean, {
        name: top.log(name).read_text()[-2000:] for name, code in codes.items() if code
    }


def test_two_workers_two_apis_on_the_dev_server(tmp_path: Path, database_url: str) -> None:
    prepare_database(database_url)
    server = DevServer(tmp_path / "temporal.db", free_port(), tmp_path / "temporal.log")
    server.start()
    top = Topology(tmp_path, database_url, f"127.0.0.1:{server.port}")
    try:
        top.start_all()
        case_ids = _submit_twice(top)
        # A token from one API process is honoured by the other (one secret, no sticky sessions).
        token = top.token("wf_reviewer", api=0)
        tasks = _in_parallel(
            [
                (
                    lambda c=c, i=i: wait_until(
                        lambda: _open_task(top, token, c, "immediate_conclusion", (i + 1) % 2),
                        90,
                        f"the review task of {c}",
                    )
                )
                for i, c in enumerate(case_ids)
            ]
        )
        answers = _in_parallel(
            [(lambda t=t: _complete_through_both(top, token, t["id"])) for t in tasks], threads=6
        )
        assert [a["task_id"] for a in answers] == [t["id"] for t in tasks]
        # Every identification goes on to the assistance plan, opened once.
        for case_id in case_ids:
            wait_until(
                lambda c=case_id: _rows(
                    database_url,
                    "SELECT count(*) FROM tasks WHERE case_id = %s AND kind <> "
                    "'immediate_conclusion'",
                    c,
                )[0][0],
                90,
                f"the next task of {case_id}",
            )
        _assert_nothing_doubled(database_url, case_ids)
    finally:
        try:
            _stop(top)
        finally:  # a worker that did not stop cleanly must not leave the server behind
            server.stop()


def _escalation_ladder(database_url: str, case_ids: list[str]) -> tuple[int, ...] | None:
    """The levels every plan task climbed (1, 2, ... k), once every escalation task has its
    breach record and every case the same ladder; None until then."""
    escalations = _rows(database_url, "SELECT id FROM tasks WHERE kind = 'escalation'")
    breaches = _rows(
        database_url,
        "SELECT escalation_task_id FROM sla_breaches WHERE escalation_task_id IS NOT NULL",
    )
    if not escalations or sorted(escalations) != sorted(breaches):
        return None
    levels = _rows(
        database_url,
        "SELECT t.case_id, array_agg(b.level ORDER BY b.level) FROM sla_breaches b "
        "JOIN tasks t ON t.id = b.task_id WHERE t.kind = 'assistance_plan' "
        "AND b.escalation_task_id IS NOT NULL GROUP BY t.case_id",
    )
    ladders = {tuple(ls) for _, ls in levels}
    if {c for c, _ in levels} != set(case_ids) or len(ladders) != 1:
        return None
    return ladders.pop()


def _escalation_report(database_url: str) -> str:
    """What the escalation record holds, for the failure message."""
    rows = _rows(
        database_url,
        "SELECT t.id, t.payload->>'about_task', t.payload->>'level', b.breach_key "
        "FROM tasks t LEFT JOIN sla_breaches b ON b.escalation_task_id = t.id "
        "WHERE t.kind = 'escalation' ORDER BY t.payload->>'about_task', t.id",
    )
    return "\n".join(" | ".join(str(v) for v in row) for row in rows)


async def test_escalations_once_with_two_workers(tmp_path: Path, database_url: str) -> None:
    async with SmtpSink() as sink:
        await _escalate_with_two_workers(tmp_path, database_url, sink)


async def _escalate_with_two_workers(tmp_path: Path, database_url: str, sink: SmtpSink) -> None:
    await asyncio.to_thread(prepare_database, database_url, sink.port)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    top = Topology(tmp_path, database_url, env.client.service_client.config.target_host)
    try:
        await asyncio.to_thread(top.start_all)
        case_ids = await asyncio.to_thread(_submit_twice, top)
        token = await asyncio.to_thread(top.token, "wf_reviewer", 1)
        for i, case_id in enumerate(case_ids):
            task = await asyncio.to_thread(
                wait_until,
                lambda c=case_id, api=i % 2: _open_task(top, token, c, "immediate_conclusion", api),
                90,
                f"the review task of {case_id}",
            )
            await asyncio.to_thread(_complete_through_both, top, token, task["id"])
        # Past every deadline of the plan tasks, and of the escalations climbing the tree.
        await skip(env, timedelta(days=120))
        # The last activities may still be finishing in the workers when the clock arrives:
        # wait until the record is complete (a doubled or lost escalation never completes it).
        try:
            ladder = await asyncio.to_thread(
                wait_until,
                lambda: _escalation_ladder(database_url, case_ids),
                90,
                "the escalations",
            )
        except AssertionError:
            raise AssertionError(_escalation_report(database_url)) from None
        assert ladder == tuple(range(1, len(ladder) + 1)) and len(ladder) >= 2, ladder
        # Notification keys are unique in the table; the same message to the same people for
        # the same task twice (under two keys) would be the double send.
        notified = _rows(
            database_url,
            "SELECT kind, task_id, user_id, recipient_role, recipient_path, message, count(*) "
            "FROM notifications GROUP BY kind, task_id, user_id, recipient_role, recipient_path, "
            "message HAVING count(*) > 1",
        )
        assert notified == []
        # Each notification mailed once (the relay saw no message twice), and every one sent.
        mails = [(m["To"], str(m["Subject"]), m.get_payload()) for m in sink.messages]
        assert len(mails) == len(set(mails)), [m for m in mails if mails.count(m) > 1][:3]
        sent = _rows(
            database_url, "SELECT count(*) FROM notifications WHERE sent_out_at IS NOT NULL"
        )
        assert sent[0][0] == len(mails) >= len(case_ids)
        _assert_nothing_doubled(database_url, case_ids)
    finally:
        try:
            await asyncio.to_thread(_stop, top)
        finally:
            await env.shutdown()
