"""Department lists in the database, on SQLite and PostgreSQL: an import replaces the list of
its kind (other kinds untouched), a failing import changes nothing (the old list stays whole
even when some batches were already inserted), concurrent imports of one kind do not mix, and
the lookups by person and the import history.

The tables are made with ``create_all`` (the Alembic migration comes separately). On
PostgreSQL they live in a schema of their own inside the session's test database, so that the
migrated schema other tests use is not affected.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import store.department_repo as repo
from domain.department_data import DepartmentList, DepartmentRecord
from domain.department_import import ImportedRecord
from domain.ids import check_digit
from store.base import Base
from store.db import make_engine, make_sessionmaker
from store.models_department import DepartmentImport, DepartmentRecordRow

TABLES = [
    cast(Table, DepartmentImport.__table__),
    cast(Table, DepartmentRecordRow.__table__),
]
LOW = DepartmentList.MINIMUM_LIVING_ALLOWANCE
DIS = DepartmentList.DISABILITY
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

Sessions = async_sessionmaker[AsyncSession]


def make_id(i: int) -> str:
    body = f"370702{date(1970, 1, 1) + timedelta(days=i // 999):%Y%m%d}{i % 999 + 1:03d}"
    return body + check_digit(body)


def rec(
    i: int,
    kind: DepartmentList = LOW,
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
    jurisdiction: str | None = "370702001",
    detail: dict[str, str] | None = None,
) -> ImportedRecord:
    return ImportedRecord(
        line=i + 2,
        list=kind,
        id_number=make_id(i),
        name=f"人{i}",
        valid_from=valid_from,
        valid_to=valid_to,
        jurisdiction_code=jurisdiction,
        detail=detail if detail is not None else {"证号": f"DB{i}"},
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Sessions]:
    schema = None
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('dept') / 'd.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        schema = f"dept_{uuid.uuid4().hex[:10]}"
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=TABLES)
    try:
        yield make_sessionmaker(engine)
    finally:
        if schema is not None:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def replace(
    sessions: Sessions,
    kind: DepartmentList,
    records: list[ImportedRecord],
    *,
    file_name: str = "list.csv",
    now: datetime = T0,
) -> DepartmentImport:
    async with sessions() as session, session.begin():
        return await repo.replace_list(
            session, kind, records, file_name=file_name, imported_by="tester", now=now
        )


async def ids_of(sessions: Sessions, kind: DepartmentList) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(DepartmentRecordRow.id_number)
            .where(DepartmentRecordRow.list_kind == kind.value)
            .order_by(DepartmentRecordRow.id_number)
        )
        return list(rows)


async def test_first_import_and_lookup(sessions: Sessions) -> None:
    records = [
        rec(0, valid_from=date(2024, 1, 1), valid_to=date(2026, 12, 31), detail={"备注": "独居"}),
        rec(1, jurisdiction=None, detail={}),
    ]
    entry = await replace(sessions, LOW, records, file_name="低保名单.csv")
    assert entry.id is not None
    assert (entry.list_kind, entry.rows, entry.file_name) == (LOW.value, 2, "低保名单.csv")
    assert (entry.replaces_previous, entry.replaced_rows) == (False, 0)
    async with sessions() as session:
        assert await repo.records_for(session, make_id(0)) == [
            DepartmentRecord(LOW, make_id(0), date(2024, 1, 1), date(2026, 12, 31))
        ]
        rows = await repo.record_rows_for(session, make_id(0))
        assert len(rows) == 1
        row = rows[0]
        assert (row.name, row.jurisdiction_code, row.detail) == (
            "人0",
            "370702001",
            {"备注": "独居"},
        )
        assert row.import_id == entry.id
        other = (await repo.record_rows_for(session, make_id(1)))[0]
        assert (other.jurisdiction_code, other.detail, other.valid_from) == (None, {}, None)
        assert await repo.records_for(session, make_id(99)) == []
        assert await repo.imported_kinds(session) == {LOW}
        [stored] = await repo.list_imports(session)
        assert stored.imported_at == T0 and stored.imported_by == "tester"


async def test_lookup_accepts_the_15_digit_form(sessions: Sessions) -> None:
    record = ImportedRecord(2, DIS, "37070219800101123X", "张三")
    await replace(sessions, DIS, [record])
    async with sessions() as session:
        assert len(await repo.records_for(session, "370702800101123")) == 1
        assert len(await repo.records_for(session, "37070219800101123x")) == 1


async def test_a_person_on_several_lists(sessions: Sessions) -> None:
    await replace(sessions, LOW, [rec(0), rec(1)])
    await replace(sessions, DIS, [rec(0, DIS, valid_to=date(2025, 1, 1))])
    async with sessions() as session:
        found = await repo.records_for(session, make_id(0))
        assert sorted(r.list for r in found) == sorted([LOW, DIS])
        assert await repo.imported_kinds(session) == {LOW, DIS}


async def test_import_replaces_only_its_kind(sessions: Sessions) -> None:
    await replace(sessions, LOW, [rec(i) for i in range(5)])
    await replace(sessions, DIS, [rec(i, DIS) for i in range(3)])
    later = T0 + timedelta(days=30)
    entry = await replace(sessions, LOW, [rec(i) for i in range(3, 10)], now=later)
    assert (entry.rows, entry.replaces_previous, entry.replaced_rows) == (7, True, 5)
    assert await ids_of(sessions, LOW) == sorted(make_id(i) for i in range(3, 10))
    assert await ids_of(sessions, DIS) == sorted(make_id(i) for i in range(3))
    async with sessions() as session:
        history = await repo.list_imports(session)
        assert [(h.list_kind, h.rows) for h in history] == [
            (LOW.value, 7),
            (DIS.value, 3),
            (LOW.value, 5),
        ]
        latest = await repo.latest_imports(session)
        assert set(latest) == {LOW, DIS}
        assert latest[LOW].id == entry.id and latest[LOW].imported_at == later
        # Every record of a kind belongs to that kind's latest import.
        import_ids = await session.scalars(
            select(DepartmentRecordRow.import_id)
            .where(DepartmentRecordRow.list_kind == LOW.value)
            .distinct()
        )
        assert list(import_ids) == [entry.id]


async def test_a_failing_import_changes_nothing(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = [rec(i) for i in range(3)]
    await replace(sessions, LOW, old)
    # Small batches, and the bad record in the third batch: the delete and two batches have
    # already gone to the database when it fails.
    monkeypatch.setattr(repo, "BATCH_SIZE", 10)
    new = [rec(i) for i in range(100, 130)]
    bad = new[25]
    new[25] = ImportedRecord(bad.line, LOW, bad.id_number, None)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        await replace(sessions, LOW, new, now=T0 + timedelta(days=1))
    assert await ids_of(sessions, LOW) == sorted(r.id_number for r in old)
    async with sessions() as session:
        history = await repo.list_imports(session)
        assert [(h.rows, h.imported_at) for h in history] == [(3, T0)]
        count = await session.scalar(select(func.count()).select_from(DepartmentRecordRow))
        assert count == 3


async def test_concurrent_imports_of_one_kind_do_not_mix(sessions: Sessions) -> None:
    await replace(sessions, LOW, [rec(i) for i in range(50)])
    a = [rec(i) for i in range(1000, 1400)]
    b = [rec(i) for i in range(2000, 2300)]
    await asyncio.gather(replace(sessions, LOW, a), replace(sessions, LOW, b))
    ids = await ids_of(sessions, LOW)
    assert ids in (sorted(r.id_number for r in a), sorted(r.id_number for r in b))
    async with sessions() as session:
        history = await repo.list_imports(session)
        assert sorted(h.replaced_rows for h in history) == sorted(
            [0, 50, len(a) + len(b) - len(ids)]
        )


async def test_many_records_in_batches(sessions: Sessions) -> None:
    records = [rec(i, jurisdiction=f"37070200{i % 3 + 1}") for i in range(12_345)]
    entry = await replace(sessions, LOW, records)
    assert entry.rows == 12_345
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(DepartmentRecordRow)
            .where(
                DepartmentRecordRow.list_kind == LOW.value,
                DepartmentRecordRow.jurisdiction_code == "370702002",
            )
        )
        assert count == 4115
        assert len(await repo.records_for(session, make_id(12_000))) == 1


async def test_unknown_kinds_in_the_table_are_ignored(sessions: Sessions) -> None:
    await replace(sessions, LOW, [rec(0)])
    async with sessions() as session, session.begin():
        entry = DepartmentImport(
            list_kind="from_a_newer_version",
            file_name="x.csv",
            rows=1,
            imported_at=T0,
            imported_by="x",
            replaces_previous=False,
            replaced_rows=0,
        )
        session.add(entry)
        await session.flush()
        session.add(
            DepartmentRecordRow(
                import_id=entry.id,
                list_kind="from_a_newer_version",
                id_number=make_id(0),
                name="人0",
                detail={},
            )
        )
    async with sessions() as session:
        assert await repo.imported_kinds(session) == {LOW}
        assert [r.list for r in await repo.records_for(session, make_id(0))] == [LOW]
        assert set(await repo.latest_imports(session)) == {LOW}


async def test_indexes(sessions: Sessions) -> None:
    async with sessions() as session:
        conn = await session.connection()
        indexes = await conn.run_sync(
            lambda c: {
                i["name"]: i["column_names"] for i in inspect(c).get_indexes("department_records")
            }
        )
    assert indexes["ix_department_records_person"] == ["id_number", "list_kind"]
    assert indexes["ix_department_records_place"] == ["list_kind", "jurisdiction_code"]


async def test_a_large_list_replaces_whole(tmp_path_factory: pytest.TempPathFactory) -> None:
    """20,000 records (several insert batches) imported, then replaced whole. Import speed is
    measured in bench/, not asserted here."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('perf') / 'p.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all, tables=TABLES)
        sessions = make_sessionmaker(engine)
        records = [rec(i) for i in range(20_000)]
        await replace(sessions, LOW, records)
        entry = await replace(sessions, LOW, records)  # and replacing them all
        assert (entry.rows, entry.replaced_rows) == (20_000, 20_000)
    finally:
        await engine.dispose()
