"""``yuanzhu ledger import|export`` through click's CliRunner against a migrated SQLite database
with the demo places, Temporal unreachable: an invalid file is one ``error:`` line plus its line
errors and exit code 1, nothing imported; a valid one is stored (pending until Temporal is
reached) and a second run duplicates nothing; the export writes a workbook with the template's
headers."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import click
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import func, select

from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import Case
from store.models_ledger import LedgerImport
from tests.conftest import make_settings
from tests.factories import make_id
from worker.cli_ledger import register
from worker.demo import seed_demo

HEADER = "姓名,身份证号,人员类别,认定日期,政策咨询次数"


def root() -> click.Group:
    group = click.Group("yuanzhu")
    register(group)
    return group


class Cli:
    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite+aiosqlite:///{tmp / 'y.db'}"
        upgrade(make_settings(self.url, tmp))
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        env = {
            "YUANZHU_DATABASE_URL": self.url,
            "YUANZHU_ENVIRONMENT": "development",
            "YUANZHU_TEMPORAL_ADDRESS": "127.0.0.1:1",  # nothing listens: Temporal is away
        }
        # In a worker thread: the commands call asyncio.run.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(self.runner.invoke, root(), list(args), env=env).result()

    async def counts(self) -> tuple[int, int]:
        engine = make_engine(self.url)
        try:
            async with make_sessionmaker(engine)() as session:
                imports = await session.scalar(select(func.count()).select_from(LedgerImport))
                cases = await session.scalar(
                    select(func.count()).select_from(Case).where(Case.channel == "ledger_import")
                )
                return int(imports or 0), int(cases or 0)
        finally:
            await engine.dispose()


async def seeded(tmp: Path) -> Cli:
    cli = await asyncio.to_thread(Cli, tmp)
    engine = make_engine(cli.url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await seed_demo(session)
    finally:
        await engine.dispose()
    return cli


async def test_import_refuses_a_bad_file_then_imports_once(tmp_path: Path) -> None:
    cli = await seeded(tmp_path)
    a, b = make_id(date(1974, 1, 1), region="441803"), make_id(date(1974, 1, 2), region="441803")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{HEADER}\n王强,{a},大龄失业人员,2025-05-06,1\n李丽,{b[:-1]}Z,残疾人员,昨天,x\n"
    )
    r = cli("ledger", "import", "--jurisdiction", "441803100", str(bad))
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith("error: bad.csv: ") and "nothing was imported" in lines[0]
    assert {ln.split(":")[1].strip() for ln in lines[1:]} == {
        "身份证号",
        "认定日期",
        "政策咨询次数",
    }
    assert all(ln.startswith("line 3: ") for ln in lines[1:])
    assert await cli.counts() == (0, 0)

    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n王强,{a},大龄失业人员,2025-05-06,1\n李丽,{b},残疾人员,2025/6/7,\n")
    r = cli("ledger", "import", "--jurisdiction", "441803100", str(good), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["created"], out["already_present"], out["status"]) == (2, 0, "pending")
    assert "Temporal not reached" in r.stderr
    r = cli("ledger", "import", "--jurisdiction", "441803100", str(good), "--json")
    assert json.loads(r.stdout)["created"] == 0 and json.loads(r.stdout)["already_present"] == 2
    assert await cli.counts() == (2, 2)

    r = cli("ledger", "import", "--jurisdiction", "999999", str(good))
    assert r.exit_code == 1 and r.stderr.startswith("error: unknown jurisdiction")


async def test_export_writes_the_template(tmp_path: Path) -> None:
    cli = await seeded(tmp_path)
    out = tmp_path / "ledger.xlsx"
    r = cli("ledger", "export", "--jurisdiction", "441803", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "exported 0 persons" in r.stdout
    sheet = load_workbook(out, read_only=True).worksheets[0]
    header = next(sheet.iter_rows(values_only=True))
    assert sheet.title == "就业困难人员服务跟踪情况"
    assert header[:4] == ("序号", "姓名", "身份证号", "性别")
    r = cli("ledger", "export", "--jurisdiction", "220102", "--json")
    assert r.exit_code == 0 and "帮扶次数" in json.loads(r.stdout)["columns"]  # jilin 一人一册
    r = cli("ledger", "export", "--jurisdiction", "441803")
    assert r.exit_code == 1 and r.stderr.startswith("error: give --output")
