"""Department data sharing (部门信息共享) for the identification workflow: the
``department_check`` activity asks a :class:`DepartmentDataAdapter` what the departments know
about an applicant on a date and returns :class:`~domain.facts.DataFinding` lines.

The default adapter, :class:`ImportedListsAdapter`, reads the lists an administrator imported
(``yuanzhu department import``) and applies :func:`domain.department_data.findings_for`: a
valid record proves its facts true; a list that was imported but does not hold the person
proves them false; a list never imported says nothing.

Plugging in another source (for example a province's data exchange platform, 省级数据共享交换
平台) means writing a class with the same one method and handing it to the worker factory::

    class ProvinceExchangeAdapter:
        def __init__(self, client: httpx.AsyncClient) -> None:
            self.client = client

        async def findings(self, id_number: str, on: date) -> list[DataFinding]:
            reply = await self.client.post("/query", json={"sfzh": id_number, ...})
            reply.raise_for_status()  # an exception is retried by Temporal
            return [DataFinding(source="省大数据局·低保", fact=..., value=..., checked_on=on)]

    build_worker(client, settings, department_adapter=ProvinceExchangeAdapter(http))

with ``YUANZHU_DEPARTMENT_DATA=adapter`` for the worker and the API alike: with the default
(``imported``) the API pre-checks each application with the imported lists as it stores it,
and ``build_worker`` refuses an adapter. With ``adapter``, applications under packs that check
department data are pre-checked by the worker's assessment, which asks the adapter.

Rules for an adapter: return a finding only for what the source actually answered (an unknown
is no finding, never ``False``); raise on transport errors so that Temporal retries the
activity; never log the full ID number. An adapter may combine sources, e.g. call
``ImportedListsAdapter`` and add the remote answers for lists that are not imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.facts import DataFinding
from domain.ids import ResidentIdError, parse_resident_id
from store.department_repo import imported_findings

__all__ = [
    "ERR_BAD_ID_NUMBER",
    "DepartmentActivities",
    "DepartmentCheckInput",
    "DepartmentCheckResult",
    "DepartmentDataAdapter",
    "ImportedListsAdapter",
]

# ApplicationError.type of a non-retryable failure: the ID number is not valid.
ERR_BAD_ID_NUMBER = "bad-id-number"


@dataclass
class DepartmentCheckInput:
    id_number: str
    on: date


@dataclass
class DepartmentCheckResult:
    # DataFinding.model_dump(mode="json") dicts: {"source", "fact", "value", "checked_on"}.
    findings: list[dict[str, Any]] = field(default_factory=list)


@runtime_checkable
class DepartmentDataAdapter(Protocol):
    """A source of department findings about one person on one date."""

    async def findings(self, id_number: str, on: date) -> list[DataFinding]: ...


class ImportedListsAdapter:
    """The default adapter: the lists imported into the application database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def findings(self, id_number: str, on: date) -> list[DataFinding]:
        async with self.sessions() as session, session.begin():
            return await imported_findings(session, id_number, on)


class DepartmentActivities:
    def __init__(self, adapter: DepartmentDataAdapter) -> None:
        self.adapter = adapter

    @activity.defn(name="department_check")
    async def department_check(self, inp: DepartmentCheckInput) -> DepartmentCheckResult:
        try:
            number = parse_resident_id(inp.id_number).number
        except ResidentIdError as exc:
            raise ApplicationError(
                f"invalid ID number: {exc.message}", type=ERR_BAD_ID_NUMBER, non_retryable=True
            ) from None
        found = await self.adapter.findings(number, inp.on)
        return DepartmentCheckResult(findings=[f.model_dump(mode="json") for f in found])
