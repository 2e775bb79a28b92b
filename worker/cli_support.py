"""What every `yuanzhu` command shares: the one-line error with its exit code, settings read
from the environment (a bad value is such an error) and JSON output."""

from __future__ import annotations

import getpass
import json
from typing import Any, NoReturn

import click

from store.settings import Settings, SettingsError, load_settings


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def settings_or_fail(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        fail(str(exc))


def print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def cli_user() -> str:
    """Who acts from the command line, for the audit log: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"
