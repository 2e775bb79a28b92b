"""``yuanzhu department import|lists|check`` through click's CliRunner against a temporary
SQLite database (tables made with ``create_all``), with CSV files and XLSX workbooks built
here with openpyxl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

import click
import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlalchemy import Table, func, select, text

from domain.ids import check_digit
from store.base import Base
from store.db import make_engine, make_sessionmaker
from store.models_department import DepartmentImport, DepartmentRecordRow
from worker.cli_department import register

LIU_FANG = "11010519491231002X"
HEADER = "身份证号,姓名,开始日期,结束日期,行政区划,低保证号"


def make_id(i: int) -> str:
    body = f"370702{date(1970, 1, 1) + timedelta(days=i // 999):%Y%m%d}{i % 999 + 1:03d}"
    return body + check_digit(body)


def make_root() -> click.Group:
    root = click.Group("yuanzhu")
    register(root)
    return root


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class Cli:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        # In a worker thread: the commands call asyncio.run, which must not touch the event
        # loop pytest-asyncio keeps for async tests in this thread.
        env = {"YUANZHU_DATABASE_URL": url(self.db), "YUANZHU_ENVIRONMENT": "development"}
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(self.runner.invoke, make_root(), list(args), env=env).result()

    async def count(self, kind: str | None = None) -> int:
        engine = make_engine(url(self.db))
        try:
            async with make_sessionmaker(engine)() as session:
                query = select(func.count()).select_from(DepartmentRecordRow)
                if kind is not None:
                    query = query.where(DepartmentRecordRow.list_kind == kind)
                return int(await session.scalar(query) or 0)
        finally:
            await engine.dispose()


@pytest.fixture
async def cli(tmp_path: Path) -> Cli:
    db = tmp_path / "y.db"
    engine = make_engine(url(db))
    tables = [cast(Table, DepartmentImport.__table__), cast(Table, DepartmentRecordRow.__table__)]
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=tables)
    await engine.dispose()
    return Cli(db)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Cli]:
    """No database file yet: nothing may create one."""
    cli = Cli(tmp_path / "missing" / "y.db")
    yield cli
    assert not cli.db.exists()


@pytest.fixture
async def unmigrated(tmp_path: Path) -> Cli:
    db = tmp_path / "empty.db"
    engine = make_engine(url(db))
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE something (id INTEGER PRIMARY KEY)"))
    await engine.dispose()
    return Cli(db)


def csv_file(tmp_path: Path, lines: list[str], name: str = "低保名单.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def people(n: int, start: int = 0) -> list[str]:
    return [f"{make_id(i)},人{i},2024-01-01,,370702001,DB{i}" for i in range(start, start + n)]


def xlsx_file(tmp_path: Path, rows: list[list[object]], name: str = "残疾人.xlsx") -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


# -- import ----------------------------------------------------------------------------------


async def test_import_then_replace(cli: Cli, tmp_path: Path) -> None:
    first = cli(
        "department",
        "import",
        "--list",
        "minimum_living_allowance",
        str(csv_file(tmp_path, people(3))),
    )
    assert first.exit_code == 0, first.output
    assert first.stdout == "imported 3 records into minimum_living_allowance (first import)\n"
    assert first.stderr == ""
    second = cli(
        "department",
        "import",
        "--list",
        "minimum_living_allowance",
        str(csv_file(tmp_path, people(5, start=10))),
    )
    assert second.stdout == "imported 5 records into minimum_living_allowance (replacing 3)\n"
    assert await cli.count("minimum_living_allowance") == 5


async def test_import_gbk_csv(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(("\n".join([HEADER, *people(2)]) + "\n").encode("gbk"))
    result = cli("department", "import", "--list", "low_income_edge", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 2 records into low_income_edge (first import)\n"


async def test_import_xlsx(cli: Cli, tmp_path: Path) -> None:
    path = xlsx_file(
        tmp_path,
        [
            ["id_number", "name", "valid_from", "valid_to", "jurisdiction_code", "残疾等级"],
            [LIU_FANG, "刘芳", datetime(2024, 1, 1), datetime(2030, 12, 31), 370702001, "二级"],
            [make_id(1), "王强", "2024/5/1", None, "370702", None],
        ],
    )
    result = cli("department", "import", "--list", "disability", str(path), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["imported"] is True
    assert (out["list"], out["records"], out["replaced"], out["replaces_previous"]) == (
        "disability",
        2,
        0,
        False,
    )
    assert out["file_name"] == "残疾人.xlsx" and out["imported_by"].startswith("cli")
    check = cli("department", "check", LIU_FANG, "--on", "2026-03-01", "--json")
    assert json.loads(check.stdout)["records"] == [
        {
            "list": "disability",
            "valid_from": "2024-01-01",
            "valid_to": "2030-12-31",
            "valid_on_date": True,
            "jurisdiction_code": "370702001",
        }
    ]


async def test_xlsx_with_a_formula_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    assert (
        cli(
            "department", "import", "--list", "disability", str(csv_file(tmp_path, people(2)))
        ).exit_code
        == 0
    )
    path = xlsx_file(
        tmp_path,
        [
            ["身份证号", "姓名", "备注"],
            [LIU_FANG, "刘芳", "=1+1"],
            [make_id(5), "王强", "x"],
        ],
    )
    result = cli("department", "import", "--list", "disability", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: 残疾人.xlsx: 1 error; nothing was imported",
        "line 2: 备注: the cell holds a formula or starts like one (=, +, -, @); only plain "
        "values are accepted",
    ]
    assert await cli.count("disability") == 2  # the previous list is untouched


async def test_errors_are_listed_up_to_20(cli: Cli, tmp_path: Path) -> None:
    lines = [f"bad{i},人{i},,,," for i in range(25)] + people(3) + [people(1)[0]]
    result = cli(
        "department", "import", "--list", "social_insurance", str(csv_file(tmp_path, lines))
    )
    assert result.exit_code == 1
    err = result.stderr.splitlines()
    assert err[0] == "error: 低保名单.csv: 26 errors; nothing was imported"
    assert err[1] == (
        "line 2: 身份证号: invalid ID number: the ID number must have 15 or 18 characters, not 4"
    )
    assert len(err) == 1 + 20 + 1
    assert err[-1] == "… and 6 more"
    assert await cli.count() == 0


async def test_errors_as_json(cli: Cli, tmp_path: Path) -> None:
    path = csv_file(tmp_path, [f"{LIU_FANG},刘芳,2025-01-01,2024-01-01,,"])
    result = cli("department", "import", "--list", "disability", str(path), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "imported": False,
        "list": "disability",
        "file_name": "低保名单.csv",
        "error_count": 1,
        "errors": [
            {
                "line": 2,
                "column": "结束日期",
                "message": "2024-01-01 is before the start date 2025-01-01",
                "message_zh": "结束日期2024-01-01早于开始日期2025-01-01",
            }
        ],
    }


async def test_header_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("编号,名称\n1,a\n", encoding="utf-8")
    result = cli("department", "import", "--list", "disability", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1].startswith(
        "line 1: missing required columns 身份证号/id_number, 姓名/name; expected headers: "
    )


async def test_undecodable_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"id_number,name\n\x80\xff\x80\xff\n")
    result = cli("department", "import", "--list", "disability", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: bad.csv: the file is neither UTF-8 nor GB18030/GBK")
    assert result.stderr.count("\n") == 1


def test_unknown_list_kind_is_a_usage_error(fresh: Cli, tmp_path: Path) -> None:
    result = fresh("department", "import", "--list", "dibao", str(csv_file(tmp_path, people(1))))
    assert result.exit_code == 2


def test_import_without_a_database(fresh: Cli, tmp_path: Path) -> None:
    result = fresh(
        "department", "import", "--list", "disability", str(csv_file(tmp_path, people(1)))
    )
    assert result.exit_code == 1
    assert result.stderr == "error: the database is not migrated; run 'yuanzhu db upgrade' first\n"


def test_import_on_an_unmigrated_database(unmigrated: Cli, tmp_path: Path) -> None:
    result = unmigrated(
        "department", "import", "--list", "disability", str(csv_file(tmp_path, people(1)))
    )
    assert result.exit_code == 1
    assert "not migrated" in result.stderr


# -- lists -----------------------------------------------------------------------------------


async def test_lists(cli: Cli, tmp_path: Path) -> None:
    before = cli("department", "lists")
    assert before.exit_code == 0
    assert "minimum_living_allowance  最低生活保障对象（民政部门）" in before.stdout
    assert "  proves: household.minimum_living_allowance" in before.stdout
    assert before.stdout.count("last import: never") == 8
    cli(
        "department",
        "import",
        "--list",
        "minimum_living_allowance",
        str(csv_file(tmp_path, people(4))),
    )
    after = cli("department", "lists")
    assert after.stdout.count("last import: never") == 7
    assert "4 records from 低保名单.csv by cli" in after.stdout
    as_json = json.loads(cli("department", "lists", "--json").stdout)
    by_kind = {item["list"]: item for item in as_json["lists"]}
    assert by_kind["business_registration"]["facts"] == [
        "economic.business_licence",
        "economic.legal_representative_or_officer_elsewhere",
    ]
    assert by_kind["disability"]["last_import"] is None
    assert by_kind["minimum_living_allowance"]["last_import"]["records"] == 4


def test_lists_without_a_database(fresh: Cli) -> None:
    result = fresh("department", "lists")
    assert result.exit_code == 0
    assert result.stdout.count("last import: never") == 8
    assert "not migrated" in result.stderr


# -- check -----------------------------------------------------------------------------------


async def test_check(cli: Cli, tmp_path: Path) -> None:
    nothing = cli("department", "check", LIU_FANG)
    assert nothing.exit_code == 0
    assert "no department list has been imported" in nothing.stdout
    cli(
        "department",
        "import",
        "--list",
        "minimum_living_allowance",
        str(csv_file(tmp_path, [f"{LIU_FANG},刘芳,2024-01-01,2025-12-31,,"])),
    )
    cli("department", "import", "--list", "disability", str(csv_file(tmp_path, people(1), "d.csv")))
    result = cli("department", "check", LIU_FANG.lower(), "--on", "2025-06-01")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "110***********002X on 2025-06-01:",
        "  household.minimum_living_allowance: true  (民政部门·最低生活保障对象)",
        "  person.disability_certificate: false  (残联·残疾人证持证人员)",
        "  record: minimum_living_allowance 2024-01-01 to 2025-12-31",
    ]
    later = cli("department", "check", LIU_FANG, "--on", "2026-01-01", "--json")
    out = json.loads(later.stdout)
    assert out["id_number"] == "110***********002X" and out["on"] == "2026-01-01"
    assert out["findings"] == [
        {
            "source": "民政部门·最低生活保障对象",
            "fact": "household.minimum_living_allowance",
            "value": False,
            "checked_on": "2026-01-01",
        },
        {
            "source": "残联·残疾人证持证人员",
            "fact": "person.disability_certificate",
            "value": False,
            "checked_on": "2026-01-01",
        },
    ]
    assert out["records"][0]["valid_on_date"] is False
    text_later = cli("department", "check", LIU_FANG, "--on", "2026-01-01")
    assert "(not valid on that date)" in text_later.stdout


def test_check_errors(cli: Cli) -> None:
    bad_id = cli("department", "check", "110105194912310023")
    assert bad_id.exit_code == 1
    assert bad_id.stderr == "error: invalid ID number: check digit is 3 but should be X\n"
    bad_date = cli("department", "check", LIU_FANG, "--on", "2026-02-30")
    assert bad_date.exit_code == 1
    assert bad_date.stderr == "error: '2026-02-30' is not a valid date (YYYY-MM-DD)\n"


def test_check_without_a_database(fresh: Cli) -> None:
    result = fresh("department", "check", LIU_FANG)
    assert result.exit_code == 1 and "not migrated" in result.stderr
