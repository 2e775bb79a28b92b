"""The eligibility pre-check: the one-time notice lists all missing evidence at once, data
sharing replaces paper and a written commitment stands in where the pack allows it (Weifang
二(一)), requested categories, unknown facts, delegated packs, data conflicts, and hypothesis
properties (deterministic; ``eligible`` implies no exclusion and no failed base condition)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from domain.eligibility import EligibilityDecision, assess
from domain.facts import ApplicantFacts, fact_catalogue
from domain.policy.loader import load_pack
from tests.domain.test_policy_packs import ON, applicant

WF = "潍人社字〔2023〕1号"
JL = "吉人社发〔2022〕10号"


def _missing(d: EligibilityDecision) -> list[str]:
    return [m.code for m in d.evidence_missing]


def test_one_time_notice_lists_all_three_missing_pieces_at_once() -> None:
    # 吉林: common papers handed in; laid off + disabled + 低保 each need their own proof.
    facts = applicant(
        "jilin-2022",
        {
            "unemployment.laid_off_from_state_enterprise": True,
            "person.disability_certificate": True,
            "household.minimum_living_allowance": True,
            "unemployment.unemployed_since": "2023-01-01",
            "evidence": [
                "application_form",
                "id_card",
                "household_register_or_urban_residence_proof",
            ],
        },
    )
    d = assess(facts, load_pack("jilin-2022"), ON)
    assert d.eligible
    assert _missing(d) == [
        "termination_proof",
        "disability_certificate",
        "minimum_living_allowance_proof",
    ]
    by = {m.code: m for m in d.evidence_missing}
    assert by["termination_proof"].required_by == ["laid_off"]
    assert by["termination_proof"].source == JL + " 二(一)1"
    assert all(not m.written_commitment_may_replace for m in d.evidence_missing)
    assert not d.written_commitment_can_stand_in and not d.evidence_complete
    lines = [ln for ln in d.lines if ln.kind == "evidence" and ln.outcome == "missing"]
    assert [ln.rule for ln in lines] == _missing(d)


def test_requested_category_limits_the_evidence_to_that_category() -> None:
    facts = applicant(
        "jilin-2022",
        {
            "unemployment.laid_off_from_state_enterprise": True,
            "person.disability_certificate": True,
            "requested_category": "disabled",
        },
    )
    d = assess(facts, load_pack("jilin-2022"), ON)
    assert d.requested_category_met is True
    assert "termination_proof" not in _missing(d)
    assert "disability_certificate" in _missing(d)
    assert _missing(d)[:3] == [
        "application_form",
        "id_card",
        "household_register_or_urban_residence_proof",
    ]


def test_requested_category_not_met_or_unknown() -> None:
    pack = load_pack("jilin-2022")
    d = assess(applicant("jilin-2022", {"requested_category": "disabled"}), pack, ON)
    assert d.requested_category_met is False and not d.eligible
    d = assess(applicant("jilin-2022", {"requested_category": "nope"}), pack, ON)
    assert d.requested_category_met is False
    assert any(ln.kind == "requested_category" and ln.outcome == "not_applicable" for ln in d.lines)


def test_weifang_written_commitment_stands_in_for_missing_paper() -> None:
    pack = load_pack("weifang-2023")
    overrides: dict[str, Any] = {"person.disability_certificate": True}
    without = assess(applicant("weifang-2023", overrides), pack, ON)
    assert _missing(without) == [
        "id_card",
        "household_register_or_residence_permit",
        "disability_certificate",
    ]
    assert without.written_commitment_can_stand_in  # 二(一) allows it for every paper
    assert not without.evidence_complete
    assert all(m.data_sharing_can_replace for m in without.evidence_missing)

    signed = assess(applicant("weifang-2023", {**overrides, "written_commitment": True}), pack, ON)
    assert signed.eligible and signed.evidence_complete and signed.written_commitment_can_stand_in
    assert all(m.covered_by_commitment for m in signed.evidence_missing)
    line = next(ln for ln in signed.lines if ln.rule == "disability_certificate")
    assert line.outcome == "by_commitment" and line.source == WF + " 二(一)"


def test_weifang_data_sharing_replaces_paper() -> None:
    facts = applicant(
        "weifang-2023",
        {
            "person.disability_certificate": True,
            "data_sharing": [
                {
                    "source": "残联",
                    "fact": "person.disability_certificate",
                    "value": True,
                    "checked_on": "2024-06-13",
                },
                {
                    "source": "公安",
                    "fact": "residence.hukou_region_code",
                    "value": "370702",
                    "checked_on": "2024-06-13",
                },
            ],
        },
    )
    d = assess(facts, load_pack("weifang-2023"), ON)
    assert _missing(d) == ["id_card"]
    line = next(ln for ln in d.lines if ln.rule == "disability_certificate")
    assert line.outcome == "by_data_sharing" and "残联" in line.message_zh


def test_a_negative_data_finding_does_not_replace_paper_and_is_flagged() -> None:
    facts = applicant(
        "weifang-2023",
        {
            "person.disability_certificate": True,
            "data_sharing": [
                {
                    "source": "残联",
                    "fact": "person.disability_certificate",
                    "value": False,
                    "checked_on": "2024-06-13",
                }
            ],
        },
    )
    d = assess(facts, load_pack("weifang-2023"), ON)
    assert "disability_certificate" in _missing(d)
    conflict = next(ln for ln in d.lines if ln.outcome == "conflict")
    assert conflict.rule == "person.disability_certificate" and conflict.source == "残联"


def test_jilin_paper_cannot_be_replaced_by_a_commitment() -> None:
    facts = applicant(
        "jilin-2022", {"person.disability_certificate": True, "written_commitment": True}
    )
    d = assess(facts, load_pack("jilin-2022"), ON)
    assert not d.written_commitment_can_stand_in and not d.evidence_complete
    assert not any(m.covered_by_commitment for m in d.evidence_missing)


def test_evidence_only_required_when_it_applies() -> None:
    pack = load_pack("weifang-2023")
    unmarried = applicant(
        "weifang-2023", {"person.marital_status": "unmarried", "person.raising_minor_child": True}
    )
    d = assess(unmarried, pack, ON)
    assert [f.rule for f in d.categories_met] == ["single_parent"]
    assert "divorce_or_widowhood_proof" not in _missing(d)
    divorced = applicant(
        "weifang-2023", {"person.marital_status": "divorced", "person.raising_minor_child": True}
    )
    assert "divorce_or_widowhood_proof" in _missing(assess(divorced, pack, ON))


def test_xinyu_4050_needs_no_category_evidence() -> None:
    facts = applicant("xinyu-2023", {"person.sex": "female", "person.birth_date": "1980-01-01"})
    d = assess(facts, load_pack("xinyu-2023"), ON)
    assert [f.rule for f in d.categories_met] == ["age_4050"]
    assert _missing(d) == ["application_form", "id_card_or_household_register", "employment_card"]


def test_unknown_facts_fail_base_conditions_and_say_which() -> None:
    d = assess(ApplicantFacts(), load_pack("jilin-2022"), ON)
    assert not d.eligible
    assert {f.rule for f in d.base_conditions_failed} == {
        "residence",
        "working_age",
        "able_to_work",
        "willing_to_work",
        "registered_unemployed",
    }
    working = next(f for f in d.base_conditions_failed if f.rule == "working_age")
    assert working.unknown_facts == ["person.within_working_age"]
    assert {f.rule for f in d.officer_checks} == {
        "labour_relation",
        "business_or_officer",
        "stable_income",
        "other",
    }
    assert not d.exclusions_hit


def test_exclusion_hit_and_base_failure_make_it_not_eligible() -> None:
    pack = load_pack("jilin-2022")
    hit = assess(
        applicant(
            "jilin-2022",
            {"person.disability_certificate": True, "economic.has_labour_relation": True},
        ),
        pack,
        ON,
    )
    assert hit.categories_met and hit.exclusions_hit and not hit.eligible
    assert hit.exclusions_hit[0].reasons_en
    moved = assess(
        applicant(
            "jilin-2022",
            {"person.disability_certificate": True, "residence.hukou_region_code": "110101"},
        ),
        pack,
        ON,
    )
    assert [f.rule for f in moved.base_conditions_failed] == ["residence"]
    assert not moved.eligible


def test_delegated_pack_gives_a_not_applicable_decision() -> None:
    d = assess(applicant("shandong-2021"), load_pack("shandong-2021"), ON)
    assert not d.eligible
    assert [(ln.kind, ln.outcome) for ln in d.lines] == [("pack", "not_applicable")]


def test_every_line_cites_its_rule_and_the_decision_is_json() -> None:
    for pack_id in ("weifang-2023", "jilin-2022", "xinyu-2023", "qingxin-2024"):
        d = assess(
            applicant(pack_id, {"person.disability_certificate": True}), load_pack(pack_id), ON
        )
        assert d.eligible
        for ln in d.lines:
            assert ln.rule and ln.source and ln.message_zh and ln.message_en
        data = json.loads(d.model_dump_json())
        assert EligibilityDecision.model_validate(data) == d
        assert data["pack_ref"] == load_pack(pack_id).ref
    qx = assess(
        applicant("qingxin-2024", {"person.disability_certificate": True}),
        load_pack("qingxin-2024"),
        ON,
    )
    assert qx.categories_met[0].assumed
    assert qx.categories_met[0].source.startswith("assumed: ")


# --- properties ------------------------------------------------------------------------------

_HUKOU = st.sampled_from(["220102", "370702", "360502", "441803", "110101", "440106"])


def _value(spec_type: str, choices: tuple[str, ...], path: str) -> st.SearchStrategy[Any]:
    if path == "residence.hukou_region_code":
        return st.none() | _HUKOU
    if path in ("person.id_number",):
        return st.none()
    if spec_type == "bool":
        return st.none() | st.booleans()
    if spec_type == "int":
        return st.none() | st.integers(0, 240)
    if spec_type == "float":
        return st.none() | st.floats(0, 20000, allow_nan=False)
    if spec_type == "date":
        return st.none() | st.dates(date(1950, 1, 1), date(2024, 12, 31)).map(str)
    if spec_type == "enum":
        return st.none() | st.sampled_from(choices)
    return st.none() | st.just("x")


def _facts_strategy() -> st.SearchStrategy[ApplicantFacts]:
    sections: dict[str, dict[str, st.SearchStrategy[Any]]] = {}
    for path, spec in fact_catalogue().items():
        if spec.derived:
            continue
        section, name = path.split(".", 1)
        sections.setdefault(section, {})[name] = _value(spec.type, spec.choices, path)
    top: dict[str, st.SearchStrategy[Any]] = {
        s: st.fixed_dictionaries(fields) for s, fields in sections.items()
    }
    top["written_commitment"] = st.booleans()
    top["evidence"] = st.lists(
        st.sampled_from(["id_card", "application_form", "disability_certificate"]), max_size=3
    )
    top["requested_category"] = st.none() | st.sampled_from(["disabled", "older_unemployed"])
    return st.fixed_dictionaries(top).map(_back_pay_within_total).map(ApplicantFacts.model_validate)


def _back_pay_within_total(raw: dict[str, Any]) -> dict[str, Any]:
    """Back-paid months are part of the insured months (the model refuses more)."""
    r = raw["residence"]
    total, back = r["local_social_insurance_months"], r["local_social_insurance_back_paid_months"]
    if total is not None and back is not None and back > total:
        r["local_social_insurance_back_paid_months"] = total
    return raw


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=_facts_strategy(),
    pack_id=st.sampled_from(["weifang-2023", "jilin-2022", "xinyu-2023", "qingxin-2024"]),
    on=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
)
def test_decisions_are_deterministic_and_consistent(
    facts: ApplicantFacts, pack_id: str, on: date
) -> None:
    pack = load_pack(pack_id)
    first = assess(facts, pack, on)
    again = assess(ApplicantFacts.model_validate_json(facts.model_dump_json()), pack, on)
    assert first == again
    assert first.model_dump_json() == again.model_dump_json()
    if first.eligible:
        assert not first.exclusions_hit and not first.base_conditions_failed
        assert first.categories_met
    met = {f.rule for f in first.categories_met}
    not_met = {f.rule for f in first.categories_not_met}
    assert not met & not_met and met | not_met == {c.code for c in pack.categories}
    if first.evidence_complete and first.evidence_missing:
        assert first.written_commitment_can_stand_in and facts.written_commitment
    assert first.lines[-1].kind == "summary"
