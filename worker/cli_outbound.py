"""`yuanzhu outbound`: the administrator's switch for the outbound adapter (SMTP). Validation,
storage and the audit entry are :func:`store.outbound_settings.save_smtp_config`, the same code as
``PUT /api/v1/admin/outbound``."""

from __future__ import annotations

import asyncio
import getpass
import sys
from datetime import UTC, datetime

import click

from infra.mail import TLS_MODES, InvalidSmtpConfig, SmtpConfig
from store.db import session_scope
from store.outbound_settings import save_smtp_config, smtp_config
from worker.cli_support import fail, print_json, settings_or_fail

_fail = fail


@click.group("outbound")
def outbound_group() -> None:
    """Notifications sent out of the system (e-mail)."""


@outbound_group.command("smtp")
@click.option("--host", required=True, help="SMTP relay host")
@click.option("--port", default=25, show_default=True, type=int)
@click.option("--sender", required=True, help="From address, e.g. yuanzhu@rsj.example.gov.cn")
@click.option(
    "--tls",
    type=click.Choice(TLS_MODES),
    default=None,
    help="none, starttls (port 587) or tls (implicit TLS, port 465); default none",
)
@click.option("--starttls/--no-starttls", default=False, help="same as --tls starttls")
@click.option("--username", default=None, help="login, if the relay needs one")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="read the login password from the first line of stdin (otherwise the stored one is "
    "kept; without any, YUANZHU_SMTP_PASSWORD of the worker is used)",
)
@click.option("--enable/--disable", default=True, help="switch sending on or off")
def smtp_cmd(
    host: str,
    port: int,
    sender: str,
    tls: str | None,
    starttls: bool,
    username: str | None,
    password_stdin: bool,
    enable: bool,
) -> None:
    """Configure the SMTP adapter and switch it on (or off with --disable)."""
    settings = settings_or_fail()
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    mode = tls or ("starttls" if starttls else "none")
    config = SmtpConfig(enable, host, port, sender, mode, username, password or None)

    async def _save() -> None:
        async with session_scope(settings) as session:
            await save_smtp_config(
                session,
                config,
                by=f"cli:{getpass.getuser()}",
                now=datetime.now(UTC),
                keep_password=not password_stdin,
            )

    try:
        asyncio.run(_save())
    except InvalidSmtpConfig as exc:
        _fail(f"invalid setting: {exc}")
    except Exception as exc:
        _fail(f"cannot save the setting: {type(exc).__name__}: {exc}")
    click.echo(f"outbound SMTP {'enabled' if enable else 'disabled'}: {host}:{port} from {sender}")


@outbound_group.command("show")
def show_cmd() -> None:
    """Print the outbound adapter's settings as JSON (never a password: only whether one is
    set)."""
    settings = settings_or_fail()

    async def _read() -> SmtpConfig | None:
        async with session_scope(settings) as session:
            return await smtp_config(session)

    config = asyncio.run(_read())
    print_json(config.public() if config else {"enabled": False})


def register(root: click.Group) -> None:
    root.add_command(outbound_group)
