"""Assistance activities: build the assistance's input from the case's pinned pack when
identification concludes, and write the assistance ledger (entries, subsidies, exit, recovery,
the projection's snapshot) in one transaction per call, idempotent by key."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from store.models import Case
from store.models_assistance import (
    Assistance,
    AssistanceEntry,
    AssistanceExit,
    SubsidyGrantRow,
    SubsidyRecovery,
)
from store.packs import pinned_pack
from workflows.contracts import AssistanceRecordInput, AssistanceSetup, AssistanceStartInput
from workflows.rules import assistance_rules

# Continue-as-new past this many history events unless the worker is told otherwise (Temporal
# itself suggests it near 4,096 events).
DEFAULT_HISTORY_LIMIT = 2000


class AssistanceActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], history_limit: int | None = None
    ) -> None:
        self.sessions = sessions
        self.history_limit = history_limit or DEFAULT_HISTORY_LIMIT

    @activity.defn(name="assistance_input")
    async def assistance_input(self, inp: AssistanceStartInput) -> AssistanceSetup:
        """The assistance's input: rules from the pinned pack, the subsidy months of earlier
        identifications of the same person under the same pack (xinyu's cumulative cap)."""
        async with self.sessions() as session:
            case = await session.get(Case, inp.case_id)
            if case is None:
                raise ValueError(f"case {inp.case_id} is not in the database")
            pack = await pinned_pack(session, case)
            prior = await prior_subsidy_months(
                session, case.policy_pack_id, case.id_number, case.id
            )
        return AssistanceSetup(
            case_id=case.id,
            applicant_name=case.applicant_name,
            id_last4=case.id_last4,
            rules=assistance_rules(pack, inp.chain, inp.place, inp.category_code, inp.target_group),
            prior_subsidy_months=prior,
            history_limit=self.history_limit,
        )

    @activity.defn(name="record_assistance")
    async def record(self, inp: AssistanceRecordInput) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await self._record(session, inp)
        except IntegrityError:
            # A concurrent retry wrote the same keyed rows first; the snapshot is written
            # again by the next call.
            return

    async def _record(self, session: AsyncSession, inp: AssistanceRecordInput) -> None:
        case = await session.get(Case, inp.case_id)
        if case is None:
            raise ValueError(f"case {inp.case_id} is not in the database")
        e = inp.entry
        if e is not None and inp.key and await session.get(AssistanceEntry, inp.key) is None:
            session.add(
                AssistanceEntry(
                    id=inp.key,
                    case_id=inp.case_id,
                    kind=str(e["kind"]),
                    channel=e.get("channel"),
                    own=e.get("own"),
                    service_kind=e.get("service_kind"),
                    note=str(e.get("note") or ""),
                    at=inp.at,
                    recorded_by=inp.actor_id,
                    recorded_by_name=inp.actor_name,
                )
            )
        if inp.subsidy is not None and await session.get(SubsidyGrantRow, inp.subsidy.id) is None:
            g = inp.subsidy
            session.add(
                SubsidyGrantRow(
                    id=g.id,
                    case_id=inp.case_id,
                    id_number=case.id_number,
                    policy_pack_id=case.policy_pack_id,
                    kind=g.kind,
                    start_month=g.start_month,
                    months=g.months,
                    monthly_fen=g.monthly_fen,
                    granted_at=inp.at,
                    granted_by=inp.actor_id,
                    granted_by_name=inp.actor_name,
                )
            )
        if inp.exit is not None and await session.get(AssistanceExit, inp.case_id) is None:
            x = inp.exit
            session.add(
                AssistanceExit(
                    case_id=inp.case_id,
                    id_number=case.id_number,
                    policy_pack_id=case.policy_pack_id,
                    reason_code=x["reason_code"],
                    reason_name=x["reason_name"],
                    mode=x["mode"],
                    may_reapply=bool(x["may_reapply"]),
                    fraud=bool(x["fraud"]),
                    exited_on=date.fromisoformat(x["exited_on"]),
                    at=inp.at,
                    decided_by=str(x.get("decided_by") or ""),
                    detail=str(x.get("detail") or ""),
                    source=str(x.get("source") or ""),
                )
            )
        if inp.recovery is not None and await session.get(SubsidyRecovery, inp.case_id) is None:
            r = inp.recovery
            session.add(
                SubsidyRecovery(
                    case_id=inp.case_id,
                    should_have_ended_on=date.fromisoformat(r["should_have_ended_on"]),
                    from_month=date.fromisoformat(r["from_month"]),
                    cancelled_on=date.fromisoformat(r["cancelled_on"]),
                    total_fen=int(r["total_fen"]),
                    lines=list(r["lines"]),
                    rule=str(r["rule"]),
                    basis=str(r.get("basis") or ""),
                    at=inp.at,
                )
            )
        if inp.snapshot is not None:
            await _project(session, inp.case_id, inp.workflow_id, inp.snapshot, inp.at)


async def _project(
    session: AsyncSession, case_id: str, workflow_id: str, snapshot: dict[str, Any], at: datetime
) -> None:
    row = await session.get(Assistance, case_id)
    if row is None:
        session.add(
            Assistance(
                case_id=case_id,
                workflow_id=workflow_id,
                status=str(snapshot.get("status", "active")),
                snapshot=snapshot,
                started_at=at,
                updated_at=at,
            )
        )
        return
    if int(row.snapshot.get("version", 0)) > int(snapshot.get("version", 0)):
        return  # an older write landed after a newer one (concurrent handlers, a retry)
    row.status = str(snapshot.get("status", row.status))
    row.snapshot = snapshot
    row.updated_at = at


async def prior_subsidy_months(
    session: AsyncSession, pack_id: str, id_number: str, except_case: str | None = None
) -> int:
    """Months of subsidy granted to this person under this pack in other identifications."""
    q = select(func.coalesce(func.sum(SubsidyGrantRow.months), 0)).where(
        SubsidyGrantRow.policy_pack_id == pack_id, SubsidyGrantRow.id_number == id_number
    )
    if except_case is not None:
        q = q.where(SubsidyGrantRow.case_id != except_case)
    return int(await session.scalar(q) or 0)
