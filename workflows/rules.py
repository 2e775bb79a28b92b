"""From a policy pack and the case's place in the jurisdiction tree to the ``CaseRules`` the
identification workflow runs. Pure: the API calls it at submission and the result is pinned
in the workflow's input, so a later change of pack or tree never rewrites a running case."""

from __future__ import annotations

from domain.policy.model import PolicyPack, RefusalHandling
from workflows.contracts import LEVELS, CaseRules, PlaceRef, SlaInput, StageRule

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
            )
        )
    clocks = pack.clocks
    supplement = clocks.supplement_deadline
    deadline = clocks.identification_deadline
    return CaseRules(
        pack_id=pack.id,
        pack_ref=pack.ref,
        stages=stages,
        categories={c.code: c.name for c in pack.categories},
        supplement=_sla(supplement.value, supplement.value, supplement.unit)
        if supplement
        else _sla(10, 10, "working_days"),
        identification_deadline=_sla(deadline.value, deadline.value, deadline.unit)
        if deadline
        else None,
        identification_deadline_source=deadline.citation if deadline else "",
        chain=chain,
    )


def escalation_places(chain: list[PlaceRef], task_place: PlaceRef) -> list[PlaceRef]:
    """Where a breach of a task at ``task_place`` is escalated, in order: the supervisor of the
    county/district that place belongs to first, then each level above (督办逐级上报)."""
    above = [p for p in chain if task_place.path.startswith(p.path)]
    lowest, highest = LEVELS.index("county"), LEVELS.index("province")
    return [p for p in above if lowest <= LEVELS.index(p.level) <= highest]
