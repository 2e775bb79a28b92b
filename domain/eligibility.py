"""The eligibility pre-check (资格预审): applicant facts + policy pack + date → a decision.

:func:`assess` evaluates every base condition (基本条件), exclusion (不予认定情形) and category
(认定类别) of a :class:`~domain.policy.model.PolicyPack` over :class:`~domain.facts.ApplicantFacts`
on a given date, and lists *all* evidence still missing at once, for the one-time notice
(一次性告知): the common papers, those of the base conditions and those of the categories met
(or of the requested category, 申报类别, when the applicant named one). Each missing item says
whether department data sharing (部门信息共享) can replace the paper and whether a signed
written commitment (诚信申报承诺) may stand in. Every line of the decision cites the rule and
the clause it comes from. The result is advice for the officer — identification stays a human
decision — and it is deterministic: no clock, no I/O, the same inputs give the same decision.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.facts import ApplicantFacts, DataFinding, fact_catalogue
from domain.policy.expr import Evaluation, LeafResult, evaluate, explain
from domain.policy.model import Evidence, PolicyPack, Sourced
from domain.policy.wording import fact_name, value_text

__all__ = [
    "DecisionLine",
    "EligibilityDecision",
    "Finding",
    "MissingEvidence",
    "Verdict",
    "assess",
    "pre_check_summary",
    "replacing_finding",
    "still_missing",
    "verdict_from",
    "verdict_of",
]

# Three-valued, as an officer reads it: 符合 / 不符合 / 待核实 (a rule over a fact nobody has
# established yet is to verify, never failed).
Verdict = Literal["met", "not_met", "to_verify"]

LineKind = Literal[
    "pack",
    "base_condition",
    "exclusion",
    "category",
    "requested_category",
    "evidence",
    "data_sharing",
    "summary",
]
Outcome = Literal[
    "met",
    "not_met",
    "unknown",
    "hit",
    "not_hit",
    "check",
    "provided",
    "by_data_sharing",
    "by_commitment",
    "missing",
    "not_required",
    "conflict",
    "not_applicable",
    "eligible",
    "not_eligible",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class DecisionLine(_Out):
    """One explained step of the decision; ``source`` is the clause (or the assumed setting)."""

    kind: LineKind
    rule: str
    source: str
    outcome: Outcome
    message_zh: str
    message_en: str


class Finding(_Out):
    """A rule's result with its citation and why (failed tests, facts not stated)."""

    rule: str
    name: str
    name_en: str
    source: str
    quote: str | None = None
    assumed: bool = False
    reasons_zh: list[str] = []
    reasons_en: list[str] = []
    unknown_facts: list[str] = []


class MissingEvidence(_Out):
    """One piece of evidence not handed in on paper and not confirmed by data sharing."""

    code: str
    name: str
    name_en: str
    required_by: list[str]
    source: str
    data_sharing_can_replace: bool
    data_facts: list[str] = []
    written_commitment_may_replace: bool
    # The applicant signed the commitment and this item allows it.
    covered_by_commitment: bool


class EligibilityDecision(_Out):
    """The pre-check result. ``eligible``: every base condition met, no exclusion hit and at
    least one category met (a pre-check only; officers decide)."""

    pack_id: str
    pack_ref: str
    on: date
    eligible: bool
    # ``eligible`` three-valued: not_met only when a base condition fails, an exclusion
    # applies or every category fails; to_verify while an unknown fact could still decide.
    verdict: Verdict
    categories_met: list[Finding]
    categories_not_met: list[Finding]
    base_conditions_failed: list[Finding]
    exclusions_hit: list[Finding]
    # Exclusions an officer must check by hand (no predicate, or facts not stated).
    officer_checks: list[Finding]
    requested_category: str | None
    requested_category_met: bool | None
    # The requested category three-valued (None when none was named).
    requested_category_verdict: Verdict | None
    evidence_missing: list[MissingEvidence]
    # Missing evidence exists and every missing item allows a written commitment.
    written_commitment_can_stand_in: bool
    # Nothing missing, or everything missing is covered by the signed commitment.
    evidence_complete: bool
    lines: list[DecisionLine]


# The pre-check's timeline sentence per verdict (web/timeline.py renders them in English).
PRE_CHECK_SUMMARY: dict[Verdict, str] = {
    "met": "预审：符合条件",
    "not_met": "预审：不符合条件",
    "to_verify": "预审：待核实",
}


def still_missing(decision: EligibilityDecision) -> list[MissingEvidence]:
    """The papers the one-time notice asks for: missing, and not covered by the signed
    commitment."""
    return [m for m in decision.evidence_missing if not m.covered_by_commitment]


def pre_check_summary(decision: EligibilityDecision) -> str:
    """The pre-check in one line, as the timeline and the officer's task show it."""
    met = decision.categories_met
    missing = still_missing(decision)
    return (
        # Three-valued, as the pre-check reads (#21): an unknown fact is 待核实, never
        # 不符合. Older entries ("存在不符合项或待核实事项") stay as written.
        PRE_CHECK_SUMMARY[decision.verdict]
        + (f"；符合类别 {'、'.join(f.name for f in met)}" if met else "")
        + (f"；缺少材料 {'、'.join(m.name for m in missing)}" if missing else "")
    )


def _finding(
    rule: Sourced,
    code: str,
    name: str,
    name_en: str,
    ev: Evaluation | None,
    *,
    explain: Literal["failed", "true", "unknown"],
) -> Finding:
    reasons: list[LeafResult] = []
    if ev is not None:
        wanted: dict[str, tuple[bool | None, ...]] = {
            "failed": (False, None),
            "true": (True,),
            "unknown": (None,),
        }
        reasons = [leaf for leaf in ev.leaves if leaf.value in wanted[explain]]
    return Finding(
        rule=code,
        name=name,
        name_en=name_en,
        source=rule.citation,
        quote=rule.quote,
        assumed=rule.assumed,
        reasons_zh=[leaf.explain_zh() for leaf in reasons],
        reasons_en=[leaf.explain_en() for leaf in reasons],
        unknown_facts=ev.unknown_facts if ev is not None else [],
    )


def _why(f: Finding, zh: bool) -> str:
    reasons = f.reasons_zh if zh else f.reasons_en
    return ("：" if zh else ": ") + ("；" if zh else "; ").join(reasons) if reasons else ""


def replacing_finding(ev: Evidence, findings: list[DataFinding]) -> DataFinding | None:
    """The department data finding that stands in for ``ev``'s paper (weifang 二(一)): the
    first that confirms one of the item's ``data_facts`` (a value that is neither unknown nor
    false); None when none does or the pack does not let data sharing replace this paper."""
    if not ev.data_sharing_replaces_paper:
        return None
    for f in findings:
        if f.fact in ev.data_facts and f.value is not None and f.value is not False:
            return f
    return None


def _same(stated: Any, found: Any) -> bool:
    if isinstance(stated, date) and isinstance(found, str):
        return stated.isoformat() == found
    if isinstance(stated, int | float) and isinstance(found, int | float):
        return float(stated) == float(found) and isinstance(stated, bool) == isinstance(found, bool)
    return bool(stated == found)


class _Lines(list[DecisionLine]):
    """The decision's explained steps, in the order they were taken."""

    def add(
        self, kind: LineKind, rule: str, source: str, outcome: Outcome, zh: str, en: str
    ) -> None:
        self.append(
            DecisionLine(
                kind=kind, rule=rule, source=source, outcome=outcome, message_zh=zh, message_en=en
            )
        )


def assess(facts: ApplicantFacts, pack: PolicyPack, on: date) -> EligibilityDecision:
    """Pre-check ``facts`` against ``pack`` on ``on`` (see the module docstring)."""
    with pack.fact_scope():
        return _assess(facts, pack, on)


def _assess(facts: ApplicantFacts, pack: PolicyPack, on: date) -> EligibilityDecision:
    if pack.identification.mode == "delegated_to_city":
        return _delegated(facts, pack, on)
    lines = _Lines()
    values = pack.values_of(facts, on)
    base: dict[str, bool | None] = {}
    base_failed = _base_conditions(pack, values, lines, base)  # 1.
    hit, checks = _exclusions(pack, values, lines)  # 2.
    cats: dict[str, bool | None] = {}
    met, not_met = _categories(pack, values, lines, cats)  # 3.
    requested_met = _requested_category(pack, facts.requested_category, cats, lines)
    required = _required_evidence(pack, facts.requested_category, met)  # 4.
    missing = _missing_evidence(pack, facts, values, required, lines)
    _conflicts(facts, values, lines)  # 5.

    eligible = not base_failed and not hit and bool(met)
    verdict = verdict_of(list(base.values()), bool(hit), list(cats.values()))
    requested = facts.requested_category
    lines.add(
        "summary",
        "pre_check",
        pack.source.number,
        _SUMMARY_OUTCOME[verdict],
        {
            "met": "预审符合就业困难人员认定条件",
            "not_met": "预审不符合就业困难人员认定条件",
            "to_verify": "预审待核实：尚有未确定的事实",
        }[verdict]
        + "（仅供参考，由经办人员认定）",
        {
            "met": "pre-check: eligible",
            "not_met": "pre-check: not eligible",
            "to_verify": "pre-check: facts to verify",
        }[verdict]
        + " (advice only; officers decide)",
    )
    return EligibilityDecision(
        pack_id=pack.id,
        pack_ref=pack.ref,
        on=on,
        eligible=eligible,
        verdict=verdict,
        categories_met=met,
        categories_not_met=not_met,
        base_conditions_failed=base_failed,
        exclusions_hit=hit,
        officer_checks=checks,
        requested_category=facts.requested_category,
        requested_category_met=requested_met,
        requested_category_verdict=(
            None
            if requested is None
            else "not_met"
            if pack.category(requested) is None
            else verdict_from(cats.get(requested))
        ),
        evidence_missing=missing,
        written_commitment_can_stand_in=bool(missing)
        and all(m.written_commitment_may_replace for m in missing),
        evidence_complete=all(m.covered_by_commitment for m in missing),
        lines=list(lines),
    )


def _delegated(facts: ApplicantFacts, pack: PolicyPack, on: date) -> EligibilityDecision:
    """A provincial pack that leaves the conditions to its cities decides nothing."""
    lines = _Lines()
    lines.add(
        "pack",
        "identification",
        pack.identification.citation,
        "not_applicable",
        f"{pack.name}不规定认定条件，由设区的市统一规定；请使用市级政策包",
        f"{pack.id} delegates identification to the cities; use a city pack",
    )
    return EligibilityDecision(
        pack_id=pack.id,
        pack_ref=pack.ref,
        on=on,
        eligible=False,
        verdict="to_verify",
        categories_met=[],
        categories_not_met=[],
        base_conditions_failed=[],
        exclusions_hit=[],
        officer_checks=[],
        requested_category=facts.requested_category,
        requested_category_met=None,
        requested_category_verdict=None,
        evidence_missing=[],
        written_commitment_can_stand_in=False,
        evidence_complete=False,
        lines=list(lines),
    )


_SUMMARY_OUTCOME: dict[Verdict, Outcome] = {
    "met": "eligible",
    "not_met": "not_eligible",
    "to_verify": "unknown",
}


def verdict_from(value: bool | None) -> Verdict:
    """A three-valued result as a verdict: true met, false not met, unknown to verify."""
    return "met" if value is True else "not_met" if value is False else "to_verify"


def verdict_of(
    base: list[bool | None], exclusion_hit: bool, categories: list[bool | None]
) -> Verdict:
    """The overall verdict, three-valued like the rules: not_met once a base condition fails,
    an exclusion applies or every category fails; met when ``eligible`` would be (every base
    condition met, no exclusion applies, a category met — exclusions still unknown stay the
    officer's checks, as for ``eligible``); else to_verify."""
    if any(v is False for v in base) or exclusion_hit or all(v is False for v in categories):
        return "not_met"
    if all(v is True for v in base) and any(v is True for v in categories):
        return "met"
    return "to_verify"


def _base_conditions(
    pack: PolicyPack, values: dict[str, Any], lines: _Lines, results: dict[str, bool | None]
) -> list[Finding]:
    """1. The base conditions not met, unknown included (``eligible`` needs each established);
    ``results`` gets each condition's three-valued result."""
    failed: list[Finding] = []
    for b in pack.base_conditions:
        ev = explain(b.when, values)
        results[b.code] = ev.value
        f = _finding(b, b.code, b.name, b.name_en, ev, explain="failed")
        if ev.value is True:
            lines.add(
                "base_condition",
                b.code,
                b.citation,
                "met",
                f"符合基本条件「{b.name}」",
                f"meets base condition '{b.name_en}'",
            )
        else:
            failed.append(f)
            lines.add(
                "base_condition",
                b.code,
                b.citation,
                "not_met" if ev.value is False else "unknown",
                f"不符合基本条件「{b.name}」{_why(f, True)}"
                if ev.value is False
                else f"基本条件「{b.name}」待核实{_why(f, True)}",
                f"fails base condition '{b.name_en}'{_why(f, False)}"
                if ev.value is False
                else f"base condition '{b.name_en}' to be verified{_why(f, False)}",
            )
    return failed


def _exclusions(
    pack: PolicyPack, values: dict[str, Any], lines: _Lines
) -> tuple[list[Finding], list[Finding]]:
    """2. The exclusions hit and those for the officer to check: hit only when the predicate
    is true; unknown or manual (no predicate) → officer check."""
    hit: list[Finding] = []
    checks: list[Finding] = []
    for x in pack.exclusions:
        if x.when is None:
            checks.append(_finding(x, x.code, x.name, x.name_en, None, explain="true"))
            lines.add(
                "exclusion",
                x.code,
                x.citation,
                "check",
                f"请经办人员核实是否属于「{x.name}」",
                f"officer to check '{x.name_en}'",
            )
            continue
        ev = explain(x.when, values)
        if ev.value is True:
            f = _finding(x, x.code, x.name, x.name_en, ev, explain="true")
            hit.append(f)
            lines.add(
                "exclusion",
                x.code,
                x.citation,
                "hit",
                f"属于不予认定情形「{x.name}」{_why(f, True)}",
                f"exclusion applies: '{x.name_en}'{_why(f, False)}",
            )
        elif ev.value is None:
            f = _finding(x, x.code, x.name, x.name_en, ev, explain="unknown")
            checks.append(f)
            lines.add(
                "exclusion",
                x.code,
                x.citation,
                "unknown",
                f"不予认定情形「{x.name}」待核实{_why(f, True)}",
                f"exclusion '{x.name_en}' unknown; officer to check{_why(f, False)}",
            )
        else:
            lines.add(
                "exclusion",
                x.code,
                x.citation,
                "not_hit",
                f"不属于不予认定情形「{x.name}」",
                f"exclusion '{x.name_en}' does not apply",
            )
    return hit, checks


def _categories(
    pack: PolicyPack, values: dict[str, Any], lines: _Lines, results: dict[str, bool | None]
) -> tuple[list[Finding], list[Finding]]:
    """3. The categories met and not met (unknown included); ``results`` gets each one's
    three-valued result."""
    met: list[Finding] = []
    not_met: list[Finding] = []
    for c in pack.categories:
        ev = explain(c.when, values)
        results[c.code] = ev.value
        if ev.value is True:
            met.append(_finding(c, c.code, c.name, c.name_en, ev, explain="true"))
            lines.add(
                "category",
                c.code,
                c.citation,
                "met",
                f"符合认定类别「{c.name}」",
                f"meets category '{c.name_en}'",
            )
        else:
            f = _finding(c, c.code, c.name, c.name_en, ev, explain="failed")
            not_met.append(f)
            lines.add(
                "category",
                c.code,
                c.citation,
                "not_met" if ev.value is False else "unknown",
                f"不符合认定类别「{c.name}」{_why(f, True)}"
                if ev.value is False
                else f"认定类别「{c.name}」待核实{_why(f, True)}",
                f"does not meet category '{c.name_en}'{_why(f, False)}"
                if ev.value is False
                else f"category '{c.name_en}' to be verified{_why(f, False)}",
            )
    return met, not_met


def _requested_category(
    pack: PolicyPack, requested: str | None, cats: dict[str, bool | None], lines: _Lines
) -> bool | None:
    """Whether the category the applicant named (申报类别) is met (false also while unknown:
    see ``requested_category_verdict``); None when none was named."""
    if requested is None:
        return None
    cat = pack.category(requested)
    if cat is None:
        lines.add(
            "requested_category",
            requested,
            pack.source.number,
            "not_applicable",
            f"申报类别「{requested}」不是本政策包的认定类别",
            f"requested category {requested!r} is not a category of {pack.id}",
        )
        return False
    value = cats.get(requested)
    lines.add(
        "requested_category",
        requested,
        cat.citation,
        "met" if value is True else "not_met" if value is False else "unknown",
        f"申报类别「{cat.name}」{ {True: '符合', False: '不符合', None: '待核实'}[value] }",
        f"requested category '{cat.name_en}' "
        + {True: "is met", False: "is not met", None: "to be verified"}[value],
    )
    return value is True


def _required_evidence(
    pack: PolicyPack, requested: str | None, met: list[Finding]
) -> dict[str, list[str]]:
    """4. The evidence asked for, all at once (一次性告知), each with what requires it: the
    common papers, the base conditions' and the requested category's (or, when none of the
    pack's was named, those of every category met)."""
    required: dict[str, list[str]] = {}

    def need(codes: list[str], by: str) -> None:
        for code in codes:
            required.setdefault(code, [])
            if by not in required[code]:
                required[code].append(by)

    need(pack.common_evidence, "common")
    for b in pack.base_conditions:
        need(b.evidence, b.code)
    cat = pack.category(requested) if requested is not None else None
    if cat is not None:
        need(cat.evidence, cat.code)
    else:
        for f in met:
            c2 = pack.category(f.rule)
            if c2 is not None:
                need(c2.evidence, c2.code)
    return required


def _missing_evidence(
    pack: PolicyPack,
    facts: ApplicantFacts,
    values: dict[str, Any],
    required: dict[str, list[str]],
    lines: _Lines,
) -> list[MissingEvidence]:
    """The required evidence neither needless here, handed in nor confirmed by data sharing."""
    missing: list[MissingEvidence] = []
    for code, by in required.items():
        item = pack.evidence_item(code)
        if item is None:  # pragma: no cover - the pack model rejects unknown codes
            continue
        if item.required_when is not None and evaluate(item.required_when, values).value is False:
            lines.add(
                "evidence",
                code,
                item.citation,
                "not_required",
                f"无需提供「{item.name}」",
                f"'{item.name_en}' not needed in this case",
            )
            continue
        if code in facts.evidence:
            lines.add(
                "evidence",
                code,
                item.citation,
                "provided",
                f"已提交「{item.name}」",
                f"'{item.name_en}' handed in",
            )
            continue
        finding = replacing_finding(item, facts.data_sharing)
        if finding is not None:
            lines.add(
                "evidence",
                code,
                item.replacement_source or item.citation,
                "by_data_sharing",
                f"「{item.name}」经部门信息共享核验（{finding.source}），无需纸质材料",
                f"'{item.name_en}' confirmed by data sharing ({finding.source}); no paper",
            )
            continue
        covered = facts.written_commitment and item.written_commitment_may_replace
        missing.append(
            MissingEvidence(
                code=code,
                name=item.name,
                name_en=item.name_en,
                required_by=by,
                source=item.citation,
                data_sharing_can_replace=item.data_sharing_replaces_paper,
                data_facts=item.data_facts,
                written_commitment_may_replace=item.written_commitment_may_replace,
                covered_by_commitment=covered,
            )
        )
        _missing_line(item, covered, lines)
    return missing


def _missing_line(item: Evidence, covered: bool, lines: _Lines) -> None:
    """The line of an item not handed in: covered by the signed commitment, or to supply
    (saying how else it may be met)."""
    if covered:
        lines.add(
            "evidence",
            item.code,
            item.replacement_source or item.citation,
            "by_commitment",
            f"「{item.name}」未提供，以书面诚信申报承诺代替",
            f"'{item.name_en}' not handed in; the written commitment stands in",
        )
        return
    extra_zh = "（可通过部门信息共享核验）" if item.data_sharing_replaces_paper else ""
    extra_en = " (data sharing may confirm it)" if item.data_sharing_replaces_paper else ""
    if item.written_commitment_may_replace:
        extra_zh += "（无法提供的可作书面诚信申报承诺）"
        extra_en += " (a written commitment may stand in)"
    lines.add(
        "evidence",
        item.code,
        item.citation,
        "missing",
        f"需补充「{item.name}」{extra_zh}",
        f"missing: '{item.name_en}'{extra_en}",
    )


def _conflicts(facts: ApplicantFacts, values: dict[str, Any], lines: _Lines) -> None:
    """5. Data-sharing findings that contradict the stated facts: lines for the officer."""
    catalogue = fact_catalogue()
    for fnd in facts.data_sharing:
        stated = values.get(fnd.fact)
        if stated is not None and fnd.value is not None and not _same(stated, fnd.value):
            found = _date_or(fnd.value) if catalogue[fnd.fact].type == "date" else fnd.value
            name_zh, name_en = fact_name(fnd.fact, True), fact_name(fnd.fact, False)
            lines.add(
                "data_sharing",
                fnd.fact,
                fnd.source,
                "conflict",
                f"部门数据（{fnd.source}）显示{name_zh}为{value_text(fnd.fact, found, True)}，"
                f"与申报的{value_text(fnd.fact, stated, True)}不一致",
                f"department data ({fnd.source}) gives {name_en}: "
                f"{value_text(fnd.fact, found, False)}; the application states "
                f"{value_text(fnd.fact, stated, False)}",
            )


def _date_or(value: Any) -> Any:
    """A finding's ISO date as a date (to word it like the stated one)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value
