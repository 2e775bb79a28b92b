"""The human-task helper every workflow uses: open a task (an inbox row written by an
activity), accept its completion as a validated update, wait for it while keeping its clocks,
escalate, close.

Completions are Temporal updates: the validator rejects an unknown or closed task, an outcome
the task does not offer, missing or invalid fields and an actor outside the task's role or
jurisdiction before anything enters history. The update id is the API's Idempotency-Key, so
a repeated request is applied once.

Clocks (SLA): at ``at_risk_at`` the assignee and the group are reminded and urgency rises; at
``due_at`` (the goal) the breach is recorded and an escalation task goes to the supervisor of
the county/district; at ``deadline_at`` and then every further goal span, the escalation climbs
one level of the jurisdiction tree (督办逐级上报) until its top. A signal that the holiday table
changed makes open clocks recompute (deadlines computed provisionally for a missing year). The
ladder is :class:`domain.sla.SlaLadder`, climbed by :mod:`workflows.clock`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.cases import CaseActivities
    from activities.inbox import InboxActivities
    from domain.sla import Rung, SlaLadder, SlaState
    from workflows.case_events import case_event
    from workflows.clock import LadderClock
    from workflows.contracts import (
        APPLICANT_OUTCOMES,
        APPLICANT_ROLE,
        ERR_ACTOR_NOT_ALLOWED,
        ERR_BAD_FIELD,
        ERR_BAD_OUTCOME,
        ERR_MISSING_FIELDS,
        ERR_TASK_CLOSED,
        ERR_TASK_UNKNOWN,
        CaseUpdateInput,
        Clock,
        ClockInput,
        CloseTaskInput,
        CompleteTaskRequest,
        OpenedTask,
        OpenTaskInput,
        PlaceRef,
        Role,
        SlaEventInput,
        SlaInput,
        TaskKind,
        task_id,
    )
    from workflows.rules import escalation_places
    from workflows.steps import local_steps, run_activity, run_local

ESCALATION_SLA = SlaInput(goal=1, deadline=2)


@dataclass
class CaseContext:
    """What every task of a case carries into the inbox."""

    case_id: str
    workflow_id: str
    policy_pack_id: str
    applicant_name: str
    id_last4: str
    chain: list[PlaceRef]


@dataclass
class TaskState:
    task_id: str
    kind: str
    candidate_role: str
    place: PlaceRef
    sla: SlaInput
    # outcome -> fields the officer must fill in for it
    outcomes: dict[str, list[str]]
    # field -> allowed values (e.g. the pack's category codes for an approval)
    choices: dict[str, list[str]] = field(default_factory=dict)
    # What the task was opened with (a workflow that decides from it keeps it here).
    payload: dict[str, Any] = field(default_factory=dict)
    opened: OpenedTask | None = None
    closing: bool = False
    completion: CompleteTaskRequest | None = None
    cancelled: bool = False
    at_risk_sent: bool = False
    escalations: int = 0  # escalation steps taken so far (0 = none)
    # outcome -> the clock a decision with it starts, computed by its closing (#22), and the
    # clock so computed. Empty and None: the task's decisions start none, or a run from before.
    starts_clock: dict[str, SlaInput] = field(default_factory=dict)
    started_clock: Clock | None = None

    @property
    def done(self) -> bool:
        return self.completion is not None or self.cancelled

    @property
    def rungs_taken(self) -> int:
        """Rungs of its clock's ladder taken (see workflows/clock.py), from the two fields
        that running cases carry."""
        return 1 + self.escalations if self.at_risk_sent else 0

    @rungs_taken.setter
    def rungs_taken(self, taken: int) -> None:
        self.at_risk_sent = taken > 0
        self.escalations = max(0, taken - 1)


@dataclass
class HumanTasks:
    """Workflow-side registry of a case's tasks; plain data, so it can be carried across
    continue-as-new."""

    ctx: CaseContext
    seq: int = 0
    tasks: dict[str, TaskState] = field(default_factory=dict)
    # Bumped by the workflow when the holiday table changes: open clocks recompute.
    calendar_epoch: int = 0

    async def open(
        self,
        kind: str,
        *,
        role: str,
        place: PlaceRef,
        sla: SlaInput,
        outcomes: dict[str, list[str]],
        choices: dict[str, list[str]] | None = None,
        payload: dict[str, Any] | None = None,
        priority: int = 0,
        announce: CaseUpdateInput | None = None,
        carried: Sequence[CaseUpdateInput] = (),
        starts_clock: dict[str, SlaInput] | None = None,
    ) -> TaskState:
        """Open a task (its inbox row) and, given the timeline entries held for it
        (``carried``) and the one that announces it, write them with it. ``starts_clock``:
        the clock a decision with each outcome starts, computed as it is closed."""
        entries = [*carried, *([announce] if announce is not None else [])]
        together = bool(entries) and local_steps()
        for entry in entries if not together else ():
            # Runs from before #22 wrote each entry in a step of its own, before the opening.
            await run_local(CaseActivities.update_case, entry)
        self.seq += 1
        state = TaskState(
            task_id=task_id(self.ctx.workflow_id, kind, self.seq),
            kind=kind,
            candidate_role=role,
            place=place,
            sla=sla,
            outcomes=outcomes,
            choices=choices or {},
            payload=payload or {},
            starts_clock=starts_clock or {},
        )
        self.tasks[state.task_id] = state
        state.opened = await run_local(
            InboxActivities.open_task,
            OpenTaskInput(
                task_id=state.task_id,
                case_id=self.ctx.case_id,
                workflow_id=self.ctx.workflow_id,
                kind=kind,
                candidate_role=role,
                jurisdiction_code=place.code,
                jurisdiction_path=place.path,
                policy_pack_id=self.ctx.policy_pack_id,
                applicant_name=self.ctx.applicant_name,
                id_last4=self.ctx.id_last4,
                opened_at=workflow.now(),
                sla=sla,
                priority=priority,
                payload=payload or {},
                outcomes=outcomes,
                choices=choices or {},
                announce=announce if together else None,
                carried=list(carried) if together else [],
            ),
        )
        return state

    def open_tasks(self) -> list[TaskState]:
        return [t for t in self.tasks.values() if not t.done and not t.closing]

    def validate(self, req: CompleteTaskRequest) -> None:
        """Reject a completion before it enters history. Raises ApplicationError with a stable
        type that the API maps to problem+json."""
        state = self.tasks.get(req.task_id)
        if state is None:
            raise ApplicationError(
                f"task {req.task_id} is not part of this case", type=ERR_TASK_UNKNOWN
            )
        if state.closing or state.done:
            raise ApplicationError(f"task {req.task_id} is already closed", type=ERR_TASK_CLOSED)
        if req.outcome not in state.outcomes:
            allowed = ", ".join(sorted(state.outcomes))
            raise ApplicationError(
                f"outcome {req.outcome!r} is not offered by this task (allowed: {allowed})",
                type=ERR_BAD_OUTCOME,
            )
        missing = [f for f in state.outcomes[req.outcome] if req.fields.get(f) in (None, "", [])]
        if missing:
            raise ApplicationError(
                f"missing fields for outcome {req.outcome!r}: {', '.join(missing)}",
                {"missing": missing},
                type=ERR_MISSING_FIELDS,
            )
        for name, allowed_values in state.choices.items():
            value = req.fields.get(name)
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in (None, "") and v not in allowed_values]
            if bad:
                raise ApplicationError(
                    f"{name}: {', '.join(map(str, bad))} is not one of {', '.join(allowed_values)}",
                    {"field": name},
                    type=ERR_BAD_FIELD,
                )
        if req.actor_role == APPLICANT_ROLE:
            # The applicant's own hand-in (the application checked the notice's code): only
            # the outcomes the applicant has, with no facts verified.
            if req.outcome not in APPLICANT_OUTCOMES.get(state.kind, ()) or req.verified_facts:
                raise ApplicationError(
                    f"the applicant may not complete task {req.task_id} so",
                    type=ERR_ACTOR_NOT_ALLOWED,
                )
        elif req.actor_role != state.candidate_role or not state.place.path.startswith(
            req.actor_jurisdiction_path
        ):
            raise ApplicationError(
                f"user {req.actor_id} ({req.actor_role}) may not complete this task",
                type=ERR_ACTOR_NOT_ALLOWED,
            )

    async def complete(
        self,
        req: CompleteTaskRequest,
        then: Callable[[TaskState], Awaitable[None]] | None = None,
    ) -> TaskState:
        """Apply a validated completion: close the inbox row and put the decision on the case's
        timeline, run ``then`` (what the workflow records beside it), then release the waiter
        — in that order, so the timeline shows the decision before what follows from it."""
        self.validate(req)  # handlers re-check: two updates may pass validation concurrently
        state = self.tasks[req.task_id]
        state.closing = True
        update = workflow.current_update_info()  # None when not completed by an update
        decision = case_event(
            self.ctx.case_id,
            f"task_completed:{state.task_id}",
            f"{state.kind}: {req.outcome}" + (f" — {req.comment}" if req.comment else ""),
            actor=req.actor_name,
            detail={
                "task_id": state.task_id,
                "outcome": req.outcome,
                "fields": req.fields,
                # Which stage of its kind the task was (a second review level, #23).
                **({"stage_id": state.payload["stage_id"]} if "stage_id" in state.payload else {}),
            },
        )
        # One step (#22); runs from before it closed the row and wrote the entry in two.
        # An activity, not a local one: its command is recorded with the update's acceptance,
        # before it runs. A local one would close the row before the acceptance is stored,
        # and a server lost in between leaves a closed row the workflow never heard of — which
        # the API takes for a decision taken (see application/services/tasks.py, lost()).
        together = local_steps()
        starts = state.starts_clock.get(req.outcome)
        state.started_clock = await run_activity(
            InboxActivities.close_task,
            CloseTaskInput(
                task_id=req.task_id,
                outcome=req.outcome,
                completed_by=req.actor_id,
                completed_at=workflow.now(),
                fields=req.fields,
                comment=req.comment,
                update_id=update.id if update else None,
                decision=decision if together else None,
                starts_clock=ClockInput(workflow.now(), starts) if starts else None,
            ),
        )
        if not together:
            await run_activity(CaseActivities.update_case, decision)
        if then is not None:
            await then(state)
        state.completion = req
        return state

    async def cancel(self, state: TaskState, reason: str) -> None:
        if state.done or state.closing:
            return
        state.closing = True
        await run_local(
            InboxActivities.close_task,
            CloseTaskInput(
                task_id=state.task_id,
                outcome="cancelled",
                completed_by=None,
                completed_at=workflow.now(),
                comment=reason,
                state="cancelled",
            ),
        )
        state.cancelled = True

    async def cancel_all(self, reason: str) -> None:
        for state in self.open_tasks():
            await self.cancel(state, reason)

    async def wait(
        self, state: TaskState, abort: Callable[[], bool] = lambda: False
    ) -> CompleteTaskRequest | None:
        """Wait for the task's completion while keeping its clocks. Returns None when
        ``abort()`` becomes true (the case was withdrawn) or the task was cancelled."""

        async def recompute(_: int) -> None:
            state.opened = await run_local(InboxActivities.recompute_task_clock, state.task_id)

        await LadderClock(
            lambda: self._ladder(state), lambda rung: self._clock_event(state, rung), state
        ).run(
            until=lambda: state.done or abort(),
            calendar=lambda: self.calendar_epoch,
            recompute=recompute,
        )
        return state.completion

    def calendar_changed(self, since: int) -> Callable[[], bool]:
        return lambda: self.calendar_epoch != since

    # --- clocks ---------------------------------------------------------------------------

    def _escalation_places(self, state: TaskState) -> list[PlaceRef]:
        return escalation_places(self.ctx.chain, state.place)

    def _ladder(self, state: TaskState) -> SlaLadder | None:
        o = state.opened
        assert o is not None
        if state.kind == TaskKind.ESCALATION:
            return None  # escalations are followed up by the supervisors they go to
        levels = len(self._escalation_places(state))
        return SlaLadder.of_task(o.at_risk_at, o.due_at, o.deadline_at, levels)

    async def _clock_event(self, state: TaskState, rung: Rung) -> None:
        now = workflow.now()
        if rung.event is SlaState.AT_RISK:
            await run_activity(
                InboxActivities.sla_event,
                SlaEventInput(
                    case_id=self.ctx.case_id,
                    key=f"{state.task_id}/at_risk",
                    clock=f"task:{state.kind}",
                    event="at_risk",
                    at=now,
                    task_id=state.task_id,
                    place=state.place,
                ),
            )
            return
        # 督办逐级上报: the county/district's supervisors first, then a level up per rung.
        place = self._escalation_places(state)[rung.level - 1]
        event, level = rung.event.value, rung.level
        escalation = await self.open_escalation(
            place,
            {
                "about_task": state.task_id,
                "about_kind": state.kind,
                "event": event,
                "level": level,
            },
        )
        await run_activity(
            InboxActivities.sla_event,
            SlaEventInput(
                case_id=self.ctx.case_id,
                key=f"{state.task_id}/{event}/{level}",
                clock=f"task:{state.kind}",
                event=event,
                at=now,
                task_id=state.task_id,
                place=place,
                escalation_task_id=escalation.task_id,
                level=level,
            ),
        )

    async def open_escalation(self, place: PlaceRef, payload: dict[str, Any]) -> TaskState:
        return await self.open(
            TaskKind.ESCALATION,
            role=Role.SUPERVISOR,
            place=place,
            sla=ESCALATION_SLA,
            outcomes={"handled": ["action"]},
            payload=payload,
            priority=10,
        )
