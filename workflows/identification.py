"""IdentificationWorkflow (就业困难人员认定): one workflow per case, from acceptance (受理) to
identification (认定) or refusal (不予认定).

This is the walking skeleton's slice: acceptance, initial review (初审) by a grassroots officer
and review/identification (复核认定) by a county reviewer, each a human task whose decision
arrives as a validated update. The regional procedure (publicity, home visit, clocks,
escalation) grows from the policy pack in the identification issue.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.inbox import InboxActivities
    from workflows.contracts import (
        CaseStatus,
        CaseUpdateInput,
        CompleteTaskRequest,
        CompleteTaskResult,
        IdentificationInput,
        Role,
        SlaInput,
        TaskKind,
    )
    from workflows.human_task import (
        ACTIVITY_RETRY,
        ACTIVITY_TIMEOUT,
        CaseContext,
        HumanTasks,
        TaskState,
    )


@workflow.defn
class IdentificationWorkflow:
    @workflow.init
    def __init__(self, inp: IdentificationInput) -> None:
        self.inp = inp
        self.status = CaseStatus.SUBMITTED
        self.tasks = HumanTasks(
            CaseContext(
                case_id=inp.case_id,
                workflow_id=workflow.info().workflow_id,
                policy_pack_id=inp.policy_pack_id,
                jurisdiction_code=inp.jurisdiction_code,
                jurisdiction_path=inp.jurisdiction_path,
                applicant_name=inp.applicant_name,
                id_last4=inp.id_last4,
            )
        )

    @workflow.run
    async def run(self, inp: IdentificationInput) -> str:
        await self._case_event(
            "accepted", "受理申请 (application accepted)", status=CaseStatus.ACCEPTED, accepted=True
        )
        initial = await self.tasks.open(
            TaskKind.INITIAL_REVIEW,
            candidate_role=Role.GRASSROOTS_OFFICER,
            sla=SlaInput(goal=3, deadline=5),
            outcomes={"approve": [], "refuse": ["reason"]},
        )
        await self._case_event(
            "task_opened", "初审待办已生成 (initial review opened)", stage="initial_review"
        )
        decision = await self.tasks.wait(initial)
        if decision.outcome == "refuse":
            return await self._close(CaseStatus.REFUSED, decision, "初审不通过")

        review = await self.tasks.open(
            TaskKind.REVIEW,
            candidate_role=Role.COUNTY_REVIEWER,
            sla=SlaInput(goal=5, deadline=10),
            outcomes={"approve": ["category"], "refuse": ["reason"]},
            # The county PES office above the applicant's street/community acts (复核认定).
            jurisdiction_code=inp.county_code,
            jurisdiction_path=inp.county_path,
        )
        await self._case_event(
            "task_opened",
            "复核认定待办已生成 (review opened)",
            status=CaseStatus.UNDER_REVIEW,
            stage="review",
        )
        decision = await self.tasks.wait(review)
        if decision.outcome == "refuse":
            return await self._close(CaseStatus.REFUSED, decision, "复核不予认定")
        return await self._close(CaseStatus.IDENTIFIED, decision, "认定为就业困难人员")

    @workflow.update
    async def complete_task(self, req: CompleteTaskRequest) -> CompleteTaskResult:
        async def record(state: TaskState) -> None:
            await self._case_event(
                f"task_completed:{state.task_id}",
                f"{state.kind}: {req.outcome}" + (f" — {req.comment}" if req.comment else ""),
                actor=req.actor_name,
                detail={"task_id": state.task_id, "outcome": req.outcome, "fields": req.fields},
            )

        await self.tasks.complete(req, on_closed=record)
        return CompleteTaskResult(task_id=req.task_id, outcome=req.outcome, case_status=self.status)

    @complete_task.validator
    def _validate_complete_task(self, req: CompleteTaskRequest) -> None:
        self.tasks.validate(req)

    @workflow.query
    def case_status(self) -> str:
        return self.status

    async def _close(self, status: CaseStatus, decision: CompleteTaskRequest, summary: str) -> str:
        self.status = status
        await self._case_event(
            "closed",
            summary,
            status=status,
            stage="closed",
            category_code=decision.fields.get("category"),
            outcome_reason=decision.fields.get("reason"),
            closed=True,
            actor=decision.actor_name,
        )
        # The decision's update handler is still recording its timeline event: let it finish
        # so the officer gets the result rather than "workflow already completed".
        await workflow.wait_condition(workflow.all_handlers_finished)
        return status

    async def _case_event(
        self,
        key: str,
        summary: str,
        *,
        status: CaseStatus | None = None,
        stage: str | None = None,
        category_code: str | None = None,
        outcome_reason: str | None = None,
        accepted: bool = False,
        closed: bool = False,
        actor: str = "system",
        detail: dict[str, object] | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        await workflow.execute_activity_method(
            InboxActivities.update_case,
            CaseUpdateInput(
                case_id=self.inp.case_id,
                event_key=f"{workflow.info().workflow_id}/{key}",
                at=workflow.now(),
                actor=actor,
                kind=key.split(":")[0],
                summary=summary,
                status=status,
                stage=stage,
                category_code=category_code,
                outcome_reason=outcome_reason,
                accepted=accepted,
                closed=closed,
                detail=dict(detail or {}),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
