"""CLI commands for the working-day calendar and resident ID numbers.

``yuanzhu calendar add-working-days|is-workday|import`` and ``yuanzhu id check``. The calendar
questions use the effective calendar (built-in tables plus the administrator's imports from the
database) but still answer on a fresh machine where the database does not exist yet or is not
migrated: then the built-in tables alone are used, and nothing is created on disk. Invalid
input gives one line on stderr starting with ``error:`` and exit code 1; usage errors are
click's (exit code 2). ``--json`` output is a single JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, date, datetime
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import (
    SHANGHAI,
    CalendarDataError,
    WorkingCalendar,
    YearTable,
)
from domain.calendar_seed import seed_calendar
from domain.ids import ResidentIdError, parse_resident_id
from store.calendar_admin import parse_table, store_year
from store.calendar_repo import effective_calendar
from store.db import session_scope
from store.settings import Settings
from worker.cli_support import fail, print_json, settings_or_fail

__all__ = ["register"]

_TABLE = "calendar_years"
NOT_MIGRATED = "the database is not migrated; run 'yuanzhu db upgrade' first"


_fail = fail
_settings = settings_or_fail


def _parse_date(text: str) -> date:
    # Exactly YYYY-MM-DD: date.fromisoformat would also accept 20260101 and week dates.
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{text!r} is not a valid date (YYYY-MM-DD)")


def _sqlite_file_missing(settings: Settings) -> bool:
    """True when the configured database is a SQLite file that does not exist (connecting
    would create it, which a read-only question must not do)."""
    if not settings.is_sqlite:
        return False
    database = make_url(settings.effective_database_url).database
    if not database or database == ":memory:":
        return True
    return not Path(database).exists()


async def _has_table(session: AsyncSession) -> bool:
    conn = await session.connection()
    return await conn.run_sync(lambda sync_conn: inspect(sync_conn).has_table(_TABLE))


async def _load_calendar(settings: Settings) -> WorkingCalendar:
    async with session_scope(settings) as session:
        if not await _has_table(session):
            return seed_calendar()
        return await effective_calendar(session)


def _calendar() -> WorkingCalendar:
    """The effective calendar, or the built-in tables on a fresh or unreachable database."""
    settings = _settings()
    if _sqlite_file_missing(settings):
        return seed_calendar()
    try:
        return asyncio.run(_load_calendar(settings))
    except DBAPIError as exc:
        # Not migrated in a way has_table did not catch, or the server is unreachable: still
        # answer, but say so, because imported years would be missing from the answer.
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        click.echo(
            f"warning: could not read imported holiday tables ({reason}); "
            "using the built-in tables only",
            err=True,
        )
        return seed_calendar()
    except CalendarDataError as exc:
        _fail(f"the calendar_years table holds invalid data: {exc}")


def _provisional_warning(years: tuple[int, ...]) -> None:
    if not years:
        return
    if len(years) == 1:
        what = f"{years[0]} has no holiday table"
    else:
        what = f"{', '.join(str(y) for y in years)} have no holiday tables"
    click.echo(f"warning: {what}; weekends only (provisional)", err=True)


_print_json = print_json


# -- calendar ----------------------------------------------------------------------------


@click.group("calendar")
def calendar_group() -> None:
    """China's official working-day calendar (holidays and make-up working days)."""


@calendar_group.command("add-working-days")
@click.argument("start", metavar="DATE")
@click.argument("n", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def add_working_days_cmd(start: str, n: int, as_json: bool) -> None:
    """Print the Nth working day after DATE (DATE itself is not counted)."""
    start_date = _parse_date(start)
    if n < 0:
        _fail(f"N must be 0 or more, got {n}")
    try:
        result = _calendar().add_working_days(start_date, n)
    except OverflowError:
        _fail(f"{n} working days after {start_date.isoformat()} is beyond the year 9999")
    if as_json:
        _print_json(
            {
                "start": start_date.isoformat(),
                "n": n,
                "date": result.date.isoformat(),
                "provisional": result.provisional,
                "provisional_years": list(result.provisional_years),
            }
        )
        return
    click.echo(result.date.isoformat())
    _provisional_warning(result.provisional_years)


@calendar_group.command("is-workday")
@click.argument("day", metavar="DATE")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def is_workday_cmd(day: str, as_json: bool) -> None:
    """Print true if DATE is an official working day, else false."""
    d = _parse_date(day)
    answer = _calendar().is_workday(d)
    if as_json:
        _print_json(
            {"date": d.isoformat(), "workday": answer.value, "provisional": answer.provisional}
        )
        return
    click.echo("true" if answer.value else "false")
    _provisional_warning((d.year,) if answer.provisional else ())


def _loaded_by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in some containers
        return "cli"


async def _import(settings: Settings, table: YearTable) -> bool:
    """Store ``table``; False when the table does not exist (the database is not migrated)."""
    async with session_scope(settings) as session:
        if not await _has_table(session):
            return False
        await store_year(session, table, loaded_by=_loaded_by(), now=datetime.now(UTC))
        return True


@calendar_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_cmd(file: Path) -> None:
    """Validate a year's holiday table (JSON) and store it in the database.

    \b
    Format: {"year": 2027, "holidays": ["2027-01-01", ...],
             "workdays": ["2027-02-06", ...], "note": "国办发明电〔2026〕N号"}
    """
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{file}: cannot read: {exc}")
    except json.JSONDecodeError as exc:
        _fail(f"{file}: not valid JSON: {exc}")
    try:
        # The same parser as PUT /api/v1/calendar/years/{year} (store.calendar_admin).
        table = parse_table(data, source=f"imported from {file.name}")
    except CalendarDataError as exc:
        _fail(f"{file}: {exc}")
    settings = _settings()
    if _sqlite_file_missing(settings):
        _fail(NOT_MIGRATED)
    try:
        stored = asyncio.run(_import(settings, table))
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        _fail(f"could not store the table: {reason}")
    if not stored:
        _fail(NOT_MIGRATED)
    click.echo(
        f"imported {table.year}: {len(table.holidays)} holidays, "
        f"{len(table.workdays)} make-up working days"
    )
    _recompute(settings, required=False)


def _recompute(settings: Settings, *, required: bool = True) -> None:
    """Tell the running cases whose deadlines were provisional to recompute them."""
    from application.calendar_sync import signal_provisional_clocks
    from infra.temporal_client import connect
    from store.db import make_engine, make_sessionmaker

    async def _run() -> int:
        engine = make_engine(settings.effective_database_url)
        try:
            client = await asyncio.wait_for(connect(settings), timeout=5)
            return await signal_provisional_clocks(client, make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        told = asyncio.run(_run())
    except Exception as exc:
        message = (
            f"Temporal at {settings.temporal_address} is not reachable ({type(exc).__name__}); "
            "run 'yuanzhu calendar recompute' when it is, to recompute provisional deadlines"
        )
        if required:
            _fail(message)
        click.echo(f"warning: {message}", err=True)
        return
    click.echo(f"recomputing provisional deadlines of {told} running case(s)")


@calendar_group.command("recompute")
def recompute_cmd() -> None:
    """Recompute the deadlines that were computed without a holiday table (provisional)."""
    _recompute(_settings())


# -- id ----------------------------------------------------------------------------------


@click.group("id")
def id_group() -> None:
    """Resident ID numbers (GB 11643-1999)."""


@id_group.command("check")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (also when invalid).")
def id_check_cmd(number: str, as_json: bool) -> None:
    """Validate NUMBER (15 or 18 characters) and show its birth date and sex."""
    today = datetime.now(SHANGHAI).date()
    try:
        rid = parse_resident_id(number, today=today)
    except ResidentIdError as exc:
        if as_json:
            _print_json(
                {
                    "valid": False,
                    "normalized": None,
                    "birth_date": None,
                    "sex": None,
                    "error": exc.message,
                    "error_zh": exc.message_zh,
                    "code": exc.code,
                }
            )
            raise SystemExit(1) from None
        _fail(exc.message)
    if as_json:
        _print_json(
            {
                "valid": True,
                "normalized": rid.number,
                "birth_date": rid.birth_date.isoformat(),
                "sex": rid.sex,
                "was_legacy_15": rid.was_legacy_15,
                "error": None,
                "code": None,
            }
        )
        return
    legacy = ", converted from 15 digits" if rid.was_legacy_15 else ""
    click.echo(f"valid: {rid.number} ({rid.sex}, born {rid.birth_date.isoformat()}{legacy})")


def register(root: click.Group) -> None:
    """Add the ``calendar`` and ``id`` command groups to the root CLI."""
    root.add_command(calendar_group)
    root.add_command(id_group)
