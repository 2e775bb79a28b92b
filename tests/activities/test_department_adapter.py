"""The ``department_check`` activity and the default adapter over imported lists: findings are
true for a record valid on the date, false for an imported list that does not hold the person
(or holds an expired or future record), and absent for lists never imported. Another adapter
plugs in through the same protocol."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import cast

import pytest
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.department import (
    ERR_BAD_ID_NUMBER,
    DepartmentActivities,
    DepartmentCheckInput,
    DepartmentCheckResult,
    DepartmentDataAdapter,
    ImportedListsAdapter,
)
from domain.department_data import DepartmentList
from domain.department_import import ImportedRecord
from domain.facts import DataFinding
from store.base import Base
from store.db import make_engine, make_sessionmaker
from store.department_repo import replace_list
from store.models_department import DepartmentImport, DepartmentRecordRow

LIU_FANG = "11010519491231002X"
OTHER = "37070219800101123X"
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sessions]:
    db = tmp_path_factory.mktemp("dept-act") / "d.db"
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    tables = [cast(Table, DepartmentImport.__table__), cast(Table, DepartmentRecordRow.__table__)]
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=tables)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def load(
    sessions: Sessions,
    kind: DepartmentList,
    *people: tuple[str, date | None, date | None],
) -> None:
    records = [
        ImportedRecord(i + 2, kind, number, f"人{i}", start, end)
        for i, (number, start, end) in enumerate(people)
    ]
    async with sessions() as session, session.begin():
        await replace_list(
            session, kind, records, file_name="x.csv", imported_by="t", now=datetime.now(UTC)
        )


def values(findings: list[DataFinding]) -> dict[str, object]:
    return {f.fact: f.value for f in findings}


async def test_nothing_imported_means_no_findings(sessions: Sessions) -> None:
    assert await ImportedListsAdapter(sessions).findings(LIU_FANG, date(2026, 3, 1)) == []


async def test_true_false_and_absent_per_imported_kind(sessions: Sessions) -> None:
    await load(sessions, DepartmentList.DISABILITY, (LIU_FANG, None, None))
    await load(sessions, DepartmentList.MINIMUM_LIVING_ALLOWANCE, (OTHER, None, None))
    await load(sessions, DepartmentList.BUSINESS_REGISTRATION, (LIU_FANG, date(2020, 1, 1), None))
    on = date(2026, 3, 1)
    findings = await ImportedListsAdapter(sessions).findings(LIU_FANG, on)
    assert values(findings) == {
        "person.disability_certificate": True,
        "household.minimum_living_allowance": False,
        "economic.business_licence": True,
        "economic.legal_representative_or_officer_elsewhere": True,
    }
    assert all(f.checked_on == on for f in findings)
    sources = {f.fact: f.source for f in findings}
    assert sources["person.disability_certificate"] == "残联·残疾人证持证人员"
    # The other person: on the 低保 list only.
    other = values(await ImportedListsAdapter(sessions).findings(OTHER, on))
    assert other["household.minimum_living_allowance"] is True
    assert other["person.disability_certificate"] is False


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2023, 12, 31), False),
        (date(2024, 1, 1), True),  # first day
        (date(2025, 6, 30), True),
        (date(2025, 12, 31), True),  # last day
        (date(2026, 1, 1), False),
    ],
)
async def test_validity_dates(sessions: Sessions, on: date, expected: bool) -> None:
    await load(
        sessions,
        DepartmentList.MINIMUM_LIVING_ALLOWANCE,
        (LIU_FANG, date(2024, 1, 1), date(2025, 12, 31)),
    )
    findings = await ImportedListsAdapter(sessions).findings(LIU_FANG, on)
    assert values(findings) == {"household.minimum_living_allowance": expected}


async def test_a_new_import_replaces_the_answer(sessions: Sessions) -> None:
    kind = DepartmentList.MINIMUM_LIVING_ALLOWANCE
    adapter = ImportedListsAdapter(sessions)
    await load(sessions, kind, (LIU_FANG, None, None))
    assert values(await adapter.findings(LIU_FANG, date(2026, 3, 1))) == {
        "household.minimum_living_allowance": True
    }
    await load(sessions, kind, (OTHER, None, None))  # LIU_FANG left the 低保 list
    assert values(await adapter.findings(LIU_FANG, date(2026, 3, 1))) == {
        "household.minimum_living_allowance": False
    }


async def test_activity_returns_json_findings(sessions: Sessions) -> None:
    await load(sessions, DepartmentList.DISABILITY, (LIU_FANG, None, date(2030, 1, 1)))
    activities = DepartmentActivities(ImportedListsAdapter(sessions))
    env = ActivityEnvironment()
    # A 15-digit or lower-case number is normalised before the lookup.
    result = await env.run(
        activities.department_check, DepartmentCheckInput("11010519491231002x", date(2026, 3, 1))
    )
    assert isinstance(result, DepartmentCheckResult)
    assert result.findings == [
        {
            "source": "残联·残疾人证持证人员",
            "fact": "person.disability_certificate",
            "value": True,
            "checked_on": "2026-03-01",
        }
    ]
    json.dumps(result.findings)  # JSON-able as is
    legacy = await env.run(
        activities.department_check, DepartmentCheckInput("370702800101123", date(2026, 3, 1))
    )
    assert legacy.findings[0]["value"] is False


async def test_activity_refuses_an_invalid_id_number(sessions: Sessions) -> None:
    activities = DepartmentActivities(ImportedListsAdapter(sessions))
    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(
            activities.department_check,
            DepartmentCheckInput("110105194912310023", date(2026, 3, 1)),
        )
    assert info.value.non_retryable and info.value.type == ERR_BAD_ID_NUMBER
    assert "check digit is 3 but should be X" in str(info.value)


class ProvinceExchange:
    """Another source, as a province's data exchange API would be."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, date]] = []

    async def findings(self, id_number: str, on: date) -> list[DataFinding]:
        self.asked.append((id_number, on))
        return [
            DataFinding(
                source="省数据共享交换平台·社保",
                fact="economic.employer_social_insurance_now",
                value=False,
                checked_on=on,
            )
        ]


async def test_another_adapter_plugs_in() -> None:
    adapter = ProvinceExchange()
    assert isinstance(adapter, DepartmentDataAdapter)
    activities = DepartmentActivities(adapter)
    result = await ActivityEnvironment().run(
        activities.department_check, DepartmentCheckInput("370702800101123", date(2026, 3, 1))
    )
    assert adapter.asked == [("37070219800101123X", date(2026, 3, 1))]
    assert result.findings == [
        {
            "source": "省数据共享交换平台·社保",
            "fact": "economic.employer_social_insurance_now",
            "value": False,
            "checked_on": "2026-03-01",
        }
    ]


async def test_adapter_errors_propagate_for_temporal_to_retry() -> None:
    class Down:
        async def findings(self, id_number: str, on: date) -> list[DataFinding]:
            raise ConnectionError("exchange unreachable")

    with pytest.raises(ConnectionError):
        await ActivityEnvironment().run(
            DepartmentActivities(Down()).department_check,
            DepartmentCheckInput(LIU_FANG, date(2026, 3, 1)),
        )


def test_contracts_round_trip_through_the_data_converter() -> None:
    from infra.temporal_client import DATA_CONVERTER

    converter = DATA_CONVERTER.payload_converter
    inp = DepartmentCheckInput(LIU_FANG, date(2026, 3, 1))
    [payload] = converter.to_payloads([inp])
    assert converter.from_payloads([payload], [DepartmentCheckInput]) == [inp]
    out = DepartmentCheckResult(findings=[{"fact": "x", "value": None, "checked_on": "2026-03-01"}])
    [payload] = converter.to_payloads([out])
    assert converter.from_payloads([payload], [DepartmentCheckResult]) == [out]
