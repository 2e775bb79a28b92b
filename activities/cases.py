"""Case activities: the case projection and timeline, the eligibility pre-check with department
data (部门信息共享), supplements of missing materials, the facts officers verify on their tasks
(核实, #21) and the notices served on the applicant.
Idempotent: timeline events and notices are keyed; the pre-check is recomputed, not appended.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.department import DepartmentDataAdapter
from domain.calendar import local_date
from domain.facts import (
    DataFinding,
    FactValueError,
    merge_verified,
    parse_fact_value,
    stored_fact,
)
from domain.policy.wording import fact_name, value_text
from store import materials_repo, pre_checks
from store.audit import record_audit
from store.db import write_turn
from store.models import Case, CaseEvent, Notice
from store.notices import identification_notice, with_supplement_salt
from store.packs import PinnedPackMissing, pinned_pack
from workflows.contracts import (
    AssessInput,
    AssessResult,
    CaseUpdateInput,
    NoticeInput,
    SupplementInput,
    VerifiedFactsInput,
)


class CaseActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        department: DepartmentDataAdapter | None = None,
    ) -> None:
        self.sessions = sessions
        self.department = department

    @activity.defn(name="update_case")
    async def update_case(self, inp: CaseUpdateInput) -> None:
        try:
            async with self.sessions() as session, write_turn(session):
                await apply_case_update(session, inp)
        except IntegrityError:
            # A concurrent retry wrote the same event first: that is the idempotent outcome.
            return

    @activity.defn(name="assess_case")
    async def assess(self, inp: AssessInput) -> AssessResult:
        """The eligibility pre-check (shown to officers, never deciding alone), with findings
        from department data when the pack verifies through data sharing."""
        on = local_date(inp.on)
        findings: list[DataFinding] = []
        checked = inp.department_check and self.department is not None
        if checked:
            # Ask the department source before the transaction, never inside it: the adapter
            # takes a connection of its own, and with every pooled connection held by an
            # assessment waiting for a second one, a burst of applications deadlocked the
            # worker (bench/before_after.md).
            async with self.sessions() as session:
                id_number = (await _case(session, inp.case_id)).id_number
            assert self.department is not None
            findings = await self.department.findings(id_number, on)
        async with self.sessions() as session:
            case = await _case(session, inp.case_id)
            pack = await pinned_pack(session, case)
            rejected = await materials_repo.rejected_items(session, case.id)
            facts, decision = pre_checks.assessed(
                case, pack, on, findings if checked else None, rejected
            )
            key = pre_checks.entry_key(case, inp.key or str(inp.round))
            # Read before the first write: on SQLite the transaction holds the database's one
            # write lock from its first write (the pre-check's, flushed by a query after it)
            # to its commit, and every application's first task waits for that lock.
            existing = await pre_checks.entry(session, key)
            # The writes in this worker's turn (store.db.write_turn), committed in it.
            async with write_turn(session):
                pre_checks.record(
                    session, case, facts, decision, findings, key=key, at=inp.on, existing=existing
                )
        return AssessResult.of(decision, len(findings))

    @activity.defn(name="record_verified_facts")
    async def record_verified_facts(self, inp: VerifiedFactsInput) -> None:
        """Merge the facts an officer verified on a task into the case's facts, with a timeline
        entry (经办人 张三 核实：城镇户籍或城镇常住 = 是) and an audit record of who and when.
        Once per task: a retry finds its timeline entry and changes nothing."""
        async with self.sessions() as session, session.begin():
            case = await _case(session, inp.case_id)
            key = f"{case.workflow_id}/facts_verified:{inp.task_id}"
            if await _event_seen(session, key):
                return
            # The case's pack in scope: its own facts ([[facts]]) are verified like the shared.
            try:
                scope = (await pinned_pack(session, case)).fact_scope()
            except PinnedPackMissing:
                scope = contextlib.nullcontext()
            with scope:
                stored = case.facts if isinstance(case.facts, dict) else {}
                try:
                    values = {path: parse_fact_value(path, raw) for path, raw in inp.facts.items()}
                    merged = merge_verified(stored, values)
                except (FactValueError, ValidationError) as conflict:
                    # Checked by the application and the workflow before; only facts changed
                    # meanwhile (a supplement) can refuse them now. Retrying would hold the
                    # officer's decision forever: say it on the timeline, keep the facts.
                    session.add(
                        CaseEvent(
                            case_id=case.id,
                            event_key=key,
                            at=inp.at,
                            actor=inp.actor_name,
                            kind="facts_verified",
                            summary=f"经办人 {inp.actor_name} 核实的事项未能记入（与申请信息冲突）",
                            before=None,
                            after={"refused": str(conflict)[:500], "task_id": inp.task_id},
                        )
                    )
                    return
                before = {path: stored_fact(stored, path) for path in values}
                case.facts = merged  # reassign: JSON columns track replacement, not mutation
                verified = {path: stored_fact(merged, path) for path in values}
                words = "；".join(
                    f"{fact_name(path, True)} = {value_text(path, value, True)}"
                    for path, value in values.items()
                )
                session.add(
                    CaseEvent(
                        case_id=case.id,
                        event_key=key,
                        at=inp.at,
                        actor=inp.actor_name,
                        kind="facts_verified",
                        summary=f"经办人 {inp.actor_name} 核实：{words}",
                        before={"facts": before},
                        after={
                            "verified_facts": verified,
                            "task_id": inp.task_id,
                            "task_kind": inp.task_kind,
                            "verified_by": inp.actor_name,
                            "verified_by_id": inp.actor_id,
                        },
                    )
                )
                record_audit(
                    session,
                    actor_id=inp.actor_id,
                    action="facts_verified",
                    object_type="case",
                    object_id=case.id,
                    detail={"task_id": inp.task_id, "before": before, "after": verified},
                    now=inp.at,
                )

    @activity.defn(name="record_supplement")
    async def record_supplement(self, inp: SupplementInput) -> None:
        async with self.sessions() as session, session.begin():
            case = await _case(session, inp.case_id)
            facts = dict(case.facts)
            evidence = list(dict.fromkeys([*facts.get("evidence", []), *inp.evidence]))
            facts["evidence"] = evidence
            if inp.written_commitment:
                facts["written_commitment"] = True
            case.facts = facts  # reassign: JSON columns track replacement, not mutation

    @activity.defn(name="issue_notice")
    async def issue_notice(self, inp: NoticeInput) -> None:
        try:
            async with self.sessions() as session, write_turn(session):
                key = f"{inp.case_id}/{inp.key}"
                seen = await session.scalar(select(Notice.id).where(Notice.notice_key == key))
                if seen is None:
                    session.add(
                        Notice(
                            notice_key=key,
                            case_id=inp.case_id,
                            kind=inp.kind,
                            title=inp.title,
                            # A one-time notice gets its supplement code's salt here, at
                            # the I/O edge: the workflow has no randomness to give it.
                            body=with_supplement_salt(
                                inp.kind, await _with_rejections(session, inp)
                            ),
                            issued_at=inp.at,
                        )
                    )
        except IntegrityError:
            return


async def _with_rejections(session: AsyncSession, inp: NoticeInput) -> dict[str, Any]:
    """A one-time notice's body with, beside each item asked for again because its every file
    was judged 不合格, the officer's reasons (``rejected_reasons``): the applicant learns what
    was wrong with what they handed in."""
    items = inp.body.get("items")
    if inp.kind != "missing_materials" or not isinstance(items, list):
        return inp.body
    rejected = await materials_repo.rejected_items(session, inp.case_id)
    if not rejected:
        return inp.body
    return {
        **inp.body,
        "items": [
            {**item, "rejected_reasons": rejected[item["code"]]}
            if isinstance(item, dict) and item.get("code") in rejected
            else item
            for item in items
        ],
    }


async def apply_case_update(session: AsyncSession, inp: CaseUpdateInput) -> None:
    """Apply a change to the case projection and write the timeline event that explains it, in
    the caller's transaction; nothing when the event is there already. Two writers of the same
    event at once: the second's commit fails with an IntegrityError (the idempotent outcome)."""
    if await _event_seen(session, inp.event_key):
        return  # written before: a retry, or a replay
    case = await _case(session, inp.case_id)
    before = {"status": case.status, "stage": case.stage}
    newly_identified = inp.identified and case.identified_at is None
    _apply(case, inp)
    if newly_identified:
        # The notice of identification is written with the decision it tells, in
        # the same transaction, so an identified case always has one; no workflow
        # change (the update_case input already carries the decision).
        session.add(
            await identification_notice(session, case, agency=inp.identifying_agency, at=inp.at)
        )
    session.add(
        CaseEvent(
            case_id=inp.case_id,
            event_key=inp.event_key,
            at=inp.at,
            actor=inp.actor,
            kind=inp.kind,
            summary=inp.summary,
            before=before,
            after={"status": case.status, "stage": case.stage, **inp.detail},
        )
    )


async def _case(session: AsyncSession, case_id: str) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise ValueError(f"case {case_id} is not in the database")
    return case


async def _event_seen(session: AsyncSession, key: str) -> bool:
    return await session.scalar(select(CaseEvent.id).where(CaseEvent.event_key == key)) is not None


def _apply(case: Case, inp: CaseUpdateInput) -> None:
    if inp.status is not None:
        case.status = inp.status
    if inp.stage is not None:
        case.stage = inp.stage
    if inp.category_code is not None:
        case.category_code = inp.category_code
    if inp.outcome_reason is not None:
        case.outcome_reason = inp.outcome_reason
    if inp.accepted and case.accepted_at is None:
        case.accepted_at = inp.at
    if inp.identification_deadline is not None:
        case.identification_deadline = inp.identification_deadline
    if inp.deadline_provisional is not None:
        case.deadline_provisional = inp.deadline_provisional
    if inp.identified:
        case.identified_at = inp.at
        case.identified_by = inp.identified_by
        case.identifying_agency = inp.identifying_agency
        # The person stays "open" in the region (open_key kept): identified persons are in
        # assistance until they exit, and may not apply again meanwhile.
    if inp.closed:
        case.closed_at = inp.at
        case.open_key = None  # frees the person to apply again (subject to the pack's rules)
    case.updated_at = inp.at
