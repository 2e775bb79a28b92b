"""Ledger import activities: the next page of an import's persons with everything their
assistance starts from (the rules of the pinned pack, as the identification would give them,
and the ledger's history), and the import's progress."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.assistance import AssistanceActivities
from domain.calendar import SHANGHAI
from store import ledger_repo, repos
from workflows.contracts import (
    AssistanceStartInput,
    LedgerPage,
    LedgerPageInput,
    LedgerPersonStart,
    LedgerProgressInput,
    PlaceRef,
)


class LedgerActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], history_limit: int | None = None
    ) -> None:
        self.sessions = sessions
        self.assistance = AssistanceActivities(sessions, history_limit)

    @activity.defn(name="ledger_import_page")
    async def page(self, inp: LedgerPageInput) -> LedgerPage:
        async with self.sessions() as session:
            rows = await ledger_repo.page(session, inp.import_id, inp.after, inp.limit)
            chains: dict[str, list[PlaceRef]] = {}
            for _, case in rows:
                if case.jurisdiction_code not in chains:
                    place = await repos.get_jurisdiction(session, case.jurisdiction_code)
                    assert place is not None
                    chains[place.code] = [
                        PlaceRef(j.code, j.path, j.level, j.name)
                        for j in await repos.ancestors(session, place)
                    ]
        people = []
        for line, case in rows:
            chain = chains[case.jurisdiction_code]
            assert case.identified_at is not None and case.category_code is not None
            # The same input the identification gives its assistance child.
            setup = await self.assistance.assistance_input(
                AssistanceStartInput(
                    case_id=case.id,
                    category_code=case.category_code,
                    identified_at=case.identified_at,
                    place=chain[0],
                    chain=chain,
                )
            )
            own = line.last_own_contact_on
            people.append(
                LedgerPersonStart(
                    case_id=case.id,
                    setup=setup,
                    identified_at=case.identified_at,
                    intentions=line.intentions,
                    planned=list(line.planned),
                    services={k: int(v) for k, v in line.services.items()},
                    contacts=line.contacts,
                    # A day in the ledger: noon in Shanghai, so the day is right in every zone.
                    last_own_contact_at=datetime.combine(own, time(12), SHANGHAI).astimezone(UTC)
                    if own
                    else None,
                )
            )
        return LedgerPage(people)

    @activity.defn(name="ledger_import_progress")
    async def progress(self, inp: LedgerProgressInput) -> None:
        async with self.sessions() as session, session.begin():
            await ledger_repo.progress(
                session, inp.import_id, inp.case_ids, done=inp.done, at=inp.at
            )
