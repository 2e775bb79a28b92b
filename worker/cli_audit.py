"""``yuanzhu audit verify``: walk the audit log's hash chain (:mod:`store.audit`).

Exits 0 with ``audit log intact: N entries`` (and the hash of the last entry, worth noting
down elsewhere: a chain cannot show that entries were cut off its end, a remembered head can),
or 1 with one ``error:`` line naming the first broken entry (its id and seq) and what is wrong
with it. ``--json`` prints the same as one object (``intact``, ``entries``, ``head_hash``,
``broken``: ``{"id", "seq", "problem"}``).
"""

from __future__ import annotations

import asyncio

import click
from sqlalchemy.exc import DBAPIError

from store.audit import ChainReport, verify_chain
from store.db import session_scope
from store.settings import Settings
from worker.cli_support import fail, print_json, settings_or_fail


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


async def _verify(settings: Settings) -> ChainReport:
    async with session_scope(settings) as session:
        return await verify_chain(session)


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
def verify_cmd(as_json: bool) -> None:
    """Check every entry's hash and its link to the entry before it."""
    settings = settings_or_fail()
    try:
        report = asyncio.run(_verify(settings))
    except DBAPIError as exc:
        fail(f"could not read the audit log: {str(exc.orig).splitlines()[0] if exc.orig else exc}")
    broken = report.broken
    if as_json:
        print_json(
            {
                "intact": report.intact,
                "entries": report.entries,
                "head_hash": report.head_hash,
                "broken": None
                if broken is None
                else {"id": broken.entry_id, "seq": broken.seq, "problem": broken.problem},
            }
        )
        if broken is not None:
            raise SystemExit(1)
        return
    if broken is not None:
        fail(f"{broken} ({report.entries} entries before it are intact)")
    click.echo(f"audit log intact: {report.entries} entries (head {report.head_hash})")


def register(root: click.Group) -> None:
    root.add_command(audit_group)
