"""The ``yuanzhu`` command line for operators and scripts. Errors are one line on stderr
starting with ``error:`` and a non-zero exit code; ``--json`` gives machine-readable output
where a command has output."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import click

from worker import (
    cli_audit,
    cli_calendar,
    cli_department,
    cli_files,
    cli_ledger,
    cli_outbound,
    cli_policy,
)
from worker.cli_support import fail, settings_or_fail
from worker.logs import configure_logging


@click.group(name="yuanzhu", context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """援助 Yuanzhu: identification of and assistance to persons with employment difficulty."""
    # Commands print their own one-line results; only warnings from libraries reach stderr.
    # Long-running processes (up, worker, api) log their own progress at INFO, in the format
    # YUANZHU_LOG_FORMAT chooses (worker/logs.py).
    configure_logging("text")


@main.command()
def up() -> None:
    """Start the whole system on its embedded default (command one)."""
    from worker.run import StartupError
    from worker.supervisor import up as run_up

    settings = settings_or_fail(seed_demo=True)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # URLs show at once
    try:
        sys.exit(run_up(settings, echo=click.echo))
    except StartupError as exc:
        fail(str(exc))


@main.command()
def worker() -> None:
    """Run the Temporal worker alone against the configured Temporal and database."""
    from store.migrate import WrongRevision
    from worker.run import StartupError, exit_at_once, run_on_fast_loop, run_worker

    settings = settings_or_fail()
    configure_logging(settings.log_format)
    try:
        released = run_on_fast_loop(run_worker(settings))
    except (WrongRevision, StartupError) as exc:
        fail(str(exc))
    if not released:  # the Temporal runtime's threads may still run: see worker/run.py
        exit_at_once(0)


@main.command()
def api() -> None:
    """Run the API + web server alone (YUANZHU_BIND_HOST, YUANZHU_BIND_PORT)."""
    from store.migrate import WrongRevision
    from worker.run import StartupError, run_api

    settings = settings_or_fail()
    configure_logging(settings.log_format)
    try:
        run_api(settings)
    except (WrongRevision, StartupError) as exc:
        fail(str(exc))


@main.group()
def db() -> None:
    """The application database."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: head)."""
    from store.migrate import upgrade

    settings = settings_or_fail()
    try:
        upgrade(settings, revision)
    except Exception as exc:
        fail(f"migration failed: {exc}")
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (for example 'base')."""
    from store.migrate import downgrade

    settings = settings_or_fail()
    try:
        downgrade(settings, revision)
    except Exception as exc:
        fail(f"migration failed: {exc}")
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Print the database's revision and the code's."""
    from store.migrate import current_revision, head_revision

    settings = settings_or_fail()
    current = asyncio.run(current_revision(settings))
    click.echo(f"database: {current or '(empty)'}\ncode:     {head_revision()}")


@main.group()
def user() -> None:
    """Users and roles."""


ROLES = ("grassroots_officer", "county_reviewer", "supervisor", "admin")


@user.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--jurisdiction", "jurisdiction_code", required=True, help="division code")
@click.option("--name", "display_name", default=None, help="display name (default: username)")
@click.option("--email", default=None, help="address for outbound notifications")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="read the password from standard input (never from the command line)",
)
def user_create(
    username: str,
    role: str,
    jurisdiction_code: str,
    display_name: str | None,
    email: str | None,
    password_stdin: bool,
) -> None:
    """Create a user; the password is read from standard input."""
    from application.security import hash_password
    from application.services.admin import check_password_rules, check_username, role_fits
    from store import repos
    from store.db import session_scope

    # The same rules as the administration API (application/services/admin.py).
    bad_username = check_username(username)
    if bad_username:
        fail(bad_username)
    password = sys.stdin.readline().rstrip("\n")
    broken = check_password_rules(password, username)
    if broken:
        fail("; ".join(broken))
    settings = settings_or_fail()

    async def _create() -> None:
        async with session_scope(settings) as session:
            if await repos.user_by_username(session, username) is not None:
                fail(f"user {username!r} already exists")
            place = await repos.get_jurisdiction(session, jurisdiction_code)
            if place is None:
                fail(f"unknown jurisdiction {jurisdiction_code!r}")
            assert place is not None
            if not role_fits(role, place.level):
                fail(f"a {role} cannot work at {place.name} ({place.code}), a {place.level}")
            await repos.add_user(
                session,
                username=username,
                display_name=display_name or username,
                password_hash=hash_password(password),
                role=role,
                jurisdiction=place,
                now=datetime.now(UTC),
                email=email,
            )

    try:
        asyncio.run(_create())
    except SystemExit:
        raise
    except Exception as exc:
        fail(f"cannot create user: {type(exc).__name__}: {exc}")
    click.echo(f"created {username} ({role}, {jurisdiction_code})")


cli_calendar.register(main)
cli_policy.register(main)
cli_department.register(main)
cli_outbound.register(main)
cli_ledger.register(main)
cli_audit.register(main)
cli_files.register(main)

if __name__ == "__main__":
    main()
