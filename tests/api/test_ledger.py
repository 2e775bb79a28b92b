"""The ledger API on SQLite and PostgreSQL: the export's columns and values (JSON and .xlsx),
masked ID numbers unless a county reviewer or above asks (audited), scope (404 outside); the
import's refusals — wrong columns, a bad ID number, formulas, an undecodable CSV, a file too
large, a grassroots officer — each with line-level messages and nothing imported, and a GBK CSV
accepted. (The import that starts assistance: tests/workflows/test_ledger_import.py.)"""

from __future__ import annotations

import asyncio
import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from domain.ids import mask_id_number
from store.models import AuditEntry, Case, Jurisdiction
from store.models_ledger import LedgerImport
from tests.assistance_support import region_chain, start_assistance
from tests.factories import make_id
from tests.problems import problem
from tests.system import Region, System


async def assisted(system: System, region: Region) -> tuple[str, str]:
    number = make_id(date(1971, 1 + region.n % 12, 1 + region.n % 28), region="360502")
    case_id, _ = await start_assistance(
        system.sessions(),
        system.env.client,
        system.settings.temporal_task_queue,
        pack_id="xinyu-2023",
        chain=region_chain(region.codes, region.paths),
        category="age_4050",
        id_number=number,
        applicant_name="=台账测试",
    )
    h = region.headers["officer"]
    for what, body in (
        ("services", {"kind": "job_recommendation"}),
        ("contacts", {"channel": "came_in", "own": True}),
    ):
        for _ in range(200):
            r = await system.http.post(
                f"/api/v1/cases/{case_id}/assistance/{what}", headers=h, json=body
            )
            if r.status_code != 409:
                break
            await asyncio.sleep(0.05)
        assert r.status_code == 201, r.text
    for _ in range(200):
        r = await system.http.get(f"/api/v1/cases/{case_id}/assistance", headers=h)
        if r.status_code == 200 and r.json()["contact_count"] == 1:
            return case_id, number
        await asyncio.sleep(0.05)
    raise AssertionError(r.text)


async def ledger(system: System, headers: dict[str, str], **params: Any) -> Any:
    return await system.http.get("/api/v1/ledger", headers=headers, params=params)


async def test_export_columns_values_masking_and_audit(system: System) -> None:
    region = await system.make_region()
    case_id, number = await assisted(system, region)
    r = await ledger(system, region.headers["officer"], format="json")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["layout"] == "service_tracking" and body["title"] == "就业困难人员服务跟踪情况"
    rows = [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]
    assert [x["案件编号"] for x in rows] == [case_id]
    row = rows[0]
    assert row["身份证号"] == mask_id_number(number)
    assert row["姓名"] == "'=台账测试"  # inert: a spreadsheet shows it as text
    assert row["人员类别"] and row["人员类别"] != "age_4050"  # the pack's Chinese name
    assert row["岗位推荐次数"] == 1 and row["职业指导次数"] == 0
    assert "岗位推荐1/3" in row["服务达标情况"] and "未达标" in row["服务达标情况"]
    assert row["联系次数"] == 1 and row["最近主动联系日期"] is not None
    assert row["人员状态"] == "援助中" and row["所属镇街代码"] == region.codes["street_a1"]

    # The workbook has the same columns and values, the number masked.
    x = await ledger(system, region.headers["officer"])
    assert x.status_code == 200
    assert x.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(x.content), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == body["columns"]
    assert values[1][body["columns"].index("身份证号")] == mask_id_number(number)
    assert values[1][body["columns"].index("姓名")] == "'=台账测试"

    # Full numbers: not for a grassroots officer; for the county reviewer, audited.
    problem(
        await ledger(system, region.headers["officer"], full_ids="true"), 403, "actor-not-allowed"
    )
    full = await ledger(system, region.headers["reviewer"], format="json", full_ids="true")
    assert full.status_code == 200, full.text
    assert full.json()["rows"][0][body["columns"].index("身份证号")] == number
    async with system.sessions()() as session:
        audits = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "ledger_exported",
                    AuditEntry.actor_id == region.users["reviewer"],
                )
            )
        ).all()
    assert [a.detail["full_ids"] for a in audits if a.detail] == [True]

    # jilin's words on request; nothing outside the caller's area.
    one = await ledger(
        system, region.headers["reviewer"], format="json", layout="one_person_one_file"
    )
    assert "帮扶次数" in one.json()["columns"]
    problem(
        await ledger(system, region.headers["officer_b"], jurisdiction=region.codes["street_a1"]),
        404,
        "not-found",
    )
    other = await ledger(system, region.headers["officer_a2"], format="json")
    assert other.json()["rows"] == []


# --- import refusals -------------------------------------------------------------------------


async def with_pack(system: System, region: Region, pack: str = "qingxin-2024") -> None:
    async with system.sessions()() as session, session.begin():
        await session.execute(
            update(Jurisdiction)
            .where(Jurisdiction.code == region.codes["province"])
            .values(policy_pack_id=pack)
        )


async def upload(
    system: System, region: Region, data: bytes, name: str, user: str = "reviewer"
) -> Any:
    return await system.http.post(
        "/api/v1/ledger/imports",
        headers=region.headers[user],
        files={"file": (name, data)},
        data={"jurisdiction": region.codes["street_a1"]},
    )


async def nothing_imported(system: System, region: Region) -> None:
    async with system.sessions()() as session:
        imports = (
            await session.scalars(
                select(LedgerImport).where(
                    LedgerImport.jurisdiction_code == region.codes["street_a1"]
                )
            )
        ).all()
        cases = (
            await session.scalars(
                select(Case).where(
                    Case.channel == "ledger_import",
                    Case.jurisdiction_code == region.codes["street_a1"],
                )
            )
        ).all()
    assert imports == [] and cases == []


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


HEADER = "姓名,身份证号,人员类别,认定日期,计划服务项目"


async def test_malformed_files_are_refused_with_line_errors(system: System) -> None:
    region = await system.make_region()
    await with_pack(system, region)
    good = make_id(date(1972, 2, 2), region="441803")
    bad_id = good[:-1] + ("0" if good[-1] != "0" else "1")
    formula_id = make_id(date(1972, 2, 3), region="441803")

    wrong = await upload(system, region, csv("姓名,身份证,类别", f"王强,{good},x"), "a.csv")
    body = problem(wrong, 422, "ledger-file-invalid")
    assert {e["column"] for e in body["errors"]} >= {"身份证", None}
    assert body["errors"][0]["line"] == 1

    lines = await upload(
        system,
        region,
        csv(
            HEADER,
            f"王强,{good},大龄失业人员,2025-05-06,职业指导",
            f"李丽,{bad_id},大龄失业人员,2025-05-06,",
            f'=HYPERLINK("http://x"),{formula_id},残疾人员,2025-05-06,',
            f"赵六,{make_id(date(1972, 2, 4), region='441803')},残疾人员,2025-02-30,理发",
        ),
        "b.csv",
    )
    body = problem(lines, 422, "ledger-file-invalid")
    where = {(e["line"], e["column"]) for e in body["errors"]}
    assert where == {(3, "身份证号"), (4, "姓名"), (5, "认定日期"), (5, "计划服务项目")}
    assert all(e["message_zh"] for e in body["errors"]) and body["error_count"] == 4

    undecodable = await upload(system, region, b"\xff\xfe\xfa" + b"\x81" * 50, "c.csv")
    problem(undecodable, 422, "ledger-file-invalid")
    await nothing_imported(system, region)

    # A file that is nothing but an office's ledger saved by Excel as GBK is read.
    gbk = f"{HEADER}\n王强,{good},大龄失业人员,2025-05-06,职业指导\n".encode("gb18030")
    denied = await upload(system, region, gbk, "d.csv", user="officer")
    problem(denied, 403, "actor-not-allowed")
    await nothing_imported(system, region)


async def test_a_huge_file_is_refused(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    import application.services.ledger as service

    monkeypatch.setattr(service, "MAX_UPLOAD_BYTES", 1024)
    region = await system.make_region()
    await with_pack(system, region)
    row = f"王强,{make_id(region='441803')},大龄失业人员,2025-05-06,\n"
    r = await upload(system, region, (HEADER + "\n" + row * 100).encode(), "big.csv")
    problem(r, 413, "payload-too-large")
    await nothing_imported(system, region)


async def test_imports_are_listed_in_scope(system: System) -> None:
    region = await system.make_region()
    await with_pack(system, region)
    # Every line exited: a valid import that makes no case (and starts nothing).
    data = csv(
        HEADER + ",人员状态",
        f"王强,{make_id(date(1973, 3, 3), region='441803')},大龄失业人员,2025-05-06,,已退出",
    )
    r = await upload(system, region, data, "exited.csv")
    assert r.status_code == 201, r.text
    assert (r.json()["created"], r.json()["skipped_exited"], r.json()["status"]) == (0, 1, "done")
    mine = await system.http.get("/api/v1/ledger/imports", headers=region.headers["officer"])
    assert [i["id"] for i in mine.json()["items"]] == [r.json()["id"]]
    theirs = await system.http.get("/api/v1/ledger/imports", headers=region.headers["officer_b"])
    assert r.json()["id"] not in [i["id"] for i in theirs.json()["items"]]


async def test_the_places_pack_chooses_the_ledgers_layout(system: System) -> None:
    """jilin 三(一) 做到一人一册: where a place's pack says so (its ``[ledger]`` section), the
    ledger comes one person one file unless the caller asks otherwise; other packs' places
    get service tracking. No pack is named in the code."""
    region = await system.make_region()
    headers = region.headers["reviewer"]
    plain = await ledger(system, headers, format="json")
    assert plain.json()["layout"] == "service_tracking"
    async with system.sessions()() as session, session.begin():
        await session.execute(
            update(Jurisdiction)
            .where(Jurisdiction.code == region.codes["province"])
            .values(policy_pack_id="jilin-2022")
        )
    jilin = await ledger(system, headers, format="json")
    assert jilin.status_code == 200, jilin.text
    assert jilin.json()["layout"] == "one_person_one_file" and "帮扶次数" in jilin.json()["columns"]
    asked = await ledger(system, headers, format="json", layout="service_tracking")
    assert asked.json()["layout"] == "service_tracking"


async def test_export_counts_the_materials_held(system: System) -> None:
    from tests.materials_support import jpeg, pdf

    region = await system.make_region()
    case_id, _ = await assisted(system, region)
    before = (await ledger(system, region.headers["officer"], format="json")).json()
    assert dict(zip(before["columns"], before["rows"][0], strict=True))["证明材料"] == ""
    for data in (jpeg(), jpeg(300, 100), pdf()):
        r = await system.http.post(
            f"/api/v1/cases/{case_id}/materials",
            headers=region.headers["officer"],
            data={"evidence_code": "id_card_or_household_register"},
            files={"file": ("证件", data, "application/octet-stream")},
        )
        assert r.status_code == 201, r.text
    for layout in ("service_tracking", "one_person_one_file"):
        body = (
            await ledger(system, region.headers["officer"], format="json", layout=layout)
        ).json()
        row = dict(zip(body["columns"], body["rows"][0], strict=True))
        assert row["证明材料"].endswith("（3份）"), row["证明材料"]
        assert row["证明材料"].startswith("身份证")
