"""The quarterly verification's bulk opening (``verification_open``) on a real database: a page
opened again — a retry, a re-run after a worker was lost, an attempt still running beside its
retry — opens no task twice and the batch's count stays that of the tasks that exist; and the
district's keyset page walks the assistance key on SQLite instead of sorting the district."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.verification import VerificationActivities, period_of
from domain.policy.loader import load_pack
from domain.vocabulary import PlaceRef, verification_task_id
from store import verification_repo as repo
from store.models import Task
from store.models_assistance import Assistance
from store.models_verification import VerificationBatch, VerificationItem
from tests.system import System
from tests.workflows.test_verification import PACK, TAIHE, insert_people
from workflows.contracts import BeginBatchInput, OpenVerificationInput

DISTRICT = PlaceRef("441803", "/000000/440000/441800/441803/", "county", "清新区")


async def _batch(system: System, label: str) -> tuple[VerificationActivities, str]:
    """A batch of its own (a period no other test uses) and the activities."""
    acts = VerificationActivities(system.sessions())
    period = period_of(load_pack(PACK), date(2000, 1, 1), label)
    info = await ActivityEnvironment().run(
        acts.begin_batch,
        BeginBatchInput(
            f"{DISTRICT.code}-{period.label}", DISTRICT, PACK, period, "wf", datetime.now(UTC)
        ),
    )
    return acts, info.batch_id


async def _counts(system: System, batch_id: str, case_ids: list[str]) -> tuple[int, int, int]:
    """Tasks of these persons in the batch's period, the batch's items, the batch's count."""
    period = batch_id.removeprefix(f"{DISTRICT.code}-")
    ids = [verification_task_id(c, period) for c in case_ids]
    async with system.sessions()() as session:
        tasks = await session.scalar(select(func.count()).where(Task.id.in_(ids)))
        items = await session.scalar(
            select(func.count()).where(VerificationItem.batch_id == batch_id)
        )
        batch = await session.get(VerificationBatch, batch_id)
        assert batch is not None
    return int(tasks or 0), int(items or 0), batch.created


async def test_a_page_opened_again_opens_nothing_twice(system: System) -> None:
    people = await insert_people(
        system.sessions(), datetime.now(UTC), {TAIHE: 120, "441803": 5}, exited=3, prefix="QOA"
    )
    acts, batch_id = await _batch(system, "2031-01")
    env = ActivityEnvironment()
    everyone = [f"QOA{n:07d}" for n in range(1, 129)]  # the three who exited among them
    at = datetime.now(UTC)
    first = await env.run(acts.open_tasks, OpenVerificationInput(batch_id, everyone, at))
    assert first == 125
    assert await _counts(system, batch_id, everyone) == (125, 125, 125)
    # The page again (a retry after the commit, a re-run of the quarter): nothing new.
    again = await env.run(acts.open_tasks, OpenVerificationInput(batch_id, everyone, at))
    assert again == 0
    assert await _counts(system, batch_id, everyone) == (125, 125, 125)

    # A task the officer completed meanwhile stays completed; the county office's persons go
    # to its reviewers, the township's to its officers.
    done = verification_task_id(people[0], "2031-01")
    async with system.sessions()() as session, session.begin():
        await session.execute(update(Task).where(Task.id == done).values(state="completed"))
    await env.run(acts.open_tasks, OpenVerificationInput(batch_id, everyone, at))
    async with system.sessions()() as session:
        rows = (
            await session.execute(
                select(Task.jurisdiction_code, Task.candidate_role, func.count())
                .where(Task.id.in_([verification_task_id(c, "2031-01") for c in everyone]))
                .group_by(Task.jurisdiction_code, Task.candidate_role)
            )
        ).all()
        state = await session.scalar(select(Task.state).where(Task.id == done))
    assert sorted((code, role, n) for code, role, n in rows) == [
        ("441803", "county_reviewer", 5),
        (TAIHE, "grassroots_officer", 120),
    ]
    assert state == "completed"


async def test_two_attempts_at_once_open_each_task_once(system: System) -> None:
    """An attempt that timed out but still runs beside its retry: one row per task and the
    batch counts each once."""
    people = await insert_people(
        system.sessions(), datetime.now(UTC), {TAIHE: 300}, exited=0, prefix="QOB"
    )
    acts, batch_id = await _batch(system, "2031-04")
    inp = OpenVerificationInput(batch_id, people, datetime.now(UTC))
    counts = await asyncio.gather(
        ActivityEnvironment().run(acts.open_tasks, inp),
        ActivityEnvironment().run(acts.open_tasks, inp),
    )
    assert sorted(counts) == [0, 300]
    assert await _counts(system, batch_id, people) == (300, 300, 300)


async def test_a_person_who_left_gets_no_task(system: System) -> None:
    people = await insert_people(
        system.sessions(), datetime.now(UTC), {TAIHE: 4}, exited=0, prefix="QOC"
    )
    async with system.sessions()() as session, session.begin():
        await session.execute(
            update(Assistance).where(Assistance.case_id == people[0]).values(status="exited")
        )
    acts, batch_id = await _batch(system, "2031-07")
    inp = OpenVerificationInput(batch_id, people, datetime.now(UTC))
    assert await ActivityEnvironment().run(acts.open_tasks, inp) == 3
    assert await _counts(system, batch_id, people) == (3, 3, 3)


async def test_the_district_page_walks_the_assistance_key(system: System) -> None:
    """SQLite: the page is read along the assistance key from the cursor (no sort of the whole
    district per page, which made a pass of 100,000 persons quadratic)."""
    engine = system.sessions()().bind
    assert isinstance(engine, AsyncEngine)
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans from statistics")
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM assistance" in statement:
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with system.sessions()() as session:
            await repo.active_people(session, DISTRICT.path, "QOA0000001", 50)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    [(statement, params)] = seen
    async with system.sessions()() as session:
        conn = await session.connection()
        raw = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        plan = " | ".join(str(row[-1]) for row in raw.all())
    assert "TEMP B-TREE" not in plan, plan
    assert "assistance USING" in plan.split(" | ")[0], plan
