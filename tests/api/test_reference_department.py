"""Department list imports through the API on SQLite and PostgreSQL: CSV (UTF-8 and GBK) and
XLSX uploads by administrators, the import list for everyone, a file with errors refused whole
(422 with line-numbered errors, nothing stored), and the request errors (403, 401, 413, 415,
422).

A list is global to the database the tests share (an import replaces every record of its
kind, and the identification workflows read the lists), so each test restores the kinds it
touches exactly as they were (:func:`kept`)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import delete, func, insert, select

from application.services import reference as reference_service
from domain.ids import check_digit
from store.models import AuditEntry
from store.models_department import DepartmentImport, DepartmentRecordRow
from tests.problems import problem
from tests.system import System

HEADER = "身份证号,姓名,开始日期,结束日期,行政区划,监测编号"


def make_id(i: int) -> str:
    body = f"370702{date(1971, 1, 1) + timedelta(days=i // 999):%Y%m%d}{i % 999 + 1:03d}"
    return body + check_digit(body)


def people(n: int, start: int = 0) -> list[str]:
    return [f"{make_id(i)},人{i},2024-01-01,,370702001,JC{i}" for i in range(start, start + n)]


def csv_bytes(lines: list[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def upload(
    system: System,
    headers: dict[str, str],
    kind: str,
    data: bytes,
    name: str = "名单.csv",
    content_type: str = "text/csv",
) -> httpx.Response:
    return await system.http.post(
        f"/api/v1/department/imports/{kind}",
        headers=headers,
        files={"file": (name, data, content_type)},
    )


@asynccontextmanager
async def kept(system: System, *kinds: str) -> AsyncIterator[None]:
    """Restores the imports and records of ``kinds`` as they were before the block."""
    records = DepartmentRecordRow.__table__
    async with system.sessions()() as session:
        before_imports = set(
            await session.scalars(
                select(DepartmentImport.id).where(DepartmentImport.list_kind.in_(kinds))
            )
        )
        rows = (await session.execute(select(records).where(records.c.list_kind.in_(kinds)))).all()
        before_records = [dict(row._mapping) for row in rows]
    try:
        yield
    finally:
        async with system.sessions()() as session, session.begin():
            await session.execute(records.delete().where(records.c.list_kind.in_(kinds)))
            await session.execute(
                delete(DepartmentImport).where(
                    DepartmentImport.list_kind.in_(kinds),
                    DepartmentImport.id.not_in(before_imports or {-1}),
                )
            )
            if before_records:
                await session.execute(insert(records), before_records)


async def count(system: System, kind: str) -> tuple[int, int]:
    """(imports, records) of ``kind``."""
    async with system.sessions()() as session:
        imports = await session.scalar(
            select(func.count())
            .select_from(DepartmentImport)
            .where(DepartmentImport.list_kind == kind)
        )
        rows = await session.scalar(
            select(func.count())
            .select_from(DepartmentRecordRow)
            .where(DepartmentRecordRow.list_kind == kind)
        )
    return int(imports or 0), int(rows or 0)


async def test_csv_imports_utf8_then_gbk(system: System) -> None:
    region = await system.make_region()
    kind = "monitoring_target"
    async with kept(system, kind):
        r = await upload(system, region.headers["admin"], kind, csv_bytes(people(3)), "监测.csv")
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["list"] == kind and first["list_name_zh"] == "防返贫监测对象"
        assert first["records"] == 3 and first["file_name"] == "监测.csv"
        assert first["imported_by"] == f"r{region.n}_admin" and first["current"] is True
        assert (await count(system, kind))[1] == 3

        # Any administrator may import (here one at a county), GBK as Excel saves it.
        gbk = csv_bytes(people(2, start=10), encoding="gbk")
        r = await upload(system, region.headers["admin_b"], kind, gbk, "gbk.csv")
        assert r.status_code == 201, r.text
        second = r.json()
        assert second["records"] == 2 and second["replaces_previous"] is True
        assert second["replaced"] == 3 and second["imported_by"] == f"r{region.n}_admin_b"
        assert (await count(system, kind))[1] == 2

        # Everyone may read the list of imports; newest first, the one in use marked.
        listing = await system.http.get(
            "/api/v1/department/imports",
            headers=region.headers["officer"],
            params={"kind": kind},
        )
        assert listing.status_code == 200, listing.text
        items = listing.json()["items"]
        assert [i["import_id"] for i in items[:2]] == [second["import_id"], first["import_id"]]
        assert [i["current"] for i in items[:2]] == [True, False]
        everything = await system.http.get(
            "/api/v1/department/imports", headers=region.headers["officer"], params={"limit": 500}
        )
        assert second["import_id"] in [i["import_id"] for i in everything.json()["items"]]

        async with system.sessions()() as session:
            audit = (
                await session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.action == "department_list_imported",
                        AuditEntry.actor_id == region.users["admin_b"],
                    )
                )
            ).all()
        assert len(audit) == 1 and audit[0].object_id == kind
        assert audit[0].detail == {
            "import_id": second["import_id"],
            "by": f"r{region.n}_admin_b",
            "file_name": "gbk.csv",
            "records": 2,
            "replaced": 3,
        }


async def test_xlsx_import(system: System) -> None:
    region = await system.make_region()
    kind = "poverty_alleviation"
    data = xlsx_bytes(
        [
            ["id_number", "name", "valid_from", "valid_to", "jurisdiction_code", "户编号"],
            [make_id(100), "刘芳", datetime(2024, 1, 1), datetime(2030, 12, 31), 370702001, "H1"],
            [make_id(101), "王强", "2024/5/1", None, "370702", None],
        ]
    )
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    async with kept(system, kind):
        r = await upload(system, region.headers["admin"], kind, data, "脱贫户.xlsx", xlsx)
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["records"] == 2 and out["file_name"] == "脱贫户.xlsx"
        async with system.sessions()() as session:
            rows = (
                await session.scalars(
                    select(DepartmentRecordRow)
                    .where(DepartmentRecordRow.import_id == out["import_id"])
                    .order_by(DepartmentRecordRow.id)
                )
            ).all()
        assert [(r.name, r.valid_from, r.valid_to, r.jurisdiction_code) for r in rows] == [
            ("刘芳", date(2024, 1, 1), date(2030, 12, 31), "370702001"),
            ("王强", date(2024, 5, 1), None, "370702"),
        ]
        assert rows[0].detail == {"户编号": "H1"}


async def test_a_bad_file_is_refused_whole(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    kind = "monitoring_target"
    async with kept(system, kind):
        assert (await upload(system, admin, kind, csv_bytes(people(2)))).status_code == 201
        before = await count(system, kind)

        bad = csv_bytes(
            [
                people(1)[0],
                f"{make_id(7)[:-1]}0,人7,2024-01-01,,370702001,JC7",  # wrong check digit
                f"{make_id(8)},人8,2024-02-30,,370702001,JC8",  # no such date
                f"{make_id(9)},,2024-01-01,,370702001,JC9",  # no name
            ]
        )
        body = problem(
            await upload(system, admin, kind, bad, "坏.csv"), 422, "department-file-invalid"
        )
        assert body["error_count"] == 3 and body["more_errors"] == 0
        assert body["detail"] == "坏.csv: 3 errors; nothing was imported"
        assert [(e["line"], e["column"]) for e in body["errors"]] == [
            (3, "身份证号"),
            (4, "开始日期"),
            (5, "姓名"),
        ]
        assert all(e["message"] and e["message_zh"] for e in body["errors"])
        assert {(e["field"], e["code"]) for e in body["errors"]} == {("body.file", "line_error")}

        xlsx_bad = xlsx_bytes([["身份证号", "姓名", "备注"], [make_id(20), "刘芳", "=1+1"]])
        body = problem(
            await upload(system, admin, kind, xlsx_bad, "公式.xlsx", "application/octet-stream"),
            422,
            "department-file-invalid",
        )
        assert body["errors"][0]["line"] == 2 and body["errors"][0]["column"] == "备注"

        empty = problem(await upload(system, admin, kind, b""), 422, "department-file-invalid")
        assert (
            empty["errors"][0]["line"] == 1 and empty["errors"][0]["message"] == "the file is empty"
        )
        header_only = problem(
            await upload(system, admin, kind, csv_bytes([])), 422, "department-file-invalid"
        )
        assert header_only["error_count"] == 1
        # File-level problems: no line errors, the reason in the detail (and in Chinese).
        for data, name in (
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "旧版.xls"),
            (b"not a workbook", "x.xlsx"),
            (b"PK\x03\x04broken", "broken.xlsx"),
            (b"<html><table></table></html>", "export.xls"),
        ):
            body = problem(
                await upload(system, admin, kind, data, name), 422, "department-file-invalid"
            )
            assert body["errors"] == [] and body["message_zh"], name
        assert await count(system, kind) == before


async def test_who_may_import(system: System) -> None:
    region = await system.make_region()
    kind = "monitoring_target"
    async with kept(system, kind):
        before = await count(system, kind)
        for user in ("officer", "reviewer", "supervisor"):
            body = problem(
                await upload(system, region.headers[user], kind, csv_bytes(people(1))),
                403,
                "actor-not-allowed",
            )
            assert "admin" in body["detail"]
        problem(await upload(system, {}, kind, csv_bytes(people(1))), 401, "unauthorized")
        problem(await system.http.get("/api/v1/department/imports"), 401, "unauthorized")
        assert await count(system, kind) == before


async def test_request_errors(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    kind = "monitoring_target"
    url = f"/api/v1/department/imports/{kind}"
    async with kept(system, kind):
        before = await count(system, kind)
        problem(await upload(system, admin, "no_such_list", csv_bytes(people(1))), 404, "not-found")
        problem(
            await system.http.post(url, headers=admin, json={"file": "x"}),
            415,
            "unsupported-media-type",
        )
        missing = await system.http.post(url, headers=admin, files={"other": ("a.csv", b"x")})
        assert problem(missing, 422, "validation-error")["errors"][0]["field"] == "body.file"
        garbled = await system.http.post(
            url,
            headers={**admin, "Content-Type": "multipart/form-data; boundary=xyz"},
            content=b"--xyz\r\nnonsense",
        )
        problem(garbled, 422, "validation-error")
        no_boundary = await system.http.post(
            url, headers={**admin, "Content-Type": "multipart/form-data"}, content=b"abc"
        )
        problem(no_boundary, 422, "validation-error")

        monkeypatch.setattr(reference_service, "MAX_UPLOAD_BYTES", 1000)
        big = csv_bytes(people(40))
        assert len(big) > 1000
        problem(await upload(system, admin, kind, big), 413, "payload-too-large")
        assert await count(system, kind) == before

        for params in ({"limit": 0}, {"limit": 501}, {"kind": "nope"}, {"kinds": kind}):
            problem(
                await system.http.get(
                    "/api/v1/department/imports", headers=region.headers["officer"], params=params
                ),
                422,
                "validation-error",
            )
