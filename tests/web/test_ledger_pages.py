"""The ledger page (帮扶台账) without a browser, on SQLite and PostgreSQL, driven as a user would:
the export downloads a workbook with masked ID numbers for a grassroots officer and full ones
for a county reviewer who ticks the box (audited), a forged request for full numbers or for a
place outside the user's area is refused in place, the CSRF token is required; an officer
cannot upload (the 403 page, nothing imported); a bad file is answered with its line errors in
Chinese (and English on request) and nothing imported; a good file leads back to the page with
the import listed with its progress, in the importer's area only.

The data are the ledger API tests' (:mod:`tests.api.test_ledger`)."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from domain.ids import mask_id_number
from store.models import AuditEntry
from tests.api.test_ledger import HEADER, assisted, csv, nothing_imported, with_pack
from tests.factories import make_id
from tests.system import Region, System
from tests.web.test_admin_pages import csrf_of
from tests.web.test_dashboard_pages import client

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_rows(content: bytes) -> list[dict[str, object]]:
    """The workbook's rows by column name."""
    rows = list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].values)
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def problem_of(html: str) -> str:
    found = re.search(r'data-problem="([^"]+)"', html)
    return found.group(1) if found else ""


def line_errors(html: str) -> list[tuple[str, str, str]]:
    """(line, column, message) of the line errors table."""
    table = re.search(r'<table[^>]*data-testid="line-errors".*?</table>', html, re.S)
    assert table, "no line errors on the page"
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(0))
    return [(a, b, c) for a, b, c in rows]


def import_rows(html: str) -> dict[str, dict[str, str]]:
    """The imports table: import id -> column -> text."""
    out: dict[str, dict[str, str]] = {}
    for import_id, body in re.findall(r'<tr data-import-id="(\d+)"[^>]*>(.*?)</tr>', html, re.S):
        cells = re.findall(r'<td data-col="(\w+)">(.*?)</td>', body, re.S)
        out[import_id] = {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in cells}
    return out


async def export(
    system: System, region: Region, user: str, **fields: str
) -> tuple[int, str, bytes, str]:
    """Open the page, send the export form; (status, content type, body, html or '')."""
    async with client(system, region, user) as web:
        page = await web.get("/ledger")
        assert page.status_code == 200, page.text
        r = await web.post("/ledger/export", data={"csrf": csrf_of(page.text), **fields})
    kind = r.headers["content-type"]
    return r.status_code, kind, r.content, r.text if kind.startswith("text/html") else ""


async def test_export_masked_for_an_officer_and_full_for_a_reviewer(system: System) -> None:
    region = await system.make_region()
    case_id, number = await assisted(system, region)
    street = region.codes["street_a1"]

    async with client(system, region, "officer") as web:
        page = await web.get("/ledger")
    assert page.status_code == 200
    assert 'href="/ledger"' in page.text and 'href="/verification"' not in page.text  # nav
    assert 'name="full_ids"' not in page.text  # no box for what the role may not do
    assert 'data-testid="import-not-allowed"' in page.text and 'action="/ledger/imports"' not in (
        page.text
    )

    status, kind, body, _ = await export(system, region, "officer", jurisdiction=street)
    assert status == 200 and kind == XLSX
    rows = sheet_rows(body)
    assert [r["案件编号"] for r in rows] == [case_id]
    assert rows[0]["身份证号"] == mask_id_number(number)
    assert number.encode() not in body

    # Full numbers asked for anyway: the service's refusal, in place, and no workbook.
    status, kind, _, html = await export(
        system, region, "officer", jurisdiction=street, full_ids="1"
    )
    assert status == 403 and problem_of(html) == "actor-not-allowed"
    assert "您的角色无权进行此操作" in html

    async with client(system, region, "reviewer") as web:
        page = await web.get("/ledger")
    assert 'name="full_ids"' in page.text and 'action="/ledger/imports"' in page.text
    assert 'href="/verification"' in page.text
    status, kind, body, _ = await export(
        system, region, "reviewer", jurisdiction=street, full_ids="1", layout="service_tracking"
    )
    assert status == 200 and kind == XLSX
    assert [r["身份证号"] for r in sheet_rows(body)] == [number]
    async with system.sessions()() as session:
        audits = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "ledger_exported",
                    AuditEntry.actor_id.in_([region.users["reviewer"], region.users["officer"]]),
                )
            )
        ).all()
    # The officer's masked export and the reviewer's full one; the refused one left none.
    assert sorted(
        (a.actor_id == region.users["reviewer"], a.object_id, (a.detail or {})["full_ids"])
        for a in audits
    ) == [(False, street, False), (True, street, True)]


async def test_export_refusals_in_place(system: System) -> None:
    region = await system.make_region()
    # jilin's one-person-one-file words on request.
    status, kind, body, _ = await export(
        system, region, "reviewer", layout="one_person_one_file", exited_since="2020-01-01"
    )
    assert status == 200 and kind == XLSX
    header = next(load_workbook(io.BytesIO(body), read_only=True).worksheets[0].values)
    assert "帮扶次数" in header

    # A place of the sibling county: not found, as the API says it.
    status, _, _, html = await export(
        system, region, "officer", jurisdiction=region.codes["street_b1"]
    )
    assert status == 404 and problem_of(html) == "not-found"
    # A date that is no date: the message beside the field, the rest of the form kept.
    status, _, _, html = await export(
        system, region, "reviewer", exited_since="2025-02-30", layout="one_person_one_file"
    )
    assert status == 422 and 'data-field="exited_since"' in html
    assert 'value="one_person_one_file" selected' in html
    # Without the CSRF token (a page of another site): refused, nothing exported.
    async with client(system, region, "reviewer") as web:
        r = await web.post("/ledger/export", data={"full_ids": "1"})
    assert r.status_code == 403 and problem_of(r.text) == "csrf"
    async with system.sessions()() as session:
        audits = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "ledger_exported",
                    AuditEntry.actor_id.in_([region.users["reviewer"], region.users["officer"]]),
                )
            )
        ).all()
    assert len(audits) == 1  # the one workbook handed out


async def upload(
    system: System, region: Region, user: str, data: bytes, name: str, lang: str = ""
) -> tuple[int, str, str]:
    """The import form sent with a file; (status, location, html)."""
    async with client(system, region, user) as web:
        page = await web.get("/ledger" + (f"?lang={lang}" if lang else ""))
        assert page.status_code == 200, page.text
        r = await web.post(
            "/ledger/imports",
            data={"csrf": csrf_of(page.text), "jurisdiction": region.codes["street_a1"]},
            files={"file": (name, data)},
        )
    return r.status_code, r.headers.get("location", ""), r.text


async def test_an_officer_cannot_upload(system: System) -> None:
    region = await system.make_region()
    await with_pack(system, region)
    data = csv(
        HEADER, f"王强,{make_id(date(1972, 2, 2), region='441803')},大龄失业人员,2025-05-06,"
    )
    status, _, html = await upload(system, region, "officer", data, "a.csv")
    assert status == 403 and problem_of(html) == "actor-not-allowed"
    assert "您的角色无权进行此操作" in html
    await nothing_imported(system, region)


async def test_a_bad_file_shows_its_line_errors_and_imports_nothing(system: System) -> None:
    region = await system.make_region()
    await with_pack(system, region)
    good = make_id(date(1972, 2, 2), region="441803")
    bad_id = good[:-1] + ("0" if good[-1] != "0" else "1")
    data = csv(
        HEADER,
        f"王强,{good},大龄失业人员,2025-05-06,职业指导",
        f"李丽,{bad_id},大龄失业人员,2025-05-06,",
        f"赵六,{make_id(date(1972, 2, 4), region='441803')},残疾人员,2025-02-30,理发",
    )
    status, _, html = await upload(system, region, "reviewer", data, "bad.csv")
    assert status == 422 and problem_of(html) == "ledger-file-invalid"
    assert "台账文件有误，未导入任何记录" in html
    errors = line_errors(html)
    assert {(line, column) for line, column, _ in errors} == {
        ("3", "身份证号"),
        ("4", "认定日期"),
        ("4", "计划服务项目"),
    }
    assert all(re.search(r"[\u4e00-\u9fff]", message) for _, _, message in errors)
    assert "bad.csv 中有 3 处错误，未导入任何记录" in html
    await nothing_imported(system, region)

    # In English the same lines in the API's English words.
    status, _, html = await upload(system, region, "reviewer", data, "bad.csv", lang="en")
    assert status == 422
    assert "The ledger file has errors; nothing was imported" in html
    assert len(line_errors(html)) == 3
    assert "bad.csv has 3 error(s); nothing was imported" in html
    await nothing_imported(system, region)

    # No file chosen: the message beside the field.
    async with client(system, region, "reviewer") as web:
        page = await web.get("/ledger")
        r = await web.post(
            "/ledger/imports",
            data={"csrf": csrf_of(page.text)},
            files={"file": ("", b"")},
        )
    assert r.status_code == 422 and 'id="import-file-error"' in r.text


async def test_a_good_file_is_imported_and_listed(system: System) -> None:
    region = await system.make_region()
    await with_pack(system, region)
    data = csv(
        HEADER + ",人员状态",
        f"王强,{make_id(date(1973, 3, 3), region='441803')},大龄失业人员,2025-05-06,职业指导,",
        f"李丽,{make_id(date(1973, 3, 4), region='441803')},大龄失业人员,2025-05-06,,已退出",
    )
    status, location, _ = await upload(system, region, "reviewer", data, "good.csv")
    assert status == 303 and location.startswith("/ledger?imported="), location
    import_id = location.rsplit("=", 1)[1]

    async with client(system, region, "reviewer") as web:
        page = await web.get(location)
    assert page.status_code == 200
    assert 'data-testid="imported"' in page.text
    assert "已导入 good.csv：新建 1 人，已在援助中 0 人，已退出未导入 1 人。" in page.text
    row = import_rows(page.text)[import_id]
    assert (row["created"], row["already_present"], row["skipped_exited"]) == ("1", "0", "1")
    assert row["status"] in ("待启动", "启动中", "已完成")
    assert row["started"] in ("0 / 1", "1 / 1")

    # The officer of the place sees it (read-only); the sibling county does not.
    async with client(system, region, "officer") as web:
        mine = await web.get("/ledger")
        fragment = await web.get("/ledger/imports", headers={"HX-Request": "true"})
        plain = await web.get("/ledger/imports")
    assert import_id in import_rows(mine.text)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert import_id in import_rows(fragment.text)
    assert plain.status_code == 303
    async with client(system, region, "reviewer_b") as web:
        theirs = await web.get("/ledger")
    assert import_id not in import_rows(theirs.text)
