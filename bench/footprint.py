"""Footprint (issue #22, "a province on paper"): what one case leaves in Temporal's history and
in the application database, measured on whole cases driven through the real API and worker,
for docs/capacity.md to scale up.

Run on the time-skipping server (tests/workflows/scenario.py: the API and the worker in this
process, a fresh SQLite file per scenario), so that a publicity of working days and a year of
assistance pass in seconds:

- an identification from application to identified (jilin: acceptance, initial review, a
  publicity of 3 working days, the publicity report, the county's review), a refusal at the
  initial review, and an identification with an objection raised and dismissed in publicity;
- a year of assistance (qingxin: the plan, four quarterly verifications completed by phone,
  a visit a quarter, the person's own contact a quarter).

Per case: the events of each workflow's history (the identification, the assistance it
starts, the verification batches), their protobuf size (what the history service stores) and
JSON size, timers, activities, updates; the application database's rows and payload bytes per
table (SQLite ``dbstat``), taken as the difference across the cases of a scenario (so what
the assistances of a scenario's earlier cases do while the clock skips counts too, as it
would in a real week). The time-skipping server records updates a little differently from a
real server (tests/workflows/record_histories.py), so the update events may differ slightly
from a cluster's; the commands the workflows issue (activities, timers) are the same."""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.verification import period_of
from bench.stack_bench import QINGXIN, QX_CHAIN, QX_DISTRICT
from domain.policy.loader import load_pack
from store.models import Task
from tests.assistance_support import start_assistance
from tests.workflows.scenario import Scenario, scenario_at, shanghai
from workflows.payloads import VerificationBatchInput
from workflows.verification import VerificationBatchWorkflow

JILIN = "jilin-2022"
USERS = {"grassroots_officer": "qx_officer", "county_reviewer": "qx_reviewer"}
# Rows written once per pack version (the first case pins it), not per case.
ONCE = {"policy_pack_versions"}
# How the year's officer answers the tasks that come up.
ANSWERS: dict[str, tuple[str, dict[str, Any]]] = {
    "quarterly_verification": ("verified", {"method": "phone"}),
    "assistance_visit": ("visited", {"visit_record": "家访"}),
}
COUNTED = {
    "timers": EventType.EVENT_TYPE_TIMER_STARTED,
    "activities": EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    "workflow_tasks": EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    "updates": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    "signals": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    "markers": EventType.EVENT_TYPE_MARKER_RECORDED,
}
CHILD = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED


async def history(client: Client, workflow_id: str) -> dict[str, Any]:
    """One workflow's latest run and its children's, summed: events, protobuf and JSON
    bytes, and the counts of ``COUNTED``."""
    h = await client.get_workflow_handle(workflow_id).fetch_history()
    kinds = Counter(e.event_type for e in h.events)
    out: dict[str, Any] = {
        "events": len(h.events),
        "proto_bytes": sum(e.ByteSize() for e in h.events),
        "json_bytes": len(h.to_json().encode()),
        **{name: kinds[kind] for name, kind in COUNTED.items()},
        "continued_as_new": kinds[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW],
        "children": 0,
    }
    children = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in h.events
        if e.event_type == CHILD
    ]
    for child in children:
        sub = await history(client, child)
        for key, value in sub.items():
            if isinstance(value, int):
                out[key] += value
    out["children"] += len(children)
    return out


def db_usage(path: Path) -> dict[str, dict[str, int]]:
    """Rows per table and payload bytes per table and index (``dbstat``: the bytes of the
    records themselves, without free space on the pages)."""
    with sqlite3.connect(path) as db:
        payload = dict(db.execute("SELECT name, sum(payload) FROM dbstat GROUP BY name"))
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        indexes = db.execute(
            "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'"
        ).fetchall()
        out: dict[str, dict[str, int]] = {}
        for t in tables:
            rows = db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            index_bytes = sum(payload.get(i, 0) for i, tbl in indexes if tbl == t)
            out[t] = {"rows": rows, "bytes": payload.get(t, 0), "index_bytes": index_bytes}
        return out


def db_delta(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], per: int
) -> dict[str, Any]:
    """What ``per`` cases added, per case: the tables that grew, and the totals."""
    tables: dict[str, dict[str, float]] = {}
    once: dict[str, dict[str, int]] = {}
    for name, now in after.items():
        was = before.get(name, {"rows": 0, "bytes": 0, "index_bytes": 0})
        if name in ONCE:
            once[name] = {k: now[k] - was[k] for k in now}
            continue
        d = {k: (now[k] - was[k]) / per for k in now}
        if d["rows"] or d["bytes"]:
            tables[name] = {k: round(v, 1) for k, v in d.items()}
    return {
        "rows": round(sum(t["rows"] for t in tables.values()), 1),
        "bytes": round(sum(t["bytes"] for t in tables.values())),
        "index_bytes": round(sum(t["index_bytes"] for t in tables.values())),
        "tables": dict(sorted(tables.items(), key=lambda kv: -kv[1]["bytes"])),
        "once_per_scenario": once,
    }


def mean(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        k: round(sum(s[k] for s in samples) / len(samples), 1)
        for k in samples[0]
        if isinstance(samples[0][k], int | float)
    }


async def identification(sc: Scenario, kind: str, monday: datetime) -> str:
    """One jilin case, submitted on ``monday`` at 09:00, run to its end (``identified``,
    ``refused``) or, for ``objection``, identified after an objection dismissed in publicity."""
    await sc.sleep_until(monday)
    case_id = await sc.submit(JILIN)
    await sc.do("jl_officer", case_id, "acceptance", "accept")
    if kind == "refused":
        await sc.do("jl_officer", case_id, "initial_review", "refuse", reason="有营业执照")
        await sc.closed(case_id)
        return case_id
    await sc.do("jl_officer", case_id, "initial_review", "approve")
    await sc.in_publicity(case_id)
    if kind == "objection":
        r = await sc.object("jl_officer", case_id)
        assert r.status_code == 201, r.text
        task = {"id": r.json()["task_id"]}
        await sc.complete("jl_officer", task, "dismissed", explanation="经核实无此情况")
    # Three working days from a Monday: the publicity ends with Thursday.
    await sc.sleep_until(monday + timedelta(days=4))
    await sc.do("jl_officer", case_id, "publicity_report", "report")
    await sc.do("jl_reviewer", case_id, "review", "approve", category="older_unemployed")
    assert await sc.result(case_id) == "identified"
    await sc.task("jl_officer", case_id, "assistance_plan")  # the assistance has started
    return case_id


async def identifications(kind: str, cases: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        async with scenario_at(shanghai(2026, 3, 2, 8, 0), Path(tmp)) as sc:
            db = Path(tmp) / "yuanzhu.db"
            before = db_usage(db)
            ids = [
                await identification(sc, kind, shanghai(2026, 3, 2, 9, 0) + timedelta(days=7 * n))
                for n in range(cases)
            ]
            after = db_usage(db)
            client = sc.env.client
            ident = [await history(client, f"identification-{c}") for c in ids]
            assist = (
                [await history(client, f"assistance-{c}") for c in ids] if kind != "refused" else []
            )
    return {
        "cases": cases,
        "identification_history": mean(ident),
        "assistance_history_at_start": mean(assist) if assist else None,
        "app_db_per_case": db_delta(before, after, cases),
    }


async def open_tasks(sc: Scenario, case_id: str) -> list[Task]:
    async with sc.system.sessions()() as session:
        rows = await session.scalars(
            select(Task).where(Task.case_id == case_id, Task.state == "open")
        )
        return list(rows.all())


async def year_of_assistance(persons: int) -> dict[str, Any]:
    """``persons`` in assistance at 太和镇 (qingxin) for a year from 3 Jan 2026: the plan, a
    verification batch each quarter whose task is completed by phone, the visits as they fall
    due, one contact of the person's own and one service a quarter."""
    start = shanghai(2026, 1, 3, 9, 0)
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        async with scenario_at(start - timedelta(hours=1), Path(tmp)) as sc:
            db = Path(tmp) / "yuanzhu.db"
            await sc.sleep_until(start)
            client = sc.env.client
            queue = sc.system.settings.temporal_task_queue
            ids = []
            for _ in range(persons):
                case_id, _handle = await start_assistance(
                    sc.system.sessions(),
                    client,
                    queue,
                    pack_id=QINGXIN,
                    chain=QX_CHAIN,
                    category="older_unemployed",
                    now=await sc.now(),
                )
                ids.append(case_id)
            for case_id in ids:
                plan = await sc.task("qx_officer", case_id, "assistance_plan")
                outcome = "agreement_signed" if plan["payload"]["agreement"] else "drawn_up"
                await sc.complete(
                    "qx_officer", plan, outcome, intentions="保洁", services=["training"]
                )
            started = db_usage(db)
            plan_history = mean([await history(client, f"assistance-{c}") for c in ids])
            batches: list[str] = []
            done: Counter[str] = Counter()
            # Month by month (a visit falls due three months after the last one was made, so
            # it drifts): a quarter's first month starts its batch, the person comes in and
            # is served; any visit or verification open is completed.
            for month in range(1, 13):
                day = date(2026, month, 3)
                if month > 1:
                    await sc.sleep_until(shanghai(day.year, day.month, day.day, 12, 0))
                quarter = month in (1, 4, 7, 10)
                if quarter:
                    period = period_of(load_pack(QINGXIN), day)
                    batch = f"verification-{QX_DISTRICT.code}-{period.label}"
                    # Started, not executed: waiting on its result would let the
                    # time-skipping server run the clock on to the quarter's due date.
                    await client.start_workflow(
                        VerificationBatchWorkflow.run,
                        VerificationBatchInput(
                            district=QX_DISTRICT, pack_id=QINGXIN, period=period
                        ),
                        id=batch,
                        task_queue=queue,
                    )
                    batches.append(batch)
                for case_id in ids:
                    if quarter:
                        await sc.task("qx_officer", case_id, "quarterly_verification")
                        headers = await sc.system.login("qx_officer")
                        for what, body in (
                            ("contacts", {"channel": "came_in", "own": True}),
                            ("services", {"kind": "career_guidance"}),
                        ):
                            r = await sc.http.post(
                                f"/api/v1/cases/{case_id}/assistance/{what}",
                                headers=headers,
                                json=body,
                            )
                            assert r.status_code == 201, r.text
                            done[what] += 1
                    for task in await open_tasks(sc, case_id):
                        if task.kind in ANSWERS:
                            outcome, fields = ANSWERS[task.kind]
                            user = USERS[task.candidate_role]
                            await sc.complete(user, {"id": task.id}, outcome, **fields)
                            done[task.kind] += 1
            await sc.sleep_until(shanghai(2027, 1, 1, 9, 0))
            ended = db_usage(db)
            left_open: Counter[str] = Counter()
            for case_id in ids:
                left_open.update(t.kind for t in await open_tasks(sc, case_id))
            year = [await history(client, f"assistance-{c}") for c in ids]
            batch_histories = [await history(client, b) for b in batches]
    return {
        "persons": persons,
        "per_person": {k: v / persons for k, v in sorted(done.items())},
        "assistance_history_after_plan": plan_history,
        "assistance_history_after_a_year": mean(year),
        "verification_batch_history_per_quarter": mean(batch_histories),
        "app_db_per_person_year": db_delta(started, ended, persons),
        "tasks_open_at_year_end": dict(left_open),
    }


async def footprint(cases: int, persons: int) -> dict[str, Any]:
    kinds = {k: await identifications(k, cases) for k in ("identified", "refused", "objection")}
    year = await year_of_assistance(persons)
    figures = {
        **{f"{k}_events": v["identification_history"]["events"] for k, v in kinds.items()},
        **{
            f"{k}_history_kb": round(v["identification_history"]["proto_bytes"] / 1024, 1)
            for k, v in kinds.items()
        },
        **{
            f"{k}_app_db_kb": round(
                (v["app_db_per_case"]["bytes"] + v["app_db_per_case"]["index_bytes"]) / 1024, 1
            )
            for k, v in kinds.items()
        },
        "assistance_year_events": year["assistance_history_after_a_year"]["events"],
        "assistance_year_history_kb": round(
            year["assistance_history_after_a_year"]["proto_bytes"] / 1024, 1
        ),
        "assistance_year_timers": year["assistance_history_after_a_year"]["timers"],
        "assistance_year_app_db_kb": round(
            (
                year["app_db_per_person_year"]["bytes"]
                + year["app_db_per_person_year"]["index_bytes"]
            )
            / 1024,
            1,
        ),
    }
    return {
        "sizes": {"cases_per_kind": cases, "persons_for_a_year": persons},
        "runs": 1,
        "figures": figures,
        "targets": {},
        "met": {},
        "detail": {**kinds, "year_of_assistance": year},
        "what": "whole cases on the time-skipping server through the API and the worker: jilin "
        "identified, refused at the initial review, identified after an objection; a year of "
        "qingxin assistance (plan, 4 verifications by phone, a visit and an own contact a "
        "quarter). History: events and protobuf bytes of each workflow (children included); "
        "app database: rows and payload bytes (dbstat) added per case",
    }
