"""``yuanzhu files``: the materials' files (store/files.py) as an operator sees them.

- ``check``: every file a case's material names is in the file store and intact (its bytes
  hash to its name). Run it after a restore (docs/operations.md, "Files"): a file missing means
  the files were copied before the database, or not at all. Exits 1 naming each.
- ``retention``: the files whose every case closed more than ``YUANZHU_MATERIALS_RETENTION_YEARS``
  ago, which the retention rule no longer requires to be kept. Listed, never removed: removing a
  person's papers is the archive's decision, and the app's own S3 key cannot delete.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from store import materials_repo
from store.db import session_scope
from store.files import FileCorrupt, FileMissing, file_store
from store.settings import Settings
from worker.cli_support import print_json, settings_or_fail


@click.group("files")
def files_group() -> None:
    """Materials' files: check them, list those past retention."""


async def _check(settings: Settings) -> tuple[int, list[str]]:
    async with session_scope(settings) as session:
        digests = await materials_repo.every_file(session)
    store = file_store(settings)
    problems = []
    for digest in digests:
        try:
            await store.get(digest)
        except (FileMissing, FileCorrupt) as exc:
            problems.append(str(exc))
    return len(digests), problems


@files_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
def check_cmd(as_json: bool) -> None:
    """Check that every file a material names is stored and intact."""
    settings = settings_or_fail()
    count, problems = asyncio.run(_check(settings))
    if as_json:
        print_json({"files": count, "problems": problems})
    else:
        for line in problems:
            click.echo(f"error: {line}", err=True)
        if not problems:
            click.echo(f"files intact: {count} named by materials, all present")
    if problems:
        raise SystemExit(1)


async def _retention(settings: Settings, now: datetime) -> tuple[datetime, list[str]]:
    years = settings.materials_retention_years
    try:
        cutoff = now.replace(year=now.year - years)
    except ValueError:  # 29 February, in a year that has none
        cutoff = now.replace(year=now.year - years, day=28)
    async with session_scope(settings) as session:
        return cutoff, await materials_repo.past_retention(session, cutoff)


@files_group.command("retention")
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
def retention_cmd(as_json: bool) -> None:
    """List the files no kept case needs any more (every case holding them closed before the
    retention period); nothing is removed."""
    settings = settings_or_fail()
    cutoff, digests = asyncio.run(_retention(settings, datetime.now(UTC)))
    if as_json:
        print_json({"closed_before": cutoff.isoformat(), "files": digests})
        return
    click.echo(
        f"{len(digests)} file(s) held only by cases closed before {cutoff.date()} "
        f"({settings.materials_retention_years} years); nothing removed"
    )
    for digest in digests:
        click.echo(f"sha256:{digest}")


def register(root: click.Group) -> None:
    root.add_command(files_group)
