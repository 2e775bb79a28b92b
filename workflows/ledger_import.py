"""LedgerImportWorkflow (台账导入, and 纳入 of an enrolment batch): starts the assistance of every
person an imported ledger (or an officer's enrolment, 山东 二(二)–(四)) made a case of, in bounded
batches, and counts them on the import row. An enrolled person has no history: their
assistance starts exactly as after an identification.

- **Pages, not a list in the input.** The persons are read a page at a time by an activity
  (``batch_size``, by case number) and the workflow continues as new when its history grows,
  carrying the last case started: a ledger of 100,000 persons is neither one giant input nor
  one giant history.
- **Each person's assistance** is an ``AssistanceWorkflow`` child (``assistance-<case>``) with
  ``ParentClosePolicy.ABANDON``, exactly as the identification starts it, but with its state
  carried in (the way continue-as-new hands it over): the ledger's services delivered count
  toward the pack's standards, its contacts are counted, the contact clock runs from the
  person's last own contact (weifang ⑨: a ledger whose last own contact is older than the limit
  gets its cancellation review at once), and the plan is the ledger's when it has one
  (就业意向 or 计划服务项目). Without one the plan task is opened here, with the assistance's
  own id, kind and form, and handed over open, so the assistance follows its clock. The
  assistance's clocks (visits, the standards' deadline) start at the import: the office keeps
  the ledger from that day in this system.
- **Idempotent.** A child already started (a page retried after a crash) is left alone; the
  plan task's id and the projection write are deterministic upserts; the progress activity
  counts a person once.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.assistance import AssistanceActivities
    from activities.ledger import LedgerActivities
    from workflows.assistance import PLAN_SERVICE_KINDS, AssistanceWorkflow
    from workflows.contracts import (
        AssistanceRecordInput,
        AssistanceRules,
        LedgerImportInput,
        LedgerPage,
        LedgerPageInput,
        LedgerPersonStart,
        LedgerProgressInput,
        TaskKind,
        assistance_workflow_id,
    )
    from workflows.human_task import CaseContext, HumanTasks
    from workflows.payloads import AssistanceInput, AssistanceState
    from workflows.steps import continue_as_new, run_activity, start_child

# Continue as new past this many history events (each person is a few activities and a child).
HISTORY_LIMIT = 3000
PAGE_TIMEOUT = timedelta(minutes=2)


@workflow.defn
class LedgerImportWorkflow:
    @workflow.run
    async def run(self, inp: LedgerImportInput) -> int:
        after, started = inp.after, inp.started
        while True:
            page: LedgerPage = await workflow.execute_activity_method(
                LedgerActivities.page,
                LedgerPageInput(inp.import_id, after, inp.batch_size),
                start_to_close_timeout=PAGE_TIMEOUT,
            )
            if not page.people:
                await run_activity(
                    LedgerActivities.progress,
                    LedgerProgressInput(inp.import_id, [], True, workflow.now()),
                )
                return started
            # One page at a time: at most batch_size starts in flight.
            await asyncio.gather(*(self._start(p) for p in page.people))
            ids = [p.case_id for p in page.people]
            await run_activity(
                LedgerActivities.progress,
                LedgerProgressInput(inp.import_id, ids, False, workflow.now()),
            )
            after, started = ids[-1], started + len(ids)
            info = workflow.info()
            if (
                info.is_continue_as_new_suggested()
                or info.get_current_history_length() >= HISTORY_LIMIT
            ):
                continue_as_new(LedgerImportInput(inp.import_id, inp.batch_size, after, started))

    async def _start(self, p: LedgerPersonStart) -> None:
        setup = p.setup
        wid = assistance_workflow_id(p.case_id)
        inp = AssistanceInput(
            case_id=p.case_id,
            applicant_name=setup.applicant_name,
            id_last4=setup.id_last4,
            rules=setup.rules,
            identified_at=p.identified_at,
            prior_subsidy_months=setup.prior_subsidy_months,
            history_limit=setup.history_limit,
            ends_at=p.ends_at,
            emergency_id=p.emergency_id,
        )
        # An enrolled person carries nothing: the assistance starts, opens its plan task and
        # writes its projection itself, as after an identification.
        if not p.enrolled:
            inp.state = await self._ledger_state(p, wid)
            # The projection the API reads, written before the assistance runs (it writes its
            # own from its first change on; the projection keeps the highest version).
            await run_activity(
                AssistanceActivities.record,
                AssistanceRecordInput(
                    case_id=p.case_id,
                    workflow_id=wid,
                    at=workflow.now(),
                    snapshot=initial_snapshot(inp, wid),
                ),
            )
        await self._start_child(inp, wid)

    async def _ledger_state(self, p: LedgerPersonStart, wid: str) -> AssistanceState:
        """The state an imported person's assistance starts from: the ledger's plan, services
        and contacts; the plan task opened here when the ledger has no plan."""
        setup = p.setup
        rules = setup.rules
        now = workflow.now()
        tasks = HumanTasks(
            CaseContext(
                case_id=p.case_id,
                workflow_id=wid,
                policy_pack_id=rules.pack_id,
                applicant_name=setup.applicant_name,
                id_last4=setup.id_last4,
                chain=rules.chain,
            )
        )
        plan: dict[str, Any] | None = None
        if p.intentions or p.planned:
            plan = {
                "intentions": p.intentions,
                "services": list(p.planned),
                "standards": [],
                "agreement": rules.agreement,
                "drawn_up_at": now.isoformat(),
                "drawn_up_by": "台账导入",
            }
        state = AssistanceState(
            started_at=now,
            tasks=tasks,
            plan=plan,
            services=dict(p.services),
            contacts=p.contacts,
            last_contact_at=p.last_own_contact_at,
            contact_anchor=p.last_own_contact_at or now,
        )
        if plan is None:
            await self._open_plan_task(tasks, rules)
        return state

    async def _start_child(self, inp: AssistanceInput, wid: str) -> None:
        # A page retried after the child was started: it runs already.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start_child(
                AssistanceWorkflow.run,
                inp,
                id=wid,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )

    async def _open_plan_task(self, tasks: HumanTasks, rules: AssistanceRules) -> None:
        """The plan task (一人一策), opened as ``AssistanceWorkflow`` opens it at its start
        (same kind, form and first sequence number, so the same task id)."""
        outcome = "agreement_signed" if rules.agreement else "drawn_up"
        conditional = [s.code for s in rules.standards if s.applies_to]
        choices: dict[str, list[str]] = {"services": list(PLAN_SERVICE_KINDS)}
        if conditional:
            choices["standards"] = conditional
        place = rules.officer_place or rules.county_place
        assert place is not None
        await tasks.open(
            TaskKind.ASSISTANCE_PLAN,
            role=rules.officer_role,
            place=place,
            sla=rules.plan_sla,
            outcomes={outcome: ["intentions", "services"]},
            choices=choices,
            payload={
                "agreement": rules.agreement,
                "standards": [
                    {"code": s.code, "name": s.name, "quotas": s.quotas, "applies_to": s.applies_to}
                    for s in rules.standards
                ],
                "imported": True,
            },
        )


def initial_snapshot(inp: AssistanceInput, workflow_id: str) -> dict[str, Any]:
    """The projection of an assistance that starts from carried state, computed by
    ``AssistanceWorkflow.snapshot`` itself (the one place that knows how), on an instance that
    is never run: only its input, rules, id and state are set. Bumps the state's version, so
    the assistance's own first write supersedes this one."""
    shell = AssistanceWorkflow.__new__(AssistanceWorkflow)
    shell.inp = inp
    shell.rules = inp.rules
    shell.workflow_id = workflow_id
    assert inp.state is not None
    shell.state = inp.state
    return shell.snapshot()
