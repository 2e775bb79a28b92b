"""Shared fixtures: databases (SQLite always; PostgreSQL when reachable, required under
CI=true), the Temporal time-skipping server, and the whole system in one process (worker +
API app) for API and slice tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from infra.temporal_client import DATA_CONVERTER
from store.migrate import upgrade
from store.settings import Settings, load_settings
from worker.binaries import find_binary

PG_ADMIN_URL = os.environ.get("YUANZHU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def require_postgres() -> None:
    reason = _pg_available()
    if reason is None:
        return
    message = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({reason})"
    if IN_CI:
        pytest.fail(message + "; CI=true requires the PostgreSQL tests to run")
    pytest.skip(message)


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (its SQLAlchemy URL), dropped afterwards."""
    require_postgres()
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    with fresh_postgres_database("yuanzhu_test") as url:
        yield url


# The suite submits many anonymous applications from one address; the tests of the limits
# (tests/api/test_application_limits.py, tests/web/test_public_supplement.py) set their own.
UNLIMITED_APPLICATIONS = {
    "application_limit_per_address": "1000000/second",
    "application_limit_per_id_number": "1000000/second",
    "supplement_limit_per_address": "1000000/second",
    "supplement_limit_per_case": "1000000/second",
}


def make_settings(database_url: str, tmp: Path, **extra: object) -> Settings:
    extra = {**UNLIMITED_APPLICATIONS, **extra}
    return load_settings(
        database_url=database_url,
        data_dir=tmp,
        environment="test",
        secret_key="test-secret-key-0123456789",
        **extra,
    )


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def migrated_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings pointing at a migrated database; the suite's API and slice tests run once per
    database."""
    tmp = tmp_path_factory.mktemp(f"db-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'yuanzhu.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    settings = make_settings(url, tmp)
    upgrade(settings)
    return settings


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def system(
    migrated_settings: Settings, time_env: WorkflowEnvironment
) -> AsyncIterator[object]:
    """The whole system (worker + API) once per database, shared by the API and web tests."""
    from tests.system import running_system

    settings = migrated_settings.model_copy(
        update={"temporal_task_queue": f"yuanzhu-{migrated_settings.effective_database_url[:6]}"}
    )
    async with running_system(settings, time_env) as running:
        yield running


@pytest.fixture
async def own_system(tmp_path: Path, time_env: WorkflowEnvironment) -> AsyncIterator[object]:
    """The whole system on a private SQLite database, for a test that changes what every
    other test would see (a policy pack put in force)."""
    import asyncio

    from tests.system import running_system

    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'yuanzhu.db'}", tmp_path)
    await asyncio.to_thread(upgrade, settings)  # alembic runs an event loop of its own
    settings = settings.model_copy(update={"temporal_task_queue": f"own-{tmp_path.name}"})
    async with running_system(settings, time_env) as running:
        yield running


def pytest_configure(config: pytest.Config) -> None:
    # One name for this run, which the xdist workers (started after this) inherit: their
    # tallies are merged under it at the end.
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["YUANZHU_TEST_RUN"] = uuid.uuid4().hex[:12]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under ``--dist loadgroup`` (the Makefile's), the tests of one ``xdist_group`` must come to
    one process: the heavy multi-process runs rely on never running side by side. pytest-xdist
    marks them by a suffix of the node id, which some pytest releases silently drop
    (pytest-dev/pytest-xdist#1386); a run that would spread them is refused instead."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not session.config.getoption("loadgroup", None):
        return
    ungrouped = [
        item.nodeid
        for item in session.items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
    ]
    if ungrouped:
        raise pytest.UsageError(
            f"--dist loadgroup would not group {ungrouped[0]} (and {len(ungrouped) - 1} more): "
            "this pytest and pytest-xdist do not work together (see pyproject.toml)"
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The figures the security tests counted go to the reliability report
    (tests/reliability/report.py): each xdist worker leaves its own, the controlling process
    (or a run without workers) adds them up and writes the section."""
    from tests.reliability.report import save_worker_tallies, write_tallies

    run = os.environ.get("YUANZHU_TEST_RUN", "run")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        save_worker_tallies(run, worker)
    else:
        write_tallies(run)
