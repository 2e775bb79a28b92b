"""AssistanceWorkflow (就业援助 / 动态管理): one long-lived workflow per identified person, from
identification to exit, for years.

- **Start.** The identification workflow starts it as a *child workflow* with
  ``ParentClosePolicy.ABANDON`` when it concludes "identified" (guarded by the
  ``start-assistance`` patch, :mod:`workflows.steps`). A child rather than an activity holding
  a client: the start is a command in the identification's history, so it happens exactly
  once with no Temporal client inside the activities, the two executions are linked in the
  UI, and ABANDON lets the assistance outlive the identification run that started it. Its id
  is ``assistance-<case number>`` (no personal data).
- **Pinned.** ``AssistanceRules`` are computed from the case's pinned pack version when it
  starts and carried in the input, like ``CaseRules``: a later pack never rewrites a running
  assistance — unless a revision of that pack says so (``[transition] assistance = "move"``,
  #23): from its first day :class:`workflows.transition.RevisionTransitionWorkflow` signals
  ``assistance_rules_revised`` and the run takes the revision's rules at its next turn,
  keeping the person's own fields and dates (:meth:`AssistanceWorkflow._move_to`); a person
  identified later under the replaced revision starts on the new rules.
- **One state.** Everything lives in one ``AssistanceState`` dataclass
  (:mod:`workflows.payloads`, with the input), carried whole across
  **continue-as-new** (when Temporal suggests it, or past ``history_limit`` events), only once
  every handler has finished. It carries the ids of the updates it applied, because Temporal
  dedupes update ids only within a run: an officer's retried request (same Idempotency-Key)
  that reaches the next run is answered, not applied twice.
- **Safe upgrades by patching** (``workflows.steps.patched``), not worker versioning: ``make run``
  runs the embedded dev server, whose default is unversioned workers, and an assistance lives
  for years — far longer than any worker deployment would be kept alive to drain it — so a
  change of this code must replay every old history. A patch marker branches old and new runs
  in one worker; after continue-as-new a run starts on the newest code anyway.

What it does (the pack's data decides every number):
- **Plan** (一人一策; 山东 五(四) 援助协议 where a standard has ``agreement``): a task
  ``assistance_plan`` due within ``assistance_plan_deadline``, recording intentions, the
  services chosen and which conditional standards apply (jilin's "for the market-capable").
- **Services** recorded by officers are counted against the standards' quotas (xinyu "131");
  a standard not met ``service_gap_lead`` before ``service_standard_deadline`` opens
  ``service_gap``.
- **Visits** (定期走访) every ``assistance_visit_interval``: ``assistance_visit`` tasks.
- **Contacts**: every contact is recorded; the person's own contact (主动联系) resets the contact
  clock (潍坊 三(一)9: 连续6个月未主动...联系); a ``contact_reminder`` task opens
  ``contact_reminder_lead`` before the limit and a ``cancellation_review`` at it. An officer's
  contact closes an open reminder but does not reset the limit: the seed counts the person's
  own contacts.
- **Refusals**: ``refusal_limit`` refusals within its window (jilin 三(五), xinyu 第三条(一)3)
  open an ``exit_review`` for the reason tied to that clock.
- **Exit** with the pack's reason codes: an automatic reason reported as an event exits at
  once; a manual one goes through ``exit_review``. The person is told (a notice), the case
  shows ``exited``; a fraud reason computes the recovery (潍坊 五(四)).
- **Subsidies** granted are recorded; the cumulative period is capped (xinyu 第三条(二)).

Nothing here reads the wall clock or does I/O: clocks come from ``workflow.now()`` and
:mod:`domain.assistance`; every write is an activity.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import date, datetime, time
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.assistance import AssistanceActivities
    from activities.cases import CaseActivities
    from domain.assistance import (
        Quota,
        SubsidyGrant,
        cap_exceeded,
        months_after,
        recovery,
        refusal_limit_reached,
        refusals_in_window,
        standard_progress,
    )
    from domain.calendar import SHANGHAI, local_date
    from domain.retirement import add_months_clamped
    from domain.target_groups import DIFFICULTY_PERSON, EMERGENCY_ENDED
    from workflows.case_events import record_case_event
    from workflows.clock import sleep_until
    from workflows.contracts import (
        CONTACT_CHANNELS,
        ERR_BAD_FIELD,
        ERR_NOT_IN_ASSISTANCE,
        ERR_SUBSIDY_CAP,
        SERVICE_KINDS,
        AssistanceRecordInput,
        CaseStatus,
        CompleteTaskRequest,
        CompleteTaskResult,
        ContactRequest,
        ExitEventRequest,
        ExitRecord,
        ExitRule,
        HouseholdClearedNotice,
        NoticeInput,
        PendingExit,
        PlaceRef,
        RecordResult,
        RefusalRequest,
        RevisedRules,
        RevisedRulesInput,
        Role,
        RulesMove,
        RulesRevisedNotice,
        ServiceRequest,
        SubsidyRecord,
        SubsidyRequest,
        TaskKind,
    )
    from workflows.human_task import CaseContext, HumanTasks, TaskState
    from workflows.payloads import AssistanceInput, AssistanceState
    from workflows.steps import (
        PLAN_TASK_FOLLOWED_ONCE,
        continue_as_new,
        patched,
        run_activity,
        run_local,
    )
    from workflows.verification import adopt_verification, check_adoptable

# Update ids remembered across runs: far more than any client retries within its lifetime,
# few enough to keep the carried state small over years.
MAX_REMEMBERED_UPDATES = 1000
# The service kinds a plan may choose (the six the issue names come first). A tuple: every run
# of this module shares its module-level names (worker.sandbox).
PLAN_SERVICE_KINDS = tuple(SERVICE_KINDS)
EXIT_NOTICE_TITLE = "就业困难人员身份退出（注销）告知书"
# The other target groups (山东 二(二)–(四)) hold no status to cancel: their assistance ends.
ENROLMENT_EXIT_NOTICE_TITLE = "就业援助结束告知书"


@workflow.defn
class AssistanceWorkflow:
    @workflow.init
    def __init__(self, inp: AssistanceInput) -> None:
        self.inp = inp
        self.rules = inp.rules
        self.workflow_id = workflow.info().workflow_id
        self.state = inp.state or AssistanceState(
            started_at=workflow.now(),
            contact_anchor=workflow.now(),
            tasks=HumanTasks(
                CaseContext(
                    case_id=inp.case_id,
                    workflow_id=self.workflow_id,
                    policy_pack_id=inp.rules.pack_id,
                    applicant_name=inp.applicant_name,
                    id_last4=inp.id_last4,
                    chain=inp.rules.chain,
                )
            ),
        )
        self._wake = False
        self._rolling = False
        self._followers: list[asyncio.Task[CompleteTaskRequest | None]] = []

    @property
    def tasks(self) -> HumanTasks:
        return self.state.tasks

    # --- the run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: AssistanceInput) -> str:
        if inp.state is None:
            await self._start()  # follows the plan task it opens
        # After continue-as-new: keep the open tasks' clocks. On a fresh start this used to
        # follow the plan task a second time, and two followers ran its clocks at once (two
        # escalations could take one level's record); histories from before keep that path.
        if inp.state is not None or not patched(PLAN_TASK_FOLLOWED_ONCE):
            for task in self.tasks.open_tasks():
                self._follow(task)
        while True:
            await self._handle_decisions()
            if self.state.pending_exit is not None:
                await self._exit(self.state.pending_exit)
                break
            if self.state.pending_revision is not None:
                # Only a run that was told of a revision gets here (no history before this
                # code has the signal): the clocks below are read from the new rules.
                await self._move_to(self.state.pending_revision)
            await self._clock_events()
            if self.state.pending_exit is None and self._should_roll():
                await self._continue_as_new()
            self._wake = False
            await sleep_until(self._next_clock(), self._should_wake)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "exited"

    async def _start(self) -> None:
        await self._event(
            "assistance_started",
            "开始就业援助（一人一策）",
            detail={"workflow_id": self.workflow_id, "pack_ref": self.rules.pack_ref},
        )
        outcome = "agreement_signed" if self.rules.agreement else "drawn_up"
        conditional = [s.code for s in self.rules.standards if s.applies_to]
        choices: dict[str, list[str]] = {"services": list(PLAN_SERVICE_KINDS)}
        if conditional:
            choices["standards"] = conditional
        task = await self.tasks.open(
            TaskKind.ASSISTANCE_PLAN,
            role=self.rules.officer_role,
            place=self._officer_place(),
            sla=self.rules.plan_sla,
            outcomes={outcome: ["intentions", "services"]},
            choices=choices,
            payload={
                "agreement": self.rules.agreement,
                "standards": [
                    {"code": s.code, "name": s.name, "quotas": s.quotas, "applies_to": s.applies_to}
                    for s in self.rules.standards
                ],
            },
        )
        self._follow(task)
        if self.inp.moved is not None:
            # Identified under a revision that a later one, in force by the start, replaced
            # with "move": the person starts on that one's rules.
            await self._moved(replace(self.inp.moved, at=workflow.now()))
        await self._record()

    def _should_wake(self) -> bool:
        return (
            self._wake
            or self._undecided() is not None
            or self.state.pending_exit is not None
            or self.state.pending_revision is not None
        )

    def _should_roll(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.inp.history_limit
        )

    async def _continue_as_new(self) -> None:
        """Hand the state to a fresh run once every handler has finished (an update still
        being applied would be lost) and every task follower has stopped at a clean point.
        Nothing is awaited between that condition and the hand-over, so no update can slip in
        between; updates keep being accepted meanwhile (a decision that arrives is carried
        undecided and handled by the next run)."""
        self._rolling = True
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and all(f.done() for f in self._followers)
        )
        state = self.state
        kept = {
            tid: t
            for tid, t in self.tasks.tasks.items()
            if not t.done or (t.completion is not None and tid not in state.handled_tasks)
        }
        self.tasks.tasks = kept
        state.handled_tasks = [t for t in state.handled_tasks if t in kept]
        state.processed_updates = state.processed_updates[-MAX_REMEMBERED_UPDATES:]
        state.runs += 1
        continue_as_new(
            AssistanceInput(
                case_id=self.inp.case_id,
                applicant_name=self.inp.applicant_name,
                id_last4=self.inp.id_last4,
                rules=self.rules,
                identified_at=self.inp.identified_at,
                prior_subsidy_months=self.inp.prior_subsidy_months,
                history_limit=self.inp.history_limit,
                state=state,
                ends_at=self.inp.ends_at,
                emergency_id=self.inp.emergency_id,
                moved=self.inp.moved,
            )
        )

    # --- a revision's assistance rules (#23: [transition] assistance = "move") -----------------

    async def _move_to(self, notice: RulesRevisedNotice) -> None:
        """Take the assistance rules of the revision ``notice`` names, keeping what is this
        person's (place, chain, category, target group; the start, the contact anchor, the
        visits, services, refusals and subsidies counted). Every clock is read from the rules
        and those dates, so the next sleep follows the new clocks; one the new rules put before
        now falls due at once. A task already open keeps the reason it was opened for."""
        old = self.rules
        revised: RevisedRules = await run_activity(
            AssistanceActivities.revised_rules,
            RevisedRulesInput(
                case_id=self.inp.case_id,
                rules=old,
                ref=notice.ref,
                effective_on=notice.effective_on,
            ),
        )
        new, move = revised.rules, revised.move
        if self.state.pending_revision is notice:  # not a later notice told meanwhile
            self.state.pending_revision = None
        if not self._active() or old.pack_ref == new.pack_ref:
            return
        # An exit review already open names its reason: a reason the revision dropped stays
        # known to this person until that review is decided.
        kept = [
            r
            for r in old.exit_reasons
            if not any(n.code == r.code for n in new.exit_reasons)
            and any(
                t.kind == TaskKind.EXIT_REVIEW and task_payload(t).get("reason") == r.code
                for t in self.tasks.open_tasks()
            )
        ]
        if new.visit_interval_months != old.visit_interval_months:
            # Visits go on at the new interval from the last one due (not from the start, which
            # would count the visits made at the old interval at the new one).
            s = self.state
            s.visits_from = self._last_visit_day() if s.visits_opened else s.started_at
            s.visits_before = s.visits_opened
        self.rules = replace(
            new,
            exit_reasons=[*new.exit_reasons, *kept],
            officer_place=old.officer_place,
            officer_role=old.officer_role,
            county_place=old.county_place,
            chain=old.chain,
            category_code=old.category_code,
            target_group=old.target_group,
        )
        await self._moved(replace(move, at=workflow.now()))
        await self._record()

    async def _moved(self, move: RulesMove) -> None:
        self.state.rule_moves.append(move)
        await self._event(
            f"assistance_rules:{move.to_ref}",
            f"就业援助改按{move.document}（版本 {move.version}，"
            f"{move.effective_on.isoformat()} 起施行）执行，依据：{move.clause}",
            detail={
                "from_ref": move.from_ref,
                "to_ref": move.to_ref,
                "clause": move.clause,
                "effective_on": move.effective_on.isoformat(),
            },
        )

    # --- clocks ------------------------------------------------------------------------------

    def _visit_due(self) -> datetime | None:
        months = self.rules.visit_interval_months
        if not months:
            return None
        s = self.state
        return months_after(
            s.visits_from or s.started_at, months * (s.visits_opened - s.visits_before + 1)
        )

    def _last_visit_day(self) -> datetime:
        """The day the last visit fell due (00:00 Shanghai), as a base that
        :func:`months_after` counts from like the start."""
        s = self.state
        months = self.rules.visit_interval_months or 0
        day = add_months_clamped(
            local_date(s.visits_from or s.started_at), months * (s.visits_opened - s.visits_before)
        )
        return datetime.combine(day, time(0), tzinfo=SHANGHAI)

    def _contact_limit(self) -> datetime | None:
        months = self.rules.contact_limit_months
        anchor = self.state.contact_anchor
        if not months or anchor is None:
            return None
        return months_after(anchor, months)

    def _contact_reminder(self) -> datetime | None:
        months = self.rules.contact_limit_months
        anchor = self.state.contact_anchor
        if not months or anchor is None:
            return None
        return months_after(anchor, max(0, months - self.rules.contact_reminder_lead_months))

    def _standard_deadline(self) -> datetime:
        return months_after(self.state.started_at, self.rules.standard_deadline_months)

    def _service_gap_at(self) -> datetime:
        lead = self.rules.standard_deadline_months - self.rules.service_gap_lead_months
        return months_after(self.state.started_at, max(0, lead))

    def _next_clock(self) -> datetime | None:
        s = self.state
        due: list[datetime] = []
        if (visit := self._visit_due()) is not None:
            due.append(visit)
        if s.reminded_for != s.contact_anchor and (at := self._contact_reminder()) is not None:
            due.append(at)
        if s.reviewed_for != s.contact_anchor and (at := self._contact_limit()) is not None:
            due.append(at)
        if not s.gap_task_opened and self._gaps():
            due.append(self._service_gap_at())
        if self.inp.ends_at is not None:
            due.append(self.inp.ends_at)
        return min(due) if due else None

    async def _clock_events(self) -> None:
        now = workflow.now()
        s = self.state
        ends = self.inp.ends_at
        if ends is not None and now >= ends and self._reason(EMERGENCY_ENDED) is not None:
            # The emergency's period is over: the run exits next (nothing else to open).
            s.pending_exit = PendingExit(
                EMERGENCY_ENDED, "system", f"突发事件 {self.inp.emergency_id} 期间结束"
            )
            return
        visit = self._visit_due()
        visiting = any(t.kind == TaskKind.ASSISTANCE_VISIT for t in self.tasks.open_tasks())
        if visit is not None and now >= visit:
            s.visits_opened += 1
        if visit is not None and now >= visit and not visiting:
            # One visit task at a time: a visit still open covers the next one due.
            await self._open(
                TaskKind.ASSISTANCE_VISIT,
                {"visited": ["visit_record"], "not_reached": ["reason"]},
                payload={"number": s.visits_opened},
            )
        anchor = s.contact_anchor
        limit = self._contact_limit()
        if limit is not None and now >= limit and s.reviewed_for != anchor:
            s.reviewed_for = s.reminded_for = anchor
            reason = self._reason_for_clock("contact_check")
            await self._open(
                TaskKind.CANCELLATION_REVIEW,
                {"cancel": [], "keep": ["reason"]},
                place=self._county_place(),
                role=Role.COUNTY_REVIEWER,
                payload={
                    "last_own_contact_at": anchor.isoformat() if anchor else None,
                    "limit_months": self.rules.contact_limit_months,
                    "reason": reason.code if reason else None,
                    "source": reason.source if reason else "",
                },
            )
        reminder = self._contact_reminder()
        if reminder is not None and now >= reminder and s.reminded_for != anchor:
            s.reminded_for = anchor
            await self._open(
                TaskKind.CONTACT_REMINDER,
                {"contacted": ["channel"], "not_reached": ["note"]},
                choices={"channel": list(CONTACT_CHANNELS)},
                payload={
                    "limit_at": limit.isoformat() if limit else None,
                    "last_own_contact_at": anchor.isoformat() if anchor else None,
                },
            )
        if not s.gap_task_opened and now >= self._service_gap_at() and (gaps := self._gaps()):
            s.gap_task_opened = True
            await self._open(
                TaskKind.SERVICE_GAP,
                {"planned": ["note"]},
                payload={"missing": gaps, "deadline_at": self._standard_deadline().isoformat()},
            )
        await self._check_refusals()

    async def _check_refusals(self) -> None:
        s = self.state
        count = self.rules.refusal_limit_count
        if count is None or len(s.refusals) <= s.refusals_reviewed:
            return
        today = local_date(workflow.now())
        if not refusal_limit_reached(s.refusals, count, self.rules.refusal_window_months, today):
            return
        s.refusals_reviewed = len(s.refusals)
        reason = self._reason_for_clock("refusal_limit")
        if reason is None:
            return
        await self._open_exit_review(
            reason,
            proposed_by="system",
            detail=f"{self.rules.refusal_window_months}个月内拒绝公共就业服务"
            f"{refusals_in_window(s.refusals, self.rules.refusal_window_months, today)}次",
        )

    # --- decisions on tasks --------------------------------------------------------------------

    def _undecided(self) -> TaskState | None:
        return next(
            (
                t
                for t in self.tasks.tasks.values()
                if t.completion is not None and t.task_id not in self.state.handled_tasks
            ),
            None,
        )

    async def _handle_decisions(self) -> None:
        while (task := self._undecided()) is not None:
            self.state.handled_tasks.append(task.task_id)
            decision = task.completion
            assert decision is not None
            await self._decided(task, decision)

    async def _decided(self, task: TaskState, d: CompleteTaskRequest) -> None:
        s = self.state
        now = workflow.now()
        if task.kind == TaskKind.ASSISTANCE_PLAN:
            s.plan = {
                "intentions": d.fields.get("intentions"),
                "services": _as_list(d.fields.get("services")),
                "standards": _as_list(d.fields.get("standards")),
                "agreement": self.rules.agreement,
                "drawn_up_at": now.isoformat(),
                "drawn_up_by": d.actor_name,
            }
            await self._event("assistance_plan", "援助计划已制定（一人一策）", actor=d.actor_name)
        elif task.kind == TaskKind.ASSISTANCE_VISIT and d.outcome == "visited":
            s.visits += 1
            await self._contact(
                "visit",
                own=False,
                note=str(d.fields.get("visit_record", "")),
                key=f"{task.task_id}/contact",
                actor=d.actor_name,
            )
        elif task.kind == TaskKind.CONTACT_REMINDER and d.outcome == "contacted":
            await self._contact(
                str(d.fields.get("channel")),
                own=False,
                note=str(d.fields.get("note", "")),
                key=f"{task.task_id}/contact",
                actor=d.actor_name,
            )
        elif task.kind == TaskKind.CANCELLATION_REVIEW:
            if d.outcome == "cancel":
                reason = self._reason_for_clock("contact_check")
                if reason is not None:
                    s.pending_exit = PendingExit(reason.code, d.actor_name, d.comment)
            else:
                # Kept (e.g. the person was in hospital): the clock runs again from here.
                s.contact_anchor = now
        elif task.kind == TaskKind.QUARTERLY_VERIFICATION:
            await self._verification_decided(task, d)
        elif task.kind == TaskKind.EXIT_REVIEW and d.outcome == "confirm":
            ended = d.fields.get("should_have_ended_on")
            s.pending_exit = PendingExit(
                str(task_payload(task).get("reason")),
                d.actor_name,
                d.comment,
                date.fromisoformat(ended) if isinstance(ended, str) and ended else None,
            )
        await self._record()

    # --- updates ------------------------------------------------------------------------------

    @workflow.update
    async def complete_task(self, req: CompleteTaskRequest) -> CompleteTaskResult:
        adopted = adopt_verification(self.tasks, self.rules, req.task_id)
        if adopted is not None:
            # A quarterly verification task the batch opened for this person (see
            # workflows/verification.py): it becomes one of this assistance's tasks.
            check_adoptable(self.tasks, adopted, req, self.state.verified_periods, self._active())
            self.tasks.tasks[adopted.task_id] = adopted
            self.state.verified_periods.append(str(adopted.payload["period"]))

        await self.tasks.complete(req)
        self._wake = True
        return CompleteTaskResult(
            task_id=req.task_id, outcome=req.outcome, case_status=CaseStatus.IDENTIFIED
        )

    @complete_task.validator
    def _validate_complete_task(self, req: CompleteTaskRequest) -> None:
        adopted = adopt_verification(self.tasks, self.rules, req.task_id)
        if adopted is not None:
            check_adoptable(self.tasks, adopted, req, self.state.verified_periods, self._active())
            return
        self.tasks.validate(req)
        state = self.tasks.tasks[req.task_id]
        if state.kind == TaskKind.EXIT_REVIEW and req.outcome == "confirm":
            reason = self._reason(str(task_payload(state).get("reason")))
            ended = req.fields.get("should_have_ended_on")
            if reason is not None and reason.fraud and not ended:
                raise ApplicationError(
                    "missing fields for outcome 'confirm': should_have_ended_on",
                    {"missing": ["should_have_ended_on"]},
                    type="missing-fields",
                )
            if ended is not None:
                _check_date("should_have_ended_on", ended)

    @workflow.update
    async def record_contact(self, req: ContactRequest) -> RecordResult:
        uid = workflow.current_update_info()
        key = uid.id if uid else ""
        if self._seen(key):
            return RecordResult(id=key)
        await self._contact(
            req.channel, req.own, req.note, key=key, actor=req.actor_name, actor_id=req.actor_id
        )
        # The person came forward: a reminder or review waiting on them is moot.
        for task in self.tasks.open_tasks():
            if task.kind == TaskKind.CONTACT_REMINDER or (
                req.own and task.kind == TaskKind.CANCELLATION_REVIEW
            ):
                await self.tasks.cancel(task, "已联系")
        self._wake = True
        return RecordResult(id=key)

    @record_contact.validator
    def _validate_contact(self, req: ContactRequest) -> None:
        self._check_active()
        if req.channel not in CONTACT_CHANNELS:
            raise _bad_field(
                "channel", f"{req.channel!r} is not one of {', '.join(CONTACT_CHANNELS)}"
            )

    @workflow.update
    async def record_service(self, req: ServiceRequest) -> RecordResult:
        uid = workflow.current_update_info()
        key = uid.id if uid else ""
        if self._seen(key):
            return RecordResult(id=key)
        s = self.state
        s.services[req.kind] = s.services.get(req.kind, 0) + 1
        await self._record(
            key=key,
            entry={"kind": "service", "service_kind": req.kind, "note": req.note},
            actor_id=req.actor_id,
            actor_name=req.actor_name,
        )
        self._wake = True
        return RecordResult(id=key)

    @record_service.validator
    def _validate_service(self, req: ServiceRequest) -> None:
        self._check_active()
        if req.kind not in PLAN_SERVICE_KINDS:
            raise _bad_field("kind", f"{req.kind!r} is not a service kind")

    @workflow.update
    async def record_refusal(self, req: RefusalRequest) -> RecordResult:
        uid = workflow.current_update_info()
        key = uid.id if uid else ""
        if self._seen(key):
            return RecordResult(id=key)
        self.state.refusals.append(local_date(workflow.now()))
        await self._record(
            key=key,
            entry={"kind": "refusal", "service_kind": req.service_kind, "note": req.note},
            actor_id=req.actor_id,
            actor_name=req.actor_name,
        )
        self._wake = True
        return RecordResult(id=key)

    @record_refusal.validator
    def _validate_refusal(self, req: RefusalRequest) -> None:
        self._check_active()
        if req.service_kind not in PLAN_SERVICE_KINDS:
            raise _bad_field("service_kind", f"{req.service_kind!r} is not a service kind")

    @workflow.update
    async def grant_subsidy(self, req: SubsidyRequest) -> RecordResult:
        uid = workflow.current_update_info()
        key = uid.id if uid else ""
        if self._seen(key):
            return RecordResult(id=key)
        self._check_cap(req.months)  # two grants may pass validation concurrently
        record = SubsidyRecord(key, req.kind, req.start_month, req.months, req.monthly_fen)
        self.state.subsidies.append(record)
        await self._record(
            key=key, subsidy=record, actor_id=req.actor_id, actor_name=req.actor_name
        )
        self._wake = True
        return RecordResult(id=key)

    @grant_subsidy.validator
    def _validate_subsidy(self, req: SubsidyRequest) -> None:
        self._check_active()
        info = workflow.current_update_info()
        if info is not None and info.id in self.state.processed_updates:
            return  # a repeat is answered, not re-checked against its own months
        self._check_cap(req.months)

    @workflow.update
    async def report_exit(self, req: ExitEventRequest) -> RecordResult:
        uid = workflow.current_update_info()
        key = uid.id if uid else ""
        if self._seen(key):
            return RecordResult(id=key, handling="duplicate")
        reason = self._reason(req.reason)
        assert reason is not None  # the validator checked it
        if reason.mode == "automatic":
            # 潍坊 三(二)1、3: automatic at employment registration / when handling the business.
            self.state.pending_exit = PendingExit(
                reason.code, req.actor_name, req.detail, req.should_have_ended_on
            )
            self._wake = True
            return RecordResult(id=key, handling="exiting")
        task = await self._open_exit_review(
            reason,
            proposed_by=req.actor_name,
            detail=req.detail,
            should_have_ended_on=req.should_have_ended_on,
        )
        self._wake = True
        return RecordResult(id=key, handling="exit_review", task_id=task.task_id)

    @report_exit.validator
    def _validate_exit(self, req: ExitEventRequest) -> None:
        self._check_active()
        if self._reason(req.reason) is None:
            known = ", ".join(r.code for r in self.rules.exit_reasons)
            raise _bad_field("reason", f"{req.reason!r} is not an exit reason here ({known})")

    @workflow.signal
    async def household_cleared(self, notice: HouseholdClearedNotice) -> None:
        """The person's zero-employment household was cleared (workflows/household.py): open
        an exit review for the pack's reason (xinyu 第三条(一)2, weifang 三(一)10). A signal
        cannot refuse, so what does not apply is ignored: an assistance no longer active, a
        reason not offered on this person's basis, a notice already applied (its key)."""
        reason = self._reason(notice.reason)
        if not self._active() or reason is None or self._seen(notice.key):
            return
        await self._open_exit_review(reason, proposed_by=notice.actor_name, detail=notice.detail)
        self._wake = True

    @workflow.signal
    def assistance_rules_revised(self, notice: RulesRevisedNotice) -> None:
        """A revision of the person's pack moves the persons already identified to its
        assistance rules (workflows/transition.py). Applied by the run at its next turn
        (:meth:`_move_to`), not here: a signal may arrive during any await. Ignored when the
        assistance has ended or already follows that revision (a repeated notice)."""
        if not self._active() or notice.ref == self.rules.pack_ref:
            return
        if any(m.to_ref == notice.ref for m in self.state.rule_moves):
            return
        self.state.pending_revision = notice
        self._wake = True

    @workflow.signal
    def calendar_updated(self) -> None:
        """The holiday table changed: task clocks computed provisionally are recomputed."""
        self.tasks.calendar_epoch += 1

    @workflow.query
    def assistance_status(self) -> str:
        return self.state.status

    @workflow.query
    def open_tasks(self) -> list[str]:
        return [t.task_id for t in self.tasks.open_tasks()]

    # --- exit -------------------------------------------------------------------------------

    async def _exit(self, pending: PendingExit) -> None:
        s = self.state
        reason = self._reason(pending.code)
        assert reason is not None
        s.status = "exited"
        now = workflow.now()
        await self.tasks.cancel_all(f"exited: {reason.code}")
        recovered: dict[str, Any] | None = None
        if reason.fraud:
            ended = pending.should_have_ended_on or local_date(self.inp.identified_at)
            r = recovery(
                [SubsidyGrant(g.kind, g.start_month, g.months, g.monthly_fen) for g in s.subsidies],
                ended,
                local_date(now),
            )
            recovered = {
                "should_have_ended_on": r.should_have_ended_on.isoformat(),
                "cancelled_on": r.cancelled_on.isoformat(),
                "from_month": r.from_month.isoformat(),
                "total_fen": r.total_fen,
                "lines": [
                    {"kind": x.kind, "month": x.month.isoformat(), "amount_fen": x.amount_fen}
                    for x in r.lines
                ],
                "rule": self.rules.fraud_recover_from,
                "basis": self.rules.fraud_source,
            }
        s.exit = ExitRecord(
            code=reason.code,
            name=reason.name,
            at=now,
            decided_by=pending.decided_by,
            may_reapply=reason.may_reapply,
            fraud=reason.fraud,
            recovery_fen=recovered["total_fen"] if recovered else None,
        )
        exited_on = local_date(now)
        await self._record(
            key=f"exit:{reason.code}",
            exit={
                "reason_code": reason.code,
                "reason_name": reason.name,
                "mode": reason.mode,
                "may_reapply": reason.may_reapply,
                "fraud": reason.fraud,
                "exited_on": exited_on.isoformat(),
                "decided_by": pending.decided_by,
                "detail": pending.detail,
                "source": reason.source,
            },
            recovery=recovered,
        )
        cooldown = self.rules.reidentification_cooldown_months
        await run_local(
            CaseActivities.issue_notice,
            NoticeInput(
                case_id=self.inp.case_id,
                key="exit",
                kind="exit",
                title=EXIT_NOTICE_TITLE
                if self.rules.target_group == DIFFICULTY_PERSON
                else ENROLMENT_EXIT_NOTICE_TITLE,
                at=now,
                body={
                    "reason": reason.name,
                    "basis": reason.source,
                    "exited_on": exited_on.isoformat(),
                    "may_reapply": reason.may_reapply,
                    "reapply_after_months": cooldown if reason.may_reapply else None,
                    "recovery_fen": recovered["total_fen"] if recovered else None,
                    "agency": _place_label(self._county_place()),
                },
            ),
        )
        await self._event(
            "exited",
            f"退出就业援助：{reason.name}",
            status=CaseStatus.EXITED,
            stage="exited",
            closed=True,
            outcome_reason=reason.name,
            actor=pending.decided_by,
            detail={"reason": reason.code, "fraud": reason.fraud, "recovery": recovered},
        )

    # --- helpers ---------------------------------------------------------------------------

    def _seen(self, key: str) -> bool:
        if not key:
            return False
        if key in self.state.processed_updates:
            return True
        self.state.processed_updates.append(key)
        return False

    def _active(self) -> bool:
        return self.state.status == "active" and self.state.pending_exit is None

    async def _verification_decided(self, task: TaskState, d: CompleteTaskRequest) -> None:
        """定期审验 (清新 三(三)2): verified — a phone call or visit is the officer's contact (the
        person's own contact clock is not reset); exit review — the manual reason goes to the
        county's exit review like any manual exit."""
        period = str(task_payload(task).get("period"))
        if d.outcome == "verified":
            method = str(d.fields.get("method"))
            if method in CONTACT_CHANNELS:
                await self._contact(
                    method,
                    own=False,
                    note=d.comment,
                    key=f"{task.task_id}/contact",
                    actor=d.actor_name,
                )
            await self._event(
                f"verification:{period}",
                f"定期审验（{period}）：已核实",
                actor=d.actor_name,
                detail={"task_id": task.task_id, "method": method},
            )
            return
        reason = self._reason(str(d.fields.get("reason")))
        if reason is not None:
            await self._open_exit_review(
                reason, proposed_by=d.actor_name, detail=d.comment or f"定期审验（{period}）"
            )

    def _check_active(self) -> None:
        if self.state.status != "active" or self.state.pending_exit is not None:
            raise ApplicationError(
                "the person is no longer in assistance (exited or exiting)",
                type=ERR_NOT_IN_ASSISTANCE,
            )

    def _check_cap(self, months: int) -> None:
        cap = self.rules.subsidy_cap_months
        used = sum(g.months for g in self.state.subsidies)
        if self.rules.subsidy_cap_cumulative:
            used += self.inp.prior_subsidy_months
        if cap_exceeded(used, months, cap):
            across = " across identifications" if self.rules.subsidy_cap_cumulative else ""
            raise ApplicationError(
                f"the subsidy period would reach {used + months} months; the cap is {cap} "
                f"({used} used{across})",
                {"field": "months"},
                type=ERR_SUBSIDY_CAP,
            )

    def _reason(self, code: str) -> ExitRule | None:
        return next((r for r in self.rules.exit_reasons if r.code == code), None)

    def _reason_for_clock(self, clock: str) -> ExitRule | None:
        return next((r for r in self.rules.exit_reasons if r.clock == clock), None)

    def _gaps(self) -> list[dict[str, Any]]:
        """The standards that apply to this person and are not met yet."""
        chosen = set((self.state.plan or {}).get("standards") or [])
        out: list[dict[str, Any]] = []
        for s in self.rules.standards:
            if s.applies_to and s.code not in chosen:
                continue
            progress = standard_progress(
                s.code, [Quota(k, n) for k, n in s.quotas.items()], self.state.services
            )
            if not progress.met:
                out.append({"code": s.code, "name": s.name, "missing": progress.missing})
        return out

    def _officer_place(self) -> PlaceRef:
        place = self.rules.officer_place or self.rules.county_place
        assert place is not None
        return place

    def _county_place(self) -> PlaceRef:
        place = self.rules.county_place or self.rules.officer_place
        assert place is not None
        return place

    def _follow(self, task: TaskState) -> None:
        self._followers = [f for f in self._followers if not f.done()]
        self._followers.append(
            asyncio.create_task(
                self.tasks.wait(task, abort=lambda: self._rolling or self.state.status != "active")
            )
        )

    async def _open(
        self,
        kind: str,
        outcomes: dict[str, list[str]],
        *,
        payload: dict[str, Any] | None = None,
        choices: dict[str, list[str]] | None = None,
        place: PlaceRef | None = None,
        role: str | None = None,
    ) -> TaskState:
        task = await self.tasks.open(
            kind,
            role=role or self.rules.officer_role,
            place=place or self._officer_place(),
            sla=self.rules.task_sla,
            outcomes=outcomes,
            choices=choices,
            payload=payload,
        )
        self._follow(task)
        return task

    async def _open_exit_review(
        self,
        reason: ExitRule,
        *,
        proposed_by: str,
        detail: str,
        should_have_ended_on: date | None = None,
    ) -> TaskState:
        outcomes = {
            "confirm": ["should_have_ended_on"] if reason.fraud else [],
            "reject": ["reason"],
        }
        task = await self._open(
            TaskKind.EXIT_REVIEW,
            outcomes,
            place=self._county_place(),
            role=Role.COUNTY_REVIEWER,
            payload={
                "reason": reason.code,
                "reason_name": reason.name,
                "source": reason.source,
                "fraud": reason.fraud,
                "proposed_by": proposed_by,
                "detail": detail,
                "should_have_ended_on": should_have_ended_on.isoformat()
                if should_have_ended_on
                else None,
            },
        )
        await self._event(
            f"exit_review:{task.task_id}",
            f"退出核实：{reason.name}",
            actor=proposed_by,
            detail={"reason": reason.code, "task_id": task.task_id},
        )
        return task

    async def _contact(
        self,
        channel: str,
        own: bool,
        note: str,
        *,
        key: str,
        actor: str,
        actor_id: int | None = None,
    ) -> None:
        s = self.state
        now = workflow.now()
        s.contacts += 1
        s.last_contact_at = now
        if own:
            s.contact_anchor = now
        await self._record(
            key=key,
            entry={"kind": "contact", "channel": channel, "own": own, "note": note},
            actor_id=actor_id,
            actor_name=actor,
        )

    def snapshot(self) -> dict[str, Any]:
        """The projection the API shows (plain JSON): plan, standards, counts, clocks, subsidy
        period and exit. Computed here, the one place that knows the rules and the state."""
        s = self.state
        s.version += 1
        chosen = set((s.plan or {}).get("standards") or [])
        standards = []
        for st in self.rules.standards:
            progress = standard_progress(
                st.code, [Quota(k, n) for k, n in st.quotas.items()], s.services
            )
            standards.append(
                {
                    "code": st.code,
                    "name": st.name,
                    "applies_to": st.applies_to,
                    "applies": not st.applies_to or st.code in chosen,
                    "met": progress.met,
                    "quotas": [
                        {"kind": q.kind, "required": q.required, "delivered": q.delivered}
                        for q in progress.quotas
                    ],
                    "source": st.source,
                }
            )
        used = sum(g.months for g in s.subsidies)
        today = local_date(workflow.now())

        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d is not None else None

        return {
            "status": s.status,
            "workflow_id": self.workflow_id,
            "pack_ref": self.rules.pack_ref,
            # The revisions this person's assistance moved to (the last one governs it).
            "rule_moves": [
                {
                    "from_ref": m.from_ref,
                    "to_ref": m.to_ref,
                    "document": m.document,
                    "version": m.version,
                    "clause": m.clause,
                    "effective_on": m.effective_on.isoformat(),
                    "at": iso(m.at),
                }
                for m in s.rule_moves
            ],
            "target_group": self.rules.target_group,
            "ends_at": iso(self.inp.ends_at),
            "started_at": s.started_at.isoformat(),
            "plan": s.plan,
            "agreement": self.rules.agreement,
            "services": dict(s.services),
            "contacts": s.contacts,
            "visits": s.visits,
            "last_contact_at": iso(s.last_contact_at),
            "standards": standards,
            "clocks": {
                "next_visit_at": iso(self._visit_due()),
                "contact_anchor_at": iso(s.contact_anchor),
                "contact_reminder_at": iso(self._contact_reminder()),
                "contact_limit_at": iso(self._contact_limit()),
                "standard_deadline_at": self._standard_deadline().isoformat(),
                "service_gap_at": self._service_gap_at().isoformat(),
                "refusals_in_window": refusals_in_window(
                    s.refusals, self.rules.refusal_window_months, today
                ),
                "refusal_limit": self.rules.refusal_limit_count,
                "refusal_window_months": self.rules.refusal_window_months,
            },
            "subsidy_period": {
                "months_this_identification": used,
                "months_before": self.inp.prior_subsidy_months,
                "cap_months": self.rules.subsidy_cap_months,
                "cumulative": self.rules.subsidy_cap_cumulative,
            },
            "exit": (
                {**asdict(s.exit), "at": s.exit.at.isoformat()} if s.exit is not None else None
            ),
            "runs": s.runs,
            "version": s.version,
        }

    async def _record(
        self,
        *,
        key: str | None = None,
        entry: dict[str, Any] | None = None,
        subsidy: SubsidyRecord | None = None,
        exit: dict[str, Any] | None = None,
        recovery: dict[str, Any] | None = None,
        actor_id: int | None = None,
        actor_name: str = "system",
    ) -> None:
        await run_activity(
            AssistanceActivities.record,
            AssistanceRecordInput(
                case_id=self.inp.case_id,
                workflow_id=self.workflow_id,
                at=workflow.now(),
                key=key,
                entry=entry,
                subsidy=subsidy,
                exit=exit,
                recovery=recovery,
                snapshot=self.snapshot(),
                actor_id=actor_id,
                actor_name=actor_name,
            ),
        )

    async def _event(
        self,
        key: str,
        summary: str,
        *,
        status: CaseStatus | None = None,
        actor: str = "system",
        **changes: Any,
    ) -> None:
        await record_case_event(
            self.inp.case_id, key, summary, status=status, actor=actor, **changes
        )


def task_payload(task: TaskState) -> dict[str, Any]:
    """The payload a task was opened with, kept on the task state for its decision."""
    return task.payload or {}


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _bad_field(name: str, message: str) -> ApplicationError:
    return ApplicationError(message, {"field": name}, type=ERR_BAD_FIELD)


def _check_date(name: str, value: Any) -> None:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        raise _bad_field(name, f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _place_label(place: PlaceRef) -> str:
    return f"{place.code} {place.name}"
