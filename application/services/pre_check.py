"""The pre-check explained for officers (资格预审说明) of a stored case, for the API's case and
task details and for the task and case pages alike.

The one home of the rebuild: :func:`domain.precheck.explain` over the case's stored facts, its
pinned pack (:func:`store.packs.pinned_pack`, the pack the assessment used) and the stored
pre-check's date, with the department findings of the latest pre-check event (the assessment
saw them as stated facts' data-sharing findings) and the papers it counted (those judged
不合格 are missing again). Cases assessed before the explanation
existed, whose stored ``pre_check`` has only the old lines, get it the same way.

Also the one home of which papers a department data finding replaced (:func:`papers_replaced`,
#24 item 3): the evidence items the explanation counts as confirmed by data sharing, each with
the finding that confirmed it (:func:`domain.eligibility.replacing_finding`, the rule the
assessment itself applied), for the task page to say so beside the item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from domain.eligibility import replacing_finding
from domain.facts import ApplicantFacts, DataFinding
from domain.policy.model import PolicyPack
from domain.precheck import PreCheckExplanation, explain
from store import repos
from store.models import Case, CaseEvent, Task
from store.packs import pinned_pack

__all__ = ["explanation", "explanation_of", "for_task", "papers_replaced", "papers_replaced_of"]


def _findings(events: Sequence[CaseEvent]) -> list[DataFinding] | None:
    """The department findings the latest assessment saw (None: it asked no department)."""
    checks = [e for e in events if e.kind == "pre_check"]
    raw: Any = (checks[-1].after or {}).get("department_findings") if checks else None
    if not raw or not isinstance(raw, list):
        return None
    try:
        return [DataFinding.model_validate(f) for f in raw]
    except ValidationError:
        return None


def _evidence_counted(events: Sequence[CaseEvent]) -> list[str] | None:
    """The papers the latest assessment counted as handed in, where it recorded them: an item
    whose every file was judged 不合格 is not among them (#24 item 3). None: older events."""
    checks = [e for e in events if e.kind == "pre_check"]
    raw: Any = (checks[-1].after or {}).get("evidence_counted") if checks else None
    if not isinstance(raw, list) or not all(isinstance(code, str) for code in raw):
        return None
    return raw


def explanation_of(
    case: Case, pack: PolicyPack | None, events: Sequence[CaseEvent]
) -> PreCheckExplanation | None:
    """The explanation of ``case``'s stored pre-check; None when it has none, or when its facts
    or date no longer read (the page then shows the stored lines)."""
    stored = case.pre_check if isinstance(case.pre_check, dict) else None
    if stored is None or pack is None or not isinstance(case.facts, dict):
        return None
    try:
        on = date.fromisoformat(str(stored.get("on")))
        facts = ApplicantFacts.model_validate(case.facts)
    except (ValueError, ValidationError):
        return None
    findings = _findings(events)
    if findings is not None:
        facts = facts.model_copy(update={"data_sharing": findings})
    counted = _evidence_counted(events)
    if counted is not None:
        facts = facts.model_copy(update={"evidence": counted})
    return explain(facts, pack, on)


def papers_replaced_of(
    case: Case,
    pack: PolicyPack | None,
    events: Sequence[CaseEvent],
    explained: PreCheckExplanation | None = None,
) -> dict[str, DataFinding]:
    """Evidence code -> the department finding that stood in for its paper, for the items of
    ``case``'s latest assessment that were required, not handed in and confirmed by data
    sharing (the pack's ``data_sharing_replaces_paper``); empty without an explained pre-check
    or without findings. A paper handed in as well stays what it is: handed in.
    ``explained``: the case's explanation where the caller built it already (the task page's
    review evidence), so that it is not built twice."""
    findings = _findings(events)
    if findings and explained is None:
        explained = explanation_of(case, pack, events)
    if explained is None or pack is None or not findings:
        return {}
    replaced: dict[str, DataFinding] = {}
    for group in explained.groups:
        if group.code != "evidence":
            continue
        for rule in (*group.rules, *group.folded):
            item = pack.evidence_item(rule.code)
            if rule.outcome != "by_data_sharing" or item is None:
                continue
            finding = replacing_finding(item, findings)
            if finding is not None:
                replaced[rule.code] = finding
    return replaced


async def papers_replaced(session: AsyncSession, case: Case) -> dict[str, DataFinding]:
    """:func:`papers_replaced_of` loading the case's pinned pack and events."""
    if not isinstance(case.pre_check, dict):
        return {}
    pack = await pinned_pack(session, case)
    return papers_replaced_of(case, pack, await repos.case_events(session, case.id))


async def explanation(session: AsyncSession, case: Case) -> PreCheckExplanation | None:
    """:func:`explanation_of` loading the case's pinned pack and events."""
    if not isinstance(case.pre_check, dict):
        return None
    pack = await pinned_pack(session, case)
    return explanation_of(case, pack, await repos.case_events(session, case.id))


async def for_task(session: AsyncSession, actor: Actor, task: Task) -> PreCheckExplanation | None:
    """The explanation of ``task``'s case, when the case lies in ``actor``'s subtree."""
    case = await repos.case_in_scope(session, task.case_id, actor.jurisdiction_path)
    return await explanation(session, case) if case is not None else None
