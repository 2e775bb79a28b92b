"""The cases API on SQLite and PostgreSQL: the search (by full ID number — 15 or 18
characters, audited —, by name prefix on an index, by status / pack / category / submission
dates, keyset pages that stay stable while cases are added, masked ID numbers only), the
detail view's deadlines, open tasks and documents, the notices as printable documents
(headers, escaping, audit) and 404 for everything outside one's subtree; and a completion that
arrives after the case's workflow has finished, which is a 409 conflict, not an outage.

Search tests insert case rows directly into a jurisdiction tree of the test's own
(:meth:`tests.system.System.make_region`), so tests sharing the database never see each other's
cases; the detail and document tests run real cases through their workflows (weifang)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select, text
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from application.gateway import workflow_gone
from domain.calendar import SHANGHAI, deadline_end
from domain.ids import check_digit, mask_id_number
from store import cases_repo
from store.models import AuditEntry, Case, User
from tests.factories import application, make_id, pinned_ref
from tests.problems import problem
from tests.system import Region, System

NOW = datetime.now(UTC)
_seq = itertools.count(1)


def encode(value: Any) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def legacy_pair(birth: date = date(1965, 3, 4)) -> tuple[str, str]:
    """A fresh 18-character number and its legacy 15-digit form."""
    number = make_id(birth)
    return number, number[:6] + number[8:17]


async def insert_cases(system: System, region: Region, specs: list[dict[str, Any]]) -> list[str]:
    """Case rows without workflows. Each spec may give ``place`` (street_a1), ``name``,
    ``id_number`` (fresh), ``status`` (submitted), ``pack`` (test-pack), ``category`` and
    ``submitted_at`` (now, minus a microsecond per row so that the order is the insertion's
    reversed)."""
    ids: list[str] = []
    async with system.sessions()() as session, session.begin():
        for spec in specs:
            n = next(_seq)
            case_id = f"TC{region.n:04d}-{n:06d}"
            number = spec.get("id_number") or make_id()
            place = spec.get("place", "street_a1")
            at = spec.get("submitted_at", datetime.now(UTC))
            session.add(
                Case(
                    id=case_id,
                    workflow_id=f"no-workflow-{case_id}",
                    policy_pack_id=spec.get("pack", "test-pack"),
                    policy_pack_ref=await pinned_ref(session),
                    jurisdiction_code=region.codes[place],
                    jurisdiction_path=region.paths[place],
                    applicant_name=spec.get("name", f"申请人{n}"),
                    id_number=number,
                    id_last4=number[-4:],
                    facts={},
                    channel="test",
                    status=spec.get("status", "submitted"),
                    category_code=spec.get("category"),
                    submitted_at=at,
                    updated_at=at,
                )
            )
            ids.append(case_id)
    return ids


async def search(system: System, headers: dict[str, str], **params: Any) -> list[str]:
    r = await system.http.get("/api/v1/cases", headers=headers, params=params)
    assert r.status_code == 200, r.text
    for item in r.json()["items"]:
        assert "*" in item["id_number_masked"] and "id_number" not in item
    return [c["id"] for c in r.json()["items"]]


async def audit_rows(system: System, actor_id: int, action: str) -> list[AuditEntry]:
    async with system.sessions()() as session:
        q = (
            select(AuditEntry)
            .where(AuditEntry.actor_id == actor_id, AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return list((await session.scalars(q)).all())


async def user_id(system: System, username: str) -> int:
    async with system.sessions()() as session:
        uid = await session.scalar(select(User.id).where(User.username == username))
        assert uid is not None
        return uid


# --- search ------------------------------------------------------------------------------


async def test_search_by_id_number_15_and_18_audited_and_scoped(system: System) -> None:
    region = await system.make_region()
    number, legacy = legacy_pair()
    other_number = make_id()
    [mine, sibling, elsewhere] = await insert_cases(
        system,
        region,
        [
            {"id_number": number},
            {"id_number": other_number, "place": "street_a2"},
            {"id_number": make_id(), "place": "street_b1"},
        ],
    )
    h = region.headers
    r = await system.http.get("/api/v1/cases", headers=h["officer"], params={"id_number": number})
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["id"] == mine
    # Masked with the project's one masking rule, never the number itself.
    assert item["id_number_masked"] == mask_id_number(number) != number
    assert number not in r.text and number[3:14] not in r.text
    # The legacy 15-digit form finds the same person (converted to 18 characters).
    assert await search(system, h["officer"], id_number=legacy) == [mine]
    assert await search(system, h["officer"], id_number=f" {number[:6]} {number[6:]} ") == [mine]
    # Out of one's subtree the case is not there: the sibling street, the other county.
    assert await search(system, h["officer"], id_number=other_number) == []
    assert await search(system, h["officer_b"], id_number=number) == []
    assert await search(system, h["reviewer"], id_number=other_number) == [sibling]
    assert elsewhere not in await search(system, h["reviewer"], limit=100)

    # An invalid number is refused with the reason, and nothing is looked up.
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    body = problem(
        await system.http.get("/api/v1/cases", headers=h["officer"], params={"id_number": wrong}),
        422,
        "invalid-id-number",
    )
    assert "check digit" in body["detail"] and body["errors"][0]["field"] == "id_number"
    for bad in ("12345", number[:17] + "Y", number[:10] + "\x00" + number[11:], "x" * 41):
        r = await system.http.get("/api/v1/cases", headers=h["officer"], params={"id_number": bad})
        assert r.status_code == 422, r.text

    # Every search by full number is audited, with only its last four characters.
    rows = await audit_rows(system, region.users["officer"], "search_id_number")
    assert len(rows) == 4
    assert [r.detail["id_last4"] for r in rows if r.detail] == [
        number[-4:],
        number[-4:],
        number[-4:],
        other_number[-4:],
    ]
    assert rows[0].detail is not None and rows[0].detail["case_ids"] == [mine]
    for row in rows:
        assert number not in f"{row.object_id} {row.detail}" and legacy not in str(row.detail)
    # A search without an ID number is not an ID-number lookup.
    await search(system, h["supervisor"], name="申请")
    assert await audit_rows(system, region.users["supervisor"], "search_id_number") == []


async def test_search_by_name_prefix_and_filters(system: System) -> None:
    region = await system.make_region()
    day = timedelta(days=1)
    t0 = datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
    [wxm, wxh, wf, _lw, en, other, b] = await insert_cases(
        system,
        region,
        [
            {"name": "王小明", "submitted_at": t0, "status": "identified", "category": "c1"},
            {"name": "王小红", "submitted_at": t0 + day, "pack": "other-pack"},
            {"name": "王芳", "submitted_at": t0 + 2 * day, "status": "refused"},
            {"name": "李王", "submitted_at": t0 + 3 * day},
            {"name": "Wang Li", "submitted_at": t0 + 4 * day},
            {"name": "%王_", "submitted_at": t0 + 5 * day},
            {"name": "王小b", "submitted_at": t0 + 6 * day, "place": "street_b1"},
        ],
    )
    sup, officer = region.headers["supervisor"], region.headers["officer"]
    assert await search(system, officer, name="王小") == [wxh, wxm]
    assert await search(system, officer, name="王") == [wf, wxh, wxm]
    assert await search(system, officer, name=" 王芳 ") == [wf]
    assert await search(system, officer, name="%王") == [other]  # no LIKE wildcards
    assert await search(system, officer, name="Wa") == [en]
    assert await search(system, officer, name="wa") == []  # exact prefix
    assert await search(system, sup, name="王小") == [b, wxh, wxm]
    assert await search(system, region.headers["reviewer_b"], name="王小") == [b]
    for bad in ("W", "1", "12", " ", "王\x00", "x" * 101):
        r = await system.http.get("/api/v1/cases", headers=officer, params={"name": bad})
        problem(r, 422, "validation-error")

    assert await search(system, officer, status="refused") == [wf]
    assert await search(system, officer, status="identified", category="c1") == [wxm]
    assert await search(system, officer, policy_pack="other-pack") == [wxh]
    r = await system.http.get("/api/v1/cases", headers=officer, params={"status": "lost"})
    problem(r, 422, "validation-error")
    # Submission dates are Shanghai dates, both bounds inclusive.
    assert await search(
        system, officer, submitted_from="2026-03-11", submitted_to="2026-03-12"
    ) == [wf, wxh]
    assert await search(system, officer, submitted_to="2026-03-10") == [wxm]
    r = await system.http.get(
        "/api/v1/cases",
        headers=officer,
        params={"submitted_from": "2026-03-12", "submitted_to": "2026-03-11"},
    )
    problem(r, 422, "validation-error")
    for bounds in ({"submitted_to": "9999-12-31"}, {"submitted_from": "0001-01-01"}):
        r = await system.http.get("/api/v1/cases", headers=officer, params=bounds)
        problem(r, 422, "validation-error")


async def test_pages_are_stable_while_cases_are_added(system: System) -> None:
    region = await system.make_region()
    base = datetime.now(UTC) - timedelta(hours=1)
    # Newest first; three share one instant (the id breaks the tie).
    specs: list[dict[str, Any]] = [{"submitted_at": base + timedelta(minutes=i)} for i in range(7)]
    specs += [{"submitted_at": base + timedelta(minutes=3)} for _ in range(3)]
    created = await insert_cases(system, region, specs)
    h = region.headers["officer"]
    everything = await search(system, h, limit=100)
    # The region's own case row (made with the region, so the newest) comes first.
    expected = sorted(zip([s["submitted_at"] for s in specs], created, strict=True), reverse=True)
    assert everything == [region.case_id] + [case_id for _, case_id in expected]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        r = await system.http.get("/api/v1/cases", headers=h, params=params)
        assert r.status_code == 200, r.text
        seen += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        pages += 1
        # A case arrives between pages (newer than all: before the cursor).
        await insert_cases(system, region, [{"name": f"新申请{pages}"}])
        if cursor is None:
            break
    assert seen == everything and pages == 4

    forged = [
        {"k": ["2026-01-01T00:00:00", "TC1"]},  # no offset
        {"k": ["2026-01-01T00:00:00+00:00", "TC1'; --"]},
        {"k": ["2026-01-01T00:00:00+00:00"]},
        {},
    ]
    bad_cursors = ["not-a-cursor", "%%%", *(encode(c) for c in forged)]
    for bad in bad_cursors:
        r = await system.http.get("/api/v1/cases", headers=h, params={"cursor": bad})
        problem(r, 422, "bad-cursor")
    for limit in (0, 101):
        r = await system.http.get("/api/v1/cases", headers=h, params={"limit": limit})
        problem(r, 422, "validation-error")
    r = await system.http.get("/api/v1/cases")
    problem(r, 401, "unauthorized")


async def test_name_and_id_searches_use_their_indexes(system: System) -> None:
    """The name prefix is a range on ix_cases_name and the ID number an equality on
    ix_cases_id_number: on SQLite as planned without statistics, on PostgreSQL as usable
    (sequential scans off, so the index is taken whenever the condition can use it)."""
    sqlite = system.settings.effective_database_url.startswith("sqlite")
    region = await system.make_region()
    cases = [
        (
            cases_repo.CaseFilter(scope_path=region.paths["city"], name_prefix="王小"),
            "ix_cases_name",
        ),
        (cases_repo.CaseFilter(scope_path="/", name_prefix="Wa"), "ix_cases_name"),
        (
            cases_repo.CaseFilter(scope_path=region.paths["city"], id_number=make_id()),
            "ix_cases_id_number",
        ),
    ]
    async with system.sessions()() as session, session.begin():
        bind = session.get_bind()
        for flt, index in cases:
            after = (NOW, "x")
            q = cases_repo.search_statement(flt, after, 50, dialect=bind.dialect.name)
            sql = str(q.compile(bind, compile_kwargs={"literal_binds": True}))
            if sqlite:
                rows = (await session.execute(text("EXPLAIN QUERY PLAN " + sql))).all()
                detail = " ; ".join(str(r[3]) for r in rows)
            else:
                await session.execute(text("SET LOCAL enable_seqscan = off"))
                await session.execute(text("SET LOCAL enable_bitmapscan = off"))
                rows = (await session.execute(text("EXPLAIN " + sql))).all()
                detail = " ; ".join(str(r[0]) for r in rows)
            assert index in detail, (flt, detail)


async def test_pg_name_search_uses_index_with_statistics(system: System) -> None:
    """With real statistics, PostgreSQL's own planner picks the name index for a prefix."""
    if system.settings.effective_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL planner")
    async with system.sessions()() as session, session.begin():
        await session.execute(text("ANALYZE cases"))
        flt = cases_repo.CaseFilter(scope_path="/", name_prefix="王小")
        q = cases_repo.search_statement(flt, None, 50, dialect="postgresql")
        sql = str(q.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        rows = (await session.execute(text("EXPLAIN " + sql))).all()
        assert "ix_cases_name" in " ; ".join(str(r[0]) for r in rows)


# --- detail, documents, stale completions (real workflows) --------------------------------


@dataclass
class Submitted:
    case_id: str
    id_number: str


async def submit(system: System, **kwargs: Any) -> Submitted:
    body = application(**kwargs)
    r = await system.http.post("/api/v1/applications", json=body)
    assert r.status_code == 201, r.text
    return Submitted(r.json()["case_id"], body["facts"]["person"]["id_number"])


async def get_case(system: System, user: str, case_id: str) -> dict[str, Any]:
    r = await system.http.get(f"/api/v1/cases/{case_id}", headers=await system.login(user))
    assert r.status_code == 200, r.text
    case: dict[str, Any] = r.json()
    return case


async def wait_case(
    system: System, user: str, case_id: str, ready: Any, what: str, timeout: float = 20
) -> dict[str, Any]:
    """Poll the case detail until ``ready(case)``: the projection is eventually consistent
    (the identification deadline is written by a watcher running beside the stage's task)."""
    headers = await system.login(user)
    deadline = time.monotonic() + timeout
    while True:
        r = await system.http.get(f"/api/v1/cases/{case_id}", headers=headers)
        assert r.status_code == 200, r.text
        case: dict[str, Any] = r.json()
        if ready(case):
            return case
        if time.monotonic() > deadline:
            raise AssertionError(f"case {case_id}: no {what}")
        await asyncio.sleep(0.05)


# Only the ID card is handed in and the applicant receives 低保: two materials are missing,
# so intake serves the one-time notice (一次性告知) and opens a supplement task.
MISSING = {"evidence": ["id_card"], "household": {"minimum_living_allowance": True}}


async def test_detail_has_deadlines_open_tasks_and_documents(system: System) -> None:
    sub = await submit(system, **MISSING)
    supplement = await system.wait_for_task("wf_reviewer", sub.case_id, "supplement")
    # The notice is written before the supplement task is opened.
    case = await get_case(system, "wf_reviewer", sub.case_id)
    assert case["id_number"] == sub.id_number  # the detail keeps the full number
    [doc] = case["documents"]
    [notice] = case["notices"]
    assert doc["id"] == notice["id"] and doc["kind"] == "missing_materials"
    assert doc["download_url"] == f"/api/v1/cases/{sub.case_id}/notices/{doc['id']}"
    [open_task] = case["open_tasks"]
    assert open_task["id"] == supplement["id"]
    assert (open_task["kind"], open_task["kind_name"]) == ("supplement", "补充材料")
    assert open_task["assignee_name"] is None and open_task["sla_state"] == "on_track"
    [clock] = case["deadlines"]["tasks"]
    assert clock["task_id"] == supplement["id"]
    assert (clock["due_at"], clock["deadline_at"]) == (
        supplement["due_at"],
        supplement["deadline_at"],
    )
    assert clock["sla_state"] == supplement["sla_state"] == "on_track"

    # The written commitment stands in; the county concludes. Claimed: the assignee shows.
    reviewer = await system.login("wf_reviewer")
    r = await system.http.post(
        f"/api/v1/tasks/{supplement['id']}/complete",
        headers=reviewer,
        json={"outcome": "commitment"},
    )
    assert r.status_code == 200, r.text
    conclusion = await system.wait_for_task("wf_reviewer", sub.case_id, "immediate_conclusion")
    r = await system.http.post(f"/api/v1/tasks/{conclusion['id']}/claim", headers=reviewer)
    assert r.status_code == 200, r.text
    case = await wait_case(
        system,
        "wf_reviewer",
        sub.case_id,
        lambda c: c["deadlines"]["identification_deadline"] and c["open_tasks"],
        "identification deadline",
    )
    deadlines = case["deadlines"]
    last_day = date.fromisoformat(deadlines["identification_deadline"])
    assert deadlines["identification_deadline"] == case["identification_deadline"]
    assert datetime.fromisoformat(deadlines["identification_deadline_at"]) == deadline_end(last_day)
    assert deadlines["identification_deadline_provisional"] == case["deadline_provisional"]
    assert deadlines["identification_overdue"] is False
    [open_task] = case["open_tasks"]
    assert open_task["id"] == conclusion["id"]
    assert open_task["kind_name"] == "审核认定（即时办结）"
    assert open_task["assignee_name"] == "李审核（潍城区）"
    assert open_task["assignee_id"] == await user_id(system, "wf_reviewer")
    assert [t["task_id"] for t in deadlines["tasks"]] == [conclusion["id"]]

    # Out of scope: another region's reviewer gets 404, the same as for no case at all.
    outsider = await system.login("jl_reviewer")
    r = await system.http.get(f"/api/v1/cases/{sub.case_id}", headers=outsider)
    problem(r, 404, "not-found")
    r = await system.http.get("/api/v1/cases/YZ20000101-NOSUCH00", headers=reviewer)
    problem(r, 404, "not-found")
    # A path that cannot name a case is not found either (not a validation error).
    r = await system.http.get("/api/v1/cases/bad%00id", headers=reviewer)
    problem(r, 404, "not-found")


async def test_notice_download_escaped_masked_audited_and_scoped(system: System) -> None:
    name = "<script>alert('x')</script>王&芳"
    sub = await submit(system, name=name, **MISSING)
    await system.wait_for_task("wf_reviewer", sub.case_id, "supplement")
    case = await get_case(system, "wf_reviewer", sub.case_id)
    [doc] = case["documents"]
    [notice] = case["notices"]
    reviewer = await system.login("wf_reviewer")
    reviewer_id = await user_id(system, "wf_reviewer")
    before = len(await audit_rows(system, reviewer_id, "download_notice"))

    r = await system.http.get(doc["download_url"], headers=reviewer)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    file_name = f"一次性告知书-{sub.case_id}.html"
    assert f"filename*=UTF-8''{quote(file_name, safe='')}" in disposition
    assert disposition.isascii()
    assert r.headers["cache-control"] == "no-store"
    html = r.text
    # The applicant's name is user input: escaped, never markup.
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;王&amp;芳" in html
    # The masked number only.
    assert sub.id_number not in html and mask_id_number(sub.id_number) in html
    assert "一次性告知书" in html and sub.case_id in html
    for item in notice["body"]["items"]:
        assert item["name"] in html
    issued = datetime.fromisoformat(notice["issued_at"]).astimezone(SHANGHAI).date()
    assert f"{issued.year}年{issued.month}月{issued.day}日" in html
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", html)
    assert "潍城区" in html  # the issuing agency: the office that received the application
    assert "@media print" in html and "@page" in html

    r = await system.http.get(doc["download_url"], headers=reviewer, params={"format": "json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == notice

    rows = await audit_rows(system, reviewer_id, "download_notice")
    assert len(rows) == before + 2
    assert [(row.object_id, row.detail) for row in rows[-2:]] == [
        (str(doc["id"]), {"case_id": sub.case_id, "kind": "missing_materials", "format": "html"}),
        (str(doc["id"]), {"case_id": sub.case_id, "kind": "missing_materials", "format": "json"}),
    ]

    # 404: outside one's subtree, a notice of another case, no such notice, a path that cannot
    # name a notice; 422: bad query input.
    outsider = await system.login("jl_reviewer")
    problem(await system.http.get(doc["download_url"], headers=outsider), 404, "not-found")
    other = await submit(system)
    url = f"/api/v1/cases/{other.case_id}/notices/{doc['id']}"
    problem(await system.http.get(url, headers=reviewer), 404, "not-found")
    url = f"/api/v1/cases/{sub.case_id}/notices/999999999999"
    problem(await system.http.get(url, headers=reviewer), 404, "not-found")
    for bad in ("0", "x", str(2**63)):
        url = f"/api/v1/cases/{sub.case_id}/notices/{bad}"
        problem(await system.http.get(url, headers=reviewer), 404, "not-found")
    r = await system.http.get(doc["download_url"], headers=reviewer, params={"format": "pdf"})
    problem(r, 422, "validation-error")
    assert len(await audit_rows(system, reviewer_id, "download_notice")) == before + 2


async def test_refusal_notice_cites_reason_and_clause(system: System) -> None:
    sub = await submit(system, name="张<b>三</b>")
    task = await system.wait_for_task("wf_reviewer", sub.case_id, "immediate_conclusion")
    reviewer = await system.login("wf_reviewer")
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=reviewer,
        json={"outcome": "refuse", "fields": {"reason": "已有稳定收入<i>"}},
    )
    assert r.status_code == 200, r.text
    handle = system.env.client.get_workflow_handle(f"identification-{sub.case_id}")
    assert await handle.result() == "refused"
    case = await get_case(system, "wf_reviewer", sub.case_id)
    [doc] = case["documents"]
    assert doc["kind"] == "refusal" and case["open_tasks"] == []
    assert case["deadlines"]["tasks"] == [] and case["deadlines"]["identification_overdue"] is False
    r = await system.http.get(doc["download_url"], headers=reviewer)
    assert r.status_code == 200, r.text
    assert quote(f"不予认定告知书-{sub.case_id}.html", safe="") in r.headers["content-disposition"]
    assert "已有稳定收入&lt;i&gt;" in r.text and "张&lt;b&gt;三&lt;/b&gt;" in r.text
    assert "潍人社字〔2023〕1号 二(二)" in r.text  # the clause the refusal rests on
    assert "不予认定" in r.text and "潍城区" in r.text


async def test_completion_after_the_workflow_finished_is_409_case_closed(system: System) -> None:
    """A decision that arrives after the case's workflow ended (here: terminated) is the
    user's conflict (409 case-closed), not an engine outage (503)."""
    sub = await submit(system)
    task = await system.wait_for_task("wf_reviewer", sub.case_id, "immediate_conclusion")
    handle = system.env.client.get_workflow_handle(f"identification-{sub.case_id}")
    await handle.terminate("test: the case ended elsewhere")
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    reviewer = await system.login("wf_reviewer")
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=reviewer | {"Idempotency-Key": f"stale-{sub.case_id}"},
        json={"outcome": "approve", "fields": {"category": "older_unemployed"}},
    )
    body = problem(r, 409, "case-closed")
    assert task["id"] in body["detail"]
    # The failure is not stored: the same key is refused afresh, the same way.
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=reviewer | {"Idempotency-Key": f"stale-{sub.case_id}"},
        json={"outcome": "approve", "fields": {"category": "older_unemployed"}},
    )
    problem(r, 409, "case-closed")
    r = await system.http.post(
        f"/api/v1/cases/{sub.case_id}/withdraw", headers=reviewer, json={"reason": "不再申请"}
    )
    problem(r, 409, "case-closed")


class _Handle:
    """A workflow handle whose describe() reports a status or raises."""

    def __init__(self, status: WorkflowExecutionStatus | None, error: RPCError | None) -> None:
        self.status, self.error = status, error

    async def describe(self) -> Any:
        if self.error is not None:
            raise self.error
        return type("Description", (), {"status": self.status})()


def _rpc(status: RPCStatusCode, message: str = "x") -> RPCError:
    return RPCError(message, status, b"")


@pytest.mark.parametrize(
    ("exc", "handle", "gone"),
    [
        # The engine cannot be reached: an outage, whatever the workflow's state.
        (_rpc(RPCStatusCode.UNAVAILABLE), _Handle(WorkflowExecutionStatus.COMPLETED, None), False),
        (_rpc(RPCStatusCode.DEADLINE_EXCEEDED), _Handle(None, None), False),
        # NOT_FOUND and the workflow is over (or never existed): the case is closed.
        (_rpc(RPCStatusCode.NOT_FOUND), _Handle(WorkflowExecutionStatus.COMPLETED, None), True),
        (_rpc(RPCStatusCode.NOT_FOUND), _Handle(None, _rpc(RPCStatusCode.NOT_FOUND)), True),
        # NOT_FOUND while the workflow runs, or for the namespace: not the case's doing.
        (_rpc(RPCStatusCode.NOT_FOUND), _Handle(WorkflowExecutionStatus.RUNNING, None), False),
        (
            _rpc(RPCStatusCode.NOT_FOUND),
            _Handle(None, _rpc(RPCStatusCode.NOT_FOUND, "Namespace x is not found.")),
            False,
        ),
        (_rpc(RPCStatusCode.NOT_FOUND), _Handle(None, _rpc(RPCStatusCode.UNAVAILABLE)), False),
    ],
)
async def test_workflow_gone_tells_a_closed_case_from_an_outage(
    exc: RPCError, handle: _Handle, gone: bool
) -> None:
    assert await workflow_gone(handle, exc) is gone  # type: ignore[arg-type]


def test_masking_never_shows_the_middle() -> None:
    body = "37070219800615123"
    number = body + check_digit(body)
    assert mask_id_number(number) == "370***********" + number[-4:]
    assert mask_id_number("12345") == "*****"
