"""The questions of an application (申请须填写的事项): which stated facts a policy pack needs.

:func:`application_questions` walks what a pack's pre-check reads for one applicant — the base
conditions (基本条件), the exclusions (不予认定情形) and, once the applicant has chosen one, the
category applied for (申报类别) with the conditions of its evidence — and turns every fact path
into the facts an applicant *states*. A derived fact is asked through the facts it is computed
from (:data:`domain.facts.DERIVED_FROM`: 连续失业月数 from the unemployment and registration
dates, 户籍在本地 from the hukou answer); what the ID number already tells (date of birth, sex,
hence age and working age) and what the office holds (the local minimum wage, the local
average income) are never asked (:data:`NOT_ASKED`). The public form and the API's questions
endpoint both come through here, so an integrator's form asks what ours asks.
:func:`answer_problems` holds the checks across answers that no single field's type can make
(a date in the future, a registration date while "not registered"), in English and Chinese,
for the API and the page alike. Pure: no clock (pass ``today``), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain.facts import (
    FACT_NAMES,
    ApplicantFacts,
    FactType,
    fact_catalogue,
    own_fact,
    sources_of,
    stated_facts,
    stated_value,
    unit_of,
)
from domain.policy.expr import expr_facts
from domain.policy.model import PolicyPack

__all__ = [
    "FOLLOWS",
    "NOT_ASKED",
    "AnswerProblem",
    "Question",
    "QuestionGroup",
    "answer_problems",
    "application_questions",
]

QuestionGroup = Literal["base_condition", "exclusion", "category"]

# Stated facts an applicant is not asked, and why.
NOT_ASKED: dict[str, str] = {
    # GB 11643: the ID number carries the date of birth and the sex (domain.facts.Person).
    "person.birth_date": "from the ID number",
    "person.sex": "from the ID number",
    # Defaults from the sex; an officer corrects it for a woman cadre (女干部, 55).
    "person.retirement_category": "defaults from the sex; the officer corrects it",
    # Asked as 户籍在本地 (hukou_local), which derive_facts prefers to the region code.
    "residence.hukou_region_code": "asked as residence.hukou_local",
    "economic.local_minimum_wage": "held by the office",
    "household.local_average_annual_income_per_capita": "held by the office",
}

# Asked together with a fact a rule reads: registering as unemployed has a date, from which
# the months of unemployment count when no unemployment date is stated (derive_facts).
ASKED_WITH: dict[str, tuple[str, ...]] = {
    "unemployment.registered": ("unemployment.registered_on",),
}

# Questions that only matter after a "yes" to another (asked all the same: a form without
# JavaScript shows every question; the form says when to answer them).
FOLLOWS: dict[str, str] = {
    "unemployment.registered_on": "unemployment.registered",
    "economic.stable_monthly_income": "economic.has_stable_income",
}


@dataclass(frozen=True)
class Question:
    """One stated fact to ask: its path in :class:`~domain.facts.ApplicantFacts`, its type and
    choices (enum facts), its wording and unit in both languages, the part of the pre-check it
    serves (``group``) and the pack rules that read it (``rules``, ``base_condition:residence``
    style)."""

    path: str
    type: FactType
    label_zh: str
    label_en: str
    group: QuestionGroup
    rules: tuple[str, ...]
    choices: tuple[str, ...] = ()
    unit_zh: str = ""
    unit_en: str = ""
    # The yes/no question whose "yes" this one follows (FOLLOWS), when it is asked too.
    follows: str | None = None
    # A fact the pack declares for itself: the answer goes in ``pack_facts`` under ``path``.
    pack_fact: bool = False


def _stated_sources(path: str) -> list[str]:
    """The stated facts behind a predicate fact path, minus those never asked."""
    spec = fact_catalogue().get(path)
    # A derived fact without sources here is asked through nothing: the officer establishes
    # it (and the test on DERIVED_FROM fails).
    sources = list(sources_of(path)) if spec is None or spec.derived else [path]
    out: list[str] = []
    for s in sources:
        own = own_fact(s)
        if s in NOT_ASKED or (own is not None and not own.asked):
            continue
        for p in (s, *ASKED_WITH.get(s, ())):
            if p not in out:
                out.append(p)
    return out


def application_questions(pack: PolicyPack, category: str | None = None) -> list[Question]:
    """The stated facts ``pack``'s pre-check needs from an applicant, each once, in the order
    the pack reads them: base conditions, exclusions, then the ``category`` applied for (its
    predicate and the conditions of its evidence). An unknown or absent category adds none. A
    pack that leaves identification to its cities needs nothing. The pack's own facts
    (``[[facts]]``) are asked like the shared ones, unless the pack says only an officer can
    know them."""
    with pack.fact_scope():
        return _questions(pack, category)


def _questions(pack: PolicyPack, category: str | None) -> list[Question]:
    if pack.identification.mode != "by_categories":
        return []
    reads: list[tuple[QuestionGroup, str, list[str]]] = []
    for b in pack.base_conditions:
        reads.append(("base_condition", f"base_condition:{b.code}", expr_facts(b.when)))
    for x in pack.exclusions:
        if x.when is not None:
            reads.append(("exclusion", f"exclusion:{x.code}", expr_facts(x.when)))
    chosen = pack.category(category) if category else None
    if chosen is not None:
        reads.append(("category", f"category:{chosen.code}", expr_facts(chosen.when)))
        for code in chosen.evidence:
            item = pack.evidence_item(code)
            if item is not None and item.required_when is not None:
                reads.append(("category", f"evidence:{item.code}", expr_facts(item.required_when)))
    order: list[str] = []
    groups: dict[str, QuestionGroup] = {}
    rules: dict[str, list[str]] = {}
    for group, rule, paths in reads:
        for fact in paths:
            for path in _stated_sources(fact):
                if path not in rules:
                    order.append(path)
                    groups[path] = group
                    rules[path] = []
                if rule not in rules[path]:
                    rules[path].append(rule)
    specs = stated_facts()
    out: list[Question] = []
    for path in order:
        spec = specs[path]
        zh, en = FACT_NAMES.get(path, (spec.label_zh, spec.label_en))
        unit_zh, unit_en = unit_of(path)
        out.append(
            Question(
                path=path,
                type=spec.type,
                label_zh=zh,
                label_en=en,
                group=groups[path],
                rules=tuple(rules[path]),
                choices=spec.choices,
                unit_zh=unit_zh,
                unit_en=unit_en,
                follows=FOLLOWS[path] if FOLLOWS.get(path) in rules else None,
                pack_fact=own_fact(path) is not None,
            )
        )
    return out


@dataclass(frozen=True)
class AnswerProblem:
    """An answer that contradicts another or the calendar, on the fact ``path``."""

    path: str
    code: str
    message: str
    message_zh: str


def answer_problems(facts: ApplicantFacts, today: date) -> list[AnswerProblem]:
    """What is wrong across an application's answers: a stated date after ``today`` (nobody
    registers or leaves school in the future) and a registration date while the applicant
    says they are not registered. Every stated date fact is checked, asked or not (a pack's
    own dates too, when its facts are in scope)."""
    out: list[AnswerProblem] = []
    for path, spec in stated_facts().items():
        if spec.type != "date" or path == "person.birth_date":
            # The birth date is the ID number's, whose own check refuses a future one.
            continue
        value = stated_value(facts, path)
        if isinstance(value, date) and value > today:
            out.append(
                AnswerProblem(
                    path,
                    "date-in-future",
                    f"{value.isoformat()} is after today ({today.isoformat()})",
                    f"不能晚于今天（{today.isoformat()}）",
                )
            )
    u = facts.unemployment
    if u.registered is False and u.registered_on is not None:
        out.append(
            AnswerProblem(
                "unemployment.registered_on",
                "registration-date-without-registration",
                "a registration date is given but registered is false",
                "填写了失业登记日期，但选择了未办理失业登记",
            )
        )
    return out
