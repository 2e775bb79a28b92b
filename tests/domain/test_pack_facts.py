"""A pack's own facts (``[[facts]]``, #23 item 2): a document's fact the shared catalogue
lacks is declared as data and then read like any other — by predicates and pack cases, the
questions, the pre-check's words, the officer's verification inputs and the stored facts —
while a broken declaration is refused with its field, and a pack without own facts (the five
seeds) hashes as before."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from domain.facts import (
    ApplicantFacts,
    fact_catalogue,
    fact_values,
    inputs_to_verify,
    merge_verified,
    pack_fact_problems,
    parse_fact_value,
    stage_inputs,
)
from domain.policy import cases as pack_cases
from domain.policy.authoring import skeleton
from domain.policy.loader import PolicyPackError, load_all, load_pack_file
from domain.questions import application_questions
from tests.api.test_pack_facts import veteran_pack


@pytest.fixture
def pack_file(tmp_path: Path) -> Path:
    pack, cases = veteran_pack()
    (tmp_path / "cases").mkdir()
    (tmp_path / "testland-2026.toml").write_text(pack, encoding="utf-8")
    (tmp_path / "cases" / "testland-2026.toml").write_text(cases, encoding="utf-8")
    return tmp_path / "testland-2026.toml"


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "testland-2026.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyPackError) as e:
        load_pack_file(path)
    return str(e.value)


def test_own_facts_are_read_like_shared_ones(pack_file: Path) -> None:
    pack = load_pack_file(pack_file)
    loaded = pack_cases.load_cases(pack_cases.cases_path(pack_file))
    results = pack_cases.run_cases(loaded, pack)
    assert [r.problems for r in results] == [[]] * 7
    assert pack_cases.coverage(loaded, pack) == []

    # Outside the pack's scope the catalogue is the shared one.
    assert "person.discharged_veteran" not in fact_catalogue()
    with pack.fact_scope():
        catalogue = fact_catalogue()
        assert catalogue["person.discharged_veteran"].label_zh == "退役军人"
        assert catalogue["unemployment.latest_registered_on.months_since"].derived
        facts = ApplicantFacts.model_validate(
            {
                "pack_facts": {
                    "unemployment.latest_registered_on": "2025-06-30",
                    "unemployment.insurance_months": 12,
                }
            }
        )
        values = fact_values(facts, date(2026, 1, 1), pack.hukou_prefix)
        assert values["unemployment.latest_registered_on"] == date(2025, 6, 30)
        assert values["unemployment.latest_registered_on.months_since"] == 6
        assert values["unemployment.insurance_months"] == 12
        assert values["person.discharged_veteran"] is None  # not stated: unknown

        # Verified by the stages the pack names, entered by their type.
        offered = inputs_to_verify("acceptance", catalogue, values)
        assert [(i.path, i.kind) for i in offered if i.path.count(".") == 1][-1] == (
            "person.discharged_veteran",
            "yes_no",
        )
        assert "person.discharged_veteran" in stage_inputs("review")
        assert "unemployment.insurance_months" not in stage_inputs("acceptance")
        assert parse_fact_value("person.discharged_veteran", "true") is True
        merged = merge_verified(facts.model_dump(mode="json"), {"person.discharged_veteran": True})
        assert merged["pack_facts"]["person.discharged_veteran"] is True
        assert "discharged_veteran" not in merged.get("person", {})

        wrong = ApplicantFacts.model_validate(
            {"pack_facts": {"unemployment.insurance_months": "many", "person.pilot": True}}
        )
        assert pack_fact_problems(wrong) == [
            ("unemployment.insurance_months", "must be a whole number", "int_type"),
            ("person.pilot", "not a fact of this place's policy", "unknown_fact"),
        ]


def test_questions_ask_own_facts_by_name_unless_only_an_officer_knows(pack_file: Path) -> None:
    pack = load_pack_file(pack_file)
    asked = {q.path: q for q in application_questions(pack, "veteran")}
    assert asked["person.discharged_veteran"].label_zh == "退役军人"
    assert asked["person.discharged_veteran"].pack_fact
    assert asked["unemployment.latest_registered_on"].type == "date"
    assert "unemployment.insurance_months" not in asked  # asked = false
    assert not any(q.pack_fact for q in application_questions(pack, "older_unemployed"))


def test_a_broken_declaration_is_refused_with_its_field(tmp_path: Path) -> None:
    pack, _ = veteran_pack()
    shared = pack.replace('path = "person.discharged_veteran"', 'path = "person.able_to_work"')
    assert "line 69: facts[0]: path: 'person.able_to_work' is a fact every pack shares" in (
        refused(tmp_path, shared)
    )
    twice = pack.replace(
        'path = "unemployment.insurance_months"', 'path = "person.discharged_veteran"'
    ).replace('unit = "个月"\nunit_en = "months"\n', "")
    assert "facts: duplicate fact 'person.discharged_veteran'" in refused(tmp_path, twice)
    bad_evidence = pack.replace(
        'type = "bool"\nname = "退役军人"', 'type = "bool"\nname = "退役军人"\nevidence = ["dd214"]'
    )
    assert "facts[0].evidence[0]: unknown evidence code 'dd214'" in refused(tmp_path, bad_evidence)
    unit_on_bool = pack.replace(
        'type = "bool"\nname = "退役军人"', 'type = "bool"\nunit = "个"\nname = "退役军人"'
    )
    assert "only a number fact has a unit" in refused(tmp_path, unit_on_bool)
    # A predicate naming a fact nobody declares is still an unknown fact, with its line.
    undeclared = pack.replace(
        '{ fact = "person.discharged_veteran", is = true }',
        '{ fact = "person.astronaut", is = true }',
    )
    message = refused(tmp_path, undeclared)
    assert "unknown fact path 'person.astronaut'" in message and "line " in message


def test_a_pack_without_own_facts_hashes_as_before() -> None:
    # The canonical JSON of a pack with no own facts has no "facts" key at all, so the refs
    # pinned by running cases (and the stored replay histories) still verify.
    for seed in load_all().values():
        assert not seed.facts
        assert "facts" not in json.loads(seed.canonical_json())


def test_a_child_pack_inherits_and_replaces_own_facts(pack_file: Path, tmp_path: Path) -> None:
    child = tmp_path / "testland-2027.toml"
    child.write_text(
        """id = "testland-2027"
version = "1"
extends = "testland-2026"

[[facts]]
path = "person.discharged_veteran"
type = "bool"
name = "退役军人（含复员干部）"
name_en = "discharged veteran or demobilised cadre"
source = "（文号） 二"
quote = "复员干部"
""",
        encoding="utf-8",
    )
    pack = load_pack_file(child)  # the parent is found beside it
    names = {f.path: f.name for f in pack.facts}
    assert names["person.discharged_veteran"] == "退役军人（含复员干部）"
    assert "unemployment.insurance_months" in names


# --- dated amounts -----------------------------------------------------------------------

WAGE = """
[[exclusions]]
code = "income"
name = "月收入不低于当地最低工资标准"
name_en = "monthly income at least the local minimum wage"
when = { fact = "economic.income_at_least_minimum_wage", is = true }
source = "（文号） 一(三)"
quote = "月收入不低于当地最低工资标准"

[[amounts]]
fact = "economic.local_minimum_wage"
values = [
  { since = 2025-01-01, value = 2000 },
  { since = 2026-07-01, value = 2200 },
]
source = "（省政府文号）"
quote = "最低工资标准调整为每月2200元"
"""

WAGE_CASES = """
[[cases]]
name = "月收入2100元，2026年6月30日：不低于当时的2000元"
rule = "exclusions.income"
expect = "met"
clause = "（文号） 一(三)"
on = 2026-06-30
facts = { "economic.has_stable_income" = true, "economic.stable_monthly_income" = 2100 }

[[cases]]
name = "月收入2100元，2026年7月1日：低于调整后的2200元"
rule = "exclusions.income"
expect = "not_met"
clause = "（文号） 一(三)"
on = 2026-07-01
facts = { "economic.has_stable_income" = true, "economic.stable_monthly_income" = 2100 }
"""


def wage_pack(tmp_path: Path, amounts: str = WAGE) -> Path:
    pack, cases = skeleton("testland-2026", region_code="46")
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "testland-2026.toml").write_text(pack + amounts, encoding="utf-8")
    (tmp_path / "cases" / "testland-2026.toml").write_text(cases + WAGE_CASES, encoding="utf-8")
    return tmp_path / "testland-2026.toml"


def test_a_dated_amount_decides_by_the_day_of_the_decision(tmp_path: Path) -> None:
    path = wage_pack(tmp_path)
    pack = load_pack_file(path)
    loaded = pack_cases.load_cases(pack_cases.cases_path(path))
    assert [r.problems for r in pack_cases.run_cases(loaded, pack)] == [[]] * 7
    assert pack.amounts_on(date(2024, 12, 31)) == {}
    assert pack.amounts_on(date(2026, 6, 30)) == {"economic.local_minimum_wage": 2000}
    assert pack.amounts_on(date(2026, 7, 1)) == {"economic.local_minimum_wage": 2200}
    earning = ApplicantFacts.model_validate(
        {"economic": {"has_stable_income": True, "stable_monthly_income": 2100}}
    )
    assert pack.values_of(earning, date(2026, 6, 30))["economic.income_at_least_minimum_wage"]
    assert not pack.values_of(earning, date(2026, 7, 1))["economic.income_at_least_minimum_wage"]
    # Before the first value the pack supplies nothing: the officer establishes it (待核实).
    assert pack.values_of(earning, date(2024, 6, 1))["economic.local_minimum_wage"] is None
    # A value the application states (an officer verified it) stands.
    stated = earning.model_copy(
        update={"economic": earning.economic.model_copy(update={"local_minimum_wage": 2050})}
    )
    assert pack.values_of(stated, date(2026, 7, 1))["economic.local_minimum_wage"] == 2050
    # The canonical JSON carries the amounts (a pack without any hashes as before).
    assert "amounts" in json.loads(pack.canonical_json())


def test_a_broken_amount_is_refused_with_its_field(tmp_path: Path) -> None:
    def message(amounts: str) -> str:
        with pytest.raises(PolicyPackError) as e:
            load_pack_file(wage_pack(tmp_path, amounts))
        return str(e.value)

    backwards = WAGE.replace("2026-07-01", "2024-07-01")
    assert "values[1].since: 2024-07-01 is not after 2025-01-01" in message(backwards)
    derived = WAGE.replace(
        'fact = "economic.local_minimum_wage"', 'fact = "economic.income_at_least_minimum_wage"'
    )
    assert "is not a stated number fact" in message(derived)
    twice = WAGE + WAGE[WAGE.index("[[amounts]]") :]
    assert "amounts[1].fact: a second amount for 'economic.local_minimum_wage'" in message(twice)
