"""Facts officers verify (#21 item 2): the primary facts the system computes from, the
fallback to the quantities stored by older applications, and the table of which stage
verifies what."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from domain.facts import (
    VERIFIABLE,
    ApplicantFacts,
    FactValueError,
    fact_catalogue,
    fact_values,
    inputs_to_verify,
    merge_verified,
    parse_fact_value,
    stage_inputs,
    verified_paths,
)
from domain.policy.expr import expr_facts
from domain.policy.loader import load_pack
from domain.policy.wording import fact_name, value_text

ON = date(2026, 12, 7)


def _values(raw: dict[str, object]) -> dict[str, object]:
    return fact_values(ApplicantFacts.model_validate(raw), ON, "3707")


def test_children_birth_dates_decide_raising_a_minor_child_on_the_decision_date() -> None:
    # 18 on 2026-12-08: still a minor on the 7th, not on the 9th.
    raw = {"person": {"children_birth_dates": ["2008-12-08"]}}
    assert _values(raw)["person.raising_minor_child"] is True
    facts = ApplicantFacts.model_validate(raw)
    assert fact_values(facts, date(2026, 12, 8), None)["person.raising_minor_child"] is False
    # No children: not raising one, whatever an older statement said.
    both = {"person": {"children_birth_dates": [], "raising_minor_child": True}}
    assert _values(both)["person.raising_minor_child"] is False
    # A child not yet born on the decision date does not count.
    assert (
        _values({"person": {"children_birth_dates": ["2027-01-01"]}})["person.raising_minor_child"]
        is False
    )


def test_insured_months_exclude_the_back_paid_months() -> None:
    raw = {
        "residence": {
            "local_social_insurance_months": 9,
            "local_social_insurance_back_paid_months": 4,
        }
    }
    assert _values(raw)["residence.local_social_insurance_months_excluding_back_pay"] == 5
    # The back pay unknown: the total alone decides nothing.
    only_total = {"residence": {"local_social_insurance_months": 9}}
    assert _values(only_total)["residence.local_social_insurance_months_excluding_back_pay"] is None
    with pytest.raises(ValidationError, match="exceeds"):
        ApplicantFacts.model_validate(
            {
                "residence": {
                    "local_social_insurance_months": 3,
                    "local_social_insurance_back_paid_months": 4,
                }
            }
        )


def test_residence_since_gives_the_months_resided() -> None:
    assert (
        _values({"residence": {"resided_locally_since": "2026-06-07"}})[
            "residence.resided_locally_months"
        ]
        == 6
    )


def test_facts_stored_in_the_old_shape_keep_working() -> None:
    old = {
        "person": {"raising_minor_child": True},
        "residence": {
            "local_social_insurance_months_excluding_back_pay": 7,
            "resided_locally_months": 8,
        },
    }
    values = _values(old)
    assert values["person.raising_minor_child"] is True
    assert values["residence.local_social_insurance_months_excluding_back_pay"] == 7
    assert values["residence.resided_locally_months"] == 8


def test_the_table_names_known_facts_and_stages() -> None:
    catalogue = fact_catalogue()
    for row in VERIFIABLE:
        assert row.fact in catalogue, row.fact
        assert row.stages <= {
            "acceptance",
            "initial_review",
            "home_visit",
            "review",
            "immediate_conclusion",
        }
    # Derived quantities are entered through their primary facts, never directly.
    assert "person.raising_minor_child" not in verified_paths()
    assert "person.children_birth_dates" in verified_paths()
    assert "unemployment.months_unemployed" not in verified_paths()
    # The counter does not hold social-insurance records; the home visit sees the household.
    assert "residence.local_social_insurance_months" not in stage_inputs("acceptance")
    assert "residence.local_social_insurance_months" in stage_inputs("initial_review")
    assert "household.zero_employment" in stage_inputs("home_visit")
    assert "residence.urban" in stage_inputs("acceptance")


def test_inputs_offered_are_the_unknown_facts_the_pack_reads_and_the_stage_verifies() -> None:
    pack = load_pack("jilin-2022")
    read = {
        f
        for rule in [*pack.base_conditions, *pack.categories, *pack.exclusions]
        if getattr(rule, "when", None) is not None
        for f in expr_facts(rule.when)
    }
    values = _values({"person": {"able_to_work": True}})
    offered = inputs_to_verify("acceptance", read, values)
    paths = [i.path for i in offered]
    assert "residence.urban" in paths
    assert "person.able_to_work" not in paths  # known
    assert all(i.verifies in read for i in offered)
    urban = next(i for i in offered if i.path == "residence.urban")
    assert urban.kind == "yes_no" and urban.label_zh == "城镇户籍或城镇常住"
    weifang = load_pack("weifang-2023")
    read_w = {
        f for rule in [*weifang.base_conditions, *weifang.categories] for f in expr_facts(rule.when)
    }
    review = {i.path: i for i in inputs_to_verify("initial_review", read_w, _values({}))}
    assert review["residence.local_social_insurance_back_paid_months"].unit_zh == "个月"
    assert review["person.children_birth_dates"].kind == "dates"
    assert review["person.marital_status"].kind == "choice"
    assert "divorced" in review["person.marital_status"].choices


def test_values_are_parsed_by_type_and_refused_precisely() -> None:
    assert parse_fact_value("residence.urban", True) is True
    assert parse_fact_value("residence.urban", "false") is False
    assert parse_fact_value("unemployment.registered_on", "2026-03-01") == date(2026, 3, 1)
    assert parse_fact_value("residence.local_social_insurance_months", "12") == 12
    assert parse_fact_value("economic.stable_monthly_income", 1800) == 1800.0
    assert parse_fact_value("person.children_birth_dates", "2015-01-02, 2012-05-06") == [
        date(2012, 5, 6),
        date(2015, 1, 2),
    ]
    cases = [
        ("residence.urban", "maybe", "bool_type"),
        ("residence.urban", 1, "bool_type"),
        ("unemployment.registered_on", "03/01/2026", "date_type"),
        ("residence.local_social_insurance_months", 2.5, "int_type"),
        ("residence.local_social_insurance_months", True, "int_type"),
        ("residence.local_social_insurance_months", -1, "greater_than_equal"),
        ("person.marital_status", "single", "enum"),
        ("person.children_birth_dates", ["soon"], "list_type"),
        ("person.nickname", "x", "unknown_fact"),
    ]
    for path, raw, code in cases:
        with pytest.raises(FactValueError) as refused:
            parse_fact_value(path, raw)
        assert refused.value.code == code, (path, raw)


def test_values_in_words_and_merged_into_the_stored_shape() -> None:
    assert value_text("residence.urban", True, True) == "是"
    assert value_text("person.sex", "female", True) == "女"
    assert value_text("residence.local_social_insurance_months", 12, True) == "12个月"
    assert value_text("economic.stable_monthly_income", 1800.0, False) == "1800 yuan a month"
    # Children's birth dates (a list, not a predicate fact): named and written out, none as 无.
    children = "person.children_birth_dates"
    assert fact_name(children, True) == "所抚养子女的出生日期"
    assert value_text(children, [date(2015, 1, 2), date(2019, 6, 1)], True) == (
        "2015年1月2日、2019年6月1日"
    )
    assert value_text(children, [], True) == "无"
    stored = {"person": {"name": "王芳"}, "evidence": ["id_card"]}
    merged = merge_verified(
        stored, {"residence.urban": True, "person.children_birth_dates": [date(2015, 1, 2)]}
    )
    assert merged["residence"] == {"urban": True}
    assert merged["person"] == {"name": "王芳", "children_birth_dates": ["2015-01-02"]}
    assert stored == {"person": {"name": "王芳"}, "evidence": ["id_card"]}  # not mutated


def test_a_form_says_no_children_in_words() -> None:
    assert parse_fact_value("person.children_birth_dates", "无") == []
    assert parse_fact_value("person.children_birth_dates", "2015-01-02、2016-03-04") == [
        date(2015, 1, 2),
        date(2016, 3, 4),
    ]


def test_pending_facts_are_those_of_undecided_conditions_only() -> None:
    from application.task_fields import facts_pending

    pack = load_pack("jilin-2022")
    person = {"sex": "female", "birth_date": "1978-05-04", "able_to_work": True}
    unknown_urban = _values({"person": person, "unemployment": {"registered_on": "2026-03-01"}})
    pending = facts_pending(pack, None, unknown_urban)
    assert "residence.urban" in pending
    # The age branch that cannot apply (men from 50) asks nothing: the sex is known.
    assert "person.age" not in pending and "person.sex" not in pending
    # Once a category is met and none was named, the other categories need no checking.
    urban = _values(
        {
            "person": person,
            "residence": {"urban": True},
            "unemployment": {"registered_on": "2026-03-01"},
        }
    )
    assert not {p for p in facts_pending(pack, None, urban) if p.startswith("household.")}
    # A category named: only its own open points.
    assert facts_pending(pack, "older_unemployed", unknown_urban) >= {"residence.urban"}
    assert "household.zero_employment" not in facts_pending(pack, "older_unemployed", unknown_urban)
