"""Concurrency of the task inbox, on SQLite (serialised writers) and PostgreSQL (real row
locks): 50 concurrent claims of one task have exactly one winner; 50 concurrent completions
have exactly one effect, with the same Idempotency-Key (all get the first answer) and with
different keys (one 200, the rest 409); a key used for another task is refused; concurrent
"next" calls never get the same task; overlapping bulk claims neither deadlock nor
double-claim."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from application.errors import Problem
from application.http import Actor
from application.schemas.tasks import CompleteTaskIn
from application.services.tasks import complete_task
from store.models import User
from tests.factories import application
from tests.problems import problem
from tests.reliability.report import tally
from tests.system import System

APPROVE = {"outcome": "approve", "fields": {"category": "older_unemployed"}}
N = 50


async def test_fifty_concurrent_claims_one_winner(system: System) -> None:
    region = await system.make_region(extra_officers=N)
    [task] = await system.insert_tasks(region, [{}])
    claimants = [f"officer_{i}" for i in range(N)]
    responses = await asyncio.gather(
        *(
            system.http.post(f"/api/v1/tasks/{task}/claim", headers=region.headers[who])
            for who in claimants
        )
    )
    winners = [who for who, r in zip(claimants, responses, strict=True) if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    winner_id = region.users[winners[0]]
    losers = [r for r in responses if r.status_code != 200]
    assert len(losers) == N - 1
    for r in losers:
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["type"] == "/problems/task-claimed"
        assert body["holder"] == {"id": winner_id, "display_name": f"{winners[0]}@{region.n}"}
    r = await system.http.get(f"/api/v1/tasks/{task}", headers=region.headers["officer"])
    assert r.json()["assignee_id"] == winner_id and r.json()["version"] == 2


async def _reviewer_task(system: System) -> tuple[str, str]:
    r = await system.http.post("/api/v1/applications", json=application())
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    return case_id, task["id"]


async def _completed_events(system: System, case_id: str) -> int:
    r = await system.http.get(f"/api/v1/cases/{case_id}", headers=await system.login("wf_reviewer"))
    assert r.status_code == 200, r.text
    return [e["kind"] for e in r.json()["timeline"]].count("task_completed")


async def test_a_key_used_for_another_task_is_refused(system: System) -> None:
    """The key stands for the completion it was first used for: on another task it is 422
    ``idempotency-key-reused`` (not the first task's answer), and that task stays open."""
    _, first = await _reviewer_task(system)
    _, second = await _reviewer_task(system)
    headers = await system.login("wf_reviewer") | {"Idempotency-Key": f"once-{first}"}
    r = await system.http.post(f"/api/v1/tasks/{first}/complete", headers=headers, json=APPROVE)
    assert r.status_code == 200, r.text
    r = await system.http.post(f"/api/v1/tasks/{second}/complete", headers=headers, json=APPROVE)
    assert r.status_code == 422 and r.json()["type"] == "/problems/idempotency-key-reused"
    assert r.json()["detail"] == "this Idempotency-Key was already used for another request"
    shown = await system.http.get(f"/api/v1/tasks/{second}", headers=headers)
    assert shown.json()["state"] == "open"


async def test_a_key_used_for_another_decision_is_refused(system: System) -> None:
    """#20 §5: the same key with another decision on the same task is 422
    ``idempotency-key-reused`` (not the first answer); the same decision again is the first
    answer. (A page's form key stands for the form: tests/web/test_task_pages.py.)"""
    _, task_id = await _reviewer_task(system)
    headers = await system.login("wf_reviewer") | {"Idempotency-Key": f"decision-{task_id}"}
    url = f"/api/v1/tasks/{task_id}/complete"
    first = await system.http.post(url, headers=headers, json=APPROVE)
    assert first.status_code == 200, first.text
    for other in (
        {"outcome": "refuse", "fields": {"reason": "已就业"}},
        {**APPROVE, "fields": {"category": "age_4050"}},
        {**APPROVE, "comment": "改了意见"},
    ):
        r = await system.http.post(url, headers=headers, json=other)
        problem(r, 422, "idempotency-key-reused")
        tally("security", "idempotency keys reused for another decision refused", 1)
    again = await system.http.post(url, headers=headers, json=APPROVE)
    assert (again.status_code, again.json()) == (200, first.json())


async def test_fifty_concurrent_completions_same_key_one_effect(system: System) -> None:
    case_id, task_id = await _reviewer_task(system)
    headers = await system.login("wf_reviewer") | {"Idempotency-Key": f"same-{case_id}"}
    url = f"/api/v1/tasks/{task_id}/complete"
    responses = await asyncio.gather(
        *(system.http.post(url, headers=headers, json=APPROVE) for _ in range(N))
    )
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses[:3]]
    assert all(r.json() == responses[0].json() for r in responses)
    assert responses[0].json()["task_id"] == task_id
    again = await system.http.post(url, headers=headers, json=APPROVE)
    assert (again.status_code, again.json()) == (200, responses[0].json())
    assert await _completed_events(system, case_id) == 1
    handle = system.env.client.get_workflow_handle(f"identification-{case_id}")
    assert await handle.result() == "identified"


async def test_fifty_concurrent_completions_different_keys_one_winner(system: System) -> None:
    case_id, task_id = await _reviewer_task(system)
    reviewer = await system.login("wf_reviewer")
    url = f"/api/v1/tasks/{task_id}/complete"
    responses = await asyncio.gather(
        *(
            system.http.post(
                url, headers=reviewer | {"Idempotency-Key": f"k{i}-{case_id}"}, json=APPROVE
            )
            for i in range(N)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (N - 1), [r.text for r in responses if r.status_code != 409]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["type"] == "/problems/task-closed", r.text
    assert await _completed_events(system, case_id) == 1
    # Every key keeps its own answer: the winner's repeats get 200, the others' are refused
    # afresh (a failure is not stored).
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    r = await system.http.post(
        url, headers=reviewer | {"Idempotency-Key": f"k{winner}-{case_id}"}, json=APPROVE
    )
    assert r.status_code == 200
    r = await system.http.post(
        url, headers=reviewer | {"Idempotency-Key": f"k{(winner + 1) % N}-{case_id}"}, json=APPROVE
    )
    assert r.status_code == 409


async def test_concurrent_next_never_hands_out_a_task_twice(system: System) -> None:
    region = await system.make_region(extra_officers=N)
    now = datetime.now(UTC)
    tasks = await system.insert_tasks(
        region,
        [{"due_at": now + timedelta(hours=i), "priority": (0, 5)[i % 2]} for i in range(20)],
    )
    takers = [f"officer_{i}" for i in range(N)]
    responses = await asyncio.gather(
        *(system.http.post("/api/v1/tasks/next", headers=region.headers[w]) for w in takers)
    )
    got = [r.json()["id"] for r in responses if r.status_code == 200]
    assert sorted(r.status_code for r in responses) == [200] * 20 + [204] * (N - 20)
    assert sorted(got) == sorted(tasks)  # each task handed out exactly once
    for who, r in zip(takers, responses, strict=True):
        if r.status_code == 200:
            assert r.json()["assignee_id"] == region.users[who]


async def test_overlapping_bulk_claims_do_not_deadlock(system: System) -> None:
    region = await system.make_region(extra_officers=8)
    tasks = await system.insert_tasks(region, [{} for _ in range(12)])
    orders = [tasks, list(reversed(tasks)), tasks[6:] + tasks[:6], tasks[::2] + tasks[1::2]]
    responses = await asyncio.gather(
        *(
            system.http.post(
                "/api/v1/tasks/bulk/claim",
                headers=region.headers[f"officer_{i}"],
                json={"task_ids": orders[i % len(orders)]},
            )
            for i in range(8)
        )
    )
    owner: dict[str, int] = {}
    for i, r in enumerate(responses):
        assert r.status_code == 200, r.text
        for item in r.json()["results"]:
            if item["result"] == "claimed":
                assert item["task_id"] not in owner
                owner[item["task_id"]] = region.users[f"officer_{i}"]
            else:
                assert item["result"] == "conflict" and item["holder"] is not None
    assert sorted(owner) == sorted(tasks)
    r = await system.http.get(
        "/api/v1/tasks", headers=region.headers["officer"], params={"limit": 200}
    )
    assert {t["id"]: t["assignee_id"] for t in r.json()["items"]} == owner


class _Handle:
    """A workflow handle whose update call fails with the connection: after delivering the
    update (``deliver``: the answer was lost on its way back) or before (the engine away)."""

    def __init__(self, real: Any, deliver: bool) -> None:
        self.real, self.deliver = real, deliver

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        if self.deliver:
            await self.real.execute_update(*args, **kwargs)
        raise RPCError("connection reset by peer", RPCStatusCode.UNAVAILABLE, b"")

    async def describe(self) -> Any:
        return await self.real.describe()


class _Flaky:
    def __init__(self, real: Any, deliver: bool) -> None:
        self.real, self.deliver = real, deliver

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        return _Handle(self.real.get_workflow_handle(workflow_id), self.deliver)


async def _complete_through(
    system: System, temporal: Any, task_id: str, key: str
) -> tuple[int, dict[str, Any]]:
    async with system.sessions()() as session:
        user = await session.scalar(select(User).where(User.username == "wf_reviewer"))
        assert user is not None
        return await complete_task(
            session,
            temporal,
            Actor.of(user),
            task_id,
            CompleteTaskIn.model_validate(APPROVE),
            idempotency_key=key,
        )


async def test_a_lost_answer_is_found_again(system: System) -> None:
    """The workflow took the decision but the answer never came back (the connection to
    Temporal dropped): the request answers 200 from the closed task's record, a retry with the
    key gets the same answer, and the decision counts once."""
    case_id, task_id = await _reviewer_task(system)
    key = f"lost-{case_id}"
    status, body = await _complete_through(system, _Flaky(system.env.client, True), task_id, key)
    assert (status, body["task_id"], body["outcome"]) == (200, task_id, "approve")
    headers = await system.login("wf_reviewer") | {"Idempotency-Key": key}
    again = await system.http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=headers, json=APPROVE
    )
    # The decision's answer is the stored one. The route adds what follows (``next``, #21) only
    # when asked (Prefer: wait), which the service's body does not carry.
    answer = again.json()
    assert again.status_code == 200 and answer.pop("next") is None
    assert answer == body
    asked = await system.http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=headers | {"Prefer": "wait=0"}, json=APPROVE
    )
    assert asked.status_code == 200 and asked.json()["next"]["state"] == "closed"
    assert await _completed_events(system, case_id) == 1
    # Which request took the decision stays inside: the task shows the decision only.
    shown = await system.http.get(f"/api/v1/tasks/{task_id}", headers=headers)
    assert shown.json()["outcome"] == {
        "outcome": "approve",
        "fields": APPROVE["fields"],
        "comment": "",
    }


async def test_a_retry_after_the_engine_was_away_is_delivered(system: System) -> None:
    """Temporal away: 503 and the key kept as uncertain; the retry with the key delivers the
    decision (200) — and a retry after that returns the same answer."""
    case_id, task_id = await _reviewer_task(system)
    key = f"away-{case_id}"
    with pytest.raises(Problem) as away:
        await _complete_through(system, _Flaky(system.env.client, False), task_id, key)
    assert (away.value.status, away.value.type) == (503, "temporal-unavailable")
    headers = await system.login("wf_reviewer") | {"Idempotency-Key": key}
    url = f"/api/v1/tasks/{task_id}/complete"
    first = await system.http.post(url, headers=headers, json=APPROVE)
    assert first.status_code == 200, first.text
    again = await system.http.post(url, headers=headers, json=APPROVE)
    assert (again.status_code, again.json()) == (200, first.json())
    assert await _completed_events(system, case_id) == 1
    other = await system.http.post(
        url, headers=headers | {"Idempotency-Key": f"other-{case_id}"}, json=APPROVE
    )
    assert other.status_code == 409 and other.json()["type"] == "/problems/task-closed"
