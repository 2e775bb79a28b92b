"""The operator commands of the platform: settings that fail fast, database migration, user
creation, and processes that refuse a database at the wrong revision."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli import main


def run(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("YUANZHU_")}
    return {**base, "YUANZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'y.db'}"}


def test_bad_database_url_is_one_line_naming_the_variable(env: dict[str, str]) -> None:
    result = run("db", "upgrade", env={**env, "YUANZHU_DATABASE_URL": "mysql://x/y"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: YUANZHU_DATABASE_URL: must start with")
    assert "Traceback" not in result.stderr


def test_production_refuses_the_development_secret(env: dict[str, str]) -> None:
    result = run("db", "upgrade", env={**env, "YUANZHU_ENVIRONMENT": "production"})
    assert result.returncode == 1
    assert "YUANZHU_SECRET_KEY must be set" in result.stderr


def test_processes_refuse_an_unmigrated_database(env: dict[str, str]) -> None:
    for command in ("worker", "api"):
        result = run(command, env=env)
        assert result.returncode == 1, result.stderr
        assert "run 'yuanzhu db upgrade'" in result.stderr
        assert "Traceback" not in result.stderr


def test_upgrade_then_create_users(env: dict[str, str]) -> None:
    assert run("db", "upgrade", env=env).returncode == 0
    current = run("db", "current", env=env)
    assert current.stdout.split()[1] == current.stdout.split()[3]  # database == code revision
    # A user needs an existing jurisdiction; seed the demo tree through the module.
    result = run(
        "user",
        "create",
        "--username",
        "li",
        "--role",
        "county_reviewer",
        "--jurisdiction",
        "999999",
        "--password-stdin",
        env=env,
        stdin="long-password\n",
    )
    assert result.returncode == 1 and "unknown jurisdiction '999999'" in result.stderr
    seed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio; from store.settings import load_settings; "
            "from store.db import session_scope; from worker.demo import seed_jurisdictions\n"
            "async def m():\n"
            "    async with session_scope(load_settings()) as s: await seed_jurisdictions(s)\n"
            "asyncio.run(m())",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert seed.returncode == 0, seed.stderr
    ok = run(
        "user",
        "create",
        "--username",
        "li",
        "--role",
        "county_reviewer",
        "--jurisdiction",
        "220102",
        "--password-stdin",
        env=env,
        stdin="long-password\n",
    )
    assert ok.returncode == 0, ok.stderr
    again = run(
        "user",
        "create",
        "--username",
        "li",
        "--role",
        "county_reviewer",
        "--jurisdiction",
        "220102",
        "--password-stdin",
        env=env,
        stdin="long-password\n",
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    short = run(
        "user",
        "create",
        "--username",
        "wu",
        "--role",
        "supervisor",
        "--jurisdiction",
        "220100",
        "--password-stdin",
        env=env,
        stdin="short\n",
    )
    assert short.returncode == 1 and "at least 8" in short.stderr


def test_every_documented_command_exists() -> None:
    runner = CliRunner()
    for args in (
        ["up"],
        ["worker"],
        ["api"],
        ["db", "upgrade"],
        ["user", "create"],
        ["policy", "list"],
        ["eligibility"],
        ["calendar", "add-working-days"],
        ["calendar", "is-workday"],
        ["calendar", "import"],
        ["id", "check"],
    ):
        result = runner.invoke(main, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
