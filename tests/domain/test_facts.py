"""Applicant facts: ID-number derivation and errors, derived facts on a date (age, working age,
months unemployed, local hukou, income tests), the application form's record-only facts
(telephone, hukou address, employment wishes), the fact catalogue, and the published JSON
Schema staying equal to the model."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.facts import (
    CHOICE_NAMES,
    EMPLOYMENT_INTENTIONS,
    RECORD_ONLY,
    ApplicantFacts,
    DataFinding,
    applicant_facts_json_schema,
    applicant_facts_json_schema_text,
    completed_months,
    derive_facts,
    fact_catalogue,
    fact_values,
    format_validation_error,
    stated_facts,
)
from domain.ids import check_digit

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "domain" / "applicant_facts.schema.json"


def resident_id(region: str, born: date, seq: str) -> str:
    body = f"{region}{born:%Y%m%d}{seq}"
    return body + check_digit(body)


def test_birth_date_and_sex_come_from_the_id_number() -> None:
    number = resident_id("220102", date(1984, 6, 14), "002")  # even sequence digit: female
    facts = ApplicantFacts.model_validate({"person": {"id_number": number}})
    assert facts.person.birth_date == date(1984, 6, 14)
    assert facts.person.sex == "female"
    assert facts.person.id_number == number


def test_id_number_is_normalised_lower_case_x_and_spaces() -> None:
    number = "11010519491231002X"
    facts = ApplicantFacts.model_validate({"person": {"id_number": "110105 19491231 002x"}})
    assert facts.person.id_number == number


def test_invalid_id_number_is_an_error_on_person_id_number_with_the_id_module_message() -> None:
    good = resident_id("220102", date(1984, 6, 14), "002")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        ApplicantFacts.model_validate({"person": {"id_number": bad}})
    lines = format_validation_error(exc.value)
    assert lines == [f"person.id_number: check digit is {bad[17]} but should be {good[17]}"]


def test_birth_date_contradicting_the_id_number_is_rejected() -> None:
    number = resident_id("220102", date(1984, 6, 14), "002")
    with pytest.raises(ValidationError) as exc:
        ApplicantFacts.model_validate({"person": {"id_number": number, "birth_date": "1984-06-15"}})
    assert "does not match the ID number" in format_validation_error(exc.value)[0]
    with pytest.raises(ValidationError):
        ApplicantFacts.model_validate({"person": {"id_number": number, "sex": "male"}})


def test_unknown_keys_are_rejected_with_their_path() -> None:
    with pytest.raises(ValidationError) as exc:
        ApplicantFacts.model_validate({"person": {"agee": 40}})
    assert format_validation_error(exc.value) == ["person.agee: Extra inputs are not permitted"]


def test_data_finding_fact_must_be_a_known_path() -> None:
    DataFinding(
        source="残联", fact="person.disability_certificate", value=True, checked_on=date(2024, 6, 1)
    )
    with pytest.raises(ValidationError, match="unknown fact path"):
        DataFinding(
            source="残联", fact="person.disability", value=True, checked_on=date(2024, 6, 1)
        )


def test_phone_is_stored_normalised_and_a_bad_one_is_explained() -> None:
    facts = ApplicantFacts.model_validate({"person": {"phone": "138 1234 5678"}})
    assert facts.person.phone == "13812345678"
    landline = ApplicantFacts.model_validate({"person": {"phone": "05361234567"}})
    assert landline.person.phone == "0536-1234567"
    with pytest.raises(ValidationError) as exc:
        ApplicantFacts.model_validate({"person": {"phone": "1381234567"}})
    assert format_validation_error(exc.value) == [
        "person.phone: the telephone number must be a mobile number of 11 digits starting "
        "13-19, or a landline with its area code such as 0536-1234567"
    ]


def test_the_applicants_name_is_a_bounded_visible_line() -> None:
    """#20 §6: the API took a 100,000-character name and names with a right-to-left override
    or a zero-width space (two names that look alike); the rule is domain/text.py's."""
    person = ApplicantFacts.model_validate({"person": {"name": "  张\t三 "}}).person
    assert person.name == "张 三"
    ApplicantFacts.model_validate({"person": {"name": "名" * 50}})
    for bad, words in (
        ("名" * 51, "at most 50 characters, not 51"),
        ("名" * 100_000, "at most 50 characters"),
        ("张三\u202egpj.exe", "direction marks"),
        ("张\u200b三", "invisible characters"),
        ("张\u0007三", "control characters"),
    ):
        with pytest.raises(ValidationError) as exc:
            ApplicantFacts.model_validate({"person": {"name": bad}})
        [message] = format_validation_error(exc.value)
        assert message.startswith("person.name: ") and words in message, message


def test_hukou_address_is_plain_bounded_text() -> None:
    facts = ApplicantFacts.model_validate(
        {"residence": {"hukou_address": "  山东省潍坊市\t潍城区\n城关街道 胜利街 12 号  "}}
    )
    # Pasted tabs and line breaks are one space; the ends are stripped.
    assert facts.residence.hukou_address == "山东省潍坊市 潍城区 城关街道 胜利街 12 号"
    assert (
        ApplicantFacts.model_validate(
            {"residence": {"hukou_address": "  "}}
        ).residence.hukou_address
        is None
    )
    with pytest.raises(ValidationError) as exc:
        ApplicantFacts.model_validate({"residence": {"hukou_address": "胜利街\x00 12 号"}})
    assert format_validation_error(exc.value) == [
        "residence.hukou_address: must not contain control characters, direction marks or "
        "invisible characters"
    ]
    ApplicantFacts.model_validate({"residence": {"hukou_address": "街" * 100}})
    with pytest.raises(ValidationError, match="at most 100 characters, not 101"):
        ApplicantFacts.model_validate({"residence": {"hukou_address": "街" * 101}})


def test_employment_intentions_are_the_seed_forms_choices_each_once() -> None:
    assert EMPLOYMENT_INTENTIONS == (
        "job_referral",
        "training",
        "entrepreneurship_service",
        "public_welfare_post",
        "flexible_employment",
        "other",
    )
    # The names the form and the 认定表 print are the seed's (新余 认定申请表).
    assert [CHOICE_NAMES[c][0] for c in EMPLOYMENT_INTENTIONS] == [
        "就业推荐",
        "就业（创业）培训",
        "创业服务",
        "公益性岗位安置",
        "灵活就业（社会保险补贴）",
        "其他",
    ]
    facts = ApplicantFacts.model_validate(
        {
            "person": {
                "employment_intentions": ["training", "other"],
                "employment_intentions_other": " 家政服务 ",
            }
        }
    )
    assert facts.person.employment_intentions == ["training", "other"]
    assert facts.person.employment_intentions_other == "家政服务"
    with pytest.raises(ValidationError) as exc:
        ApplicantFacts.model_validate(
            {"person": {"employment_intentions": ["training", "training"]}}
        )
    assert format_validation_error(exc.value) == [
        "person.employment_intentions: each intention at most once: training repeated"
    ]
    with pytest.raises(ValidationError):
        ApplicantFacts.model_validate({"person": {"employment_intentions": ["gardening"]}})
    with pytest.raises(ValidationError, match="'other' is not among"):
        ApplicantFacts.model_validate(
            {
                "person": {
                    "employment_intentions": ["training"],
                    "employment_intentions_other": "家政服务",
                }
            }
        )


def test_an_employment_wish_is_willingness_to_work() -> None:
    wishes = ApplicantFacts.model_validate({"person": {"employment_intentions": ["job_referral"]}})
    assert wishes.person.willing_to_work is True
    assert ApplicantFacts().person.willing_to_work is None  # no wish ticked: not stated
    with pytest.raises(ValidationError, match="willing_to_work is false"):
        ApplicantFacts.model_validate(
            {"person": {"employment_intentions": ["job_referral"], "willing_to_work": False}}
        )


@pytest.mark.parametrize(
    ("start", "on", "months"),
    [
        (date(2024, 1, 14), date(2024, 6, 14), 5),
        (date(2024, 1, 14), date(2024, 6, 13), 4),
        (date(2023, 6, 14), date(2024, 6, 14), 12),
        (date(2023, 6, 15), date(2024, 6, 14), 11),
        (date(2024, 1, 31), date(2024, 2, 29), 1),  # no 31 February: the last day counts
        (date(2024, 1, 31), date(2024, 2, 28), 0),
        (date(2024, 6, 14), date(2024, 6, 14), 0),
        (date(2024, 6, 15), date(2024, 6, 14), None),
    ],
)
def test_completed_months(start: date, on: date, months: int | None) -> None:
    assert completed_months(start, on) == months


def test_derived_facts_on_a_date() -> None:
    on = date(2024, 6, 14)
    facts = ApplicantFacts.model_validate(
        {
            "person": {"sex": "female", "birth_date": "1984-06-14"},
            "residence": {"hukou_region_code": "370702"},
            "unemployment": {"registered_on": "2023-06-14"},
            "graduate": {"left_school_on": "2022-06-15"},
            "economic": {"stable_monthly_income": 2200, "local_minimum_wage": 2200},
            "household": {
                "annual_income_per_capita": 4000,
                "local_average_annual_income_per_capita": 8000,
            },
        }
    )
    d = derive_facts(facts, on, "3707")
    assert d["person.age"] == 40
    assert d["person.within_working_age"] is True
    assert d["person.retirement_date"] > on
    # No unemployed_since: registration date is the start (潍坊 一(七) "或自主登记失业之日起").
    assert d["unemployment.months_unemployed"] == 12
    assert d["graduate.years_since_leaving"] == 1
    assert d["residence.hukou_in_jurisdiction"] is True
    assert derive_facts(facts, on, "22")["residence.hukou_in_jurisdiction"] is False
    # "不低于" and "50%以下" both include the boundary.
    assert d["economic.income_at_least_minimum_wage"] is True
    assert d["household.income_at_most_half_local_average"] is True


def test_unknown_inputs_give_unknown_derived_facts() -> None:
    d = derive_facts(ApplicantFacts(), date(2024, 6, 14), "22")
    assert set(d.values()) == {None}


def test_explicit_hukou_local_wins_over_the_region_code() -> None:
    facts = ApplicantFacts.model_validate(
        {"residence": {"hukou_region_code": "110101", "hukou_local": True}}
    )
    assert derive_facts(facts, date(2024, 6, 14), "22")["residence.hukou_in_jurisdiction"]


def test_no_stable_income_means_income_test_false_not_unknown() -> None:
    facts = ApplicantFacts.model_validate({"economic": {"has_stable_income": False}})
    d = derive_facts(facts, date(2024, 6, 14), "22")
    assert d["economic.income_at_least_minimum_wage"] is False


def test_working_age_ends_on_the_retirement_date() -> None:
    # A man born 1964-06-14 retires at 60 on 2024-06-14 (before the 2025 reform).
    on = date(2024, 6, 14)
    at = ApplicantFacts.model_validate({"person": {"sex": "male", "birth_date": "1964-06-14"}})
    before = ApplicantFacts.model_validate({"person": {"sex": "male", "birth_date": "1964-06-15"}})
    assert derive_facts(at, on, None)["person.within_working_age"] is False
    assert derive_facts(before, on, None)["person.within_working_age"] is True
    cadre = ApplicantFacts.model_validate(
        {
            "person": {
                "sex": "female",
                "birth_date": "1974-01-01",
                "retirement_category": "female_55",
            }
        }
    )
    assert derive_facts(cadre, on, None)["person.within_working_age"] is True


def test_fact_catalogue_lists_stated_and_derived_facts_with_types() -> None:
    cat = fact_catalogue()
    assert cat["person.age"].derived and cat["person.age"].type == "int"
    assert cat["person.marital_status"].type == "enum"
    assert set(cat["person.marital_status"].choices) == {
        "married",
        "unmarried",
        "divorced",
        "widowed",
    }
    assert cat["person.retirement_category"].choices == ("male_60", "female_55", "female_50")
    assert cat["unemployment.registered_on"].type == "date"
    assert cat["household.annual_income_per_capita"].type == "float"
    assert "evidence" not in cat and "data_sharing" not in cat
    values = fact_values(ApplicantFacts(), date(2024, 6, 14), "22")
    assert set(values) == set(cat)
    # The form's record-only facts are stated facts no predicate or finding may name.
    assert "person.employment_intentions" not in cat
    assert {
        "person.phone",
        "person.employment_intentions_other",
        "residence.hukou_address",
    } == RECORD_ONLY
    assert not RECORD_ONLY & set(cat)
    stated = stated_facts()
    assert set(stated) >= RECORD_ONLY and stated["person.phone"].type == "str"
    assert stated["person.phone"].label_zh == "联系电话"
    # Quantities computed from primary facts (falling back to the stated quantity of older
    # applications) are derived facts under the stated path.
    fallback = {
        "person.raising_minor_child",
        "residence.resided_locally_months",
        "residence.local_social_insurance_months_excluding_back_pay",
    }
    assert {p for p, s in cat.items() if not s.derived} == set(stated) - RECORD_ONLY - fallback
    assert all(cat[p].derived for p in fallback) and fallback <= set(stated)
    with pytest.raises(ValidationError, match="unknown fact path"):
        DataFinding(source="公安", fact="person.phone", value="x", checked_on=date(2024, 6, 1))


def test_published_json_schema_equals_the_model() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == applicant_facts_json_schema_text(), (
        "domain/applicant_facts.schema.json is stale; regenerate with: .venv/bin/python -c "
        '"from domain.facts import applicant_facts_json_schema_text as t; '
        "open('domain/applicant_facts.schema.json', 'w', encoding='utf-8').write(t())\""
    )


def test_json_schema_describes_sections_and_derived_facts() -> None:
    schema = applicant_facts_json_schema()
    assert set(schema["properties"]) >= {
        "person",
        "residence",
        "unemployment",
        "household",
        "land",
        "graduate",
        "economic",
        "evidence",
        "data_sharing",
        "written_commitment",
        "requested_category",
    }
    assert "person.age" in schema["x-derived-facts"]
    json.dumps(schema)  # serialisable
