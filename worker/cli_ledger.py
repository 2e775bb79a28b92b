"""``yuanzhu ledger export|import``: the assistance ledger (帮扶台账) from the command line, with
the API's code (:mod:`application.services.ledger`, :mod:`store.ledger_repo`).

- ``export --jurisdiction CODE [--layout L] [--full-ids] [--exited-since DATE] [--json]
  [-o FILE]``: an .xlsx workbook (or JSON) of the place's ledger. The operator of the command
  line has the database in hand, so full ID numbers are allowed; every export is audited with
  the shell user's name.
- ``import --jurisdiction CODE FILE [--json]``: the API's all-or-nothing import, then the
  assistance of the new persons is started through Temporal. Without Temporal the import is
  stored ``pending`` and started by the next import (CLI or API).

Errors are one ``error:`` line on stderr and exit code 1; an invalid file also lists its line
errors (at most 20, then a count of the rest).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import DBAPIError

from application.errors import Problem
from domain.ledger import EXPORT_LAYOUTS, export_table
from store import ledger_repo, repos
from store.audit import record_audit
from store.db import session_scope
from store.models_ledger import LedgerImport
from store.settings import Settings
from worker.cli_support import cli_user, fail, print_json, settings_or_fail

MAX_SHOWN_ERRORS = 20


def _by() -> str:
    return cli_user()


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else date.fromisoformat("x")
    except ValueError:
        fail(f"{text!r} is not a valid date (YYYY-MM-DD)")


@click.group("ledger")
def ledger_group() -> None:
    """The assistance ledger (帮扶台账 / 服务跟踪情况 / 一人一册)."""


async def _export(
    settings: Settings, code: str, layout: str | None, full_ids: bool, since: date | None
) -> tuple[Any, int]:
    from application.services.ledger import (
        MAX_EXPORT_PERSONS,
        LedgerExport,
        default_layout,
    )
    from application.services.reference import today

    async with session_scope(settings) as session:
        place = await repos.get_jurisdiction(session, code)
        if place is None:
            fail(f"unknown jurisdiction {code!r}")
        layout = layout or await default_layout(session, place)
        since = since or today().replace(month=1, day=1)
        people = await ledger_repo.ledger_people(
            session, place.path, exited_since=since, limit=MAX_EXPORT_PERSONS + 1
        )
        if len(people) > MAX_EXPORT_PERSONS:
            fail(f"more than {MAX_EXPORT_PERSONS:,} persons; export a smaller place")
        title, headers, rows = export_table(people, layout, full_ids=full_ids)
        record_audit(
            session,
            now=datetime.now(UTC),
            actor_id=None,
            action="ledger_exported",
            object_type="jurisdiction",
            object_id=place.code,
            detail={"persons": len(people), "full_ids": full_ids, "layout": layout, "by": _by()},
        )
        export = LedgerExport(place.code, place.name, layout, title, headers, list(rows), full_ids)
    return export, len(people)


@ledger_group.command("export")
@click.option("--jurisdiction", "code", required=True, help="division code of the place")
@click.option("--layout", type=click.Choice(list(EXPORT_LAYOUTS)), default=None)
@click.option("--full-ids", is_flag=True, help="full ID numbers (audited)")
@click.option("--exited-since", default=None, metavar="DATE", help="default: 1 January")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout instead of a workbook")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export_cmd(
    code: str,
    layout: str | None,
    full_ids: bool,
    exited_since: str | None,
    as_json: bool,
    output: Path | None,
) -> None:
    """Export the ledger of a place (an .xlsx workbook to --output, or JSON)."""
    from application.services.ledger import xlsx_bytes

    since = _date(exited_since)
    if not as_json and output is None:
        fail("give --output FILE.xlsx (or --json)")
    settings = settings_or_fail()
    try:
        export, n = asyncio.run(_export(settings, code, layout, full_ids, since))
    except DBAPIError as exc:
        fail(f"could not read the ledger: {str(exc.orig).splitlines()[0] if exc.orig else exc}")
    if as_json:
        print_json(
            {
                "jurisdiction_code": export.code,
                "layout": export.layout,
                "columns": export.headers,
                "rows": [
                    [v.isoformat() if isinstance(v, date) else v for v in r] for r in export.rows
                ],
            }
        )
        return
    assert output is not None
    output.write_bytes(xlsx_bytes(export))
    click.echo(f"exported {n} persons of {export.name} ({export.code}) to {output}")


def _report(problem: Problem, as_json: bool) -> NoReturn:
    errors = problem.extra.get("errors", [])
    if as_json:
        print_json({"imported": False, "detail": problem.detail, "errors": errors})
        raise SystemExit(1)
    click.echo(f"error: {problem.detail}", err=True)
    for e in errors[:MAX_SHOWN_ERRORS]:
        where = f"line {e['line']}: " + (f"{e['column']}: " if e.get("column") else "")
        click.echo(where + e["message"], err=True)
    rest = int(problem.extra.get("error_count", len(errors))) - min(len(errors), MAX_SHOWN_ERRORS)
    if rest > 0:
        click.echo(f"… and {rest} more", err=True)
    raise SystemExit(1)


async def _import(settings: Settings, code: str, file: Path, data: bytes) -> Any:
    from application.services.ledger import check_file, resume_pending

    async with session_scope(settings) as session:  # one transaction: all or nothing
        place = await repos.get_jurisdiction(session, code)
        if place is None:
            fail(f"unknown jurisdiction {code!r}")
        checked = await check_file(session, place.path, place.code, file.name, data)
        entry = await ledger_repo.store_import(
            session,
            checked.result,
            checked.new,
            scope_code=place.code,
            scope_path=place.path,
            file_name=file.name,
            imported_by=_by(),
            imported_by_id=None,
            already_present=checked.already_present,
            now=datetime.now(UTC),
        )
        import_id, scope = entry.id, place.path
    async with session_scope(settings) as session:
        try:
            from infra.temporal_client import connect

            client = await asyncio.wait_for(connect(settings), timeout=10)
            await resume_pending(session, client, settings.temporal_task_queue, scope)
        except Exception as exc:  # Temporal away: stored, started by the next import
            click.echo(
                f"warning: Temporal not reached ({type(exc).__name__}); the assistance starts "
                "when an import runs with Temporal up",
                err=True,
            )
        stored = await session.get(LedgerImport, import_id)
        assert stored is not None
        return stored


@ledger_group.command("import")
@click.option("--jurisdiction", "code", required=True, help="the office's place")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def import_cmd(code: str, file: Path, as_json: bool) -> None:
    """Import an office's ledger (XLSX or CSV, qingxin's 服务跟踪情况 template): nothing is
    imported unless every line is valid; persons already in assistance are skipped."""
    from store.department_files import DEFAULT_MAX_BYTES

    if file.stat().st_size > DEFAULT_MAX_BYTES:
        fail(f"{file.name}: larger than {DEFAULT_MAX_BYTES // (1024 * 1024)} MiB")
    settings = settings_or_fail()
    try:
        entry = asyncio.run(_import(settings, code, file, file.read_bytes()))
    except Problem as problem:
        _report(problem, as_json)
    except DBAPIError as exc:
        fail(f"could not store the import (nothing was imported): {exc.orig or exc}")
    out = {
        "imported": True,
        "import_id": entry.id,
        "created": entry.created,
        "already_present": entry.already_present,
        "skipped_exited": entry.skipped_exited,
        "status": entry.status,
    }
    if as_json:
        print_json(out)
        return
    click.echo(
        f"imported {entry.created} persons into {code} ({entry.already_present} already in "
        f"assistance, {entry.skipped_exited} exited lines skipped); import {entry.id} "
        f"{entry.status}"
    )
    sys.stdout.flush()


def register(root: click.Group) -> None:
    root.add_command(ledger_group)
