"""Test cases beside each pack (测试用例): facts on a date, the rule they decide, its clause.

As OpenFisca keeps YAML tests beside its rules and OPA has ``opa test``, every pack has a file
``cases/<pack id>.toml`` next to it (``packs/cases/`` for the packaged ones). A case starts
from the file's ``[base]`` applicant, changes some facts, and says what the pre-check
(:func:`domain.eligibility.assess`) must find for one rule, citing that rule's clause::

    pack = "jilin-2022"
    on = 2024-06-14                     # the date the cases are decided on (a case may move it)

    [base]                              # an applicant every case starts from
    person = { sex = "male", birth_date = 1994-06-14 }

    [[cases]]
    name = "女，40周岁：大龄失业人员"
    rule = "categories.older_unemployed"     # base_conditions.X | categories.X | exclusions.X
    expect = "met"                           # met | not_met | officer_check | delegated
    clause = "吉人社发〔2022〕10号 二(一)"    # the rule's source; "assumed" for a setting
    facts = { "person.sex" = "female", "person.birth_date" = 1984-06-14 }
    unset = []                               # facts not stated (unknown)
    verdict = "met"                          # optional: the whole pre-check's verdict

:func:`check_cases` refuses a file that contradicts its pack before anything runs (an
unknown rule or fact, a clause the rule does not cite), naming file, line and field;
:func:`run_cases` decides every case; :func:`coverage` lists the rules no case tests both
ways. ``yuanzhu policy test`` prints them, and ``make test`` runs every packaged pack's cases.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.eligibility import EligibilityDecision, Verdict, assess
from domain.facts import ApplicantFacts, own_fact, set_stored_fact
from domain.policy.loader import PACKS_DIR, PolicyPackError, validation_lines
from domain.policy.model import PolicyPack, Sourced

__all__ = [
    "ASSUMED",
    "CaseResult",
    "PackCase",
    "PackCases",
    "case_facts",
    "cases_path",
    "check_cases",
    "coverage",
    "failures",
    "load_cases",
    "parse_cases",
    "run_cases",
]

ASSUMED = "assumed"  # the clause of a rule that is an administrator's setting
CASES_DIR = "cases"  # beside the pack files

Expect = Literal["met", "not_met", "officer_check", "delegated"]
# What each kind of rule can be expected to do.
_EXPECTS: dict[str, tuple[str, ...]] = {
    "base_conditions": ("met", "not_met"),
    "categories": ("met", "not_met"),
    "exclusions": ("met", "not_met", "officer_check"),
    "identification": ("delegated",),
}


class PackCase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    rule: str | None = None
    expect: Expect | None = None
    clause: str | None = None
    on: date | None = None
    facts: dict[str, Any] = {}
    unset: list[str] = []
    verdict: Verdict | None = None


class PackCases(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    pack: str
    on: date
    base: dict[str, Any] = {}
    cases: list[PackCase]


@dataclass(frozen=True)
class Loaded:
    """A cases file as read: its cases, and the line each case starts on (for messages)."""

    file: str
    cases: PackCases
    lines: tuple[int, ...]

    def where(self, index: int) -> str:
        line = self.lines[index] if index < len(self.lines) else 0
        return f"{self.file}:{line}: cases[{index}]"


@dataclass(frozen=True)
class CaseResult:
    index: int
    case: PackCase
    got: str
    verdict: Verdict
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def cases_path(pack_file: Path) -> Path:
    """Where the cases of the pack in ``pack_file`` live: ``cases/<stem>.toml`` beside it."""
    return pack_file.parent / CASES_DIR / pack_file.name


def packaged_cases_path(pack_id: str) -> Path:
    return PACKS_DIR / CASES_DIR / f"{pack_id}.toml"


def parse_cases(text: str, file: str) -> Loaded:
    """Read a cases file; :class:`PolicyPackError` naming file, line and field when malformed."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyPackError(file, [f"TOML syntax: {e}"]) from None
    lines = tuple(
        n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[cases]]"
    )
    try:
        cases = PackCases.model_validate(raw)
    except ValidationError as e:
        problems = []
        for problem in validation_lines(e):
            m = re.match(r"cases\[(\d+)\]", problem)
            at = f"{lines[int(m.group(1))]}: " if m and int(m.group(1)) < len(lines) else ""
            problems.append(at + problem)
        raise PolicyPackError(file, problems) from None
    return Loaded(file, cases, lines)


def load_cases(path: Path) -> Loaded:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyPackError(path.name, ["no test cases: file not found"]) from None
    return parse_cases(text, f"{CASES_DIR}/{path.name}")


def _rule(pack: PolicyPack, rule: str) -> Sourced | None:
    kind, _, code = rule.partition(".")
    if kind == "identification" and not code:
        return pack.identification
    items: list[Any] = getattr(pack, kind, []) if kind in _EXPECTS else []
    return next((item for item in items if item.code == code), None)


def _cites(rule: Sourced, clause: str) -> bool:
    if clause == ASSUMED:
        return rule.assumed
    return rule.source == clause


def case_facts(cases: PackCases, case: PackCase) -> ApplicantFacts:
    """The base applicant with the case's facts changed and its unstated ones removed."""
    data = copy.deepcopy(cases.base)
    changes = dict(case.facts)
    for section, values in list(data.items()):
        # The pack's own facts (in scope while it is tested) are written like the shared ones
        # in `[base]` too (person = { discharged_veteran = false }); they are kept apart.
        for name in list(values) if isinstance(values, dict) else ():
            if own_fact(f"{section}.{name}") is not None:
                changes.setdefault(f"{section}.{name}", values.pop(name))
    for path, value in changes.items():
        if own_fact(path) is not None:
            set_stored_fact(data, path, value)
            continue
        *sections, name = path.split(".")
        node = data
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    for path in case.unset:
        *sections, name = path.split(".")
        node = data
        for section in sections:
            node = node.get(section, {})
        node.pop(name, None)
    return ApplicantFacts.model_validate(data)


def check_cases(loaded: Loaded, pack: PolicyPack) -> None:
    """Refuse cases that contradict their pack before any runs: the wrong pack, a rule the
    pack does not have, an expectation the rule cannot meet, a clause the rule does not cite,
    facts the catalogue does not know. One :class:`PolicyPackError` with every problem."""
    cases, problems = loaded.cases, []
    if cases.pack != pack.id:
        problems.append(f"pack: {cases.pack!r} is not the pack tested ({pack.id!r})")
    if not cases.cases:
        problems.append("cases: no case")
    for i, case in enumerate(cases.cases):
        at = loaded.where(i)
        if case.rule is None:
            if case.verdict is None:
                problems.append(f"{at}: a case needs a `rule` and `expect`, or a `verdict`")
            if case.expect is not None or case.clause is not None:
                problems.append(f"{at}: `expect` and `clause` belong to a `rule`")
        else:
            kind = case.rule.partition(".")[0]
            rule = _rule(pack, case.rule)
            if rule is None:
                problems.append(f"{at}.rule: {pack.id} has no rule {case.rule!r}")
            elif case.expect not in _EXPECTS[kind]:
                allowed = " | ".join(_EXPECTS[kind])
                problems.append(f"{at}.expect: {case.expect!r}; a {kind} rule: {allowed}")
            elif case.clause is None:
                problems.append(f"{at}.clause: name the clause of {case.rule}")
            elif not _cites(rule, case.clause):
                problems.append(
                    f"{at}.clause: {case.rule} cites {rule.citation!r}, not {case.clause!r}"
                )
            if kind == "exclusions" and rule is not None:
                manual = getattr(rule, "when", None) is None
                if manual != (case.expect == "officer_check"):
                    problems.append(
                        f"{at}.expect: {case.rule} "
                        + (
                            "has no predicate: only officer_check"
                            if manual
                            else "has a predicate: met or not_met"
                        )
                    )
        try:
            with pack.fact_scope():
                case_facts(cases, case)
        except ValidationError as e:
            problems += [f"{at}.facts: {line}" for line in validation_lines(e)]
    if problems:
        raise PolicyPackError(loaded.file, problems)


def _outcome(decision: EligibilityDecision, rule: str) -> str:
    """What the pre-check made of ``rule``, in the words of ``expect``."""
    kind, _, code = rule.partition(".")
    if kind == "identification":
        delegated = not decision.categories_met and decision.verdict == "to_verify"
        return "delegated" if delegated else "decided"
    if kind == "base_conditions":
        return "not_met" if code in {f.rule for f in decision.base_conditions_failed} else "met"
    if kind == "categories":
        return "met" if code in {f.rule for f in decision.categories_met} else "not_met"
    if code in {f.rule for f in decision.exclusions_hit}:
        return "met"
    if code in {f.rule for f in decision.officer_checks}:
        return "officer_check"
    return "not_met"


def run_cases(loaded: Loaded, pack: PolicyPack) -> list[CaseResult]:
    """Decide every case (after :func:`check_cases`)."""
    results = []
    for i, case in enumerate(loaded.cases.cases):
        with pack.fact_scope():
            facts = case_facts(loaded.cases, case)
        decision = assess(facts, pack, case.on or loaded.cases.on)
        problems: list[str] = []
        got = "-"
        if case.rule is not None:
            got = _outcome(decision, case.rule)
            if got != case.expect:
                problems.append(f"{case.rule}: expected {case.expect}, got {got}")
            kind, _, code = case.rule.partition(".")
            # A category met by an applicant who fails a base condition tests nothing; a
            # category not met must say why; a ground that applies must refuse.
            if kind == "categories" and got == "met" and decision.base_conditions_failed:
                failed = ", ".join(f.rule for f in decision.base_conditions_failed)
                problems.append(f"base conditions fail ({failed}): the case tests nothing")
            if kind == "categories" and got == "not_met":
                why = next((f for f in decision.categories_not_met if f.rule == code), None)
                if why is None or not (why.reasons_zh and why.reasons_en):
                    problems.append(f"{case.rule}: not met without a reason given")
            if kind == "exclusions" and got == "met" and decision.eligible:
                problems.append(f"{case.rule} applies, yet the pre-check finds eligible")
        if case.verdict is not None and decision.verdict != case.verdict:
            problems.append(f"verdict: expected {case.verdict}, got {decision.verdict}")
        results.append(CaseResult(i, case, got, decision.verdict, problems))
    return results


def coverage(loaded: Loaded, pack: PolicyPack) -> list[str]:
    """The rules no case tests both ways: each base condition, category and exclusion with a
    predicate met in one case and not met in another; each exclusion without one listed for
    the officer; a pack that delegates identification shown to delegate."""
    seen: dict[str, set[str]] = {}
    for case in loaded.cases.cases:
        if case.rule is not None and case.expect is not None:
            seen.setdefault(case.rule, set()).add(case.expect)
    wanted: dict[str, set[str]] = {}
    for kind in ("base_conditions", "categories", "exclusions"):
        for item in getattr(pack, kind):
            manual = kind == "exclusions" and item.when is None
            wanted[f"{kind}.{item.code}"] = {"officer_check"} if manual else {"met", "not_met"}
    if pack.identification.mode == "delegated_to_city":
        wanted["identification"] = {"delegated"}
    gaps = []
    for rule, expects in wanted.items():
        if missing := expects - seen.get(rule, set()):
            gaps.append(f"{rule}: no case where it is {' or '.join(sorted(missing))}")
    return gaps


def failures(loaded: Loaded, pack: PolicyPack, results: list[CaseResult]) -> list[str]:
    """One line per problem of a run (``results`` of :func:`run_cases`): each failed case's,
    where it is in the file, then each rule no case covers (:func:`coverage`)."""
    return [f"{loaded.where(r.index)}: {problem}" for r in results for problem in r.problems] + [
        f"{loaded.file}: not covered: {gap}" for gap in coverage(loaded, pack)
    ]
