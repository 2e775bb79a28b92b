"""The pre-check explained for officers (资格预审说明): what :func:`domain.eligibility.assess`
decided, laid out the way an officer checks an application.

Five groups in the order of the work — 基本条件 (base conditions), 申报类别 (the category
applied for first, with its verdict and clause; other categories the facts meet as
也可能符合; the rest folded), 不予认定情形 (exclusions), 证明材料 (evidence) and 部门数据核查
(department data that contradicts what was stated). Every rule and the whole pre-check are
three-valued — 符合 / 不符合 / 待核实 — so an unknown fact is never read as a failure; each
rule keeps its clause and shows only the tests that explain its result
(:func:`domain.policy.expr.explain`: the branch of an ``any`` that can still hold, the nearest
one when none can), in plain words (:mod:`domain.policy.wording`). The same structure, with
its codes, is what the API returns to integrators.

Pure and deterministic like the assessment: the explanation is a function of the facts (with
the department findings the assessment saw), the pack and the date, so it can be rebuilt for a
case assessed before this module existed from the case's stored facts, its pinned pack and the
stored pre-check's date.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.eligibility import DecisionLine, EligibilityDecision, Verdict, assess, verdict_from
from domain.facts import ApplicantFacts
from domain.policy.expr import Expr, LeafResult, Not, explain as explain_expr
from domain.policy.model import PolicyPack, Sourced
from domain.policy.wording import fact_name, value_text

__all__ = [
    "GROUPS",
    "GroupCode",
    "PreCheckExplanation",
    "PreCheckGroup",
    "PreCheckRule",
    "PreCheckTest",
    "explain",
    "explain_decision",
]

GroupCode = Literal["base_conditions", "categories", "exclusions", "evidence", "data_check"]
# The groups in the order an officer works through them (zh, en).
GROUPS: dict[GroupCode, tuple[str, str]] = {
    "base_conditions": ("基本条件", "Basic conditions"),
    "categories": ("申报类别", "Category applied for"),
    "exclusions": ("不予认定情形", "Grounds for refusal"),
    "evidence": ("证明材料", "Supporting documents"),
    "data_check": ("部门数据核查", "Department data check"),
}
# A category's place in the 申报类别 group.
Role = Literal["requested", "also_met", "other"]
_VERDICT_WORDS: dict[Verdict, tuple[str, str]] = {
    "met": ("符合", "met"),
    "not_met": ("不符合", "not met"),
    "to_verify": ("待核实", "to be verified"),
}
# An exclusion's verdict is about the applicant's standing: met = the ground does not apply.
_EXCLUSION_WORDS: dict[Verdict, tuple[str, str]] = {
    "met": ("不属于此情形", "does not apply"),
    "not_met": ("属于此情形", "applies"),
    "to_verify": ("待核实", "to be verified"),
}
# The assessment's evidence outcomes: verdict and words (a missing paper is to be supplied,
# which leaves the conditions as they are: to_verify, not not_met).
_EVIDENCE: dict[str, tuple[Verdict, str, str]] = {
    "provided": ("met", "已提交", "handed in"),
    "by_data_sharing": ("met", "经部门信息共享核验", "confirmed by data sharing"),
    "by_commitment": ("met", "以书面诚信申报承诺代替", "the written commitment stands in"),
    "not_required": ("met", "无需提供", "not needed"),
    "missing": ("to_verify", "需补充", "to be supplied"),
    "conflict": ("to_verify", "与申报不一致", "differs from the application"),
}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class PreCheckTest(_Out):
    """One fact test that explains a rule's result: the fact path, the operator and the
    expected value (as the pack writes them), the stated value (None: unknown) and the
    test's verdict, with plain texts (年龄：48周岁（须满40周岁）)."""

    fact: str
    fact_name: str
    fact_name_en: str
    operator: str
    expected: Any
    actual: Any
    actual_text: str
    actual_text_en: str
    verdict: Verdict
    text_zh: str
    text_en: str


class PreCheckRule(_Out):
    """One rule of the pack (or one piece of evidence, one data conflict) with its verdict,
    its clause and the tests that explain it. ``outcome`` is the assessment's finer code
    (hit, missing, by_data_sharing ...); ``role`` places a category (requested, also_met,
    other); ``facts_to_verify`` lists the unknown facts that could still decide it."""

    group: GroupCode
    code: str
    name: str
    name_en: str
    clause: str
    quote: str | None = None
    assumed: bool = False
    verdict: Verdict
    outcome: str
    role: Role | None = None
    # The verdict in words for this kind of rule (符合; 不属于此情形; 需补充 ...).
    verdict_text: str
    verdict_text_en: str
    text_zh: str
    text_en: str
    tests: list[PreCheckTest] = []
    facts_to_verify: list[str] = []


class PreCheckGroup(_Out):
    """A group of rules: those to show, and ``folded`` ones (categories neither applied for nor
    met, exclusions that do not apply, evidence already settled) shown on request."""

    code: GroupCode
    name: str
    name_en: str
    verdict: Verdict | None
    rules: list[PreCheckRule]
    folded: list[PreCheckRule]


class PreCheckExplanation(_Out):
    """The explained pre-check: the overall verdict (``eligible`` as stored, ``verdict``
    three-valued), the category applied for and its verdict, and the five groups."""

    pack_id: str
    pack_ref: str
    on: date
    eligible: bool
    verdict: Verdict
    text_zh: str
    text_en: str
    requested_category: str | None
    requested_category_verdict: Verdict | None
    # The unknown facts that could still decide a shown rule, in order of the groups.
    facts_to_verify: list[str]
    groups: list[PreCheckGroup]


def _test(leaf: LeafResult) -> PreCheckTest:
    op, expected = leaf.wanted()
    return PreCheckTest(
        fact=leaf.fact,
        fact_name=fact_name(leaf.fact, True),
        fact_name_en=fact_name(leaf.fact, False),
        operator=op,
        expected=list(expected) if isinstance(expected, tuple) else expected,
        actual=leaf.actual,
        actual_text=value_text(leaf.fact, leaf.actual, True),
        actual_text_en=value_text(leaf.fact, leaf.actual, False),
        verdict=verdict_from(leaf.value),
        text_zh=leaf.explain_zh(),
        text_en=leaf.explain_en(),
    )


def _outcome(verdict: Verdict, exclusion: bool, *, manual: bool) -> str:
    """The assessment's line outcome for a rule (hit / not_hit / check for exclusions)."""
    if exclusion:
        return "check" if manual else {"met": "not_hit", "not_met": "hit"}.get(verdict, "unknown")
    return {"met": "met", "not_met": "not_met"}.get(verdict, "unknown")


def _rule(
    group: GroupCode,
    rule: Sourced,
    code: str,
    name: str,
    name_en: str,
    when: Expr | None,
    values: dict[str, Any],
    *,
    exclusion: bool = False,
    role: Role | None = None,
) -> PreCheckRule:
    if when is None:  # an exclusion without a predicate: the officer checks it by hand
        value: bool | None = None
        leaves: list[LeafResult] = []
    else:
        # An exclusion is read from the applicant's side, as what they must *not* be: its
        # tests then say 否 ✓ when it does not apply, 是（须为否）✗ when it does.
        ev = explain_expr(Not(when) if exclusion else when, values)
        value, leaves = ev.value, ev.leaves
    verdict = verdict_from(value)
    words = (_EXCLUSION_WORDS if exclusion else _VERDICT_WORDS)[verdict]
    unknown: list[str] = []
    for leaf in leaves:
        if leaf.value is None and leaf.fact not in unknown:
            unknown.append(leaf.fact)
    return PreCheckRule(
        group=group,
        code=code,
        name=name,
        name_en=name_en,
        clause=rule.citation,
        quote=rule.quote,
        assumed=rule.assumed,
        verdict=verdict,
        outcome=_outcome(verdict, exclusion, manual=when is None),
        role=role,
        verdict_text=words[0],
        verdict_text_en=words[1],
        text_zh=f"「{name}」{words[0]}",
        text_en=f"'{name_en}': {words[1]}",
        tests=[_test(leaf) for leaf in leaves],
        facts_to_verify=unknown,
    )


def _group(
    code: GroupCode, rules: list[PreCheckRule], folded: list[PreCheckRule], verdict: Verdict | None
) -> PreCheckGroup:
    return PreCheckGroup(
        code=code,
        name=GROUPS[code][0],
        name_en=GROUPS[code][1],
        verdict=verdict,
        rules=rules,
        folded=folded,
    )


def _all(verdicts: list[Verdict]) -> Verdict:
    if "not_met" in verdicts:
        return "not_met"
    return "to_verify" if "to_verify" in verdicts else "met"


def _base_group(pack: PolicyPack, values: dict[str, Any]) -> PreCheckGroup:
    rules = [
        _rule("base_conditions", b, b.code, b.name, b.name_en, b.when, values)
        for b in pack.base_conditions
    ]
    return _group("base_conditions", rules, [], _all([r.verdict for r in rules]))


def _category_group(
    pack: PolicyPack, values: dict[str, Any], requested: str | None
) -> PreCheckGroup:
    """The category applied for first; the others the facts meet (也可能符合); the rest
    folded. Without a category of the pack applied for, the ones met lead, or — none met —
    those still open (待核实), so the group never opens on a fold."""
    cats = {
        c.code: _rule("categories", c, c.code, c.name, c.name_en, c.when, values)
        for c in pack.categories
    }
    shown: list[PreCheckRule] = []
    if requested in cats:
        shown.append(cats[requested].model_copy(update={"role": "requested"}))
    also = [
        r.model_copy(update={"role": "also_met"})
        for code, r in cats.items()
        if code != requested and r.verdict == "met"
    ]
    shown += also
    if not shown:
        shown = [r for r in cats.values() if r.verdict == "to_verify"]
    shown_codes = {r.code for r in shown}
    folded = [
        r.model_copy(update={"role": "other"}) for r in cats.values() if r.code not in shown_codes
    ]
    shown = [r if r.role else r.model_copy(update={"role": "other"}) for r in shown]
    if requested in cats:
        verdict: Verdict | None = cats[requested].verdict
    else:
        found = [r.verdict for r in cats.values()]
        verdict = "met" if "met" in found else "to_verify" if "to_verify" in found else "not_met"
    return _group("categories", shown, folded, verdict if cats else None)


def _exclusion_group(pack: PolicyPack, values: dict[str, Any]) -> PreCheckGroup:
    rules = [
        _rule("exclusions", x, x.code, x.name, x.name_en, x.when, values, exclusion=True)
        for x in pack.exclusions
    ]
    return _group(
        "exclusions",
        [r for r in rules if r.verdict != "met"],
        [r for r in rules if r.verdict == "met"],
        _all([r.verdict for r in rules]),
    )


def _line_rule(group: GroupCode, line: DecisionLine, name: str, name_en: str) -> PreCheckRule:
    verdict, zh, en = _EVIDENCE.get(line.outcome, ("to_verify", "待核实", "to be verified"))
    return PreCheckRule(
        group=group,
        code=line.rule,
        name=name,
        name_en=name_en,
        clause=line.source,
        verdict=verdict,
        outcome=line.outcome,
        verdict_text=zh,
        verdict_text_en=en,
        text_zh=line.message_zh if group == "data_check" else f"「{name}」{zh}",
        text_en=line.message_en if group == "data_check" else f"'{name_en}': {en}",
    )


def _evidence_group(pack: PolicyPack, decision: EligibilityDecision) -> PreCheckGroup:
    rules: list[PreCheckRule] = []
    for line in decision.lines:
        if line.kind != "evidence":
            continue
        item = pack.evidence_item(line.rule)
        name, name_en = (item.name, item.name_en) if item else (line.rule, line.rule)
        rules.append(_line_rule("evidence", line, name, name_en))
    return _group(
        "evidence",
        [r for r in rules if r.verdict != "met"],
        [r for r in rules if r.verdict == "met"],
        _all([r.verdict for r in rules]) if rules else None,
    )


def _data_group(decision: EligibilityDecision) -> PreCheckGroup:
    """Department findings that contradict the stated facts: for the officer to settle."""
    rules = [
        _line_rule("data_check", line, fact_name(line.rule, True), fact_name(line.rule, False))
        for line in decision.lines
        if line.kind == "data_sharing"
    ]
    return _group("data_check", rules, [], "to_verify" if rules else None)


def explain_decision(
    facts: ApplicantFacts, pack: PolicyPack, decision: EligibilityDecision
) -> PreCheckExplanation:
    """The explanation of ``decision`` (an assessment of ``facts`` against ``pack``)."""
    with pack.fact_scope():
        return _explain_decision(facts, pack, decision)


def _explain_decision(
    facts: ApplicantFacts, pack: PolicyPack, decision: EligibilityDecision
) -> PreCheckExplanation:
    if pack.identification.mode == "delegated_to_city":
        groups: list[PreCheckGroup] = []
    else:
        values = pack.values_of(facts, decision.on)
        groups = [
            _base_group(pack, values),
            _category_group(pack, values, decision.requested_category),
            _exclusion_group(pack, values),
            _evidence_group(pack, decision),
            _data_group(decision),
        ]
    summary = next((ln for ln in decision.lines if ln.kind in ("summary", "pack")), None)
    words = _VERDICT_WORDS[decision.verdict]
    unknown: list[str] = []
    for g in groups:
        for r in g.rules:
            unknown += [f for f in r.facts_to_verify if f not in unknown]
    text_zh = summary.message_zh if summary else f"预审{words[0]}"
    text_en = summary.message_en if summary else f"pre-check: {words[1]}"
    failing = [
        r
        for g in groups
        if g.code in ("base_conditions", "categories", "exclusions")
        for r in g.rules
        if r.verdict == "not_met"
    ]
    if decision.verdict == "not_met" and failing:
        # Say which rules fail: the officer reads the reason first, the detail below.
        text_zh = (
            "预审不符合："
            + "；".join(f"「{r.name}」{r.verdict_text}" for r in failing)
            + "（仅供参考，由经办人员认定）"
        )
        text_en = (
            "pre-check: not met — "
            + "; ".join(f"'{r.name_en}' {r.verdict_text_en}" for r in failing)
            + " (advice only; officers decide)"
        )
    if decision.verdict == "to_verify" and unknown:
        text_zh = (
            "预审待核实：尚需核实"
            + "、".join(fact_name(f, True) for f in unknown)
            + "（仅供参考，由经办人员认定）"
        )
        text_en = (
            "pre-check: to verify — "
            + "; ".join(fact_name(f, False) for f in unknown)
            + " (advice only; officers decide)"
        )
    return PreCheckExplanation(
        pack_id=decision.pack_id,
        pack_ref=decision.pack_ref,
        on=decision.on,
        eligible=decision.eligible,
        verdict=decision.verdict,
        text_zh=text_zh,
        text_en=text_en,
        requested_category=decision.requested_category,
        requested_category_verdict=decision.requested_category_verdict,
        facts_to_verify=unknown,
        groups=groups,
    )


def explain(facts: ApplicantFacts, pack: PolicyPack, on: date) -> PreCheckExplanation:
    """Assess ``facts`` against ``pack`` on ``on`` and explain the decision."""
    return explain_decision(facts, pack, assess(facts, pack, on))
