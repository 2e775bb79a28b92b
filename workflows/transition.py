"""RevisionTransitionWorkflow (#23): a revision of a pack that says the persons already
identified move to its assistance rules (``[transition] assistance = "move"``) reaches their
running assistances on its first day.

- **Started by the load** (application/services/policy_load.py) once the revision is stored
  and in force, with the id ``policy-transition-<ref>``: a second start (the load's retry, the
  worker's check when it starts, ``policy_load.ensure_transitions``) finds it running or done.
- **Its first day.** A revision effective later waits on a durable timer until 00:00
  (Asia/Shanghai) of its first day; one effective now goes at once.
- **Fan-out.** It pages through the running assistances of the pack by case id
  (``AssistanceActivities.transition_page``: those the revision now governs and that follow
  another one still) and signals each ``assistance_rules_revised``
  (:meth:`workflows.assistance.AssistanceWorkflow.assistance_rules_revised`), which applies
  it at its next turn and records the move on the case's timeline. A signal is a command of
  this workflow, so no Temporal client sits in an activity. An assistance that ended since
  cannot be told and is counted as unreached; one told twice ignores the repeat.
- **Continue-as-new** every ``pages_per_run`` pages, with the cursor and the counts.
- **Audited** at the end (``policy_pack_transition``: the revision, its day, how many told).

A person identified after the fan-out under the replaced revision starts on the new rules
(``AssistanceActivities.assistance_input``), so none is left behind by a race between the two.
"""

from __future__ import annotations

from datetime import datetime, time

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.assistance import AssistanceActivities
    from domain.calendar import SHANGHAI
    from workflows.contracts import (
        RulesRevisedNotice,
        TransitionDone,
        TransitionPage,
        TransitionPageInput,
    )
    from workflows.payloads import TransitionInput
    from workflows.steps import continue_as_new, run_activity

TRANSITION_SIGNAL = "assistance_rules_revised"


def transition_workflow_id(ref: str) -> str:
    return f"policy-transition-{ref}"


@workflow.defn
class RevisionTransitionWorkflow:
    @workflow.run
    async def run(self, inp: TransitionInput) -> int:
        first = datetime.combine(inp.effective_on, time(0), tzinfo=SHANGHAI)
        delay = first - workflow.now()
        if delay.total_seconds() > 0:
            await workflow.sleep(delay)
        notice = RulesRevisedNotice(ref=inp.ref, effective_on=inp.effective_on)
        after, told, unreached = inp.after, inp.told, inp.unreached
        for _ in range(inp.pages_per_run):
            page: TransitionPage = await run_activity(
                AssistanceActivities.transition_page,
                TransitionPageInput(
                    pack_id=inp.pack_id,
                    ref=inp.ref,
                    effective_on=inp.effective_on,
                    after=after,
                    limit=inp.page_size,
                ),
            )
            for workflow_id in page.workflow_ids:
                handle = workflow.get_external_workflow_handle(workflow_id)
                try:
                    await handle.signal(TRANSITION_SIGNAL, notice)
                except Exception:
                    # Ended since the page was read: nothing left to move.
                    unreached += 1
                    continue
                told += 1
            after = page.after
            if not page.more:
                break
        else:
            continue_as_new(
                TransitionInput(
                    pack_id=inp.pack_id,
                    ref=inp.ref,
                    effective_on=inp.effective_on,
                    after=after,
                    told=told,
                    unreached=unreached,
                    page_size=inp.page_size,
                    pages_per_run=inp.pages_per_run,
                )
            )
        await run_activity(
            AssistanceActivities.transition_done,
            TransitionDone(
                pack_id=inp.pack_id,
                ref=inp.ref,
                effective_on=inp.effective_on,
                told=told,
                unreached=unreached,
            ),
        )
        return told
