"""``yuanzhu files check`` and ``yuanzhu files retention`` on a migrated SQLite database with
the local file store: every file a material names is there and intact (else exit 1 naming it);
the files past retention are those whose every case closed before the period, listed only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from store.db import session_scope
from store.files import LocalFileStore, file_store
from store.migrate import upgrade
from store.models import Case, Jurisdiction
from store.models_materials import CaseMaterial
from store.settings import Settings, load_settings
from tests.factories import pinned_ref
from tests.materials_support import jpeg, pdf
from worker.cli_files import register


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in {
        "YUANZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'y.db'}",
        "YUANZHU_DATA_DIR": str(tmp_path),
        "YUANZHU_MATERIALS_RETENTION_YEARS": "10",
    }.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    upgrade(settings)
    return settings


async def hold(settings: Settings, case_id: str, data: bytes, closed_at: datetime | None) -> str:
    digest = await file_store(settings).put(data)
    now = datetime.now(UTC)
    async with session_scope(settings) as session:
        if await session.get(Jurisdiction, "110000") is None:
            session.add(Jurisdiction(code="110000", name="北京", level="province", path="/110000/"))
        session.add(
            Case(
                id=case_id,
                workflow_id=f"wf-{case_id}",
                policy_pack_id="weifang-2023",
                policy_pack_ref=await pinned_ref(session),
                jurisdiction_code="110000",
                jurisdiction_path="/110000/",
                applicant_name="某",
                id_number="370702198106150025",
                id_last4="0025",
                facts={},
                channel="counter",
                status="withdrawn" if closed_at else "accepted",
                submitted_at=now,
                closed_at=closed_at,
                updated_at=now,
            )
        )
        await session.flush()
        session.add(
            CaseMaterial(
                case_id=case_id,
                evidence_code="id_card",
                content_hash=digest,
                file_name="a",
                media_type="application/pdf",
                size_bytes=len(data),
                source="counter",
                uploaded_at=now,
            )
        )
    return digest


def run(*args: str) -> tuple[int, str]:
    root = click.Group("yuanzhu")
    register(root)
    result = CliRunner().invoke(root, list(args))
    return result.exit_code, result.output


def test_check_finds_every_file_and_names_a_missing_one(settings: Settings) -> None:
    asyncio.run(hold(settings, "C1", pdf(), None))
    digest = asyncio.run(hold(settings, "C2", jpeg(), None))
    code, out = run("files", "check")
    assert code == 0, out
    assert "files intact: 2" in out
    store = file_store(settings)
    assert isinstance(store, LocalFileStore)
    store.path_of(digest).unlink()
    code, out = run("files", "check", "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert len(problems) == 1 and digest in problems[0] and "restore the files" in problems[0]


def test_retention_lists_only_files_no_kept_case_holds(settings: Settings) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=365 * 11)
    old = asyncio.run(hold(settings, "OLD", pdf("/Lang (a)"), long_ago))
    # The same bytes also held by a case still open: kept.
    shared = asyncio.run(hold(settings, "OLD2", pdf("/Lang (b)"), long_ago))
    asyncio.run(hold(settings, "OPEN", pdf("/Lang (b)"), None))
    recent = asyncio.run(hold(settings, "RECENT", pdf("/Lang (c)"), datetime.now(UTC)))
    code, out = run("files", "retention", "--json")
    assert code == 0, out
    assert json.loads(out)["files"] == [old]
    assert shared not in out and recent not in out
    # Listed only: the file is still there.
    assert asyncio.run(file_store(settings).exists(old))
