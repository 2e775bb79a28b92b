"""Assistance activities: build the assistance's input from the case's pinned pack when
identification concludes, and write the assistance ledger (entries, subsidies, exit, recovery,
the projection's snapshot) in one transaction per call, idempotent by key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.calendar import local_date
from domain.policy.model import PolicyPack
from store.audit import record_audit
from store.models import Case
from store.models_assistance import (
    Assistance,
    AssistanceEntry,
    AssistanceExit,
    SubsidyGrantRow,
    SubsidyRecovery,
)
from store.packs import (
    assistance_revision,
    pack_by_ref,
    packs_in_force,
    pinned_pack,
    revision_document,
)
from workflows.contracts import (
    AssistanceRecordInput,
    AssistanceSetup,
    AssistanceStartInput,
    RevisedRules,
    RevisedRulesInput,
    RulesMove,
    TransitionDone,
    TransitionPage,
    TransitionPageInput,
)
from workflows.rules import assistance_rules

# The audit of a revision's move of the persons already identified (#23 [transition]).
AUDIT_TRANSITION = "policy_pack_transition"

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
            pinned = await pinned_pack(session, case)
            # A later revision in force today that moves the persons already identified
            # governs this one's assistance from the start (#23 [transition]).
            today = local_date(datetime.now(UTC))
            packs = await packs_in_force(session)
            pack = assistance_revision(packs, pinned, today)
            first = next(
                (day for day, p in packs.revisions.get(pack.id, ()) if p.ref == pack.ref), today
            )
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
            moved=_move(pinned.ref, pack, first) if pack.ref != pinned.ref else None,
        )

    @activity.defn(name="revised_assistance_rules")
    async def revised_rules(self, inp: RevisedRulesInput) -> RevisedRules:
        """The revision ``inp.ref``'s assistance rules for this person: computed from the
        person's own fields as the running rules hold them (place, chain, category, target
        group), as when an assistance starts."""
        async with self.sessions() as session:
            pack = await pack_by_ref(session, inp.ref)
        old = inp.rules
        place = old.officer_place or old.county_place
        if place is None:
            raise ValueError(f"the assistance of case {inp.case_id} has no place")
        return RevisedRules(
            rules=assistance_rules(pack, old.chain, place, old.category_code, old.target_group),
            move=_move(old.pack_ref, pack, inp.effective_on),
        )

    @activity.defn(name="transition_page")
    async def transition_page(self, inp: TransitionPageInput) -> TransitionPage:
        """The running assistances of the pack that the revision ``inp.ref`` governs from
        its first day and that follow another revision still, a page by case id. Whether it
        governs is :func:`store.packs.assistance_revision` for each (a case pinned to a later
        revision, or following a later one that moved it, is not taken back)."""
        on = max(inp.effective_on, local_date(datetime.now(UTC)))
        async with self.sessions() as session:
            packs = await packs_in_force(session)
            q = (
                select(
                    Assistance.case_id,
                    Assistance.workflow_id,
                    Assistance.snapshot,
                    Case.id,
                    Case.policy_pack_ref,
                )
                .join(Case, Case.id == Assistance.case_id)
                .where(Assistance.status == "active", Case.policy_pack_id == inp.pack_id)
                .order_by(Assistance.case_id)
                .limit(inp.limit)
            )
            if inp.after is not None:
                q = q.where(Assistance.case_id > inp.after)
            rows = (await session.execute(q)).all()
            ids: list[str] = []
            for row in rows:
                if (row.snapshot or {}).get("pack_ref") == inp.ref:
                    continue
                pinned = await pinned_pack(session, row)
                if assistance_revision(packs, pinned, on).ref == inp.ref:
                    ids.append(row.workflow_id)
        return TransitionPage(
            workflow_ids=ids,
            after=rows[-1][0] if rows else inp.after,
            more=len(rows) == inp.limit,
        )

    @activity.defn(name="transition_done")
    async def transition_done(self, inp: TransitionDone) -> None:
        """Audit what a revision's move did (``policy_pack_transition``)."""
        async with self.sessions() as session, session.begin():
            record_audit(
                session,
                actor_id=None,
                action=AUDIT_TRANSITION,
                object_type="policy_pack",
                object_id=inp.pack_id,
                detail={
                    "ref": inp.ref,
                    "effective_on": inp.effective_on.isoformat(),
                    "assistances_told": inp.told,
                    "unreached": inp.unreached,
                },
                now=datetime.now(UTC),
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


def _move(from_ref: str, pack: PolicyPack, effective_on: date) -> RulesMove:
    transition = pack.transition
    return RulesMove(
        from_ref=from_ref,
        to_ref=pack.ref,
        document=revision_document(pack),
        version=pack.version,
        clause=transition.citation if transition is not None else "",
        effective_on=effective_on,
    )


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
