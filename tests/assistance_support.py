"""Starting an assistance directly (without running the identification before it): a case row
marked identified under a pack's category, the pack version it pins, and the assistance
workflow started with the input the identification workflow would give it. For tests that
need many assistances (one per exit reason of each pack) or a region of their own."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle

from activities.assistance import AssistanceActivities
from domain.policy.loader import load_pack
from domain.policy.model import PolicyPack
from domain.vocabulary import PlaceRef, assistance_workflow_id
from store import repos
from store.models import Case
from tests.factories import make_id
from workflows.assistance import AssistanceWorkflow
from workflows.contracts import AssistanceStartInput
from workflows.payloads import AssistanceInput

_numbers = itertools.count(1)


async def start_assistance(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    *,
    pack_id: str,
    chain: list[PlaceRef],
    category: str | None,
    id_number: str | None = None,
    now: datetime | None = None,
    history_limit: int | None = None,
    target_group: str = "difficulty_person",
    ends_at: datetime | None = None,
    pack: PolicyPack | None = None,
    **case_fields: Any,
) -> tuple[str, WorkflowHandle[Any, Any]]:
    """A case identified under ``category`` at ``chain[0]`` (or a member of another
    ``target_group`` enrolled, with its emergency's end ``ends_at``) and its running
    assistance; pinned to ``pack`` (a revision loaded as data) where given, else to the
    packaged ``pack_id``."""
    pack = pack or load_pack(pack_id)
    now = now or datetime.now(UTC)
    case_id = f"AS{next(_numbers):06d}-{pack_id[:2].upper()}{id(chain) % 10000:04d}"
    number = id_number or make_id(region=chain[0].code[:6])
    place = chain[0]
    async with sessions() as session, session.begin():
        await repos.remember_pack_version(session, pack, now)
        session.add(
            Case(
                id=case_id,
                workflow_id=f"identification-{case_id}",
                policy_pack_id=pack.id,
                policy_pack_ref=pack.ref,
                jurisdiction_code=place.code,
                jurisdiction_path=place.path,
                applicant_name=case_fields.pop("applicant_name", "援助测试"),
                id_number=number,
                id_last4=number[-4:],
                facts={},
                channel="window",
                status="identified",
                stage="identified",
                category_code=category,
                open_key=f"{pack.id}:{number}",
                submitted_at=now,
                identified_at=now,
                updated_at=now,
                **case_fields,
            )
        )
    setup = await AssistanceActivities(sessions, history_limit).assistance_input(
        AssistanceStartInput(
            case_id=case_id,
            category_code=category,
            identified_at=now,
            place=place,
            chain=chain,
            target_group=target_group,
        )
    )
    handle = await client.start_workflow(
        AssistanceWorkflow.run,
        AssistanceInput(
            case_id=case_id,
            applicant_name=setup.applicant_name,
            id_last4=setup.id_last4,
            rules=setup.rules,
            identified_at=now,
            prior_subsidy_months=setup.prior_subsidy_months,
            history_limit=setup.history_limit,
            ends_at=ends_at,
            moved=setup.moved,
        ),
        id=assistance_workflow_id(case_id),
        task_queue=task_queue,
    )
    return case_id, handle


def region_chain(codes: dict[str, str], paths: dict[str, str]) -> list[PlaceRef]:
    """street_a1 > county_a > city > province of a test region (tests.system.Region)."""
    return [
        PlaceRef(codes[name], paths[name], level, name)
        for name, level in (
            ("street_a1", "street"),
            ("county_a", "county"),
            ("city", "city"),
            ("province", "province"),
        )
    ]
