"""Quarterly verification (定期审验, 清新 三(三)2): "每季首月初 the district verifies the identified
persons and sends the lists to the townships, which verify by phone, visit or data comparison
and report 每季首月底前".

- **Schedule → region → districts.** A Temporal Schedule per pack region with
  ``clocks.quarterly_verification`` (``worker/schedules.py``) starts
  :class:`QuarterlyVerificationWorkflow` at 00:05 Shanghai time on the 1st of each verification
  month. It asks for the period and the region's districts and starts one
  :class:`VerificationBatchWorkflow` per district (a child with ``ParentClosePolicy.ABANDON``,
  id ``verification-<district>-<YYYY-MM>``; a batch of that id still running is left alone).
- **A batch at scale.** The batch pages through the district's active persons (assistance not
  exited) with keyset pages of case ids (``page_size``, no personal data in the history), opens
  their tasks in bulk — chunks of ``chunk_size`` (by default the whole page) in one
  transaction and one multi-row insert each, at most ``concurrency`` chunks in flight, the
  next page read while the last is being opened — and continues as new every
  ``pages_per_run`` pages (or when Temporal suggests it) carrying the cursor and the counts.
  No signal or update goes to the persons' workflows: 100,000 persons are 100 pages, about a
  thousand history events spread over five runs, and a hundred thousand row inserts.
- **Idempotent.** A task's id is ``assistance-<case>.quarterly_verification.<YYYY-MM>`` (one per
  person per period); the activities skip rows that exist, so a second run of the same quarter
  — a retried schedule, an operator's re-run to pick up persons identified since — creates
  only what is missing.
- **Due date and escalation.** The tasks fall due at the end of the quarter's first month. A
  week before, open tasks are marked at risk and each township with tasks left is reminded;
  at the due date, tasks of persons who exited meanwhile are cancelled, what is left is marked
  breached (one breach row per task, counted by the supervisors' figures) and each township's
  remainder is escalated to the district's supervisors (督办) — one notification per township,
  not one escalation task per person, so a late township does not flood the supervisors'
  inbox. The tasks stay open and keep showing as overdue until done. The same keyset walk and
  continue-as-new bound these passes.

**Who owns the tasks, and how the outcome reaches the person.** A verification task is a task
of the person's :class:`~workflows.assistance.AssistanceWorkflow` (its ``workflow_id``): the
officer completes it like any task, and the completion is that workflow's ``complete_task``
update, which adopts a verification task it did not open (its id names it: this workflow, this
kind, a period) — see :func:`adopt_verification`. Outcome ``verified`` (method: phone, visit or
data) is recorded, a phone call or visit as an officer's contact (which does not reset the
person's own contact clock); outcome ``exit_review`` (a manual exit reason of the pack) opens
the assistance's exit review, so the exit follows the one path every manual exit takes. Why
not the batch: completions of a district's 100,000 tasks would all be updates on one workflow
(at most 10 in flight, 2,000 per run) and the batch would then have to reach each assistance
anyway; the assistance already validates its officer's role and place and owns its exits. The
batch keeps only the clocks of the whole (reminder and escalation), read from the task rows.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.verification import VerificationActivities
    from domain.sla import Rung, SlaLadder, SlaState
    from workflows.clock import LadderClock, RungCount
    from workflows.contracts import (
        ERR_CASE_CLOSED,
        ERR_TASK_CLOSED,
        AssistanceRules,
        BatchEventInput,
        BeginBatchInput,
        CompleteTaskRequest,
        OpenVerificationInput,
        PeopleInput,
        PlanInput,
        SlaPageInput,
        TaskKind,
        VerificationRegionInput,
        verification_batch_id,
        verification_form,
        verification_reasons,
    )
    from workflows.human_task import HumanTasks, TaskState
    from workflows.payloads import BatchResult, BatchState, VerificationBatchInput
    from workflows.steps import (
        VERIFICATION_READ_AHEAD,
        continue_as_new,
        patched,
        run_activity,
        start_child,
    )

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# A batch's phases after the tasks are created: the rungs of its clock taken so far.
_CLOCK_PHASES = ("at_risk", "breached", "finished")


def verification_workflow_id(district_code: str, period: str) -> str:
    return f"verification-{district_code}-{period}"


# --- the scheduled workflow: one per pack region -------------------------------------------------


@workflow.defn
class QuarterlyVerificationWorkflow:
    """Started by the region's Schedule: one batch per district of the region."""

    @workflow.run
    async def run(self, inp: VerificationRegionInput) -> list[str]:
        plan = await run_activity(
            VerificationActivities.plan,
            PlanInput(inp.region_code, inp.pack_id, workflow.now(), inp.period),
        )
        started: list[str] = []
        for district in plan.districts:
            wid = verification_workflow_id(district.code, plan.period.label)
            try:
                await start_child(
                    VerificationBatchWorkflow.run,
                    VerificationBatchInput(
                        district=district, pack_id=inp.pack_id, period=plan.period
                    ),
                    id=wid,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                continue  # this district's batch of the period is still running
            started.append(wid)
        return started


# --- the batch: one per district and period ------------------------------------------------------


@workflow.defn
class VerificationBatchWorkflow:
    @workflow.run
    async def run(self, inp: VerificationBatchInput) -> BatchResult:
        self.inp = inp
        self.pages_this_run = 0
        s = inp.state
        if s is None:
            info = await run_activity(
                VerificationActivities.begin_batch,
                BeginBatchInput(
                    batch_id=verification_batch_id(inp.district.code, inp.period.label),
                    district=inp.district,
                    pack_id=inp.pack_id,
                    period=inp.period,
                    workflow_id=workflow.info().workflow_id,
                    at=workflow.now(),
                ),
            )
            s = BatchState(info=info)
        self.s = s
        if s.phase == "creating":
            if patched(VERIFICATION_READ_AHEAD):
                await self._create()
            else:
                while s.phase == "creating":
                    self._maybe_roll()
                    await self._page()
        # The phase moves on once a rung's pass is done: a run continued as new in the middle
        # of one takes that rung again and resumes the pass from its cursor.
        self.ladder = SlaLadder.of_deadline(s.info.at_risk_at, s.info.due_at, levels=1)
        await LadderClock(
            lambda: self.ladder, self._clock_rung, RungCount(_CLOCK_PHASES.index(s.phase))
        ).run(until=lambda: s.phase == "finished")
        await run_activity(
            VerificationActivities.batch_event,
            BatchEventInput(s.info.batch_id, "finished", workflow.now()),
        )
        return BatchResult(s.info.batch_id, s.found, s.created, s.pages, s.runs)

    async def _create(self) -> None:
        """Page through the district's persons and open their tasks, reading the next page
        while the last one's tasks are being opened: at most ``concurrency`` chunks in flight,
        taken in the order they were read. The counts and the cursor a new run carries on
        from are settled first (every chunk of the pages read is open)."""
        s, inp = self.s, self.inp
        opening: list[asyncio.Task[None]] = []

        async def open_chunk(case_ids: list[str], now: datetime) -> None:
            created = await run_activity(
                VerificationActivities.open_tasks,
                OpenVerificationInput(s.info.batch_id, case_ids, now),
            )
            s.created += created  # not `+= await`: that reads the count before the wait

        async def settle(keep: int) -> None:
            while len(opening) > keep:
                await opening.pop(0)

        while s.phase == "creating":
            if self._roll_due():
                await settle(0)
                self._maybe_roll()
            page = await run_activity(
                VerificationActivities.people,
                PeopleInput(s.info.batch_id, inp.district.path, s.after, inp.page_size),
            )
            now = workflow.now()
            for i in range(0, len(page.case_ids), inp.chunk_size):
                await settle(max(inp.concurrency, 1) - 1)
                chunk = page.case_ids[i : i + inp.chunk_size]
                opening.append(asyncio.create_task(open_chunk(chunk, now)))
            s.found += len(page.case_ids)
            s.pages += 1
            self.pages_this_run += 1
            s.after = page.next_after
            if s.after is None:
                await settle(0)
                await run_activity(
                    VerificationActivities.batch_event,
                    BatchEventInput(s.info.batch_id, "created", now, s.created, s.found),
                )
                s.phase = "at_risk"

    async def _page(self) -> None:
        """A page as runs recorded before the ``verification-read-ahead`` patch took it: the
        people page, then its chunks, ``concurrency`` at a time, before the next page is
        read."""
        s, inp = self.s, self.inp
        page = await run_activity(
            VerificationActivities.people,
            PeopleInput(s.info.batch_id, inp.district.path, s.after, inp.page_size),
        )
        chunks = [
            page.case_ids[i : i + inp.chunk_size]
            for i in range(0, len(page.case_ids), inp.chunk_size)
        ]
        now = workflow.now()
        # Bounded concurrency: at most ``concurrency`` bulk inserts in flight.
        for i in range(0, len(chunks), inp.concurrency):
            counts = await asyncio.gather(
                *(
                    run_activity(
                        VerificationActivities.open_tasks,
                        OpenVerificationInput(s.info.batch_id, chunk, now),
                    )
                    for chunk in chunks[i : i + inp.concurrency]
                )
            )
            s.created += sum(counts)
        s.found += len(page.case_ids)
        s.pages += 1
        self.pages_this_run += 1
        s.after = page.next_after
        if s.after is None:
            await run_activity(
                VerificationActivities.batch_event,
                BatchEventInput(s.info.batch_id, "created", now, s.created, s.found),
            )
            s.phase = "at_risk"

    async def _clock_rung(self, rung: Rung) -> None:
        """The townships report 每季首月底前 (清新 三(三)2): a week before, the open tasks are
        marked at risk and the townships reminded; at the due date, the rest are breached and
        each township's remainder is escalated to the district (督办)."""
        s = self.s
        if rung.event is SlaState.AT_RISK:
            # Moot once the due date has passed too (the batch was late to get here).
            if not self.ladder.overtaken(rung, workflow.now()):
                await self._clock_pass("at_risk")
            s.phase, s.sla_after = "breached", None
        else:
            await self._clock_pass("breached")
            s.phase = "finished"

    async def _clock_pass(self, event: str) -> None:
        """Walk the batch's tasks in keyset pages, then notify the townships."""
        s, inp = self.s, self.inp
        while True:
            self._maybe_roll()
            result = await run_activity(
                VerificationActivities.sla_page,
                SlaPageInput(s.info.batch_id, event, workflow.now(), s.sla_after, inp.page_size),
            )
            self.pages_this_run += 1
            s.sla_after = result.next_after
            if s.sla_after is None:
                break
        await run_activity(
            VerificationActivities.batch_event,
            BatchEventInput(s.info.batch_id, event, workflow.now()),
        )

    def _roll_due(self) -> bool:
        return (
            self.pages_this_run >= self.inp.pages_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    def _maybe_roll(self) -> None:
        if self._roll_due():
            self.s.runs += 1
            continue_as_new(replace(self.inp, state=self.s))


# --- the person's side: the assistance workflow adopts its verification task ---------------------


def adopt_verification(tasks: HumanTasks, rules: AssistanceRules, task_id: str) -> TaskState | None:
    """The verification task ``task_id`` as a task of this assistance, when the id names one
    of its own (``<this workflow>.quarterly_verification.<YYYY-MM>``) that it does not hold yet;
    else None. Its form, role and place are those the batch gave the inbox row (both come from
    the pinned pack and the case's place), so the usual validation applies unchanged."""
    prefix = f"{tasks.ctx.workflow_id}.{TaskKind.QUARTERLY_VERIFICATION}."
    if not task_id.startswith(prefix) or task_id in tasks.tasks:
        return None
    period = task_id[len(prefix) :]
    if not _PERIOD.match(period):
        return None
    place = rules.officer_place or rules.county_place
    assert place is not None
    outcomes, choices = verification_form(verification_reasons(rules.exit_reasons))
    return TaskState(
        task_id=task_id,
        kind=TaskKind.QUARTERLY_VERIFICATION,
        candidate_role=rules.officer_role,
        place=place,
        sla=rules.task_sla,
        outcomes=outcomes,
        choices=choices,
        payload={"period": period},
    )


def check_adoptable(
    tasks: HumanTasks, task: TaskState, req: CompleteTaskRequest, verified: list[str], active: bool
) -> None:
    """Validate a completion of an adopted verification task without registering it (a
    validator must not change state)."""
    if not active:
        raise ApplicationError(
            "the person is no longer in assistance; the verification is moot",
            type=ERR_CASE_CLOSED,
        )
    if task.payload["period"] in verified:
        raise ApplicationError(f"task {task.task_id} is already closed", type=ERR_TASK_CLOSED)
    HumanTasks(tasks.ctx, tasks={task.task_id: task}).validate(req)
