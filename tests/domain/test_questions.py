"""The questions of an application (domain/questions.py), over every pack that exists: each
fact a rule reads is asked, derived from what is asked, or known without asking; answering
every question decides every rule but those needing office-held figures; the category
chosen changes the questions; cross-answer checks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.facts import DERIVED_FROM, ApplicantFacts, fact_catalogue, fact_values, stated_facts
from domain.policy.expr import evaluate, expr_facts
from domain.policy.loader import load_all
from domain.policy.model import PolicyPack
from domain.questions import (
    NOT_ASKED,
    AnswerProblem,
    answer_problems,
    application_questions,
)

PACKS = load_all()
DECIDING = {p: pack for p, pack in PACKS.items() if pack.identification.mode == "by_categories"}
CASES = [(p, c.code) for p, pack in DECIDING.items() for c in pack.categories]
OFFICE_HELD = {p for p, why in NOT_ASKED.items() if why == "held by the office"}
ON = date(2026, 6, 1)
# A woman of 45 (born 1981-03-15): the ID number answers age, sex and working age.
ID_NUMBER = "110101198103150022"


def test_every_derived_fact_says_what_it_is_computed_from() -> None:
    derived = {p for p, s in fact_catalogue().items() if s.derived}
    assert derived == set(DERIVED_FROM), "a derived fact without its sources in DERIVED_FROM"
    stated = stated_facts()
    for path, sources in DERIVED_FROM.items():
        assert sources and all(s in stated for s in sources), path
    assert all(p in stated for p in NOT_ASKED)


@pytest.mark.parametrize(("pack_id", "category"), CASES)
def test_questions_are_stated_facts_each_once(pack_id: str, category: str) -> None:
    questions = application_questions(DECIDING[pack_id], category)
    paths = [q.path for q in questions]
    assert len(paths) == len(set(paths))
    stated = stated_facts()
    for q in questions:
        assert q.path in stated and q.path not in NOT_ASKED and q.rules
        assert q.label_zh and q.label_en and q.type == stated[q.path].type
        assert q.choices == stated[q.path].choices
    # The conditions every applicant must meet are asked whatever the category.
    assert {"residence.hukou_local", "person.able_to_work", "person.willing_to_work"} <= set(paths)
    assert "unemployment.registered" in paths and "unemployment.registered_on" in paths


def _answer(path: str, type_: str, choices: tuple[str, ...]) -> Any:
    """An answer to every question: yes to the base conditions, no to the rest."""
    if type_ == "bool":
        return path in (
            "residence.hukou_local",
            "person.able_to_work",
            "person.willing_to_work",
            "unemployment.registered",
        )
    if type_ == "date":
        return "2025-03-01"
    if type_ in ("int", "float"):
        return 12
    if type_ == "enum":
        return choices[0]
    return "x"


def _answered(pack: PolicyPack, category: str) -> ApplicantFacts:
    data: dict[str, Any] = {"person": {"id_number": ID_NUMBER}, "requested_category": category}
    for q in application_questions(pack, category):
        section, name = q.path.split(".", 1)
        data.setdefault(section, {})[name] = _answer(q.path, q.type, q.choices)
    return ApplicantFacts.model_validate(data)


def _needs_office(facts_read: list[str]) -> bool:
    return any(set(DERIVED_FROM.get(f, ())) & OFFICE_HELD for f in facts_read)


@pytest.mark.parametrize(("pack_id", "category"), CASES)
def test_answering_every_question_decides_the_rules(pack_id: str, category: str) -> None:
    pack = DECIDING[pack_id]
    values = fact_values(_answered(pack, category), ON, pack.hukou_prefix)
    chosen = pack.category(category)
    assert chosen is not None
    rules = [(f"base_condition:{b.code}", b.when) for b in pack.base_conditions]
    rules += [(f"exclusion:{x.code}", x.when) for x in pack.exclusions if x.when is not None]
    rules.append((f"category:{category}", chosen.when))
    for rule, when in rules:
        result = evaluate(when, values).value
        if result is None:
            # Only a comparison with a figure the office holds may stay open.
            assert _needs_office(expr_facts(when)), f"{pack_id} {rule} still unknown"


@pytest.mark.parametrize("pack_id", sorted(DECIDING))
def test_the_category_chosen_changes_the_questions(pack_id: str) -> None:
    pack = DECIDING[pack_id]
    common = [q.path for q in application_questions(pack)]
    assert application_questions(pack, "no_such_category") == application_questions(pack)
    differs = False
    for c in pack.categories:
        own = [q for q in application_questions(pack, c.code) if q.path not in common]
        assert all(q.group == "category" for q in own)
        assert all(
            f"category:{c.code}" in q.rules or q.rules[0].startswith("evidence:") for q in own
        )
        differs |= bool(own)
    assert differs, f"{pack_id}: no category asks anything of its own"


def test_jilin_older_unemployed_asks_urban_and_the_unemployment_date() -> None:
    pack = PACKS["jilin-2022"]
    older = {q.path: q for q in application_questions(pack, "older_unemployed")}
    assert older["residence.urban"].group == "category"
    assert "unemployment.unemployed_since" in older
    # Age and sex come from the ID number, the minimum wage from the office.
    assert not {"person.sex", "person.birth_date", "economic.local_minimum_wage"} & set(older)
    # The registration date and the monthly income follow a yes to their question.
    assert older["unemployment.registered_on"].follows == "unemployment.registered"
    assert older["economic.stable_monthly_income"].follows == "economic.has_stable_income"
    assert older["unemployment.registered"].follows is None
    disabled = {q.path for q in application_questions(pack, "disabled")}
    assert "person.disability_certificate" in disabled
    assert "person.disability_certificate" not in older


def test_weifang_single_parent_asks_the_marital_status_with_its_choices() -> None:
    questions = {q.path: q for q in application_questions(PACKS["weifang-2023"], "single_parent")}
    status = questions["person.marital_status"]
    assert status.type == "enum" and "divorced" in status.choices
    # Durations are asked as the date they count from; counts with their unit.
    assert questions["residence.resided_locally_since"].type == "date"
    assert questions["residence.local_social_insurance_months"].unit_zh == "个月"


def test_a_pack_leaving_identification_to_its_cities_asks_nothing() -> None:
    for pack in PACKS.values():
        if pack.identification.mode != "by_categories":
            assert application_questions(pack) == []


def test_answer_problems_name_the_fact_in_both_languages() -> None:
    facts = ApplicantFacts.model_validate(
        {
            "unemployment": {"registered": False, "registered_on": "2026-06-02"},
            "graduate": {"left_school_on": "2026-05-01"},
        }
    )
    problems = answer_problems(facts, ON)
    assert [(p.path, p.code) for p in problems] == [
        ("unemployment.registered_on", "date-in-future"),
        ("unemployment.registered_on", "registration-date-without-registration"),
    ]
    assert problems[0].message_zh == "不能晚于今天（2026-06-01）"
    assert isinstance(problems[1], AnswerProblem) and "未办理失业登记" in problems[1].message_zh
    assert answer_problems(ApplicantFacts(), ON) == []
