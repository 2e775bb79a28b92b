"""`yuanzhu outbound`: the administrator's switch for the outbound adapter (SMTP)."""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime

import click

from activities.outbound import SmtpConfig, save_smtp_config, smtp_config
from store.db import session_scope
from store.settings import SettingsError, load_settings
from worker.cli_support import fail

_fail = fail


@click.group("outbound")
def outbound_group() -> None:
    """Notifications sent out of the system (e-mail)."""


@outbound_group.command("smtp")
@click.option("--host", required=True, help="SMTP relay host")
@click.option("--port", default=25, show_default=True, type=click.IntRange(1, 65535))
@click.option("--sender", required=True, help="From address, e.g. yuanzhu@rsj.example.gov.cn")
@click.option("--starttls/--no-starttls", default=False)
@click.option("--username", default=None, help="login (password from YUANZHU_SMTP_PASSWORD)")
@click.option("--enable/--disable", default=True, help="switch sending on or off")
def smtp_cmd(
    host: str, port: int, sender: str, starttls: bool, username: str | None, enable: bool
) -> None:
    """Configure the SMTP adapter and switch it on (or off with --disable)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
        return
    config = SmtpConfig(enable, host, port, sender, starttls, username)

    async def _save() -> None:
        async with session_scope(settings) as session:
            await save_smtp_config(
                session, config, by=f"cli:{getpass.getuser()}", now=datetime.now(UTC)
            )

    try:
        asyncio.run(_save())
    except Exception as exc:
        _fail(f"cannot save the setting: {type(exc).__name__}: {exc}")
    click.echo(f"outbound SMTP {'enabled' if enable else 'disabled'}: {host}:{port} from {sender}")


@outbound_group.command("show")
def show_cmd() -> None:
    """Print the outbound adapter's settings as JSON (never a password)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
        return

    async def _read() -> SmtpConfig | None:
        async with session_scope(settings) as session:
            return await smtp_config(session)

    config = asyncio.run(_read())
    click.echo(json.dumps(config.__dict__ if config else {"enabled": False}, ensure_ascii=False))


def register(root: click.Group) -> None:
    root.add_command(outbound_group)
