"""Running Alembic from code (`yuanzhu db upgrade`, `yuanzhu up`) and checking that a database
is at the code's revision before a process starts (a start against a database at the wrong
revision refuses to run and says what to run)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from store.db import make_engine
from store.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


class WrongRevision(RuntimeError):
    pass


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


def upgrade(settings: Settings, revision: str = "head") -> None:
    url = settings.effective_database_url
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings.effective_database_url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


async def current_revision(settings: Settings) -> str | None:
    engine = make_engine(settings.effective_database_url)
    try:
        async with engine.connect() as conn:

            def _rev(sync_conn: Connection) -> str | None:
                return MigrationContext.configure(sync_conn).get_current_revision()

            return await conn.run_sync(_rev)
    finally:
        await engine.dispose()


async def check_revision(settings: Settings) -> None:
    """Raise WrongRevision (with the command to run) unless the database is at head."""
    head = head_revision()
    try:
        current = await current_revision(settings)
    except Exception as exc:
        raise WrongRevision(
            f"cannot read the database at {settings.effective_database_url.split('@')[-1]}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if current != head:
        raise WrongRevision(
            f"the database is at revision {current or '(empty)'} but this code needs {head}; "
            "run 'yuanzhu db upgrade'"
        )
