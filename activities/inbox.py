"""Inbox and case-projection activities. Every write is an idempotent upsert keyed by a
deterministic id (task id, event key), so a retried or replayed activity never duplicates a row.

Rebuilding the projection: the workflows are the source of truth. If the task table is lost,
query each open workflow's ``open_tasks`` state and replay ``open_task`` for each — the upsert
recreates the row with the same id and SLA instants (see README, "Rebuilding the inbox").
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.sla import DurationUnit, SlaSpec, sla_clock
from store.calendar_repo import effective_calendar
from store.models import Case, CaseEvent, Task
from workflows.contracts import CaseUpdateInput, CloseTaskInput, OpenedTask, OpenTaskInput


class InboxActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name="open_task")
    async def open_task(self, inp: OpenTaskInput) -> OpenedTask:
        async with self.sessions() as session, session.begin():
            existing = await session.get(Task, inp.task_id)
            if existing is not None:
                return _opened(existing)
            calendar = await effective_calendar(session)
            clock = sla_clock(
                SlaSpec(
                    goal=inp.sla.goal, deadline=inp.sla.deadline, unit=DurationUnit(inp.sla.unit)
                ),
                inp.opened_at,
                calendar,
            )
            case = await session.get(Case, inp.case_id)
            task = Task(
                id=inp.task_id,
                case_id=inp.case_id,
                workflow_id=inp.workflow_id,
                kind=inp.kind,
                state="open",
                candidate_role=inp.candidate_role,
                jurisdiction_code=inp.jurisdiction_code,
                jurisdiction_path=inp.jurisdiction_path,
                policy_pack_id=inp.policy_pack_id,
                category_code=case.category_code if case else None,
                applicant_name=inp.applicant_name,
                id_last4=inp.id_last4,
                priority=inp.priority,
                created_at=inp.opened_at,
                at_risk_at=clock.at_risk_at,
                due_at=clock.goal_at,
                deadline_at=clock.deadline_at,
                sla_provisional=clock.provisional,
                payload=inp.payload,
                version=1,
            )
            session.add(task)
        return _opened(task)

    @activity.defn(name="close_task")
    async def close_task(self, inp: CloseTaskInput) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Task)
                .where(Task.id == inp.task_id, Task.state == "open")
                .values(
                    state=inp.state,
                    outcome={"outcome": inp.outcome, "fields": inp.fields, "comment": inp.comment},
                    completed_by=inp.completed_by,
                    completed_at=inp.completed_at,
                    version=Task.version + 1,
                )
            )

    @activity.defn(name="update_case")
    async def update_case(self, inp: CaseUpdateInput) -> None:
        try:
            async with self.sessions() as session, session.begin():
                seen = await session.scalar(
                    select(CaseEvent.id).where(CaseEvent.event_key == inp.event_key)
                )
                if seen is not None:
                    return
                case = await session.get(Case, inp.case_id)
                if case is None:
                    raise ValueError(f"case {inp.case_id} is not in the database")
                before = {"status": case.status, "stage": case.stage}
                _apply(case, inp)
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
        except IntegrityError:
            # A concurrent retry wrote the same event first: that is the idempotent outcome.
            return


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
    if inp.closed:
        case.closed_at = inp.at
        case.open_key = None  # frees the person to apply again (subject to the pack's rules)
    case.updated_at = inp.at


def _opened(task: Task) -> OpenedTask:
    return OpenedTask(
        task_id=task.id,
        at_risk_at=(task.at_risk_at),
        due_at=(task.due_at),
        deadline_at=(task.deadline_at),
        provisional=task.sla_provisional,
    )
