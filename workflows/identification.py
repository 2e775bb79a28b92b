"""IdentificationWorkflow (就业困难人员认定): one workflow per case, from the application to
identification (认定) or refusal (不予认定), following the procedure of the policy pack the case
was opened under (pinned in its input as ``CaseRules``; no branches on the region).

Stages (each present only where the pack has it):
- intake: department data check (部门信息共享), eligibility pre-check, and when evidence is
  missing the one-time notice of all of it (一次性告知) with a supplement task and its own clock;
  a written commitment (书面承诺) stands in where the pack allows;
- acceptance (受理) by the grassroots officer; from then the identification deadline runs;
- initial review (初审) at each review level the pack has (社区初审, 街道复查 …: stages of one
  kind told apart by their id), home visit (入户核实);
- publicity (公示) for the pack's working days (exactly, or at least: see _publicity), with
  objections (异议) handled as tasks and,
  where the pack says so, taken to the district/county when the applicant still disagrees;
  the report goes up only once every objection admitted during the publicity is handled;
- review/identification (复核认定) by the county, or a single immediate conclusion (即时办结);
- a refusal is recorded with its basis; where the pack says so it goes back to the grassroots
  level to inform the applicant, or a notice of non-identification is served (the pack's named
  document, or a notice of the reason and basis where the refusing office informs the
  applicant itself); an objection upheld during publicity is told as the office that upheld it
  tells its own refusals;
- where the pack provides one, the applicant's request for re-examination (复核申请) within its
  working days of a refusal, decided by the office it names on its own clock.
The applicant may withdraw at any time before the conclusion.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from types import MappingProxyType
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, is_cancelled_exception
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.assistance import AssistanceActivities
    from activities.cases import CaseActivities
    from activities.inbox import InboxActivities
    from domain.calendar import local_date
    from domain.facts import (
        FactSpec,
        FactValueError,
        OwnFact,
        own_facts,
        parse_fact_value,
        stage_inputs,
    )
    from domain.sla import Rung, SlaLadder, SlaState
    from domain.vocabulary import REEXAMINATION_REQUESTED, REEXAMINATION_WINDOW
    from workflows.assistance import AssistanceWorkflow
    from workflows.case_events import case_event
    from workflows.clock import LadderClock, sleep_until
    from workflows.contracts import (
        ERR_BAD_FIELD,
        ERR_CASE_CLOSED,
        ERR_NOT_IN_PUBLICITY,
        ERR_NOT_REEXAMINABLE,
        AssessInput,
        AssessResult,
        AssistanceSetup,
        AssistanceStartInput,
        CaseRules,
        CaseStatus,
        CaseUpdateInput,
        Clock,
        ClockInput,
        CompleteTaskRequest,
        CompleteTaskResult,
        IdentificationInput,
        NoticeInput,
        ObjectionRequest,
        ObjectionResult,
        PlaceRef,
        ReexaminationRequest,
        ReexaminationResult,
        Role,
        SlaEventInput,
        SlaInput,
        StageRule,
        SupplementInput,
        TaskKind,
        VerifiedFactsInput,
        WithdrawRequest,
        assistance_workflow_id,
    )
    from workflows.human_task import CaseContext, HumanTasks, TaskState
    from workflows.payloads import AssistanceInput
    from workflows.rules import escalation_places
    from workflows.steps import (
        DEADLINE_STARTED_BEFORE_STAGES,
        DEADLINE_WATCHER_ENDS_WITH_THE_CASE,
        DECISION_STARTS_ITS_CLOCK,
        ENTRIES_HELD_FOR_THE_OPENING,
        START_ASSISTANCE,
        UPHELD_OBJECTION_REFUSAL_HANDLING,
        patched,
        run_activity,
        run_local,
        start_child,
    )

# How often a case that keeps missing materials may be sent another one-time notice before the
# officer must decide (a notice per round lists everything still missing).
MAX_SUPPLEMENT_ROUNDS = 3
# The outcome with which a decision passes the case on to the next stage. (Read-only: every
# run of this module shares its module-level names, worker.sandbox.)
_PROCEEDS = MappingProxyType({TaskKind.INITIAL_REVIEW: "approve", TaskKind.HOME_VISIT: "confirmed"})


def _validate_verified_facts(kind: str, verified: dict[str, Any], rules: CaseRules) -> None:
    """The workflow's own check of verified facts (the application checks them first, with
    the case's pre-check): each a primary fact this stage may verify, of its type; the pinned
    pack's own facts (``rules.own_facts``) at the stages it names."""
    declared = [
        OwnFact(FactSpec(f.path, f.type, f.path, f.path), stages=frozenset(f.stages))  # type: ignore[arg-type]
        for f in rules.own_facts
    ]
    with own_facts(declared):
        _check_verified(kind, verified)


def _check_verified(kind: str, verified: dict[str, Any]) -> None:
    allowed = stage_inputs(kind)
    for path, value in verified.items():
        if path not in allowed:
            raise ApplicationError(
                f"verified_facts.{path}: not a fact a {kind} task can verify",
                {"field": f"verified_facts.{path}"},
                type=ERR_BAD_FIELD,
            )
        try:
            parse_fact_value(path, value)
        except FactValueError as wrong:
            raise ApplicationError(
                f"verified_facts.{path}: {wrong}",
                {"field": f"verified_facts.{path}"},
                type=ERR_BAD_FIELD,
            ) from None


class CaseClosed(Exception):
    """Raised inside the run to unwind to the close: the case ended (refused, withdrawn...)."""

    def __init__(
        self, status: CaseStatus, summary: str, reason: str | None = None, actor: str = "system"
    ) -> None:
        super().__init__(summary)
        self.status, self.summary, self.reason, self.actor = status, summary, reason, actor


@workflow.defn
class IdentificationWorkflow:
    @workflow.init
    def __init__(self, inp: IdentificationInput) -> None:
        self.inp = inp
        self.rules = inp.rules
        self.status = CaseStatus.SUBMITTED
        self.stage = "intake"
        self.withdrawal: WithdrawRequest | None = None
        self.tasks = HumanTasks(
            CaseContext(
                case_id=inp.case_id,
                workflow_id=workflow.info().workflow_id,
                policy_pack_id=inp.rules.pack_id,
                applicant_name=inp.applicant_name,
                id_last4=inp.id_last4,
                chain=inp.rules.chain,
            )
        )
        self.publicity: StageRule | None = None
        self.objections: list[TaskState] = []
        # Objections admitted whose task is still being opened (the publicity may not end
        # meanwhile), and how many were raised (each gets its own timeline entry).
        self.objections_opening = 0
        self.objections_raised = 0
        self._followers: list[asyncio.Task[CompleteTaskRequest | None]] = []
        self.pre_check: AssessResult | None = None
        self.deadline: Clock | None = None
        self.category: str | None = None
        # The case has concluded: the deadline's watcher ends (see run).
        self.concluded = False
        # A refusal's re-examination (复核申请), where the pack provides one: the window for
        # the applicant's request is open, the request came, and the office's task.
        self.reexamination_open = False
        self.reexamination_requested = False
        self.reexamination_task: TaskState | None = None
        self.refused_reason: str | None = None
        # Timeline entries held back to be written with the next task's opening (see _event).
        self._held: list[CaseUpdateInput] = []
        # The stage after the one running (its publicity is started by this one's decision).
        self._following: StageRule | None = None
        # The clock the last decision started, computed by its closing, until it is taken
        # (see _take_started_clock).
        self._started: tuple[SlaInput, Clock] | None = None

    # --- the procedure --------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IdentificationInput) -> str:
        watcher: asyncio.Task[None] | None = None
        try:
            await self._intake()
            await self._accept()
            accepted = workflow.now()
            if patched(DEADLINE_STARTED_BEFORE_STAGES):
                # The clock starts, on the timeline too, before the first stage opens its
                # task: started beside it, a case concluded at once could lose the race and
                # never show when its deadline began.
                clock = await self._start_identification_deadline(accepted, hold=True)
                if clock is not None:
                    accepted = clock.started_at  # the acceptance's own time (see _accept)
                    watcher = asyncio.create_task(
                        self._watch_identification_deadline(accepted, clock)
                    )
            else:
                watcher = asyncio.create_task(self._watch_identification_deadline(accepted))
            for index, stage in enumerate(self.rules.stages):
                self._following = next(iter(self.rules.stages[index + 1 :]), None)
                await self._run_stage(stage)
            raise CaseClosed(CaseStatus.REFUSED, "程序未作出认定结论", "no conclusion stage")
        except CaseClosed as end:
            await self._write_held()  # the case ended before a task opened with them
            # Told twice: by the flag, which its clock checks before every sleep, and by the
            # cancellation. A cancellation that lands in the step where an activity's result
            # comes back is lost (the result wins), and the watcher would sleep on toward its
            # next rung while this waits for it — a withdrawn case that never ends.
            self.concluded = True
            if watcher is not None:
                watcher.cancel()
                try:
                    await watcher
                except BaseException as exc:
                    # Cancelled inside an activity, the watcher ends with the activity's
                    # cancellation (an ActivityError), not asyncio's: both are its end.
                    if not is_cancelled_exception(exc):
                        raise
            if end.status == CaseStatus.REFUSED and self.rules.reexamination is not None:
                # Only where the pack provides one (#23): no recorded history has it.
                end = await self._reexamination(end)
            return await self._finish(end)

    async def _intake(self) -> None:
        """Department data, the pre-check, and the one-time notice of missing evidence."""
        department = self.rules.asks_departments
        for round_no in range(1, MAX_SUPPLEMENT_ROUNDS + 1):
            submitted = self.inp.pre_check if round_no == 1 else None
            if submitted is not None and submitted.on == local_date(workflow.now()):
                # Assessed and recorded when the case was stored (#22): the first task opens
                # in this workflow task, without an activity's round trips. The input decides,
                # so histories from before, which have none, replay through the activity. A
                # pre-check of another day than the procedure's start is made again.
                self.pre_check = submitted
            else:
                self.pre_check = await run_activity(
                    CaseActivities.assess,
                    AssessInput(
                        case_id=self.inp.case_id,
                        on=workflow.now(),
                        department_check=department,
                        round=round_no,
                    ),
                )
            if not self.pre_check.missing:
                return
            await self._supplement_round(round_no, self.pre_check)
        # Still incomplete after the rounds: the officer decides at acceptance/review with
        # everything on the case page.

    async def _supplement_round(self, round_no: int, check: AssessResult) -> None:
        stage = self._first_human_stage()
        items = [
            {"code": m.code, "name": m.name, "commitment_may_replace": m.commitment_may_replace}
            for m in check.missing
        ]
        await run_local(
            CaseActivities.issue_notice,
            NoticeInput(
                case_id=self.inp.case_id,
                key=f"missing-{round_no}",
                kind="missing_materials",
                title="一次性告知书（需补充的材料）",
                at=workflow.now(),
                body={
                    "items": items,
                    "commitment_can_stand_in": check.commitment_can_stand_in,
                    "deadline_sla": {
                        "value": self.rules.supplement.goal,
                        "unit": self.rules.supplement.unit,
                    },
                },
            ),
        )
        outcomes: dict[str, list[str]] = {"supplied": ["evidence"], "abandoned": ["reason"]}
        if check.commitment_can_stand_in:
            outcomes["commitment"] = []
        task = await self.tasks.open(
            TaskKind.SUPPLEMENT,
            role=stage.role,
            place=stage.place,
            sla=self.rules.supplement,
            outcomes=outcomes,
            choices={"evidence": [m.code for m in check.missing]},
            payload={"missing": items, "round": round_no},
            announce=self._entry(
                f"notice:missing-{round_no}",
                "一次性告知需补充材料：" + "、".join(m.name for m in check.missing),
                status=CaseStatus.AWAITING_MATERIALS,
                stage="supplement",
            ),
        )
        decision = await self._wait(task)
        if decision.outcome == "abandoned":
            raise CaseClosed(
                CaseStatus.WITHDRAWN,
                "申请人未补充材料，申请终止",
                decision.fields.get("reason"),
                decision.actor_name,
            )
        evidence = decision.fields.get("evidence") or []
        await run_activity(
            CaseActivities.record_supplement,
            SupplementInput(
                case_id=self.inp.case_id,
                evidence=list(evidence) if isinstance(evidence, list) else [str(evidence)],
                written_commitment=decision.outcome == "commitment",
                at=workflow.now(),
            ),
        )

    async def _accept(self) -> None:
        stage = next((s for s in self.rules.stages if s.kind == "acceptance"), None)
        if stage is not None:
            task = await self._open_stage_task(
                stage, TaskKind.ACCEPTANCE, {"accept": [], "not_accepted": ["reason"]}
            )
            decision = await self._wait(task)
            if decision.outcome == "not_accepted":
                await self._notice(
                    "not-accepted",
                    "not_accepted",
                    "不予受理告知书",
                    stage,
                    decision.fields.get("reason"),
                )
                raise CaseClosed(
                    CaseStatus.NOT_ACCEPTED,
                    "不予受理",
                    decision.fields.get("reason"),
                    decision.actor_name,
                )
        # Without an acceptance stage (weifang: 即时办结) the application is accepted on receipt.
        await self._event(
            "accepted", "受理申请", status=CaseStatus.ACCEPTED, accepted=True, hold=True
        )

    async def _run_stage(self, stage: StageRule) -> None:
        # Its id where the pack names one (a second review level), else its kind.
        self.stage = stage.stage_id
        if stage.kind in ("acceptance", "data_check"):
            return  # done at intake
        if stage.kind == "initial_review":
            # Any intermediate review level (社区初审, 街道复查 …): passes or ends the case.
            refusal = "初审不通过" if stage.stage_id == stage.kind else f"{stage.name}不通过"
            await self._decide(stage, TaskKind.INITIAL_REVIEW, refusal)
        elif stage.kind == "home_visit":
            task = await self._open_stage_task(
                stage,
                TaskKind.HOME_VISIT,
                {"confirmed": ["visit_record"], "not_confirmed": ["visit_record", "reason"]},
            )
            decision = await self._wait(task)
            if decision.outcome == "not_confirmed":
                await self._refuse(stage, decision, "入户核实情况不符")
        elif stage.kind == "publicity":
            await self._publicity(stage)
        elif stage.kind in ("review", "immediate_conclusion"):
            kind = TaskKind.REVIEW if stage.kind == "review" else TaskKind.IMMEDIATE_CONCLUSION
            task = await self._open_stage_task(
                stage,
                kind,
                {"approve": ["category"], "refuse": ["reason"]},
                choices={"category": list(self.rules.categories)},
                announce=self._stage_entry(stage),
            )
            decision = await self._wait(task)
            if decision.outcome == "refuse":
                await self._refuse(stage, decision, f"{stage.name}：不予认定")
            raise await self._identified(decision, stage.place)
        else:
            raise ApplicationError(f"unknown stage kind {stage.kind!r}", non_retryable=True)

    async def _decide(self, stage: StageRule, kind: TaskKind, refusal: str) -> None:
        task = await self._open_stage_task(
            stage, kind, {"approve": [], "refuse": ["reason"]}, announce=self._stage_entry(stage)
        )
        decision = await self._wait(task)
        if decision.outcome == "refuse":
            await self._refuse(stage, decision, refusal)

    async def _refuse(self, stage: StageRule, decision: CompleteTaskRequest, summary: str) -> None:
        reason = str(decision.fields.get("reason", ""))
        if stage.refusal_returns_to is not None:
            # jilin 二(三): returned in the system to the grassroots platform, which informs.
            inform = await self.tasks.open(
                TaskKind.INFORM_REFUSAL,
                role=Role.GRASSROOTS_OFFICER,
                place=stage.refusal_returns_to,
                sla=stage.sla,
                outcomes={"informed": ["channel"]},
                payload={
                    "reason": reason,
                    "refused_at": stage.name,
                    "source": stage.refusal_basis,
                },
            )
            await self._wait(inform, abortable=False)
        if stage.refusal_notice:
            await self._notice(
                f"refusal-{stage.stage_id}",
                "refusal",
                stage.refusal_notice,
                stage,
                reason,
                basis=stage.refusal_basis,
            )
        raise CaseClosed(CaseStatus.REFUSED, summary, reason, decision.actor_name)

    async def _publicity(self, stage: StageRule) -> None:
        days = stage.working_days or 0
        self.publicity = stage
        ends = self._take_started_clock(SlaInput(days, days)) or await self._publicity_end(days)
        # A minimum (公示期不少于N个工作日) is posted for N working days and closes at their
        # end like an exact one: the shortest period the document allows, so the case's own
        # deadline is not spent on a longer one nobody set; the notice says "不少于".
        length = f"不少于{days}个工作日" if stage.minimum else f"{days}个工作日"
        await self._event(
            "publicity",
            f"公示开始（{length}，至{ends.due_at.isoformat()}）",
            status=CaseStatus.IN_PUBLICITY,
            stage=stage.stage_id,
            detail={"ends_at": ends.due_at.isoformat()},
        )
        epoch = self.tasks.calendar_epoch
        while True:
            self._check_withdrawn()
            handled = [t for t in self.objections if t.done]
            for t in handled:
                self.objections.remove(t)
                ends = await self._handle_objection(stage, t, ends, days) or ends
            if epoch != self.tasks.calendar_epoch:
                epoch = self.tasks.calendar_epoch
                ends = await self._publicity_end(days, started=ends.started_at)
            ended = workflow.now() >= ends.due_at
            if ended and not self.objections and not self.objections_opening:
                break
            changed = self.tasks.calendar_changed(epoch)
            await sleep_until(
                None if ended else ends.due_at,
                lambda: (
                    any(t.done for t in self.objections)
                    or self.withdrawal is not None
                    or changed()  # noqa: B023 - consumed within this iteration
                    or (ended and not self.objections and not self.objections_opening)  # noqa: B023
                ),
            )
        self.publicity = None
        task = await self._open_stage_task(
            stage,
            TaskKind.PUBLICITY_REPORT,
            {"report": []},
            announce=self._entry(
                "publicity_ended", "公示期满，无未处理异议", stage="publicity_report"
            ),
        )
        await self._wait(task)

    async def _publicity_end(self, days: int, started: datetime | None = None) -> Clock:
        """The publicity ends at the end of its Nth working day after the day it starts."""
        clock: Clock = await run_local(
            InboxActivities.compute_clock,
            ClockInput(started_at=started or workflow.now(), sla=SlaInput(days, days)),
        )
        return clock

    async def _handle_objection(
        self, stage: StageRule, task: TaskState, ends: Clock, days: int
    ) -> Clock | None:
        decision = task.completion
        if decision is None:
            return None
        if decision.outcome == "upheld":
            refusing = stage
            if patched(UPHELD_OBJECTION_REFUSAL_HANDLING):
                refusing = self._refusal_handling_of(stage, task.place)
            await self._refuse(refusing, decision, "公示异议成立，不予认定")
        if decision.outcome == "restart":
            ends = await self._publicity_end(days)
            await self._event(
                f"publicity_restart:{task.task_id}",
                "公示重新开始",
                detail={"ends_at": ends.due_at.isoformat()},
            )
            return ends
        if decision.outcome == "applicant_disagrees" and stage.objection_escalates_to:
            # qingxin 三(二): 经核实、解释后申请人仍不服的，应报区级公共就业服务机构进行处理.
            place = stage.objection_escalates_to
            escalated = await self.tasks.open(
                TaskKind.OBJECTION,
                role=Role.COUNTY_REVIEWER,
                place=place,
                sla=stage.sla,
                outcomes={
                    "dismissed": ["explanation"],
                    "upheld": ["reason"],
                    "restart": ["explanation"],
                },
                payload={"escalated_from": task.task_id, **(decision.fields or {})},
            )
            self._follow_objection(escalated)
        return None

    async def _reexamination(self, refused: CaseClosed) -> CaseClosed:
        """The applicant may ask for the refusal to be examined again (复核申请) within the
        pack's working days; the office the pack names then identifies or upholds the refusal
        within its clock. No request in time: the refusal stands as it was."""
        rule = self.rules.reexamination
        assert rule is not None
        await self.tasks.cancel_all(f"case {CaseStatus.REFUSED}")
        self.refused_reason = refused.reason
        window: Clock = await run_local(
            InboxActivities.compute_clock,
            ClockInput(
                started_at=workflow.now(),
                sla=SlaInput(rule.request_within, rule.request_within),
            ),
        )
        self.reexamination_open = True
        await self._event(
            REEXAMINATION_WINDOW,
            # The refusal itself, then the window (the timeline renders each part).
            f"{refused.summary}；可申请{rule.name}（{rule.request_within}个工作日内，"
            f"至{window.due_at.isoformat()}）",
            status=CaseStatus.REFUSED,
            stage=REEXAMINATION_WINDOW,
            outcome_reason=refused.reason,
            detail={"ends_at": window.due_at.isoformat(), "source": rule.source},
        )
        await sleep_until(window.due_at, lambda: self.reexamination_requested)
        self.reexamination_open = False
        if not self.reexamination_requested:
            return CaseClosed(
                CaseStatus.REFUSED, f"{rule.name}申请期满，不予认定", refused.reason, refused.actor
            )
        await workflow.wait_condition(lambda: self.reexamination_task is not None)
        task = self.reexamination_task
        assert task is not None
        decision = await self._wait(task, abortable=False)
        if decision.outcome == "refuse":
            reason = str(decision.fields.get("reason", ""))
            await run_local(
                CaseActivities.issue_notice,
                NoticeInput(
                    case_id=self.inp.case_id,
                    key="reexamination",
                    kind="refusal",
                    title=rule.document or f"{rule.name}结果告知书",
                    at=workflow.now(),
                    body={
                        "reason": reason,
                        "basis": rule.source,
                        "stage": rule.name,
                        "agency": f"{rule.place.code} {rule.place.name}",
                    },
                ),
            )
            return CaseClosed(
                CaseStatus.REFUSED, f"{rule.name}：维持不予认定", reason, decision.actor_name
            )
        return await self._identified(decision, rule.place)

    async def _identified(self, decision: CompleteTaskRequest, place: PlaceRef) -> CaseClosed:
        """Record the identification under the category the deciding officer chose (by the
        identifying stage, or by the county on a re-examination); the case closes with it."""
        category = str(decision.fields["category"])
        self.category = category
        await self._event(
            "identified",
            f"认定为就业困难人员（{self.rules.categories.get(category, category)}）",
            status=CaseStatus.IDENTIFIED,
            stage="identified",
            category_code=category,
            identified=True,
            identified_by=decision.actor_name,
            identifying_agency=f"{place.code} {place.name}",
            actor=decision.actor_name,
        )
        return CaseClosed(CaseStatus.IDENTIFIED, "认定完成", actor=decision.actor_name)

    # --- clocks -----------------------------------------------------------------------------

    async def _start_identification_deadline(
        self, accepted: datetime, *, hold: bool = False
    ) -> Clock | None:
        """The case-level clock (jilin 二(四): 10 working days from acceptance for both levels
        together) computed and put on the timeline (``hold``: with the first stage's opening,
        see :meth:`_event`); None where the pack sets none."""
        sla = self.rules.identification_deadline
        if sla is None:
            return None
        clock = self._take_started_clock(sla) or await run_local(
            InboxActivities.compute_clock, ClockInput(accepted, sla)
        )
        self.deadline = clock
        await self._event(
            "deadline",
            "认定办结时限开始计算",
            identification_deadline=clock.deadline_date,
            deadline_provisional=clock.provisional,
            detail={
                "deadline_at": clock.deadline_at.isoformat(),
                "source": self.rules.identification_deadline_source,
            },
            hold=hold,
        )
        return clock

    async def _watch_identification_deadline(
        self, accepted: datetime, started: Clock | None = None
    ) -> None:
        """Follow the case-level clock: remind at risk, record the breach at the deadline and
        escalate up the tree until the case concludes. Histories from before the
        "deadline-started-before-stages" patch start the clock here (``started`` None)."""
        clock = started or await self._start_identification_deadline(accepted)
        sla = self.rules.identification_deadline
        if clock is None or sla is None:
            return
        current: Clock = clock
        place = self.inp.place
        places = escalation_places(self.rules.chain, place)

        async def recompute(epoch: int) -> None:
            nonlocal current
            current = await run_local(InboxActivities.compute_clock, ClockInput(accepted, sla))
            self.deadline = current
            await self._event(
                f"deadline_recomputed:{epoch}",
                "节假日安排更新，重新计算办结时限",
                identification_deadline=current.deadline_date,
                deadline_provisional=current.provisional,
            )

        async def on_rung(rung: Rung) -> None:
            if rung.event is SlaState.AT_RISK:
                await run_activity(
                    InboxActivities.sla_event,
                    SlaEventInput(
                        case_id=self.inp.case_id,
                        key=f"{self.inp.case_id}/deadline/at_risk",
                        clock="identification_deadline",
                        event="at_risk",
                        at=workflow.now(),
                        place=place,
                    ),
                )
                return
            # Past the deadline (jilin 二(四)), a level up the tree a day (督办逐级上报).
            target = places[rung.level - 1]
            escalation = await self.tasks.open_escalation(
                target,
                {
                    "about": "identification_deadline",
                    "level": rung.level,
                    "deadline_at": current.deadline_at.isoformat(),
                },
            )
            await run_activity(
                InboxActivities.sla_event,
                SlaEventInput(
                    case_id=self.inp.case_id,
                    key=f"{self.inp.case_id}/deadline/{rung.level}",
                    clock="identification_deadline",
                    event=rung.event.value,
                    at=workflow.now(),
                    place=target,
                    escalation_task_id=escalation.task_id,
                    level=rung.level,
                ),
            )

        # Cases started before the watcher could be told by the flag keep their commands.
        told_by_flag = patched(DEADLINE_WATCHER_ENDS_WITH_THE_CASE)
        await LadderClock(
            lambda: SlaLadder.of_deadline(current.at_risk_at, current.deadline_at, len(places)),
            on_rung,
        ).run(
            until=lambda: told_by_flag and self.concluded,
            calendar=lambda: self.tasks.calendar_epoch,
            recompute=recompute,
        )

    # --- updates, signals, queries ----------------------------------------------------------

    @workflow.update
    async def complete_task(self, req: CompleteTaskRequest) -> CompleteTaskResult:
        async def verified(state: TaskState) -> None:
            await self._record_verified_facts(state, req)

        await self.tasks.complete(req, then=verified if req.verified_facts else None)
        return CompleteTaskResult(task_id=req.task_id, outcome=req.outcome, case_status=self.status)

    @complete_task.validator
    def _validate_complete_task(self, req: CompleteTaskRequest) -> None:
        self.tasks.validate(req)
        if req.verified_facts:
            _validate_verified_facts(
                self.tasks.tasks[req.task_id].kind, req.verified_facts, self.rules
            )

    @workflow.update
    async def raise_objection(self, req: ObjectionRequest) -> ObjectionResult:
        stage = self.publicity
        if stage is None:  # the publicity ended in the activation that admitted the objection
            raise ApplicationError(
                "objections can only be raised during publicity (公示期间)",
                type=ERR_NOT_IN_PUBLICITY,
            )
        # Hold the publicity open from here until the objection's task is followed: its end
        # may pass while the task is being opened.
        self.objections_opening += 1
        self.objections_raised += 1
        number = self.objections_raised
        try:
            outcomes = {
                "dismissed": ["explanation"],
                "upheld": ["reason"],
                "restart": ["explanation"],
            }
            if stage.objection_escalates_to is not None:
                outcomes["applicant_disagrees"] = ["explanation"]
            await self._event(
                f"objection:{number}",
                f"公示期间收到异议：{req.content}",
                actor=req.actor_name,
                detail={"raised_by": req.raised_by},
            )
            task = await self.tasks.open(
                TaskKind.OBJECTION,
                role=stage.role,
                place=stage.place,
                sla=stage.sla,
                outcomes=outcomes,
                payload={"content": req.content, "raised_by": req.raised_by},
            )
            self._follow_objection(task)
        finally:
            self.objections_opening -= 1
        return ObjectionResult(task_id=task.task_id)

    @raise_objection.validator
    def _validate_objection(self, req: ObjectionRequest) -> None:
        if self.publicity is None:
            raise ApplicationError(
                "objections can only be raised during publicity (公示期间)",
                type=ERR_NOT_IN_PUBLICITY,
            )
        if not req.content.strip():
            raise ApplicationError("the objection needs a content", type="missing-fields")

    @workflow.update
    async def request_reexamination(self, req: ReexaminationRequest) -> ReexaminationResult:
        """The applicant's request for re-examination (复核申请), recorded by an officer: it
        opens the re-examining office's task."""
        rule = self.rules.reexamination
        assert rule is not None  # the validator's check
        self.reexamination_requested = True
        await self._event(
            REEXAMINATION_REQUESTED,
            f"申请人申请{rule.name}：{req.content}",
            actor=req.actor_name,
        )
        self.reexamination_task = await self.tasks.open(
            TaskKind.REEXAMINATION,
            role=rule.role,
            place=rule.place,
            sla=rule.sla,
            outcomes={"approve": ["category"], "refuse": ["reason"]},
            choices={"category": list(self.rules.categories)},
            payload={
                "stage": rule.name,
                "source": rule.source,
                "request": req.content,
                "refused_reason": self.refused_reason or "",
            },
            announce=self._entry("stage:reexamination", f"进入{rule.name}", stage="reexamination"),
        )
        return ReexaminationResult(task_id=self.reexamination_task.task_id)

    @request_reexamination.validator
    def _validate_reexamination(self, req: ReexaminationRequest) -> None:
        rule = self.rules.reexamination
        if rule is None:
            # Only where the document provides one: a refusal is otherwise final here.
            raise ApplicationError(
                "this case's policy provides no request for re-examination",
                type=ERR_NOT_REEXAMINABLE,
            )
        if not self.reexamination_open or self.reexamination_requested:
            raise ApplicationError(
                f"a request for re-examination ({rule.name}) can only be made once, within "
                f"{rule.request_within} working days of a refusal",
                type=ERR_NOT_REEXAMINABLE,
            )
        if not req.content.strip():
            raise ApplicationError("the request needs a content", type="missing-fields")

    @workflow.update
    async def withdraw(self, req: WithdrawRequest) -> str:
        self.withdrawal = req
        return "withdrawing"

    @withdraw.validator
    def _validate_withdraw(self, req: WithdrawRequest) -> None:
        if self.status in (CaseStatus.IDENTIFIED,) or self.status.closed or self.withdrawal:
            raise ApplicationError(f"the case is already {self.status}", type=ERR_CASE_CLOSED)

    @workflow.signal
    def calendar_updated(self) -> None:
        """The holiday table changed: clocks computed provisionally are recomputed."""
        self.tasks.calendar_epoch += 1

    @workflow.query
    def case_status(self) -> str:
        return self.status

    @workflow.query
    def open_tasks(self) -> list[str]:
        """The open tasks' ids (to rebuild the inbox projection from the workflows)."""
        return [t.task_id for t in self.tasks.open_tasks()]

    # --- helpers ------------------------------------------------------------------------------

    async def _record_verified_facts(self, state: TaskState, req: CompleteTaskRequest) -> None:
        """Record the facts the officer verified (merged into the case's facts, on the
        timeline and in the audit log) and re-run the pre-check, so that the next stage's task
        opens with it. Only a completion carrying verified facts takes these steps: the field
        is new (#21), no recorded history holds one, so older histories replay unchanged."""
        await run_local(
            CaseActivities.record_verified_facts,
            VerifiedFactsInput(
                case_id=self.inp.case_id,
                task_id=state.task_id,
                task_kind=state.kind,
                facts=req.verified_facts,
                actor_id=req.actor_id,
                actor_name=req.actor_name,
                at=workflow.now(),
            ),
        )
        self.pre_check = await run_activity(
            CaseActivities.assess,
            AssessInput(
                case_id=self.inp.case_id,
                on=workflow.now(),
                department_check=any(s.kind == "data_check" for s in self.rules.stages),
                key=f"verified:{state.task_id}",
            ),
        )

    def _follow_objection(self, task: TaskState) -> None:
        self.objections.append(task)
        # Keep the objection's own clock running while the publicity loop waits.
        self._followers.append(
            asyncio.create_task(self.tasks.wait(task, abort=lambda: self.withdrawal is not None))
        )

    def _check_withdrawn(self) -> None:
        if self.withdrawal is not None:
            raise CaseClosed(
                CaseStatus.WITHDRAWN,
                "申请人撤回申请",
                self.withdrawal.reason,
                self.withdrawal.actor_name,
            )

    def _refusal_handling_of(self, stage: StageRule, place: PlaceRef) -> StageRule:
        """An upheld objection refuses identification on behalf of the office that decided it.
        The publicity stage has no refusal handling of its own, so the refusal is told as that
        office tells its own (qingxin 三(二): the district that upholds an escalated objection
        serves the 不予认定就业困难人员告知书 as after its review)."""
        if stage.refusal_notice or stage.refusal_returns_to:
            return stage
        own = next(
            (
                s
                for s in self.rules.stages
                if s.place.code == place.code and (s.refusal_notice or s.refusal_returns_to)
            ),
            None,
        )
        if own is None:
            return stage
        return dataclasses.replace(
            stage,
            place=place,
            refusal_notice=own.refusal_notice,
            refusal_returns_to=own.refusal_returns_to,
            refusal_source=own.refusal_source,
        )

    def _first_human_stage(self) -> StageRule:
        return next(s for s in self.rules.stages if s.role != "system")

    async def _open_stage_task(
        self,
        stage: StageRule,
        kind: TaskKind,
        outcomes: dict[str, list[str]],
        choices: dict[str, list[str]] | None = None,
        announce: CaseUpdateInput | None = None,
    ) -> TaskState:
        payload: dict[str, object] = {"stage": stage.name, "source": stage.source}
        if stage.id:
            # Which of the procedure's stages of this kind the task is (the stage map, the
            # 认定表's opinion boxes); a pack with one stage per kind names none.
            payload["stage_id"] = stage.id
        if self.pre_check is not None:
            payload["pre_check"] = {
                "eligible": self.pre_check.eligible,
                "categories_met": self.pre_check.categories_met,
                "summary_zh": self.pre_check.summary_zh,
            }
        held, self._held = self._held, []
        return await self.tasks.open(
            kind,
            role=stage.role,
            place=stage.place,
            sla=stage.sla,
            outcomes=outcomes,
            choices=choices,
            payload=payload,
            announce=announce,
            carried=held,
            starts_clock=self._clocks_started_by(kind),
        )

    def _clocks_started_by(self, kind: TaskKind) -> dict[str, SlaInput]:
        """The clock a decision on a task of ``kind`` starts, by outcome, for its closing to
        compute from the holiday table (#22: one local step fewer after the decision): an
        acceptance the case's deadline (jilin 二(四): from acceptance); a decision that passes
        the case on to a publicity, the publicity's working days. Runs from before compute
        each in a step of its own after the decision, and replay so."""
        starts: dict[str, SlaInput] = {}
        if kind == TaskKind.ACCEPTANCE and self.rules.identification_deadline is not None:
            starts["accept"] = self.rules.identification_deadline
        following, proceeds = self._following, _PROCEEDS.get(kind)
        if proceeds is not None and following is not None and following.kind == "publicity":
            days = following.working_days or 0
            starts[proceeds] = SlaInput(days, days)
        if starts and not patched(DECISION_STARTS_ITS_CLOCK):
            return {}
        return starts

    def _take_started_clock(self, sla: SlaInput) -> Clock | None:
        """The clock of ``sla`` that the last decision started (its closing computed it, from
        the decision's time), once; None when it started none — a run from before, a pack
        without the decision — and the caller computes the clock itself."""
        started, self._started = self._started, None
        if started is None or started[0] != sla:
            return None
        return started[1]

    async def _wait(self, task: TaskState, abortable: bool = True) -> CompleteTaskRequest:
        decision = await self.tasks.wait(
            task, abort=(lambda: self.withdrawal is not None) if abortable else (lambda: False)
        )
        if decision is None:
            self._check_withdrawn()
            raise CaseClosed(CaseStatus.WITHDRAWN, "任务已取消")
        # The clock this decision started, if its closing computed one (_take_started_clock).
        started = task.started_clock
        self._started = (task.starts_clock[decision.outcome], started) if started else None
        return decision

    async def _notice(
        self,
        key: str,
        kind: str,
        title: str,
        stage: StageRule,
        reason: str | None,
        *,
        basis: str | None = None,
    ) -> None:
        """A notice served on the applicant; its basis (依据) the clause of the rule applied —
        a refusal's own clause, not the stage's (qingxin: 三(二), not 二)."""
        await self._write_held()
        await run_local(
            CaseActivities.issue_notice,
            NoticeInput(
                case_id=self.inp.case_id,
                key=key,
                kind=kind,
                title=title,
                at=workflow.now(),
                body={
                    "reason": reason or "",
                    "basis": basis or stage.source,
                    "stage": stage.name,
                    "agency": f"{stage.place.code} {stage.place.name}",
                },
            ),
        )

    async def _finish(self, end: CaseClosed) -> str:
        self.status = end.status
        await self.tasks.cancel_all(f"case {end.status}")
        if end.status != CaseStatus.IDENTIFIED:
            await self._event(
                "closed",
                end.summary,
                status=end.status,
                stage="closed",
                outcome_reason=end.reason,
                closed=True,
                actor=end.actor,
            )
        elif patched(START_ASSISTANCE):
            # Histories recorded before assistance existed replay without this branch.
            await self._start_assistance()
        # Decisions' update handlers may still be recording their timeline events: let them
        # finish so officers get their results rather than "workflow already completed".
        await workflow.wait_condition(workflow.all_handlers_finished)
        return str(end.status)

    async def _start_assistance(self) -> None:
        """Start the person's assistance as a child that outlives this workflow (ABANDON):
        see workflows/assistance.py for why a child and not an activity with a client."""
        setup: AssistanceSetup = await run_activity(
            AssistanceActivities.assistance_input,
            AssistanceStartInput(
                case_id=self.inp.case_id,
                category_code=self.category or "",
                identified_at=workflow.now(),
                place=self.inp.place,
                chain=self.rules.chain,
            ),
        )
        await start_child(
            AssistanceWorkflow.run,
            AssistanceInput(
                case_id=setup.case_id,
                applicant_name=setup.applicant_name,
                id_last4=setup.id_last4,
                rules=setup.rules,
                identified_at=workflow.now(),
                prior_subsidy_months=setup.prior_subsidy_months,
                history_limit=setup.history_limit,
                moved=setup.moved,
            ),
            id=assistance_workflow_id(self.inp.case_id),
            parent_close_policy=ParentClosePolicy.ABANDON,
        )

    def _entry(
        self,
        key: str,
        summary: str,
        *,
        status: CaseStatus | None = None,
        actor: str = "system",
        **changes: Any,
    ) -> CaseUpdateInput:
        """The timeline entry ``key``, the case's status moved with it."""
        if status is not None:
            self.status = status
        return case_event(self.inp.case_id, key, summary, status=status, actor=actor, **changes)

    def _stage_entry(self, stage: StageRule) -> CaseUpdateInput:
        return self._entry(
            f"stage:{stage.stage_id}",
            f"进入{stage.name}",
            status=CaseStatus.UNDER_REVIEW,
            stage=stage.stage_id,
        )

    async def _event(
        self,
        key: str,
        summary: str,
        *,
        status: CaseStatus | None = None,
        actor: str = "system",
        hold: bool = False,
        **changes: Any,
    ) -> None:
        """Put an entry on the case's timeline, after any held ones.

        ``hold``: keep it to be written with the next task's opening (:meth:`_open_stage_task`)
        rather than in a step of its own (#22). An officer's answer waits for every local step
        the workflow takes in the workflow task that completes the decision: accepting a Jilin
        case took four — 受理申请, the deadline's computation, 认定办结时限开始计算, the initial
        review's opening — and now takes two. The entries are as durable as before: written in
        the opening's transaction, within the same workflow task. Whatever ends the case or
        writes another entry first writes the held ones (:meth:`_write_held`), so the timeline
        keeps its order. Runs recorded before this wrote each entry on its own, and replay
        so."""
        entry = self._entry(key, summary, status=status, actor=actor, **changes)
        if hold and patched(ENTRIES_HELD_FOR_THE_OPENING):
            self._held.append(entry)
            return
        await self._write_held()
        await run_local(CaseActivities.update_case, entry)

    async def _write_held(self) -> None:
        held, self._held = self._held, []
        for entry in held:
            await run_local(CaseActivities.update_case, entry)
