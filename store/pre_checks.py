"""The eligibility pre-check (资格预审) of a stored case: the decision over the case's facts,
kept on the case row, and its timeline entry.

One home for the two places that assess a case: the submission, which assesses the first
round in the transaction that stores the case (``application.services.applications``, #22),
and the workflow's assessment activity (``activities.cases``: a case the submission did not
assess, every round after a supplement, a re-run after verified facts). Both read with
:func:`assessed` before their turn to write and write with :func:`record` in it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import local_date
from domain.eligibility import EligibilityDecision, assess, pre_check_summary
from domain.facts import ApplicantFacts, DataFinding
from domain.policy.model import PolicyPack
from store.models import Case, CaseEvent

__all__ = ["assessed", "entry", "entry_key", "record"]


def entry_key(case: Case, key: str) -> str:
    """The timeline key of a pre-check: per intake round (``"1"``, ``"2"`` …) or per re-run."""
    return f"{case.workflow_id}/pre_check:{key}"


def assessed(
    case: Case,
    pack: PolicyPack,
    on: date,
    findings: list[DataFinding] | None,
    rejected: Collection[str] = (),
) -> tuple[ApplicantFacts, EligibilityDecision]:
    """The case's facts as the pre-check counts them, and its decision on ``on`` under
    ``pack`` (the case's pinned pack). ``findings``: what department data said, or None when
    no department was asked; ``rejected``: the papers whose every file was judged 不合格
    (:func:`store.materials_repo.rejected_items`), missing again (#24 item 3)."""
    facts = ApplicantFacts.model_validate(case.facts)
    if rejected:
        held = [code for code in facts.evidence if code not in rejected]
        facts = facts.model_copy(update={"evidence": held})
    if findings is not None:
        facts = facts.model_copy(update={"data_sharing": findings})
    return facts, assess(facts, pack, on)


async def entry(session: AsyncSession, key: str) -> CaseEvent | None:
    """The pre-check entry of that key (:func:`entry_key`) if it is on the timeline."""
    found: CaseEvent | None = await session.scalar(
        select(CaseEvent).where(CaseEvent.event_key == key)
    )
    return found


def record(
    session: AsyncSession,
    case: Case,
    facts: ApplicantFacts,
    decision: EligibilityDecision,
    findings: list[DataFinding],
    *,
    key: str,
    at: datetime,
    existing: CaseEvent | None,
) -> None:
    """Keep ``decision`` on the case, and its entry on the timeline: added, or left as it is
    when ``existing`` (:func:`entry`) was made the same day (a retried activity), or made
    again when it was made on another day — a case the submission assessed whose workflow
    started later (the sweep): the entry says what the case holds and its first task shows.
    Writes only: in the caller's turn to write."""
    case.pre_check = decision.model_dump(mode="json")
    if existing is not None and local_date(existing.at) == local_date(at):
        return
    said = {
        "at": at,
        "summary": pre_check_summary(decision),
        "after": {
            "department_findings": [f.model_dump(mode="json") for f in findings],
            "eligible": decision.eligible,
            # The papers it counted: those judged 不合格 are not (the officer's explanation
            # is rebuilt from what it saw).
            "evidence_counted": list(facts.evidence),
        },
    }
    if existing is None:
        session.add(
            CaseEvent(
                case_id=case.id,
                event_key=key,
                actor="system",
                kind="pre_check",
                before=None,
                **said,
            )
        )
    else:
        for name, value in said.items():
            setattr(existing, name, value)
