"""Importing an office's ledger starts running assistance (time-skipping server): the imported
persons get their tasks — the plan for a person the ledger has no plan for, visits on the
pack's cadence, the service gap before the standard's deadline, the cancellation review at once
for a person whose last own contact is past the limit (weifang 三(一)9) — the ledger's services
count toward the standards, and a re-import makes nothing twice."""

from __future__ import annotations

import asyncio
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from store.models import Case
from store.models_ledger import LedgerImport
from tests.factories import make_id
from tests.workflows.scenario import Scenario, scenario_at, shanghai

HEADER = [
    "姓名",
    "身份证号",
    "人员类别",
    "认定日期",
    "所属镇街代码",
    "就业意向",
    "计划服务项目",
    "政策咨询次数",
    "联系次数",
    "最近主动联系日期",
    "人员状态",
]


def workbook(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "服务跟踪情况"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def upload(sc: Scenario, user: str, data: bytes, jurisdiction: str | None = None) -> Any:
    return await sc.http.post(
        "/api/v1/ledger/imports",
        headers=await sc.system.login(user),
        files={"file": ("台账.xlsx", data)},
        data={"jurisdiction": jurisdiction} if jurisdiction else None,
    )


async def import_done(sc: Scenario, import_id: int) -> LedgerImport:
    status = "?"
    for _ in range(400):
        async with sc.system.sessions()() as session:
            imp = await session.get(LedgerImport, import_id)
            assert imp is not None
            if imp.status == "done":
                return imp
            status = f"{imp.status}, {imp.started} started"
        await asyncio.sleep(0.05)
    raise AssertionError(f"import {import_id} did not finish: {status}")


async def case_of(sc: Scenario, id_number: str) -> Case:
    async with sc.system.sessions()() as session:
        case = await session.scalar(select(Case).where(Case.id_number == id_number))
        assert case is not None
        return case


async def assistance(sc: Scenario, case_id: str, user: str) -> dict[str, Any]:
    r = await sc.http.get(
        f"/api/v1/cases/{case_id}/assistance", headers=await sc.system.login(user)
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_imported_persons_run_their_assistance(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        planned = make_id(date(1975, 3, 4), region="441803")
        unplanned = make_id(date(1976, 4, 5), region="441803", female=False)
        exited = make_id(date(1977, 5, 6), region="441803")
        data = workbook(
            [
                [
                    "陈planned",
                    planned,
                    "大龄失业人员",
                    "2025-06-01",
                    "441803100",
                    "保洁",
                    "职业指导",
                    1,
                    4,
                    "2026-02-01",
                    "援助中",
                ],
                [
                    "林unplanned",
                    unplanned,
                    "older_unemployed",
                    date(2025, 9, 1),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                [
                    "周exited",
                    exited,
                    "大龄失业人员",
                    "2024-01-01",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "已退出",
                ],
            ]
        )
        # Lines without 所属镇街代码 go to the township the form names.
        r = await upload(sc, "qx_reviewer", data, "441803100")
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["created"], body["already_present"], body["skipped_exited"]) == (2, 0, 1)
        imp = await import_done(sc, body["id"])
        assert imp.started == 2

        # The ledger's plan stands: no plan task; its service counts toward policy_push.
        a_case = await case_of(sc, planned)
        assert a_case.status == "identified" and a_case.category_code == "older_unemployed"
        a = await assistance(sc, a_case.id, "qx_officer")
        assert a["plan"]["intentions"] == "保洁" and a["plan"]["services"] == ["career_guidance"]
        assert a["services_delivered"] == {"policy_consultation": 1}
        assert a["contact_count"] == 4
        push = next(s for s in a["standards"] if s["code"] == "policy_push")
        assert push["met"]
        assert [t["kind"] for t in a["open_tasks"]] == []

        # Without a plan in the ledger: the plan task, in the township officer's inbox, and
        # completing it reaches the person's assistance workflow.
        b_case = await case_of(sc, unplanned)
        task = await sc.task("qx_officer", b_case.id, "assistance_plan")
        assert task["jurisdiction_code"] == "441803100"
        await sc.complete(
            "qx_officer", task, "drawn_up", intentions="保安", services=["public_welfare_post"]
        )
        for _ in range(200):
            b = await assistance(sc, b_case.id, "qx_officer")
            if b["plan"] is not None:
                break
            await asyncio.sleep(0.05)
        assert b["plan"]["services"] == ["public_welfare_post"]

        # A re-import of the same ledger duplicates nothing.
        again = await upload(sc, "qx_reviewer", data, "441803100")
        assert again.status_code == 201, again.text
        assert (again.json()["created"], again.json()["already_present"]) == (0, 2)
        async with sc.system.sessions()() as session:
            n = len((await session.scalars(select(Case).where(Case.id_number == planned))).all())
        assert n == 1

        # Clocks run from the import: a visit after three months (qingxin, assumed), the
        # public-welfare standard unmet a month before its six months.
        await sc.env.sleep(timedelta(days=95))
        await sc.task("qx_officer", a_case.id, "assistance_visit")
        await sc.env.sleep(timedelta(days=60))
        gap = await sc.task("qx_officer", a_case.id, "service_gap")
        assert gap["payload"]["missing"][0]["code"] == "public_welfare_fallback"


async def test_a_person_out_of_contact_for_six_months_is_reviewed_at_once(tmp_path: Path) -> None:
    """weifang 三(一)9: the ledger's last own contact is seven months old."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        number = make_id(date(1970, 1, 2), region="370702")
        data = workbook(
            [
                [
                    "宋silent",
                    number,
                    "older_unemployed",
                    "2025-01-10",
                    "370702001",
                    "保洁",
                    "",
                    "",
                    1,
                    "2025-08-01",
                    "",
                ]
            ]
        )
        r = await upload(sc, "wf_reviewer", data)
        assert r.status_code == 201, r.text
        await import_done(sc, r.json()["id"])
        case = await case_of(sc, number)
        review = await sc.task("wf_reviewer", case.id, "cancellation_review")
        assert review["payload"]["last_own_contact_at"].startswith("2025-08-01")
