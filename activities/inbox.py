"""Inbox activities: task rows, clocks computed from the current holiday table, SLA events
(reminders, breach records, notifications). Every write is an idempotent upsert keyed by a
deterministic id (task id, breach key, notification key), so a retried or replayed activity
never duplicates a row.

Rebuilding the projection: the workflows are the source of truth. If the task table is lost,
ask each running workflow for ``open_tasks`` and replay ``open_task`` for each — the upsert
recreates the row with the same id and SLA instants (see README, "Rebuilding the inbox").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.cases import apply_case_update
from activities.outbound import OutboundDelivery
from domain.labels import label
from domain.sla import DurationUnit, SlaClock, SlaSpec, sla_clock
from domain.vocabulary import Role
from infra import metrics
from store.calendar_repo import effective_calendar
from store.db import write_turn
from store.models import Case, CaseEvent, Notification, SlaBreach, Task
from workflows.contracts import (
    Clock,
    ClockInput,
    CloseTaskInput,
    OpenedTask,
    OpenTaskInput,
    SlaEventInput,
    SlaInput,
)


async def clock_for(session: AsyncSession, started: datetime, sla: SlaInput) -> SlaClock:
    calendar = await effective_calendar(session)
    return sla_clock(
        SlaSpec(goal=sla.goal, deadline=sla.deadline, unit=DurationUnit(sla.unit)),
        started,
        calendar,
    )


async def started_clock(session: AsyncSession, inp: ClockInput) -> Clock:
    """The instants of a clock started at ``inp.started_at``, from the current holiday table."""
    clock = await clock_for(session, inp.started_at, inp.sla)
    return Clock(
        started_at=inp.started_at,
        at_risk_at=clock.at_risk_at,
        due_at=clock.goal_at,
        deadline_at=clock.deadline_at,
        deadline_date=clock.deadline_date,
        provisional=clock.provisional,
    )


# The statements of every task's opening and closing (#22), built once with their values bound
# at execution, on the tables (SQLAlchemy Core; see activities/cases.py, apply_case_update).
_TASKS = cast(Table, Task.__table__)
_OPENED = select(
    _TASKS.c.id,
    _TASKS.c.at_risk_at,
    _TASKS.c.due_at,
    _TASKS.c.deadline_at,
    _TASKS.c.sla_provisional,
).where(_TASKS.c.id == bindparam("task_id"))
_CATEGORY = select(Case.__table__.c.category_code).where(
    Case.__table__.c.id == bindparam("case_id")
)
_TASK_INSERT = insert(_TASKS)
# Bound values under names of their own: the columns' names are the SET clause's.
_TASK_CLOSE = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("of_task"), _TASKS.c.state == "open")
    .values(
        state=bindparam("new_state", type_=_TASKS.c.state.type),
        outcome=bindparam("new_outcome", type_=_TASKS.c.outcome.type),
        completed_by=bindparam("by", type_=_TASKS.c.completed_by.type),
        completed_at=bindparam("at", type_=_TASKS.c.completed_at.type),
        version=_TASKS.c.version + 1,
    )
    .returning(_TASKS.c.kind, _TASKS.c.case_id)
)


class InboxActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbound: OutboundDelivery | None = None,
    ) -> None:
        self.sessions = sessions
        self.outbound = outbound or OutboundDelivery(sessions)

    @activity.defn(name="open_task")
    async def open_task(self, inp: OpenTaskInput) -> OpenedTask:
        """Open the task's row (once: a retry finds it) and, given the entries held for it
        and the one that announces it, write them in the same transaction, in that order."""
        async with self.sessions() as session:
            existing = await _opened_of(session, inp.task_id)
            if existing is not None:
                return existing
            clock = await clock_for(session, inp.opened_at, inp.sla)
            category = await session.scalar(_CATEGORY, {"case_id": inp.case_id})
            row = {
                "id": inp.task_id,
                "case_id": inp.case_id,
                "workflow_id": inp.workflow_id,
                "kind": inp.kind,
                "state": "open",
                "candidate_role": inp.candidate_role,
                "jurisdiction_code": inp.jurisdiction_code,
                "jurisdiction_path": inp.jurisdiction_path,
                "policy_pack_id": inp.policy_pack_id,
                "category_code": category,
                "applicant_name": inp.applicant_name,
                "id_last4": inp.id_last4,
                "priority": inp.priority,
                "created_at": inp.opened_at,
                "at_risk_at": clock.at_risk_at,
                "due_at": clock.goal_at,
                "deadline_at": clock.deadline_at,
                "sla_provisional": clock.provisional,
                "sla_goal": inp.sla.goal,
                "sla_deadline": inp.sla.deadline,
                "sla_unit": inp.sla.unit,
                "payload": {
                    **inp.payload,
                    "form": {"outcomes": inp.outcomes, "choices": inp.choices},
                },
                "version": 1,
            }
            try:
                async with write_turn(session):
                    for entry in inp.entries:
                        await apply_case_update(session, entry)
                    await session.execute(_TASK_INSERT, row)
            except IntegrityError:
                # A concurrent retry opened it (and wrote its entry) first.
                await session.rollback()
                existing = await _opened_of(session, inp.task_id)
                if existing is None:
                    raise
                return existing
        metrics.task_opened(inp.kind, case_id=inp.case_id, task_id=inp.task_id)
        return OpenedTask(
            task_id=inp.task_id,
            at_risk_at=clock.at_risk_at,
            due_at=clock.goal_at,
            deadline_at=clock.deadline_at,
            provisional=clock.provisional,
        )

    @activity.defn(name="close_task")
    async def close_task(self, inp: CloseTaskInput) -> Clock | None:
        """Close the task's row (once: a retry finds it closed) and, given the decision's
        timeline entry, write it in the same transaction. Given the clock the decision starts,
        compute it (read before the write) and return it."""
        clock: Clock | None = None
        try:
            # An officer waits for a decision's closing (the update answers after it).
            urgent = inp.decision is not None
            async with self.sessions() as session:
                if inp.starts_clock is not None:
                    clock = await started_clock(session, inp.starts_clock)
                async with write_turn(session, urgent=urgent):
                    closed = await session.execute(
                        _TASK_CLOSE,
                        {
                            "of_task": inp.task_id,
                            "new_state": inp.state,
                            "new_outcome": {
                                "outcome": inp.outcome,
                                "fields": inp.fields,
                                "comment": inp.comment,
                                # Internal (the API leaves it out): which request's decision.
                                **({"update_id": inp.update_id} if inp.update_id else {}),
                            },
                            "by": inp.completed_by,
                            "at": inp.completed_at,
                        },
                    )
                    row = closed.one_or_none()  # None: closed before (a retry) or never opened
                    if inp.decision is not None:
                        await apply_case_update(session, inp.decision)
        except IntegrityError:
            # A concurrent retry committed the same closing first (its entry is found by
            # its key, see apply_case_update).
            return clock
        if row is not None:
            metrics.task_closed(row.kind, inp.state, case_id=row.case_id, task_id=inp.task_id)
        return clock

    @activity.defn(name="compute_clock")
    async def compute_clock(self, inp: ClockInput) -> Clock:
        async with self.sessions() as session:
            return await started_clock(session, inp)

    @activity.defn(name="recompute_task_clock")
    async def recompute_task_clock(self, task_id: str) -> OpenedTask:
        """Recompute a task's instants from the current holiday table (after a year's table
        was loaded, a provisional deadline becomes final)."""
        async with self.sessions() as session, session.begin():
            task = await session.get(Task, task_id)
            if task is None:
                raise ValueError(f"task {task_id} is not in the database")
            sla = SlaInput(task.sla_goal, task.sla_deadline, task.sla_unit)
            clock = await clock_for(session, task.created_at, sla)
            task.at_risk_at, task.due_at = clock.at_risk_at, clock.goal_at
            task.deadline_at, task.sla_provisional = clock.deadline_at, clock.provisional
            task.version += 1
            return _opened(task)

    @activity.defn(name="sla_event")
    async def sla_event(self, inp: SlaEventInput) -> None:
        """Record a clock event: the task's SLA state, a breach row (once per key) and the
        notifications (the assignee and group for a reminder; the supervisors of the
        escalation's jurisdiction for a breach)."""
        try:
            async with self.sessions() as session, session.begin():
                keys = await self._sla_event(session, inp)
        except IntegrityError:
            return  # a concurrent retry wrote the same keys first: already recorded
        if keys and inp.event != "at_risk":  # a new breach row, its supervisors notified
            kind = inp.clock.removeprefix("task:")
            metrics.sla_breached(kind, inp.event, case_id=inp.case_id, task_id=inp.task_id)
            metrics.escalated(kind, inp.level, case_id=inp.case_id, task_id=inp.task_id)
        await self.outbound.deliver(keys)

    async def _sla_event(self, session: AsyncSession, inp: SlaEventInput) -> list[str]:
        """Write the event; returns the keys of the notifications it addresses."""
        task = await session.get(Task, inp.task_id) if inp.task_id else None
        what = label("task_kind", task.kind) if task else label("clock", "identification_deadline")
        who = f"{task.applicant_name} " if task else ""
        if task is not None and task.state == "open":
            task.sla_state = inp.event
            # Urgency rises with each clock event so the task climbs every inbox sorted by it.
            task.priority = max(task.priority, {"at_risk": 5, "breached": 8}.get(inp.event, 9))
            task.version += 1
        recipients: list[tuple[int | None, str | None, str | None]] = []
        if inp.event == "at_risk":
            if task is not None:
                recipients.append((None, task.candidate_role, task.jurisdiction_path))
            elif inp.place is not None:
                recipients.append((None, Role.GRASSROOTS_OFFICER, inp.place.path))
            message = f"临期提醒：{who}{what}即将到期"
            kind = "reminder"
        else:
            assert inp.place is not None
            existing = await session.scalar(
                select(SlaBreach.id).where(SlaBreach.breach_key == inp.key)
            )
            if existing is not None:
                return []
            session.add(
                SlaBreach(
                    breach_key=inp.key,
                    case_id=inp.case_id,
                    task_id=inp.task_id,
                    clock=inp.clock,
                    event=inp.event,
                    level=inp.level,
                    jurisdiction_code=inp.place.code,
                    jurisdiction_path=inp.place.path,
                    escalation_task_id=inp.escalation_task_id,
                    at=inp.at,
                )
            )
            recipients.append((None, Role.SUPERVISOR, inp.place.path))
            # A breach of the task's own deadline, or the case's deadline gone by.
            event = "breached" if inp.event == "breached" else "past_deadline"
            message = f"督办：{who}{what}{label('sla_state', event)}（第{inp.level}级）"
            kind = "escalation"
        if task is not None and task.assignee_id is not None:
            recipients.append((task.assignee_id, None, None))
        # Every reminder and escalation shows on the case's timeline too.
        event_key = f"sla/{inp.key}"
        if (
            await session.scalar(select(CaseEvent.id).where(CaseEvent.event_key == event_key))
            is None
        ):
            session.add(
                CaseEvent(
                    case_id=inp.case_id,
                    event_key=event_key,
                    at=inp.at,
                    actor="system",
                    kind="escalation" if kind == "escalation" else "reminder",
                    summary=message,
                    before=None,
                    after={
                        "clock": inp.clock,
                        "event": inp.event,
                        "level": inp.level,
                        "jurisdiction": inp.place.code if inp.place else None,
                        "escalation_task_id": inp.escalation_task_id,
                    },
                )
            )
        keys: list[str] = []
        for user_id, role, path in recipients:
            recipient = f"user:{user_id}" if user_id else f"group:{role}:{path}"
            key = f"{inp.key}/{recipient}"
            keys.append(key)
            seen = await session.scalar(
                select(Notification.id).where(Notification.notification_key == key)
            )
            if seen is None:
                session.add(
                    Notification(
                        notification_key=key,
                        user_id=user_id,
                        recipient_role=role,
                        recipient_path=path,
                        kind=kind,
                        case_id=inp.case_id,
                        task_id=inp.task_id or inp.escalation_task_id,
                        message=message,
                        created_at=inp.at,
                    )
                )
        return keys


async def _opened_of(session: AsyncSession, task_id: str) -> OpenedTask | None:
    """The instants of a task opened before (a retry's answer), or None."""
    row = (await session.execute(_OPENED, {"task_id": task_id})).one_or_none()
    return _opened(row) if row is not None else None


def _opened(task: Task | Row[*tuple[Any, ...]]) -> OpenedTask:
    return OpenedTask(
        task_id=task.id,
        at_risk_at=task.at_risk_at,
        due_at=task.due_at,
        deadline_at=task.deadline_at,
        provisional=task.sla_provisional,
    )
