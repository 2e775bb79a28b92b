"""``yuanzhu calendar ...`` and ``yuanzhu id check`` through click's CliRunner, on a fresh
machine (no database file), a database without the table, and a migrated database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from domain.calendar import CalendarDataError, parse_year_table
from domain.calendar_seed import SEED_SOURCE
from store.base import Base
from store.calendar_repo import effective_calendar, load_year_tables, save_year_table
from store.db import make_engine, make_sessionmaker
from store.models_calendar import CalendarYear
from worker.cli_calendar import register

TABLE_2027 = {
    "year": 2027,
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"]
    + [f"2027-02-{d:02d}" for d in range(6, 15)],
    "workdays": ["2027-01-31", "2027-02-21"],
    "note": "test fixture, not the official table",
}


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


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Cli]:
    """A machine where the database file does not exist yet."""
    cli = Cli(tmp_path / "missing" / "yuanzhu.db")
    yield cli
    assert not cli.db.exists(), "a read-only command created the database file"


@pytest.fixture
async def unmigrated(tmp_path: Path) -> Cli:
    """A database file with some other table but no calendar_years."""
    db = tmp_path / "empty.db"
    engine = make_engine(url(db))
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE something (id INTEGER PRIMARY KEY)"))
    await engine.dispose()
    return Cli(db)


@pytest.fixture
async def migrated(tmp_path: Path) -> Cli:
    db = tmp_path / "x.db"
    engine = make_engine(url(db))
    async with engine.begin() as conn:
        # Only this table: other models in Base.metadata belong to other modules' tests.
        table = Base.metadata.tables[CalendarYear.__tablename__]
        await conn.run_sync(Base.metadata.create_all, tables=[table])
    await engine.dispose()
    return Cli(db)


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(TABLE_2027), encoding="utf-8")
    return path


# -- add-working-days / is-workday -----------------------------------------------------------


def test_add_working_days_on_a_fresh_machine(fresh: Cli) -> None:
    result = fresh("calendar", "add-working-days", "2026-09-30", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-10-10\n"
    assert result.stderr == ""


def test_add_working_days_json(fresh: Cli) -> None:
    result = fresh("calendar", "add-working-days", "2026-09-28", "10", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "start": "2026-09-28",
        "n": 10,
        "date": "2026-10-16",
        "provisional": False,
        "provisional_years": [],
    }


def test_provisional_result_warns_on_stderr(fresh: Cli) -> None:
    result = fresh("calendar", "add-working-days", "2026-12-30", "3")
    assert result.exit_code == 0
    assert result.stdout == "2027-01-04\n"
    assert result.stderr == "warning: 2027 has no holiday table; weekends only (provisional)\n"
    as_json = fresh("calendar", "add-working-days", "2026-12-30", "3", "--json")
    assert json.loads(as_json.stdout) == {
        "start": "2026-12-30",
        "n": 3,
        "date": "2027-01-04",
        "provisional": True,
        "provisional_years": [2027],
    }
    assert as_json.stderr == ""
    two = fresh("calendar", "add-working-days", "2026-12-01", "300")
    assert "2027, 2028 have no holiday tables" in two.stderr


def test_is_workday(fresh: Cli) -> None:
    assert fresh("calendar", "is-workday", "2026-02-14").stdout == "true\n"  # make-up Saturday
    assert fresh("calendar", "is-workday", "2026-10-08").stdout == "true\n"
    assert fresh("calendar", "is-workday", "2026-10-07").stdout == "false\n"
    result = fresh("calendar", "is-workday", "2026-02-16", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "date": "2026-02-16",
        "workday": False,
        "provisional": False,
    }
    later = fresh("calendar", "is-workday", "2027-01-01", "--json")
    assert json.loads(later.stdout) == {"date": "2027-01-01", "workday": True, "provisional": True}
    plain = fresh("calendar", "is-workday", "2027-01-01")
    assert plain.stdout == "true\n" and "2027 has no holiday table" in plain.stderr


@pytest.mark.parametrize("bad", ["2026-02-30", "20260213", "tomorrow", "2026-2-3"])
def test_bad_date_is_an_error(fresh: Cli, bad: str) -> None:
    for args in (("add-working-days", bad, "3"), ("is-workday", bad)):
        result = fresh("calendar", *args)
        assert result.exit_code == 1
        assert result.stderr == f"error: {bad!r} is not a valid date (YYYY-MM-DD)\n"
        assert result.stdout == ""


def test_usage_errors_exit_2(fresh: Cli) -> None:
    assert fresh("calendar", "add-working-days", "2026-01-01", "three").exit_code == 2
    assert fresh("calendar", "add-working-days", "2026-01-01").exit_code == 2
    assert fresh("calendar", "add-working-days", "2026-01-01", "-1").exit_code == 2
    assert fresh("calendar", "is-workday").exit_code == 2


def test_n_zero_and_overflow(fresh: Cli) -> None:
    assert fresh("calendar", "add-working-days", "2026-02-15", "0").stdout == "2026-02-15\n"
    result = fresh("calendar", "add-working-days", "9999-12-01", "100")
    assert result.exit_code == 1 and result.stderr.startswith("error: ")


def test_database_without_the_table_falls_back_to_seed(unmigrated: Cli) -> None:
    result = unmigrated("calendar", "add-working-days", "2026-09-30", "3")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "2026-10-10\n", "")


def test_bad_settings_are_an_error(tmp_path: Path) -> None:
    env = {"YUANZHU_DATABASE_URL": "mysql://localhost/x"}
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(
            CliRunner().invoke, make_root(), ["calendar", "is-workday", "2026-01-05"], env=env
        ).result()
    assert result.exit_code == 1
    assert result.stderr.startswith("error: YUANZHU_DATABASE_URL: ")


# -- import ----------------------------------------------------------------------------------


def test_import_then_answers_change(migrated: Cli, table_file: Path) -> None:
    before = migrated("calendar", "add-working-days", "2026-12-30", "3", "--json")
    assert json.loads(before.stdout)["date"] == "2027-01-04"
    result = migrated("calendar", "import", str(table_file))
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 2027: 12 holidays, 2 make-up working days\n"
    after = migrated("calendar", "add-working-days", "2026-12-30", "3", "--json")
    assert json.loads(after.stdout) == {
        "start": "2026-12-30",
        "n": 3,
        "date": "2027-01-05",  # New Year's Day 2027 is now a holiday
        "provisional": False,
        "provisional_years": [],
    }
    assert migrated("calendar", "is-workday", "2027-01-31").stdout == "true\n"
    assert migrated("calendar", "is-workday", "2027-01-01").stderr == ""
    # Importing the same year again replaces it.
    table_file.write_text(json.dumps({"year": 2027, "holidays": []}), encoding="utf-8")
    again = migrated("calendar", "import", str(table_file))
    assert again.stdout == "imported 2027: 0 holidays, 0 make-up working days\n"
    assert migrated("calendar", "add-working-days", "2026-12-30", "3").stdout == "2027-01-04\n"


async def test_imported_row_and_effective_calendar(migrated: Cli, table_file: Path) -> None:
    # The CLI runs in its own thread; awaiting nothing meanwhile is fine here.
    assert migrated("calendar", "import", str(table_file)).exit_code == 0
    engine = make_engine(url(migrated.db))
    try:
        async with make_sessionmaker(engine)() as session:
            row = await session.get(CalendarYear, 2027)
            assert row is not None
            assert row.holidays[0] == "2027-01-01" and row.workdays == ["2027-01-31", "2027-02-21"]
            assert row.source == "imported from 2027.json: test fixture, not the official table"
            assert row.loaded_by.startswith("cli")
            assert row.loaded_at.tzinfo is not None
            tables = await load_year_tables(session)
            assert [t.year for t in tables] == [2027]
            cal = await effective_calendar(session)
            assert cal.years == (*range(2004, 2027), 2027)
            assert cal.table(2026) is not None and cal.table(2026).source == SEED_SOURCE  # type: ignore[union-attr]
            # An import for a seeded year replaces it.
            override = parse_year_table({"year": 2026, "holidays": ["2026-10-08"]}, source="t")
            now = datetime(2026, 9, 1, tzinfo=UTC)
            await save_year_table(session, override, loaded_by="tester", now=now)
            cal = await effective_calendar(session)
            assert not cal.is_workday(datetime(2026, 10, 8).date()).value
            assert cal.is_workday(datetime(2026, 10, 1).date()).value  # only 10-08 is off now
            row26 = await session.get(CalendarYear, 2026)
            assert row26 is not None and row26.loaded_at == now
    finally:
        await engine.dispose()


async def test_the_calendar_is_built_once_for_the_same_rows(
    migrated: Cli, table_file: Path
) -> None:
    assert migrated("calendar", "import", str(table_file)).exit_code == 0
    engine = make_engine(url(migrated.db))
    try:
        async with make_sessionmaker(engine)() as session:
            first = await effective_calendar(session)
            assert await effective_calendar(session) is first  # the same rows: kept (#22)
            override = parse_year_table({"year": 2026, "holidays": ["2026-10-08"]}, source="t")
            await save_year_table(session, override, loaded_by="tester", now=datetime.now(UTC))
            changed = await effective_calendar(session)  # read again: the import seen at once
            assert changed is not first
            assert not changed.is_workday(datetime(2026, 10, 8).date()).value
            assert first.is_workday(datetime(2026, 10, 8).date()).value  # kept as it was
            # A hand-edited row that breaks the rules fails every time, never from a kept one.
            await session.execute(
                text("UPDATE calendar_years SET holidays = '[\"10-08\"]' WHERE year = 2026")
            )
            for _ in range(2):
                with pytest.raises(CalendarDataError, match=r"calendar_years\[2026\].holidays"):
                    await effective_calendar(session)
    finally:
        await engine.dispose()


def test_import_on_an_unmigrated_database(unmigrated: Cli, table_file: Path) -> None:
    result = unmigrated("calendar", "import", str(table_file))
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the database is not migrated; run 'yuanzhu db upgrade' first\n"
    )


def test_import_without_a_database_file(fresh: Cli, table_file: Path) -> None:
    result = fresh("calendar", "import", str(table_file))
    assert result.exit_code == 1
    assert "not migrated" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (
            json.dumps({"year": 2027, "holidays": ["2027-01-01", "2027-02-30"]}),
            "holidays[1]: '2027-02-30' is not a date",
        ),
        (
            json.dumps({"year": 2027, "holidays": [], "workdays": ["2027-01-04"]}),
            "workdays[0]: 2027-01-04 is a Monday, not a Saturday or Sunday",
        ),
    ],
)
def test_import_invalid_files(migrated: Cli, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = migrated("calendar", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_import_missing_file_is_a_usage_error(migrated: Cli, tmp_path: Path) -> None:
    assert migrated("calendar", "import", str(tmp_path / "nope.json")).exit_code == 2


# -- id check --------------------------------------------------------------------------------


def test_id_check_valid(fresh: Cli) -> None:
    result = fresh("id", "check", "11010519491231002x")
    assert result.exit_code == 0
    assert result.stdout == "valid: 11010519491231002X (female, born 1949-12-31)\n"
    legacy = fresh("id", "check", "370702800101123")
    assert legacy.stdout == (
        "valid: 37070219800101123X (male, born 1980-01-01, converted from 15 digits)\n"
    )


def test_id_check_json(fresh: Cli) -> None:
    result = fresh("id", "check", "11010519491231002X", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "valid": True,
        "normalized": "11010519491231002X",
        "birth_date": "1949-12-31",
        "sex": "female",
        "was_legacy_15": False,
        "error": None,
        "code": None,
    }


def test_id_check_invalid(fresh: Cli) -> None:
    result = fresh("id", "check", "110105194912310023")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: check digit is 3 but should be X\n"
    as_json = fresh("id", "check", "110105194912310023", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {
        "valid": False,
        "normalized": None,
        "birth_date": None,
        "sex": None,
        "error": "check digit is 3 but should be X",
        "error_zh": "校验码错误：应为X，实为3",
        "code": "bad_check_digit",
    }


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "empty"),
        ("12345", "bad_length"),
        ("11010519491231002Y", "bad_characters"),
        ("990105194912310026", "bad_region"),
        ("110105199902300021", "bad_birth_date"),
        ("110105299901010021", "future_birth_date"),
    ],
)
def test_id_check_error_codes(fresh: Cli, number: str, code: str) -> None:
    result = fresh("id", "check", number, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["code"] == code
