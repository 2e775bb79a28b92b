"""Case activities: the case projection and timeline, the eligibility pre-check with department
data (部门信息共享), supplements of missing materials, the facts officers verify on their tasks
(核实, #21) and the notices served on the applicant.
Idempotent: timeline events and notices are keyed; the pre-check is recomputed, not appended.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Insert, Table, bindparam, select, update
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
from store.db import dialect_insert, write_turn
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
            # A concurrent retry's entry is found (ON CONFLICT); a key of the rest of the
            # write (the notice's) written first by it is the same idempotent outcome.
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


# The statements every task's opening and closing runs (#22), each built once with its values
# bound at execution, on the tables (SQLAlchemy Core): the ORM's way — the whole case loaded,
# its facts decoded, to change two columns, and the unit of work finding what changed — and
# statements built anew on each call were most of what these activities cost the worker.
_CASES = cast(Table, Case.__table__)
_CASE_NOW = select(
    _CASES.c.status, _CASES.c.stage, _CASES.c.accepted_at, _CASES.c.identified_at
).where(_CASES.c.id == bindparam("case_id"))
# The columns to set are the parameters given besides ``of_case`` (see _changes).
_CASE_CHANGE = update(_CASES).where(_CASES.c.id == bindparam("of_case"))


@cache
def _entry_insert(dialect: str) -> Insert:
    """The timeline entry's INSERT, nothing when its key is there (a retry, a replay, or a
    concurrent writer of the same entry, which waits for the first's commit); RETURNING
    tells which."""
    table = cast(Table, CaseEvent.__table__)
    return (  # type: ignore[no-any-return]
        dialect_insert(dialect)(table)
        .on_conflict_do_nothing(index_elements=[table.c.event_key])
        .returning(table.c.id)
    )


async def apply_case_update(session: AsyncSession, inp: CaseUpdateInput) -> None:
    """Apply a change to the case projection and write the timeline event that explains it, in
    the caller's transaction; nothing when the event is there already."""
    now = (await session.execute(_CASE_NOW, {"case_id": inp.case_id})).one_or_none()
    if now is None:
        raise ValueError(f"case {inp.case_id} is not in the database")
    changes = _changes(inp, accepted_before=now.accepted_at is not None)
    written = await session.scalar(
        _entry_insert(session.get_bind().dialect.name),
        {
            "case_id": inp.case_id,
            "event_key": inp.event_key,
            "at": inp.at,
            "actor": inp.actor,
            "kind": inp.kind,
            "summary": inp.summary,
            "before": {"status": now.status, "stage": now.stage},
            "after": {
                "status": changes.get("status", now.status),
                "stage": changes.get("stage", now.stage),
                **inp.detail,
            },
        },
    )
    if written is None:
        return  # written before, and the case changed with it
    await session.execute(_CASE_CHANGE, {"of_case": inp.case_id, **changes})
    if inp.identified and now.identified_at is None:
        # The notice of identification is written with the decision it tells, in
        # the same transaction, so an identified case always has one; no workflow
        # change (the update_case input already carries the decision).
        case = await session.get(Case, inp.case_id, populate_existing=True)
        assert case is not None  # read above, in this transaction
        session.add(
            await identification_notice(session, case, agency=inp.identifying_agency, at=inp.at)
        )


async def _case(session: AsyncSession, case_id: str) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise ValueError(f"case {case_id} is not in the database")
    return case


async def _event_seen(session: AsyncSession, key: str) -> bool:
    return await session.scalar(select(CaseEvent.id).where(CaseEvent.event_key == key)) is not None


def _changes(inp: CaseUpdateInput, *, accepted_before: bool) -> dict[str, Any]:
    """The case's columns an update sets (``accepted_before``: the case has its date of
    acceptance already, which is set once)."""
    changes: dict[str, Any] = {"updated_at": inp.at}
    if inp.status is not None:
        changes["status"] = inp.status
    if inp.stage is not None:
        changes["stage"] = inp.stage
    if inp.category_code is not None:
        changes["category_code"] = inp.category_code
    if inp.outcome_reason is not None:
        changes["outcome_reason"] = inp.outcome_reason
    if inp.accepted and not accepted_before:
        changes["accepted_at"] = inp.at
    if inp.identification_deadline is not None:
        changes["identification_deadline"] = inp.identification_deadline
    if inp.deadline_provisional is not None:
        changes["deadline_provisional"] = inp.deadline_provisional
    if inp.identified:
        changes["identified_at"] = inp.at
        changes["identified_by"] = inp.identified_by
        changes["identifying_agency"] = inp.identifying_agency
        # The person stays "open" in the region (open_key kept): identified persons are in
        # assistance until they exit, and may not apply again meanwhile.
    if inp.closed:
        changes["closed_at"] = inp.at
        changes["open_key"] = None  # frees the person to apply again (subject to the pack's rules)
    return changes
