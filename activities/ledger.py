"""Ledger import (and enrolment batch) activities: the next page of a batch's persons with
everything their assistance starts from (the rules of the pinned pack, as the identification
would give them, the ledger's history, a temporary assistance's end), and the batch's
progress."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.assistance import AssistanceActivities
from domain.calendar import SHANGHAI
from domain.target_groups import DIFFICULTY_PERSON, TEMPORARY_ASSISTANCE
from domain.vocabulary import PlaceRef
from store import enrolment_repo, ledger_repo, repos
from workflows.contracts import (
    AssistanceStartInput,
    LedgerPage,
    LedgerPageInput,
    LedgerPersonStart,
    LedgerProgressInput,
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
            ends_at, emergency_id = await enrolment_repo.emergency_end(session, inp.import_id)
            chains: dict[str, list[PlaceRef]] = {}
            for _, case in rows:
                if case.jurisdiction_code not in chains:
                    place = await repos.get_jurisdiction(session, case.jurisdiction_code)
                    assert place is not None
                    chains[place.code] = await repos.place_chain(session, place)
        people = []
        for line, case in rows:
            chain = chains[case.jurisdiction_code]
            assert case.identified_at is not None
            enrolled = line.target_group != DIFFICULTY_PERSON
            temporary = line.target_group == TEMPORARY_ASSISTANCE
            # The same input the identification gives its assistance child.
            setup = await self.assistance.assistance_input(
                AssistanceStartInput(
                    case_id=case.id,
                    category_code=case.category_code,
                    identified_at=case.identified_at,
                    place=chain[0],
                    chain=chain,
                    target_group=line.target_group,
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
                    enrolled=enrolled,
                    ends_at=ends_at if temporary else None,
                    emergency_id=emergency_id if temporary else None,
                )
            )
        return LedgerPage(people)

    @activity.defn(name="ledger_import_progress")
    async def progress(self, inp: LedgerProgressInput) -> None:
        async with self.sessions() as session, session.begin():
            await ledger_repo.progress(
                session, inp.import_id, inp.case_ids, done=inp.done, at=inp.at
            )
