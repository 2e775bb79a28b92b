"""From a policy pack and the case's place in the jurisdiction tree to the ``CaseRules`` the
identification workflow runs. Pure: the API calls it at submission and the result is pinned
in the workflow's input, so a later change of pack or tree never rewrites a running case."""

from __future__ import annotations

from collections.abc import Sequence

from domain.households import StoredHousehold
from domain.policy.authoring import SUPPLEMENT_DEFAULT
from domain.policy.model import Duration, PolicyPack, RefusalHandling, ServiceQuota
from domain.target_groups import (
    DIFFICULTY_PERSON,
    EMERGENCY_ENDED,
    EMERGENCY_ENDED_NAME,
    EMERGENCY_ENDED_SOURCE,
    TEMPORARY_ASSISTANCE,
)
from workflows.contracts import (
    LEVELS,
    AssistanceRules,
    CaseRules,
    ExitRule,
    HouseholdMemberRef,
    HouseholdRules,
    HouseholdSetup,
    OwnFactRule,
    PlaceRef,
    ReexaminationRule,
    SlaInput,
    StageRule,
    StandardRule,
)

# Steps the workflow runs without a human (data sharing is an activity).
AUTOMATIC_STAGES = ("data_check",)

# The notice served when the pack says the refusing office tells the applicant (告知本人) but
# names no document of its own: it records the reason and basis told (weifang 二(二):
# 告知本人不予认定的依据和理由; jilin 二(二): 注明原因，并告知申请人).
INFORM_REFUSAL_NOTICE = "不予认定告知"


def resolve_level(chain: list[PlaceRef], level: str) -> PlaceRef:
    """The nearest place at or above ``level`` in ``chain`` (nearest first). A community-level
    step for a case filed at a street is done by that street."""
    rank = LEVELS.index(level)
    for place in chain:
        if LEVELS.index(place.level) >= rank:
            return place
    return chain[-1]


def _sla(goal: int, deadline: int, unit: str) -> SlaInput:
    return SlaInput(goal=goal, deadline=deadline, unit=unit)


def _refusal_notice(refusal: RefusalHandling | None) -> str | None:
    """The notice a refusal at this stage serves: the pack's named document, else a notice of
    the reason and basis when the refusing office itself informs the applicant. A refusal
    returned to a lower level (``returns_to``) is told by that level's inform task instead."""
    if refusal is None:
        return None
    if refusal.notice:
        return refusal.notice
    if refusal.informs_applicant is not None and refusal.returns_to is None:
        return INFORM_REFUSAL_NOTICE
    return None


def case_rules(pack: PolicyPack, chain: list[PlaceRef]) -> CaseRules:
    if pack.procedure is None:
        raise ValueError(
            f"policy pack {pack.id} delegates identification to its cities; "
            "a case must be opened under a city's pack"
        )
    stages: list[StageRule] = []
    for stage in pack.procedure.stages:
        refusal = stage.refusal
        stages.append(
            StageRule(
                kind=stage.kind,
                name=stage.name,
                role=stage.role,
                place=resolve_level(chain, stage.level),
                sla=_sla(stage.sla.goal, stage.sla.deadline, stage.sla.unit),
                source=stage.citation,
                working_days=stage.working_days,
                objection_escalates_to=resolve_level(chain, stage.objection.escalates_to)
                if stage.objection
                else None,
                refusal_returns_to=resolve_level(chain, refusal.returns_to)
                if refusal and refusal.returns_to
                else None,
                refusal_notice=_refusal_notice(refusal),
                refusal_source=refusal.citation if refusal else "",
                id=stage.id or "",
                minimum=stage.minimum,
            )
        )
    again = pack.procedure.reexamination
    reexamination = (
        ReexaminationRule(
            name=again.name,
            request_within=again.request_within,
            role=again.role,
            place=resolve_level(chain, again.level),
            sla=_sla(again.sla.goal, again.sla.deadline, again.sla.unit),
            source=again.citation,
            document=again.document or "",
        )
        if again is not None
        else None
    )
    clocks = pack.clocks
    # Where the pack is silent, the system's default (said by `yuanzhu policy show/check`).
    supplement = clocks.supplement_deadline or SUPPLEMENT_DEFAULT
    deadline = clocks.identification_deadline
    return CaseRules(
        pack_id=pack.id,
        pack_ref=pack.ref,
        stages=stages,
        categories={c.code: c.name for c in pack.categories},
        supplement=_sla(supplement.value, supplement.value, supplement.unit),
        identification_deadline=_sla(deadline.value, deadline.value, deadline.unit)
        if deadline
        else None,
        identification_deadline_source=deadline.citation if deadline else "",
        chain=chain,
        own_facts=[
            OwnFactRule(f.path, f.type, list(f.verified_at)) for f in pack.facts if f.verified_at
        ],
        reexamination=reexamination,
    )


def escalation_places(chain: list[PlaceRef], task_place: PlaceRef) -> list[PlaceRef]:
    """Where a breach of a task at ``task_place`` is escalated, in order: the supervisor of the
    county/district that place belongs to first, then each level above (督办逐级上报)."""
    above = [p for p in chain if task_place.path.startswith(p.path)]
    lowest, highest = LEVELS.index("county"), LEVELS.index("province")
    return [p for p in above if lowest <= LEVELS.index(p.level) <= highest]


def _months(d: Duration | None) -> int | None:
    if d is None:
        return None
    if d.unit != "months":
        raise ValueError(f"an assistance period must be in months, got {d.unit}")
    return d.value


def _duration_sla(d: Duration | None, default: SlaInput) -> SlaInput:
    return _sla(d.value, d.value, d.unit) if d is not None else default


# Used only when a pack has no assistance clocks at all (every packaged pack has them).
DEFAULT_TASK_SLA = SlaInput(goal=10, deadline=10)


def assistance_rules(
    pack: PolicyPack,
    chain: list[PlaceRef],
    place: PlaceRef,
    category_code: str | None,
    target_group: str = DIFFICULTY_PERSON,
) -> AssistanceRules:
    """What the pinned pack says about a person's assistance, computed once when it starts.
    Standards that name no services (a rate, a clearance target, 一人一策 itself) are not
    counted per person; those with quotas are. Exit reasons tied to a basis (xinyu 第三条(一)2,
    4) apply only to people identified under it."""
    clocks = pack.clocks
    groups = {g.code for g in pack.target_groups}
    standards = [
        s
        for s in pack.assistance_standards
        if s.services
        and s.kind in ("service_package", "placement")
        # A standard naming a target group is that group's (山东 三(三)1、3), and applies to
        # every member without a choice in the plan.
        and (s.applies_to not in groups or s.applies_to == target_group)
    ]
    exits = [
        ExitRule(
            code=r.code,
            name=r.name,
            mode=r.mode,
            trigger=r.trigger,
            clock=r.clock,
            may_reapply=r.may_reapply,
            basis_specific=list(r.basis_specific),
            fraud=r.fraud,
            source=r.citation,
        )
        for r in pack.exit_reasons
        if not r.basis_specific or category_code in r.basis_specific
    ]
    if target_group == TEMPORARY_ASSISTANCE:
        exits.append(
            ExitRule(
                code=EMERGENCY_ENDED,
                name=EMERGENCY_ENDED_NAME,
                mode="automatic",
                trigger="emergency_end",
                clock=None,
                may_reapply=True,
                source=EMERGENCY_ENDED_SOURCE,
            )
        )
    contact = _months(clocks.contact_check)
    refusal = clocks.refusal_limit
    cap = clocks.subsidy_period_cap
    fraud = pack.fraud_handling
    # A case filed at a street or community is followed there by its grassroots officers; one
    # filed at the county PES (weifang 二(一)) is followed by the county, which keeps the
    # ledger (weifang 五(一) 县级以上公共就业服务机构应建立就业困难人员帮扶台账).
    at_county = LEVELS.index(place.level) >= LEVELS.index("county")
    return AssistanceRules(
        pack_id=pack.id,
        pack_ref=pack.ref,
        category_code=category_code,
        standards=[
            _standard(
                s.code,
                s.name,
                s.kind,
                s.services,
                None if s.applies_to in groups else s.applies_to,
                s.agreement,
                s.citation,
            )
            for s in standards
        ],
        exit_reasons=exits,
        plan_sla=_duration_sla(clocks.assistance_plan_deadline, DEFAULT_TASK_SLA),
        task_sla=_duration_sla(clocks.assistance_task_period, DEFAULT_TASK_SLA),
        visit_interval_months=_months(clocks.assistance_visit_interval),
        contact_limit_months=contact,
        contact_reminder_lead_months=_months(clocks.contact_reminder_lead) or 1,
        refusal_limit_count=refusal.count if refusal else None,
        refusal_window_months=refusal.window_months if refusal else 6,
        standard_deadline_months=_months(clocks.service_standard_deadline) or 6,
        service_gap_lead_months=_months(clocks.service_gap_lead) or 1,
        subsidy_cap_months=cap.value if cap and cap.unit == "months" else None,
        subsidy_cap_cumulative=bool(cap and cap.cumulative),
        reidentification_cooldown_months=_months(clocks.reidentification_cooldown),
        fraud_recover_from=fraud.recover_from if fraud else "unspecified",
        fraud_source=fraud.citation if fraud else "",
        agreement=any(s.agreement for s in pack.assistance_standards),
        officer_place=place,
        officer_role="county_reviewer" if at_county else "grassroots_officer",
        county_place=resolve_level(chain, "county"),
        chain=chain,
        target_group=target_group,
    )


def _standard(
    code: str,
    name: str,
    kind: str,
    services: Sequence[ServiceQuota],
    applies_to: str | None,
    agreement: bool,
    source: str,
) -> StandardRule:
    return StandardRule(
        code=code,
        name=name,
        kind=kind,
        quotas={q.kind: q.count for q in services},
        applies_to=applies_to,
        agreement=agreement,
        source=source,
    )


def household_rules(
    pack: PolicyPack, definition_code: str, chain: list[PlaceRef]
) -> HouseholdRules:
    """What the pinned pack says about a household: its definition, the one-month clock as the
    clearance task's goal and deadline, the plan's and the verification's times, and the
    categories and exit reason that tie its members' cases to it. The tasks go to the street
    (township) of the household's place."""
    d = pack.household_definition(definition_code)
    if d is None:
        raise ValueError(f"pack {pack.ref} defines no household {definition_code!r}")
    clocks = pack.clocks
    deadline = clocks.zero_employment_household_deadline
    return HouseholdRules(
        pack_id=pack.id,
        pack_ref=pack.ref,
        definition=d.code,
        definition_name=d.name,
        definition_source=d.citation,
        deadline=_duration_sla(deadline, DEFAULT_TASK_SLA) if deadline is not None else None,
        deadline_source=deadline.citation if deadline is not None else "",
        plan_sla=_duration_sla(clocks.assistance_plan_deadline, DEFAULT_TASK_SLA),
        task_sla=_duration_sla(clocks.assistance_task_period, DEFAULT_TASK_SLA),
        basis_categories=list(d.categories),
        exit_reason=d.exit_reason,
        place=resolve_level(chain, "street"),
        chain=chain,
    )


def household_setup(stored: StoredHousehold) -> HouseholdSetup:
    """A household workflow's input from the household as the store holds it (one place for
    the discovery workflow's activity and the API's registration)."""
    return HouseholdSetup(
        household_id=stored.household_id,
        case_id=stored.case_id,
        head_name=stored.head_name,
        id_last4=stored.head_id_last4,
        rules=household_rules(stored.pack, stored.definition_code, stored.chain),
        members=[
            HouseholdMemberRef(
                member_id=m.member_id,
                id_last4=m.id_last4,
                case_id=m.case_id,
                category_code=m.category_code,
            )
            for m in stored.members
        ],
        identified_at=stored.identified_at,
        discovery=dict(stored.discovery),
        workflow_id=stored.workflow_id,
    )
