"""CLI commands for department data sharing (部门信息共享).

``yuanzhu department import --list KIND FILE`` validates a CSV or XLSX list and, only if every
line is valid, replaces that kind's records in one transaction; ``yuanzhu department lists``
shows the kinds, what each proves and the last import of each; ``yuanzhu department check
ID_NUMBER [--on DATE]`` shows the findings for a person. Errors are one ``error:`` line on
stderr and exit code 1; an invalid file also lists its line errors (at most 20, then a count of
the rest). ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import SHANGHAI
from domain.department_data import LISTS, DepartmentList
from domain.department_import import ParseResult
from domain.ids import ResidentIdError, parse_resident_id
from store.db import make_engine, make_sessionmaker, session_scope
from store.department_admin import error_json, import_json, store_list
from store.department_files import DepartmentFileError, read_department_file
from store.department_repo import latest_imports, record_rows_for
from store.models_department import DepartmentImport, DepartmentRecordRow
from store.settings import Settings
from worker.cli_support import fail, print_json, settings_or_fail

__all__ = ["MAX_SHOWN_ERRORS", "register"]

MAX_SHOWN_ERRORS = 20
NOT_MIGRATED = "the database is not migrated; run 'yuanzhu db upgrade' first"
_TABLES = (DepartmentImport.__tablename__, DepartmentRecordRow.__tablename__)


_fail = fail
_settings = settings_or_fail


_print_json = print_json


def _today() -> date:
    return datetime.now(SHANGHAI).date()


def _parse_date(text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{text!r} is not a valid date (YYYY-MM-DD)")


def _sqlite_file_missing(settings: Settings) -> bool:
    if not settings.is_sqlite:
        return False
    database = make_url(settings.effective_database_url).database
    if not database or database == ":memory:":
        return True
    return not Path(database).exists()


async def _has_tables(session: AsyncSession) -> bool:
    conn = await session.connection()
    return await conn.run_sync(
        lambda sync_conn: all(inspect(sync_conn).has_table(t) for t in _TABLES)
    )


def _db_reason(exc: DBAPIError) -> str:
    return str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__


def _imported_by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in some containers
        return "cli"


# The same JSON as the API's (store.department_admin).
_import_json = import_json


@click.group("department")
def department_group() -> None:
    """Department lists (部门信息共享): 低保, disability, social insurance, ..."""


# -- import ----------------------------------------------------------------------------------


def _report_errors(file: Path, result: ParseResult, as_json: bool) -> NoReturn:
    if as_json:
        _print_json(
            {
                "imported": False,
                "list": result.kind.value,
                "file_name": file.name,
                "error_count": result.error_count,
                "errors": [error_json(e) for e in result.errors],
            }
        )
        raise SystemExit(1)
    n = result.error_count
    click.echo(
        f"error: {file.name}: {n} error{'s' if n != 1 else ''}; nothing was imported", err=True
    )
    for e in result.errors[:MAX_SHOWN_ERRORS]:
        click.echo(str(e), err=True)
    rest = n - min(len(result.errors), MAX_SHOWN_ERRORS)
    if rest > 0:
        click.echo(f"… and {rest} more", err=True)
    raise SystemExit(1)


async def _store(
    settings: Settings, result: ParseResult, file_name: str
) -> DepartmentImport | None:
    async with session_scope(settings) as session:
        if not await _has_tables(session):
            return None
        # The same operation as POST /api/v1/department/imports/{kind}.
        return await store_list(
            session, result, file_name=file_name, imported_by=_imported_by(), now=datetime.now(UTC)
        )


@department_group.command("import")
@click.option(
    "--list",
    "kind",
    required=True,
    type=click.Choice([k.value for k in DepartmentList]),
    help="which department list the file is",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def import_cmd(kind: str, file: Path, as_json: bool) -> None:
    """Replace a department list with FILE (CSV or XLSX; nothing changes unless every line is
    valid).

    \b
    Header row (Chinese or English):
      身份证号/id_number (required)  姓名/name (required)
      开始日期/valid_from  结束日期/valid_to  行政区划/jurisdiction_code
    Other columns are kept with each record. CSV may be UTF-8 or GBK.
    """
    list_kind = DepartmentList(kind)
    try:
        result = read_department_file(file, list_kind, today=_today())
    except DepartmentFileError as exc:
        _fail(f"{file.name}: {exc.message}")
    if not result.ok:
        _report_errors(file, result, as_json)
    settings = _settings()
    if _sqlite_file_missing(settings):
        _fail(NOT_MIGRATED)
    try:
        stored = asyncio.run(_store(settings, result, file.name))
    except DBAPIError as exc:
        _fail(f"could not store the list (nothing was imported): {_db_reason(exc)}")
    if stored is None:
        _fail(NOT_MIGRATED)
    if as_json:
        _print_json({"imported": True, **_import_json(stored)})
        return
    before = f"replacing {stored.replaced_rows}" if stored.replaces_previous else "first import"
    click.echo(f"imported {stored.rows} records into {stored.list_kind} ({before})")


# -- lists -----------------------------------------------------------------------------------


async def _latest(settings: Settings) -> dict[DepartmentList, DepartmentImport] | None:
    async with session_scope(settings) as session:
        if not await _has_tables(session):
            return None
        return await latest_imports(session)


@department_group.command("lists")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def lists_cmd(as_json: bool) -> None:
    """The department lists, what a record on each proves, and the last import of each."""
    settings = _settings()
    latest: dict[DepartmentList, DepartmentImport] | None = None
    if not _sqlite_file_missing(settings):
        try:
            latest = asyncio.run(_latest(settings))
        except DBAPIError as exc:
            click.echo(f"warning: could not read the imports ({_db_reason(exc)})", err=True)
    if latest is None:
        latest = {}
        if not as_json:
            click.echo("warning: no database or not migrated; no imports shown", err=True)
    if as_json:
        _print_json(
            {
                "lists": [
                    {
                        "list": kind.value,
                        "name_zh": spec.name_zh,
                        "department_zh": spec.department_zh,
                        "facts": list(spec.facts),
                        "last_import": _import_json(latest[kind]) if kind in latest else None,
                    }
                    for kind, spec in LISTS.items()
                ]
            }
        )
        return
    for kind, spec in LISTS.items():
        click.echo(f"{kind.value}  {spec.name_zh}（{spec.department_zh}）")
        click.echo(f"  proves: {', '.join(spec.facts)}")
        imp = latest.get(kind)
        if imp is None:
            click.echo("  last import: never")
        else:
            at = imp.imported_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            click.echo(
                f"  last import: {at} (Asia/Shanghai), {imp.rows} records from "
                f"{imp.file_name} by {imp.imported_by}"
            )


# -- check -----------------------------------------------------------------------------------


async def _check(
    settings: Settings, number: str, on: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    from activities.department import ImportedListsAdapter

    engine = make_engine(settings.effective_database_url)
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            if not await _has_tables(session):
                return None
            rows = await record_rows_for(session, number)
        findings = await ImportedListsAdapter(sessions).findings(number, on)
    finally:
        await engine.dispose()
    records = [
        {
            "list": r.list_kind,
            "valid_from": r.valid_from.isoformat() if r.valid_from else None,
            "valid_to": r.valid_to.isoformat() if r.valid_to else None,
            "valid_on_date": (r.valid_from is None or r.valid_from <= on)
            and (r.valid_to is None or on <= r.valid_to),
            "jurisdiction_code": r.jurisdiction_code,
        }
        for r in rows
    ]
    return [f.model_dump(mode="json") for f in findings], records


@department_group.command("check")
@click.argument("id_number")
@click.option("--on", "on_text", default=None, metavar="DATE", help="date (default: today)")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def check_cmd(id_number: str, on_text: str | None, as_json: bool) -> None:
    """The findings of the imported department lists for ID_NUMBER on DATE."""
    today = _today()
    on = _parse_date(on_text) if on_text is not None else today
    try:
        rid = parse_resident_id(id_number, today=today)
    except ResidentIdError as exc:
        _fail(f"invalid ID number: {exc.message}")
    settings = _settings()
    if _sqlite_file_missing(settings):
        _fail(NOT_MIGRATED)
    try:
        answer = asyncio.run(_check(settings, rid.number, on))
    except DBAPIError as exc:
        _fail(f"could not read the department lists: {_db_reason(exc)}")
    if answer is None:
        _fail(NOT_MIGRATED)
    findings, records = answer
    if as_json:
        _print_json(
            {
                "id_number": rid.masked(),
                "on": on.isoformat(),
                "findings": findings,
                "records": records,
            }
        )
        return
    click.echo(f"{rid.masked()} on {on.isoformat()}:")
    if not findings:
        click.echo("  no department list has been imported; nothing is known")
        return
    for f in findings:
        value = "true" if f["value"] is True else "false" if f["value"] is False else f["value"]
        click.echo(f"  {f['fact']}: {value}  ({f['source']})")
    for r in records:
        period = f"{r['valid_from'] or '…'} to {r['valid_to'] or '…'}"
        state = "" if r["valid_on_date"] else " (not valid on that date)"
        click.echo(f"  record: {r['list']} {period}{state}")


def register(root: click.Group) -> None:
    root.add_command(department_group)
