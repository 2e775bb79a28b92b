"""HouseholdWorkflow (零就业家庭): one workflow per zero-employment household, from discovery or
identification until it is cleared; and HouseholdDiscoveryWorkflow, which flags the households
the imported department lists show and starts their workflows.

- **Owning tasks.** Tasks hang on a case (``tasks.case_id`` is a foreign key to ``cases``), so a
  household has its own case row, channel ``household`` (``HH<household id>``), made with the
  household. Not a member's case: members may have no case at all (a discovered household), or
  several, on other bases and under other clocks, and a member's case closes when that person
  exits while the household goes on. The household case carries the household's timeline,
  tasks, SLA breaches and escalations through the same machinery as every case (the inbox, the
  timeline writer, ``sla_event``), so supervisors see them where they see everything else.
- **Clocks.** On identification the plan task (就业援助预案, 新余 第四条(五): 在申报认定后启动)
  opens at once, and so does the clearance task (动态清零), whose SLA is the pack's
  ``zero_employment_household_deadline`` as both goal and deadline (one calendar month from
  identification, ``months``; see domain/sla.py). :class:`workflows.human_task.HumanTasks` keeps
  it: a reminder to the street's officers when about a quarter of the month is left (about a
  week), and at the end of the month the breach and the escalation to the county's supervisor,
  then up the tree (the deadline being the goal, the city follows at once, the province a day
  later). The household row is marked ``overdue`` at that instant.
- **Clearing.** The household is cleared the moment one member is recorded as employed: the
  ``record_member_employed`` update (its id is the API's Idempotency-Key) or the officer's
  completion of the clearance task. The clearing reaches the members' own cases: each member
  identified on the household basis (the pack's ``HouseholdDefinition.categories``: xinyu ②,
  weifang ②③) gets a ``household_cleared`` signal at their ``AssistanceWorkflow``, which opens
  an exit review for the pack's reason (xinyu 第三条(一)2, weifang 三(一)10); members on any
  other basis carry on. A signal, not an update: a workflow cannot send updates, and a signal
  is a durable command in this history, sent once; the assistance dedupes it by its key.
- **Short-lived.** A household lives weeks or months with a handful of events, so it does not
  continue as new; the update ids it applied are kept in its state for the run.

Nothing here reads the wall clock or does I/O: instants come from ``workflow.now()``, every write
is an activity.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.household import HouseholdActivities
    from activities.inbox import InboxActivities
    from domain.calendar import local_date
    from domain.households import HouseholdChange
    from workflows.case_events import record_case_event
    from workflows.clock import sleep_until
    from workflows.contracts import (
        EMPLOYMENT_WAYS,
        ERR_BAD_FIELD,
        HOUSEHOLD_MEASURES,
        CloseTaskInput,
        CompleteTaskRequest,
        CompleteTaskResult,
        DiscoverInput,
        HouseholdClearedNotice,
        HouseholdDiscoveryInput,
        HouseholdResult,
        HouseholdSetup,
        MemberEmployedRequest,
        PlaceRef,
        RecordResult,
        TaskKind,
        assistance_workflow_id,
        household_workflow_id,
    )
    from workflows.human_task import CaseContext, HumanTasks, TaskState
    from workflows.payloads import HouseholdInput, HouseholdState
    from workflows.steps import run_activity, start_child

ERR_HOUSEHOLD_CLOSED = "household-closed"


def input_of(setup: HouseholdSetup) -> HouseholdInput:
    """The workflow's input from what the store has (one place for the discovery workflow and
    the API's registration)."""
    return HouseholdInput(
        household_id=setup.household_id,
        case_id=setup.case_id,
        head_name=setup.head_name,
        id_last4=setup.id_last4,
        rules=setup.rules,
        members=setup.members,
        identified_at=setup.identified_at,
        discovery=setup.discovery,
    )


@dataclass
class _Clearing:
    member_id: int
    how: str
    employed_on: str | None
    actor: str
    note: str = ""
    actor_id: int | None = None


@workflow.defn
class HouseholdWorkflow:
    @workflow.init
    def __init__(self, inp: HouseholdInput) -> None:
        self.inp = inp
        self.rules = inp.rules
        self.state = HouseholdState(
            tasks=HumanTasks(
                CaseContext(
                    case_id=inp.case_id,
                    workflow_id=workflow.info().workflow_id,
                    policy_pack_id=inp.rules.pack_id,
                    applicant_name=inp.head_name,
                    id_last4=inp.id_last4,
                    chain=inp.rules.chain,
                )
            )
        )
        self._clearing: _Clearing | None = None
        self._followers: list[asyncio.Task[CompleteTaskRequest | None]] = []
        self._verification: TaskState | None = None
        self._clearance: TaskState | None = None

    @property
    def tasks(self) -> HumanTasks:
        return self.state.tasks

    # --- the run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: HouseholdInput) -> HouseholdResult:
        s = self.state
        if inp.identified_at is None:
            if not await self._verify():
                await workflow.wait_condition(workflow.all_handlers_finished)
                return HouseholdResult(inp.household_id, s.status)
        else:
            await self._identified(inp.identified_at, "system")
        # Until cleared: the clearance task's own clocks escalate; here only the household's
        # status turns overdue at the deadline.
        while self._clearing is None:
            at = s.deadline_at if not s.overdue else None
            if await sleep_until(at, lambda: self._clearing is not None):
                s.overdue = True
                await self._record(
                    "overdue",
                    "零就业家庭一个月内未清零，已超时",
                    overdue=True,
                    detail={"deadline_at": at.isoformat() if at else None},
                )
        await self._clear(self._clearing)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return HouseholdResult(
            inp.household_id,
            s.status,
            s.cleared_at,
            _within(s.cleared_at, s.deadline_at),
        )

    async def _verify(self) -> bool:
        """A discovered household: the street officer checks it (主动筛查/主动发现) and either
        identifies it (the month starts now) or finds it is not zero-employment."""
        await self._record("discovered", "数据比对发现疑似零就业家庭", status="discovered")
        task = await self.tasks.open(
            TaskKind.HOUSEHOLD_VERIFICATION,
            role="grassroots_officer",
            place=self._place(),
            sla=self.rules.task_sla,
            outcomes={"identified": [], "not_zero_employment": ["reason"]},
            payload={
                "household_id": self.inp.household_id,
                "definition": self.rules.definition,
                "definition_name": self.rules.definition_name,
                "source": self.rules.definition_source,
                "discovery": self.inp.discovery,
                "members": [m.id_last4 for m in self.inp.members],
            },
        )
        self._verification = task
        decision = await self.tasks.wait(task)
        assert decision is not None  # nothing cancels it
        if decision.outcome == "not_zero_employment":
            self.state.status = "not_zero_employment"
            await self._record(
                "not_zero_employment",
                f"核实：不是零就业家庭（{decision.fields.get('reason')}）",
                status="not_zero_employment",
                actor=decision.actor_name,
                closed=True,
                detail={"reason": decision.fields.get("reason")},
            )
            await self._event(
                "household_not_zero_employment",
                "核实：不是零就业家庭",
                actor=decision.actor_name,
                closed=True,
            )
            return False
        await self._identified(workflow.now(), decision.actor_name)
        return True

    async def _identified(self, at: datetime, actor: str) -> None:
        s = self.state
        s.status = "identified"
        s.identified_at = at
        plan = await self.tasks.open(
            TaskKind.HOUSEHOLD_PLAN,
            role="grassroots_officer",
            place=self._place(),
            sla=self.rules.plan_sla,
            outcomes={"drawn_up": ["measures"]},
            choices={"measures": list(HOUSEHOLD_MEASURES)},
            payload={"household_id": self.inp.household_id, "members": self._member_payload()},
        )
        self._follow(plan)
        if self.rules.deadline is not None:
            clearance = await self.tasks.open(
                TaskKind.HOUSEHOLD_CLEARANCE,
                role="grassroots_officer",
                place=self._place(),
                sla=self.rules.deadline,
                outcomes={"member_employed": ["member", "how"]},
                choices={
                    "member": [str(m.member_id) for m in self.inp.members],
                    "how": list(EMPLOYMENT_WAYS),
                },
                payload={
                    "household_id": self.inp.household_id,
                    "members": self._member_payload(),
                    "deadline_source": self.rules.deadline_source,
                },
                priority=5,
            )
            assert clearance.opened is not None
            self._clearance = clearance
            # The month's last instant is the task's deadline (goal = deadline).
            s.deadline_at = clearance.opened.deadline_at
            self._follow(clearance)
        await self._record(
            "identified",
            "认定为零就业家庭，启动就业援助预案",
            status="identified",
            actor=actor,
            identified_at=at,
            deadline_at=s.deadline_at,
            detail={"definition": self.rules.definition, "source": self.rules.definition_source},
        )
        await self._event(
            "household_identified",
            f"认定为{self.rules.definition_name}；"
            + (f"清零时限至 {local_date(s.deadline_at)}" if s.deadline_at else "动态清零"),
            actor=actor,
            detail={"deadline_at": s.deadline_at.isoformat() if s.deadline_at else None},
        )

    async def _clear(self, c: _Clearing) -> None:
        s = self.state
        now = workflow.now()
        s.status = "cleared"
        s.cleared_at = now
        s.clearing_member_id = c.member_id
        clearance = self._clearance
        if clearance is not None and not clearance.done and not clearance.closing:
            # Cleared by the update rather than from the inbox: the task is done, not dropped.
            clearance.closing = True
            # An activity (recorded with the update's acceptance before it runs), as
            # HumanTasks.complete closes a decision's row.
            await run_activity(
                InboxActivities.close_task,
                CloseTaskInput(
                    task_id=clearance.task_id,
                    outcome="member_employed",
                    completed_by=c.actor_id,
                    completed_at=now,
                    fields={"member": str(c.member_id), "how": c.how},
                    comment=c.note,
                ),
            )
            clearance.completion = CompleteTaskRequest(
                task_id=clearance.task_id,
                outcome="member_employed",
                actor_id=c.actor_id or 0,
                actor_name=c.actor,
                actor_role="system",
                actor_jurisdiction_path="",
                fields={"member": str(c.member_id), "how": c.how},
            )
        await self.tasks.cancel_all("零就业家庭已清零")
        within = s.deadline_at is None or now <= s.deadline_at
        await self._record(
            "cleared",
            "零就业家庭已清零（" + ("时限内" if within else "超时后") + "）",
            status="cleared",
            actor=c.actor,
            cleared_at=now,
            clearing_member_id=c.member_id,
            employed_on=c.employed_on,
            employment=c.how,
            closed=True,
            detail={"within_deadline": within, "note": c.note},
        )
        await self._event(
            "household_cleared",
            "家庭成员实现就业，零就业家庭清零" + ("" if within else "（超过一个月）"),
            actor=c.actor,
            closed=True,
            detail={"member_id": c.member_id, "how": c.how, "within_deadline": within},
        )
        await self._notify_members(c)

    async def _notify_members(self, c: _Clearing) -> None:
        """Members identified on the household basis go to exit review (their assistance opens
        it); members on any other basis carry on and hear nothing."""
        reason = self.rules.exit_reason
        if reason is None:
            return
        for m in self.inp.members:
            if m.case_id is None or m.category_code not in self.rules.basis_categories:
                continue
            notice = HouseholdClearedNotice(
                household_id=self.inp.household_id,
                key=f"household-{self.inp.household_id}/cleared",
                reason=reason,
                detail=f"零就业家庭成员（尾号{self._last4(c.member_id)}）已实现就业，家庭已清零",
                actor_name=c.actor,
            )
            handle = workflow.get_external_workflow_handle(assistance_workflow_id(m.case_id))
            try:
                await handle.signal("household_cleared", notice)
            except Exception:
                # The assistance ended already (exited, or never started): nothing to review.
                self.state.unreached.append(m.case_id)
                continue
            self.state.exit_reviews.append(m.case_id)
        await self._record(
            "members_notified",
            "按零就业家庭认定的成员转入退出核实",
            actor=c.actor,
            detail={"exit_review": self.state.exit_reviews, "unreached": self.state.unreached},
        )

    # --- updates -----------------------------------------------------------------------------

    @workflow.update
    async def complete_task(self, req: CompleteTaskRequest) -> CompleteTaskResult:
        state = await self.tasks.complete(req)
        if state.kind == TaskKind.HOUSEHOLD_CLEARANCE and self._clearing is None:
            self._clearing = _Clearing(
                member_id=int(req.fields["member"]),
                how=str(req.fields["how"]),
                employed_on=_iso_date(req.fields.get("employed_on")),
                actor=req.actor_name,
                note=req.comment,
                actor_id=req.actor_id,
            )
        return CompleteTaskResult(
            task_id=req.task_id, outcome=req.outcome, case_status=self.state.status
        )

    @complete_task.validator
    def _validate_complete_task(self, req: CompleteTaskRequest) -> None:
        self.tasks.validate(req)

    @workflow.update
    async def record_member_employed(self, req: MemberEmployedRequest) -> RecordResult:
        info = workflow.current_update_info()
        key = info.id if info else ""
        if key and key in self.state.processed_updates:
            return RecordResult(id=key, handling="duplicate")
        if key:
            self.state.processed_updates.append(key)
        if self._clearing is None:
            self._clearing = _Clearing(
                member_id=req.member_id,
                how=req.how,
                employed_on=req.employed_on.isoformat() if req.employed_on else None,
                actor=req.actor_name,
                note=req.note,
                actor_id=req.actor_id,
            )
        return RecordResult(id=key, handling="cleared")

    @record_member_employed.validator
    def _validate_member_employed(self, req: MemberEmployedRequest) -> None:
        info = workflow.current_update_info()
        if info is not None and info.id in self.state.processed_updates:
            return  # a repeat is answered, not refused for the household being cleared
        if self.state.status != "identified" or self._clearing is not None:
            raise ApplicationError(
                f"the household is {self.state.status}: a member's employment clears only an "
                "identified household",
                type=ERR_HOUSEHOLD_CLOSED,
            )
        if req.member_id not in {m.member_id for m in self.inp.members}:
            raise ApplicationError(
                f"member {req.member_id} is not in this household",
                {"field": "member_id"},
                type=ERR_BAD_FIELD,
            )
        if req.how not in EMPLOYMENT_WAYS:
            raise ApplicationError(
                f"how: {req.how!r} is not one of {', '.join(EMPLOYMENT_WAYS)}",
                {"field": "how"},
                type=ERR_BAD_FIELD,
            )

    @workflow.signal
    def calendar_updated(self) -> None:
        """The holiday table changed: task clocks computed provisionally are recomputed."""
        self.tasks.calendar_epoch += 1

    @workflow.query
    def household_status(self) -> dict[str, Any]:
        s = self.state
        return {
            "status": s.status,
            "identified_at": s.identified_at.isoformat() if s.identified_at else None,
            "deadline_at": s.deadline_at.isoformat() if s.deadline_at else None,
            "overdue": s.overdue,
            "cleared_at": s.cleared_at.isoformat() if s.cleared_at else None,
            "clearing_member_id": s.clearing_member_id,
            "exit_reviews": list(s.exit_reviews),
        }

    @workflow.query
    def open_tasks(self) -> list[str]:
        return [t.task_id for t in self.tasks.open_tasks()]

    # --- helpers ---------------------------------------------------------------------------

    def _place(self) -> PlaceRef:
        assert self.rules.place is not None
        return self.rules.place

    def _last4(self, member_id: int) -> str:
        return next((m.id_last4 for m in self.inp.members if m.member_id == member_id), "")

    def _member_payload(self) -> list[dict[str, Any]]:
        return [
            {"member_id": m.member_id, "id_last4": m.id_last4, "category": m.category_code}
            for m in self.inp.members
        ]

    def _follow(self, task: TaskState) -> None:
        self._followers.append(
            asyncio.create_task(self.tasks.wait(task, abort=lambda: self._clearing is not None))
        )

    async def _record(
        self,
        kind: str,
        summary: str,
        *,
        status: str | None = None,
        actor: str = "system",
        **changes: Any,
    ) -> None:
        await run_activity(
            HouseholdActivities.record_household,
            HouseholdChange(
                household_id=self.inp.household_id,
                key=f"{workflow.info().workflow_id}/{kind}",
                at=workflow.now(),
                kind=kind,
                summary=summary,
                status=status,
                actor=actor,
                **changes,
            ),
        )

    async def _event(
        self, key: str, summary: str, *, actor: str = "system", **changes: Any
    ) -> None:
        await record_case_event(self.inp.case_id, key, summary, actor=actor, **changes)


def _within(cleared: datetime | None, deadline: datetime | None) -> bool | None:
    if cleared is None or deadline is None:
        return None
    return cleared <= deadline


def _iso_date(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


# --- discovery (主动发现) ------------------------------------------------------------------------


@workflow.defn
class HouseholdDiscoveryWorkflow:
    """One discovery run over the imported lists for a region: the activity makes a household
    (status ``discovered``) for each group that looks zero-employment and has no open household,
    and the run starts each one's workflow (a verification task for the street officer). Run it
    again and nothing new opens: the households exist (their ``source_key``) and run already."""

    @workflow.run
    async def run(self, inp: HouseholdDiscoveryInput) -> list[int]:
        found = await run_activity(
            HouseholdActivities.discover_households,
            DiscoverInput(region_code=inp.region_code, at=inp.at or workflow.now()),
        )
        started: list[int] = []
        for household_id in found.household_ids:
            setup = await run_activity(HouseholdActivities.household_input, household_id)
            try:
                await start_child(
                    HouseholdWorkflow.run,
                    input_of(setup),
                    id=setup.workflow_id or household_workflow_id(household_id),
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                continue  # started by an earlier run that stopped before the row said so
            started.append(household_id)
        return started


__all__ = [
    "HouseholdDiscoveryWorkflow",
    "HouseholdInput",
    "HouseholdState",
    "HouseholdWorkflow",
]
