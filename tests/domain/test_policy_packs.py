"""Policy packs: every stage, clock and exit reason of the five seed packs is tested against
the clause it comes from (test ids read ``pack/code/clause``); a meta-test fails when a seed
pack gains such a rule without a test here. Base conditions, categories and exclusions are
data: each pack's own test cases (``packs/cases/<id>.toml``) test them at the predicate's
boundary, and test_pack_cases.py runs them for every pack there is. Also: quotes are verbatim
from the seeds, validation errors name file and field, inheritance and the merge rule,
version/hash stability and JSON pinning."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.facts import ApplicantFacts
from domain.policy.authoring import quotes_not_in, sourced_rules
from domain.policy.diff import diff_packs
from domain.policy.expr import ExprError, evaluate, parse_expr
from domain.policy.loader import (
    PACKS_DIR,
    PolicyPackError,
    UnknownPolicyPackError,
    list_packs,
    load_all,
    load_pack,
    load_pack_file,
    merge_pack_data,
    pack_from_json,
)
from domain.policy.model import (
    Duration,
    PolicyPack,
    QuarterlyVerification,
    RefusalLimit,
    Sourced,
    SubsidyPeriodCap,
)
from domain.retirement import add_months_clamped

ROOT = Path(__file__).resolve().parents[2]
SEEDS = Path("/work/shared/seeds")
SEED_FILES = {
    "weifang-2023": "000_0f2b6c8994ae8a70.txt",
    "jilin-2022": "001_6e7db49f9ee827e8.txt",
    "xinyu-2023": "002_5f1ee7c02f801131.txt",
    "qingxin-2024": "003_09499b8fbb6d6b4c.txt",
    "shandong-2021": "004_15626190dbdd9b41.txt",
}
ON = date(2024, 6, 14)
WF = "潍人社字〔2023〕1号"
JL = "吉人社发〔2022〕10号"
XY = "余人社字[2023]82号"
QX = "清新区人社局实施方案(2024)"
SD = "山东省人社厅《关于健全就业援助体系的通知》(2021)"
ASSUMED = "assumed"


# --- applicant builders -----------------------------------------------------------------------


def born(years: int, days_younger: int = 0) -> str:
    """A birth date giving exactly ``years`` on ON (``days_younger`` later → not yet)."""
    return (add_months_clamped(ON, -12 * years) + timedelta(days=days_younger)).isoformat()


def months_ago(months: int, days_later: int = 0) -> str:
    return (add_months_clamped(ON, -months) + timedelta(days=days_later)).isoformat()


HUKOU = {
    "weifang-2023": "370702",
    "jilin-2022": "220102",
    "xinyu-2023": "360502",
    "qingxin-2024": "441803",
    "shandong-2021": "370102",
}


def base_data(pack_id: str) -> dict[str, Any]:
    """An applicant who meets every base condition of the pack and no category or exclusion:
    a 30-year-old urban man, unemployed 3 months, nothing special."""
    return {
        "person": {
            "sex": "male",
            "birth_date": born(30),
            "marital_status": "married",
            "able_to_work": True,
            "willing_to_work": True,
            "receiving_pension": False,
            "raising_minor_child": False,
            "released_prisoner": False,
            "disability_certificate": False,
        },
        "residence": {
            "hukou_region_code": HUKOU[pack_id],
            "urban": True,
            "resided_locally_months": 0,
            "local_social_insurance_months_excluding_back_pay": 0,
        },
        "unemployment": {
            "registered": True,
            "registered_on": months_ago(3),
            "unemployed_since": months_ago(3),
            "employer_social_insurance_during_unemployment": False,
            "laid_off_from_state_enterprise": False,
            "transfer_registered": False,
        },
        "household": {
            "zero_employment": False,
            "has_business_investment_or_property_income": False,
            "rural_zero_transfer": False,
            "minimum_living_allowance": False,
            "low_income_edge": False,
            "poverty_alleviated": False,
            "monitoring_target": False,
        },
        "land": {"landless_by_expropriation": False, "all_contracted_land_expropriated": False},
        "graduate": {"is_graduate": False, "difficulty_certificate": False},
        "economic": {
            "has_labour_relation": False,
            "employer_social_insurance_now": False,
            "business_licence": False,
            "legal_representative_or_officer_elsewhere": False,
            "has_stable_income": False,
        },
    }


def applicant(pack_id: str, overrides: dict[str, Any] | None = None) -> ApplicantFacts:
    """The base applicant with ``{"section.field": value}`` (or top-level ``{"evidence":
    [...]}``) overrides."""
    data = base_data(pack_id)
    for path, value in (overrides or {}).items():
        if "." not in path:
            data[path] = value
            continue
        section, name = path.split(".", 1)
        data[section][name] = value
    return ApplicantFacts.model_validate(data)


# --- expectation tables of the seed packs' procedures, clocks and exit reasons ---------------
# Base conditions, categories and exclusions are tested by each pack's own cases
# (packs/cases/<id>.toml, tests/domain/test_pack_cases.py), which must cover every one of them.

# (pack, stage kind, clause, expected attributes by dotted path)
STAGES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "weifang-2023",
        "data_check",
        WF + " 二(一)、二(二)",
        {"role": "system", "level": "county", "sla.assumed": True},
    ),
    (
        "weifang-2023",
        "immediate_conclusion",
        WF + " 二(二)",
        {
            "role": "county_reviewer",
            "level": "county",
            "sla.goal": 1,
            "sla.deadline": 1,
            "sla.unit": "working_days",
            "refusal.channels": ["系统提示", "现场", "书面"],
        },
    ),
    (
        "jilin-2022",
        "acceptance",
        JL + " 二(二)",
        {"role": "grassroots_officer", "level": "street", "sla.assumed": True},
    ),
    ("jilin-2022", "data_check", JL + " 一(三)", {"role": "system"}),
    (
        "jilin-2022",
        "initial_review",
        JL + " 二(二)",
        {
            "role": "grassroots_officer",
            "level": "street",
            "refusal.reason_on_form": True,
            "refusal.informs_applicant": "street",
        },
    ),
    (
        "jilin-2022",
        "publicity",
        JL + " 二(二)",
        {"working_days": 3, "level": "street", "assumed": False},
    ),
    (
        "jilin-2022",
        "review",
        JL + " 二(三)",
        {
            "role": "county_reviewer",
            "level": "county",
            "refusal.returns_to": "street",
            "refusal.informs_applicant": "street",
            "refusal.source": JL + " 二(三)",
        },
    ),
    ("xinyu-2023", "acceptance", XY + " 第二条(一)", {"level": "street"}),
    ("xinyu-2023", "data_check", XY + " 第二条(二)", {"role": "system"}),
    (
        "xinyu-2023",
        "home_visit",
        XY + " 第二条(二)",
        {"role": "grassroots_officer", "level": "community", "sla.assumed": True},
    ),
    ("xinyu-2023", "initial_review", XY + " 第二条(二)", {"role": "grassroots_officer"}),
    ("xinyu-2023", "review", XY + " 第二条(三)", {"role": "county_reviewer", "level": "county"}),
    ("qingxin-2024", "acceptance", QX + " 二、三(二)", {"level": "street"}),
    ("qingxin-2024", "initial_review", QX + " 二、三(二)", {"role": "grassroots_officer"}),
    (
        "qingxin-2024",
        "publicity",
        QX + " 二",
        {
            "working_days": 5,
            "assumed": True,
            "objection_escalates_to": "county",
            "objection.source": QX + " 三(二)",
        },
    ),
    (
        "qingxin-2024",
        "review",
        QX + " 二",
        {
            "role": "county_reviewer",
            "level": "county",
            "refusal.notice": "《不予认定就业困难人员告知书》",
            "refusal.source": QX + " 三(二)",
        },
    ),
]


def _refusals(*months_back: int) -> list[date]:
    return [add_months_clamped(ON, -m) for m in months_back]


def check_refusal_limit(c: Sourced) -> None:
    assert isinstance(c, RefusalLimit)
    assert c.reached(_refusals(5, 3, 0), ON)  # three inside half a year
    assert not c.reached(_refusals(6, 3, 0), ON)  # the first is exactly 6 months back: outside
    assert not c.reached(_refusals(3, 0), ON)


def check_months(months: int) -> Callable[[Sourced], None]:
    def check(c: Sourced) -> None:
        assert isinstance(c, Duration) and c.unit == "months" and c.value == months
        start = add_months_clamped(ON, -months)
        assert c.elapsed(start, ON)
        assert not c.elapsed(start + timedelta(days=1), ON)

    return check


def check_assumed_value(value: int, unit: str) -> Callable[[Sourced], None]:
    """A clause that creates the rule and an administrator's number for it."""

    def check(c: Sourced) -> None:
        assert isinstance(c, Duration) and (c.value, c.unit) == (value, unit)
        assert c.assumed and c.note

    return check


def check_working_days(days: int) -> Callable[[Sourced], None]:
    def check(c: Sourced) -> None:
        assert isinstance(c, Duration) and (c.value, c.unit) == (days, "working_days")

    return check


def check_quarterly(c: Sourced) -> None:
    assert isinstance(c, QuarterlyVerification)
    # 每季首月初 lists out, 每季首月底前 results in.
    assert c.period(date(2024, 4, 30)) == (date(2024, 4, 1), date(2024, 4, 30))
    assert c.period(date(2024, 5, 1)) == (date(2024, 7, 1), date(2024, 7, 31))
    assert c.period(date(2024, 11, 2)) == (date(2025, 1, 1), date(2025, 1, 31))


def check_subsidy_cap(c: Sourced) -> None:
    assert isinstance(c, SubsidyPeriodCap)
    assert c.cumulative and c.assumed and (c.value, c.unit) == (36, "months")


def check_zero_employment_month(c: Sourced) -> None:
    assert isinstance(c, Duration) and (c.value, c.unit) == (1, "months")
    assert c.add_to(date(2024, 1, 31)) == date(2024, 2, 29)


CLOCKS: list[tuple[str, str, str, Callable[[Sourced], None]]] = [
    ("weifang-2023", "identification_deadline", WF + " 二(二)", check_working_days(1)),
    ("weifang-2023", "supplement_deadline", ASSUMED, check_working_days(10)),
    ("weifang-2023", "contact_check", WF + " 三(一)9", check_months(6)),
    ("jilin-2022", "identification_deadline", JL + " 二(四)", check_working_days(10)),
    ("jilin-2022", "supplement_deadline", ASSUMED, check_working_days(10)),
    ("jilin-2022", "refusal_limit", JL + " 三(五)", check_refusal_limit),
    ("xinyu-2023", "identification_deadline", XY + " 第七条(三)", check_working_days(10)),
    ("xinyu-2023", "supplement_deadline", ASSUMED, check_working_days(10)),
    ("xinyu-2023", "refusal_limit", XY + " 第三条(一)3", check_refusal_limit),
    (
        "xinyu-2023",
        "zero_employment_household_deadline",
        XY + " 第四条(五)",
        check_zero_employment_month,
    ),
    # 零就业家庭: only xinyu states the month; the others' clearing (动态清零) takes it, assumed.
    ("weifang-2023", "zero_employment_household_deadline", WF + " 五(三)", check_months(1)),
    ("shandong-2021", "zero_employment_household_deadline", SD + " 三(三)2", check_months(1)),
    ("jilin-2022", "zero_employment_household_deadline", ASSUMED, check_months(1)),
    ("qingxin-2024", "zero_employment_household_deadline", ASSUMED, check_months(1)),
    ("xinyu-2023", "reidentification_cooldown", XY + " 第三条(二)", check_months(3)),
    ("xinyu-2023", "subsidy_period_cap", XY + " 第三条(二)", check_subsidy_cap),
    ("qingxin-2024", "identification_deadline", ASSUMED, check_working_days(20)),
    ("qingxin-2024", "supplement_deadline", QX + " 三(二)", check_working_days(10)),
    ("qingxin-2024", "quarterly_verification", QX + " 三(三)2", check_quarterly),
    # Assistance clocks: the clause that asks for the plan/visits, with an assumed number.
    *(
        row
        for pack, plan, visit in (
            ("shandong-2021", SD + " 五(四)", SD + " 五(一)"),
            ("weifang-2023", SD + " 五(四)", SD + " 五(一)"),
            ("jilin-2022", JL + " 四(二)", JL + " 四(一)"),
            ("xinyu-2023", XY + " 第六条(四)", XY + " 第六条(一)"),
            ("qingxin-2024", ASSUMED, QX + " 三(三)1"),
        )
        for row in (
            (pack, "assistance_plan_deadline", plan, check_assumed_value(10, "working_days")),
            (pack, "assistance_task_period", ASSUMED, check_working_days(10)),
            (pack, "assistance_visit_interval", visit, check_assumed_value(3, "months")),
            (pack, "service_standard_deadline", ASSUMED, check_months(6)),
            (pack, "service_gap_lead", ASSUMED, check_months(1)),
        )
    ),
    ("weifang-2023", "contact_reminder_lead", ASSUMED, check_months(1)),
]

# (pack, code, clause, mode, may_reapply, other expected attributes)
EXIT_REASONS: list[tuple[str, str, str, str, bool, dict[str, Any]]] = [
    (
        "weifang-2023",
        "hired",
        WF + " 三(一)1、三(二)1",
        "automatic",
        True,
        {"trigger": "employment_registration"},
    ),
    (
        "weifang-2023",
        "self_employed",
        WF + " 三(一)2、三(二)1",
        "automatic",
        True,
        {"trigger": "employment_registration"},
    ),
    ("weifang-2023", "stable_income", WF + " 三(一)3、三(二)2", "manual", True, {}),
    (
        "weifang-2023",
        "receiving_pension",
        WF + " 三(一)4、三(二)3",
        "automatic",
        False,
        {"trigger": "related_business"},
    ),
    (
        "weifang-2023",
        "incapacitated",
        WF + " 三(一)5、三(二)3",
        "automatic",
        False,
        {"trigger": "related_business"},
    ),
    ("weifang-2023", "school_military_emigration", WF + " 三(一)6、三(二)2", "manual", True, {}),
    ("weifang-2023", "imprisoned", WF + " 三(一)7、三(二)2", "manual", True, {}),
    (
        "weifang-2023",
        "stopped_or_refused_service",
        WF + " 三(一)8、三(二)4",
        "manual",
        True,
        {"trigger": "unemployment_rules"},
    ),
    (
        "weifang-2023",
        "no_contact_six_months",
        WF + " 三(一)9、三(二)2",
        "manual",
        True,
        {"clock": "contact_check"},
    ),
    ("weifang-2023", "employment_registered_other", WF + " 三(一)10、三(二)2", "manual", True, {}),
    (
        "weifang-2023",
        "other_hrss_rule",
        WF + " 三(一)11、三(二)2",
        "manual",
        True,
        {"fraud": False},
    ),
    (
        "weifang-2023",
        "false_information",
        WF + " 三(一)11、五(四)",
        "manual",
        True,
        {"fraud": True},
    ),
    ("jilin-2022", "pension_or_retirement_age", JL + " 三(一)", "manual", False, {}),
    ("jilin-2022", "assistance_period_expired", JL + " 三(二)", "manual", False, {}),
    ("jilin-2022", "school_military_death_moved", JL + " 三(三)；四(三)", "manual", True, {}),
    ("jilin-2022", "imprisoned", JL + " 三(四)；四(三)", "manual", True, {}),
    (
        "jilin-2022",
        "exit_request_or_refusals",
        JL + " 三(五)；四(三)",
        "manual",
        True,
        {"clock": "refusal_limit"},
    ),
    ("jilin-2022", "no_longer_eligible", JL + " 三(六)；四(三)", "manual", True, {}),
    (
        "jilin-2022",
        "fraudulent_identification",
        JL + " 三(六)；五(三)",
        "manual",
        True,
        {"fraud": True},
    ),
    (
        "jilin-2022",
        "unemployment_registration_cancelled",
        JL + " 三(七)；四(三)",
        "manual",
        True,
        {},
    ),
    ("xinyu-2023", "left_labour_market", XY + " 第三条(一)1；第三条(二)", "manual", True, {}),
    (
        "xinyu-2023",
        "left_zero_employment_household",
        XY + " 第三条(一)2",
        "manual",
        True,
        {"basis_specific": ["zero_employment_household"]},
    ),
    (
        "xinyu-2023",
        "exit_request_or_refusals",
        XY + " 第三条(一)3",
        "manual",
        True,
        {"clock": "refusal_limit"},
    ),
    (
        "xinyu-2023",
        "status_or_certificate_revoked",
        XY + " 第三条(一)4",
        "manual",
        True,
        {"basis_specific": ["disabled"]},
    ),
    ("xinyu-2023", "false_information", XY + " 第三条(一)5", "manual", True, {"fraud": True}),
    ("xinyu-2023", "subsidy_fraud", XY + " 第三条(一)6", "manual", True, {"fraud": True}),
    ("qingxin-2024", "no_longer_eligible", QX + " 三(三)3", "manual", True, {}),
    ("shandong-2021", "refuses_assistance", SD + " 五(五)", "manual", True, {}),
    ("shandong-2021", "no_longer_eligible", SD + " 五(五)", "manual", True, {}),
]


def _cites(rule: Sourced, clause: str) -> None:
    if clause == ASSUMED:
        assert rule.assumed and rule.note, "expected an explicit administrator setting"
    else:
        assert rule.source == clause


_DOC_ASCII = {
    WF: "WRSZ[2023]1",
    JL: "JRSF[2022]10",
    XY: "YRSZ[2023]82",
    QX: "QX-2024",
    SD: "SD-2021",
}
_NUMERALS = [
    ("十二", "12"),
    ("十一", "11"),
    ("十", "10"),
    ("一", "1"),
    ("二", "2"),
    ("三", "3"),
    ("四", "4"),
    ("五", "5"),
    ("六", "6"),
    ("七", "7"),
    ("八", "8"),
    ("九", "9"),
]


def _clause_id(clause: str) -> str:
    """An ASCII rendering of a clause for test ids (pytest escapes non-ASCII ids):
    ``吉人社发〔2022〕10号 一(一)2`` → ``JRSF[2022]10 1(1)2``, ``第三条(二)`` → ``art3(2)``."""
    for doc, short in sorted(_DOC_ASCII.items(), key=lambda kv: -len(kv[0])):
        clause = clause.replace(doc, short)
    clause = re.sub(r"第(.+?)条", r"art\1", clause)
    for zh, digit in _NUMERALS:
        clause = clause.replace(zh, digit)
    return clause.replace("、", ",").replace("；", ";")


def _row_id(pack: str, code: str, clause: str) -> str:
    return f"{pack}/{code}/{_clause_id(clause)}"


# --- per-rule tests --------------------------------------------------------------------------


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(
    ("pack_id", "kind", "clause", "expected"),
    STAGES,
    ids=[_row_id(r[0], r[1], r[2]) for r in STAGES],
)
def test_stage(pack_id: str, kind: str, clause: str, expected: dict[str, Any]) -> None:
    pack = load_pack(pack_id)
    assert pack.procedure is not None
    stage = pack.procedure.stage(kind)  # type: ignore[arg-type]
    assert stage is not None
    _cites(stage, clause)
    # Every stage has a task SLA the workflow can use, sourced or an explicit setting.
    assert stage.sla.goal >= 1 and stage.sla.deadline >= stage.sla.goal
    assert stage.sla.source or stage.sla.assumed
    for path, value in expected.items():
        assert _attr(stage, path) == value, path


def test_stage_order_per_pack() -> None:
    seeds = {pid: load_pack(pid) for pid in SEED_FILES}
    kinds = {pid: p.procedure.kinds for pid, p in seeds.items() if p.procedure}
    assert kinds == {
        "weifang-2023": ["data_check", "immediate_conclusion"],
        "jilin-2022": ["acceptance", "data_check", "initial_review", "publicity", "review"],
        "xinyu-2023": ["acceptance", "data_check", "home_visit", "initial_review", "review"],
        "qingxin-2024": ["acceptance", "initial_review", "publicity", "review"],
    }
    assert load_pack("weifang-2023").procedure.single_stage  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("pack_id", "name", "clause", "check"),
    CLOCKS,
    ids=[_row_id(r[0], r[1], r[2]) for r in CLOCKS],
)
def test_clock(pack_id: str, name: str, clause: str, check: Callable[[Sourced], None]) -> None:
    clock = load_pack(pack_id).clocks.present()[name]
    _cites(clock, clause)
    check(clock)


@pytest.mark.parametrize(
    ("pack_id", "code", "clause", "mode", "may_reapply", "expected"),
    EXIT_REASONS,
    ids=[_row_id(r[0], r[1], r[2]) for r in EXIT_REASONS],
)
def test_exit_reason(
    pack_id: str, code: str, clause: str, mode: str, may_reapply: bool, expected: dict[str, Any]
) -> None:
    reason = load_pack(pack_id).exit_reason(code)
    assert reason is not None
    _cites(reason, clause)
    assert reason.mode == mode
    assert reason.may_reapply is may_reapply
    for path, value in expected.items():
        assert _attr(reason, path) == value, path


def _tested() -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    out |= {(r[0], "stages", r[1]) for r in STAGES}
    out |= {(r[0], "clocks", r[1]) for r in CLOCKS}
    out |= {(r[0], "exit_reasons", r[1]) for r in EXIT_REASONS}
    return out


def _in_packs() -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    for pid in SEED_FILES:
        p = load_pack(pid)
        out |= {(pid, "stages", s.kind) for s in (p.procedure.stages if p.procedure else [])}
        out |= {(pid, "clocks", name) for name in p.clocks.present()}
        out |= {(pid, "exit_reasons", r.code) for r in p.exit_reasons}
    return out


def test_every_procedure_clock_and_exit_rule_of_the_seeds_has_a_test_naming_its_clause() -> None:
    tested, present = _tested(), _in_packs()
    assert not present - tested, f"rules without a test: {sorted(present - tested)}"
    assert not tested - present, f"tests for rules no pack has: {sorted(tested - present)}"


def test_category_and_exit_counts_match_the_seeds() -> None:
    # The seeds' packs among whatever packs exist: another region's pack breaks nothing here.
    assert set(SEED_FILES) <= set(list_packs())
    packs = {pack_id: load_pack(pack_id) for pack_id in SEED_FILES}
    assert [len(packs[p].categories) for p in SEED_FILES] == [12, 7, 5, 4, 0]
    # Weifang 三(一) has 11 grounds (11 split into other / false information); Jilin 三 has 7
    # (三(六) split into no longer eligible / fraud); Xinyu 第三条(一) 6.
    assert len(packs["weifang-2023"].exit_reasons) == 12
    assert len(packs["jilin-2022"].exit_reasons) == 8
    assert len(packs["xinyu-2023"].exit_reasons) == 6


# --- citations are honest --------------------------------------------------------------------


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed documents not available")
@pytest.mark.parametrize("pack_id", sorted(SEED_FILES))
def test_every_quote_is_verbatim_from_the_seed(pack_id: str) -> None:
    """Quotes may elide with …… ; punctuation width and whitespace are normalised."""
    texts = [(SEEDS / SEED_FILES[pack_id]).read_text(encoding="utf-8")]
    if pack_id == "weifang-2023":  # inherits and cites the provincial notice
        texts.append((SEEDS / SEED_FILES["shandong-2021"]).read_text(encoding="utf-8"))
    assert quotes_not_in(load_pack(pack_id), texts) == []


@pytest.mark.parametrize("pack_id", sorted(SEED_FILES))
def test_every_rule_is_sourced_or_an_explicit_setting(pack_id: str) -> None:
    for path, rule in sourced_rules(load_pack(pack_id)):
        assert rule.source or (rule.assumed and rule.note), path
        if rule.source and not rule.source.startswith("("):
            assert rule.source.split(" ")[0] in {WF, JL, XY, QX, SD} or rule.source.startswith(
                SD
            ), path


def test_qingxin_guangdong_values_are_all_marked_assumed() -> None:
    p = load_pack("qingxin-2024")
    assert all(c.assumed and "not in the seed" in (c.note or "") for c in p.categories)
    assert all(b.assumed for b in p.base_conditions)
    assert {d.code for d in p.duties} >= {
        "one_time_notice",
        "no_unrelated_proof",
        "proactive_screening",
    }


def test_shandong_delegates_identification_and_validates_alone() -> None:
    p = load_pack("shandong-2021")
    assert p.identification.mode == "delegated_to_city"
    assert p.categories == [] and p.procedure is None and p.base_conditions == []
    assert [g.code for g in p.target_groups] == [
        "difficulty_person",
        "rural_surplus_labour",
        "low_income_graduate",
        "temporary_assistance",
    ]
    plan = next(a for a in p.assistance_standards if a.code == "one_person_one_plan")
    assert plan.agreement and plan.source == SD + " 五(四)"


def test_assistance_standards_named_in_the_issue() -> None:
    xinyu = {a.code: a for a in load_pack("xinyu-2023").assistance_standards}
    assert [(s.kind, s.count) for s in xinyu["service_131"].services] == [
        ("career_guidance", 1),
        ("job_recommendation", 3),
        ("training", 1),
    ]
    assert xinyu["service_131"].source == XY + " 第四条(三)"
    jilin = {a.code: a for a in load_pack("jilin-2022").assistance_standards}
    assert jilin["market_capable_job_offers"].services[0].count == 3
    assert jilin["one_person_one_plan"].source == JL + " 四(二)"
    weifang = {a.code: a for a in load_pack("weifang-2023").assistance_standards}
    assert weifang["assistance_rate"].minimum_rate == 0.96
    assert weifang["one_person_one_plan"].agreement  # 援助协议 from the province
    assert {"annual_clearance", "zero_employment_dynamic_clearance"} <= set(weifang)


# --- validation errors name the file and the field --------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _pack_text(pack_id: str) -> str:
    return (PACKS_DIR / f"{pack_id}.toml").read_text(encoding="utf-8")


def _load_error(path: Path) -> PolicyPackError:
    with pytest.raises(PolicyPackError) as exc:
        load_pack_file(path)
    return exc.value


def _line(text: str, header: str, nth: int = 0) -> int:
    """The line of the ``nth`` ``header`` table in ``text`` (a problem names it)."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == header][nth]


def test_error_bad_fact_path(tmp_path: Path) -> None:
    text = _pack_text("jilin-2022").replace('"person.age", gte = 40', '"person.agee", gte = 40', 1)
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    line = _line(text, "[[categories]]", 1)
    assert (
        f"jilin-2022.toml: line {line}: categories[1].when: all[1].any[0].all[1].fact: "
        "unknown fact path 'person.agee'" in str(err)
    )


def test_error_bad_operator(tmp_path: Path) -> None:
    text = _pack_text("jilin-2022").replace(
        '{ fact = "unemployment.months_unemployed", gte = 6 }',
        '{ fact = "unemployment.months_unemployed", gtee = 6 }',
    )
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    line = _line(text, "[[categories]]", 1)
    assert (
        f"jilin-2022.toml: line {line}: categories[1].when: all[2]: unknown operator 'gtee'"
        in str(err)
    )


def test_error_operator_does_not_fit_the_fact_type(tmp_path: Path) -> None:
    text = _pack_text("jilin-2022").replace(
        '{ fact = "person.age", gte = 40 }', '{ fact = "person.age", gte = "40" }', 1
    )
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    assert "expected a number, got '40'" in str(err)
    text = _pack_text("jilin-2022").replace('eq = "female"', 'eq = "femal"', 1)
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    assert "categories[1].when" in str(err) and "one of 'male', 'female'" in str(err)


def test_error_missing_source(tmp_path: Path) -> None:
    text = _pack_text("jilin-2022").replace(f'source = "{JL} 一(一)1"\n', "", 1)
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    assert str(err).startswith(
        f"jilin-2022.toml: line {_line(text, '[[categories]]')}: categories[0]: "
        "every rule needs a `source`"
    )


def test_error_missing_field(tmp_path: Path) -> None:
    text = _pack_text("jilin-2022").replace('code = "application_form"\n', "", 1)
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    line = _line(text, "[[evidence]]")
    assert f"jilin-2022.toml: line {line}: evidence[0].code: Field required" in str(err).split("\n")


def test_error_unknown_evidence_code_and_duplicate_code(tmp_path: Path) -> None:
    text = _pack_text("jilin-2022").replace('evidence = ["diploma"]', 'evidence = ["diplome"]')
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    assert (
        f"jilin-2022.toml: line {_line(text, '[[categories]]', 6)}: categories[6].evidence[0]: "
        "unknown evidence code 'diplome'" in str(err)
    )
    text = _pack_text("jilin-2022").replace('code = "laid_off"', 'code = "disabled"')
    err = _load_error(_write(tmp_path, "jilin-2022.toml", text))
    assert (
        f"jilin-2022.toml: line {_line(text, '[[categories]]', 2)}: categories[2].code: "
        "duplicate code 'disabled'" in str(err)
    )


def test_error_bad_extends(tmp_path: Path) -> None:
    text = _pack_text("weifang-2023").replace(
        'extends = "shandong-2021"', 'extends = "shandong-2099"'
    )
    err = _load_error(_write(tmp_path, "weifang-2023.toml", text))
    assert isinstance(err, UnknownPolicyPackError)
    assert str(err).startswith(
        "weifang-2023.toml: extends: unknown policy pack 'shandong-2099'; known: "
    )
    assert "jilin-2022" in str(err)


def test_error_extends_cycle(tmp_path: Path) -> None:
    _write(tmp_path, "a-1.toml", 'id = "a-1"\nextends = "b-1"\n')
    _write(tmp_path, "b-1.toml", 'id = "b-1"\nextends = "a-1"\n')
    err = _load_error(tmp_path / "a-1.toml")
    assert "extends: cycle" in str(err)


def test_error_drop_of_something_the_parent_lacks(tmp_path: Path) -> None:
    text = _pack_text("weifang-2023").replace(
        '"exit_reasons.no_longer_eligible"', '"exit_reasons.gone"'
    )
    err = _load_error(_write(tmp_path, "weifang-2023.toml", text))
    assert "weifang-2023.toml: drop[1]: the parent has no exit_reasons item 'gone'" in str(err)


def test_error_toml_syntax_and_missing_file(tmp_path: Path) -> None:
    err = _load_error(_write(tmp_path, "x.toml", "id = \n"))
    assert str(err).startswith("x.toml: TOML syntax:")
    assert str(_load_error(tmp_path / "nope.toml")) == "nope.toml: file not found"


def test_error_delegated_pack_with_categories(tmp_path: Path) -> None:
    text = _pack_text("shandong-2021") + (
        '\n[[categories]]\ncode = "x"\nname = "x"\nname_en = "x"\n'
        'when = { fact = "person.age", gte = 1 }\nassumed = true\nnote = "n"\n'
    )
    err = _load_error(_write(tmp_path, "shandong-2021.toml", text))
    assert "categories: identification is delegated_to_city; define none" in str(err)


def test_unknown_pack_id() -> None:
    with pytest.raises(UnknownPolicyPackError) as exc:
        load_pack("nowhere-1999")
    assert str(exc.value) == (
        "unknown policy pack 'nowhere-1999'; known: jilin-2022, qingxin-2024, shandong-2021, "
        "weifang-2023, xinyu-2023"
    )


def test_expression_language_rejects_malformed_predicates() -> None:
    with pytest.raises(ExprError, match=r"when.all: must be a non-empty list"):
        parse_expr({"all": []})
    with pytest.raises(ExprError, match="exactly one operator"):
        parse_expr({"fact": "person.age", "gte": 1, "lte": 2})
    with pytest.raises(ExprError, match="operator 'gte' without a fact"):
        parse_expr({"gte": 1})
    with pytest.raises(ExprError, match="is not a true/false fact"):
        parse_expr({"fact": "person.age", "is": True})
    with pytest.raises(ExprError, match="expected a table"):
        parse_expr([1])


def test_expression_three_valued_logic() -> None:
    e = parse_expr(
        {"any": [{"fact": "person.age", "gte": 40}, {"fact": "person.sex", "eq": "female"}]}
    )
    assert evaluate(e, {"person.age": None, "person.sex": "female"}).value is True
    assert evaluate(e, {"person.age": None, "person.sex": "male"}).value is None
    n = parse_expr({"not": {"fact": "person.age", "exists": True}})
    assert evaluate(n, {"person.age": None}).value is True
    d = parse_expr({"fact": "unemployment.registered_on", "lt": "2024-01-01"})
    assert evaluate(d, {"unemployment.registered_on": date(2023, 12, 31)}).value is True


# --- inheritance, merge rule, versions and hashes -----------------------------------------------


def test_weifang_inherits_from_shandong() -> None:
    weifang, shandong = load_pack("weifang-2023"), load_pack("shandong-2021")
    assert weifang.extends == "shandong-2021"
    assert weifang.target_groups == shandong.target_groups
    assert {d.code for d in shandong.duties} <= {d.code for d in weifang.duties}
    codes = [a.code for a in weifang.assistance_standards]
    # Keyed merge: the province's items keep their place, same codes are replaced, new appended.
    assert codes[: len(shandong.assistance_standards)] == [
        a.code for a in shandong.assistance_standards
    ]
    zero = next(
        a for a in weifang.assistance_standards if a.code == "zero_employment_dynamic_clearance"
    )
    assert zero.source == WF + " 五(三)"
    # The province's generic exit reasons are dropped (Weifang's 三(一) covers them).
    assert "refuses_assistance" not in [r.code for r in weifang.exit_reasons]
    assert weifang.identification.mode == "by_categories"


def test_changing_the_parent_changes_the_childs_hash(tmp_path: Path) -> None:
    for pid in ("shandong-2021", "weifang-2023"):
        _write(tmp_path, f"{pid}.toml", _pack_text(pid))
    same = load_pack_file(tmp_path / "weifang-2023.toml")
    assert same.content_hash == load_pack("weifang-2023").content_hash
    _write(
        tmp_path,
        "shandong-2021.toml",
        _pack_text("shandong-2021").replace('name = "农村剩余劳动力"', 'name = "农村富余劳动力"'),
    )
    changed = load_pack_file(tmp_path / "weifang-2023.toml")
    assert changed.content_hash != same.content_hash
    assert changed.version == same.version  # content changed though the child's file did not
    assert "农村富余劳动力" in [g.name for g in changed.target_groups]
    assert [c.path for c in diff_packs(same, changed)] == [
        "target_groups[rural_surplus_labour].name"
    ]


def test_merge_rule() -> None:
    parent: dict[str, Any] = {
        "id": "p",
        "categories": [{"code": "a", "name": "A"}, {"code": "b", "name": "B"}],
        "clocks": {"contact_check": {"value": 6}, "refusal_limit": {"count": 3}},
        "procedure": {"stages": [{"kind": "review"}]},
    }
    child: dict[str, Any] = {
        "id": "c",
        "categories": [{"code": "b", "name": "B2"}, {"code": "c", "name": "C"}],
        "clocks": {"contact_check": {"value": 3}},
        "procedure": {"stages": [{"kind": "acceptance"}]},
        "drop": ["categories.a", "clocks.refusal_limit"],
    }
    merged = merge_pack_data(parent, child)
    assert merged["id"] == "c"
    assert merged["categories"] == [{"code": "b", "name": "B2"}, {"code": "c", "name": "C"}]
    assert merged["clocks"] == {"contact_check": {"value": 3}}
    assert merged["procedure"] == {"stages": [{"kind": "acceptance"}]}  # tables replace whole
    assert "drop" not in merged
    assert parent["categories"][1]["name"] == "B"  # the parent's data is not modified


def test_version_hash_and_ref() -> None:
    p = load_pack("jilin-2022")
    assert load_pack("jilin-2022") is p  # cached
    assert p.version == "2022.2"
    assert p.content_hash == hashlib.sha256(p.canonical_json().encode()).hexdigest()
    assert re.fullmatch(r"jilin-2022@2022\.2#[0-9a-f]{12}", p.ref)
    assert p.ref.endswith(p.content_hash[:12])
    bumped = PolicyPack.model_validate({**p.model_dump(), "version": "2022.3"})
    assert p.model_copy(update={"version": "2022.3"}).content_hash == bumped.content_hash
    assert bumped.content_hash != p.content_hash and bumped.ref.startswith("jilin-2022@2022.3#")
    packs = load_all()
    assert len({p.content_hash for p in packs.values()}) == len(packs)


def test_hash_is_stable_across_processes() -> None:
    code = (
        "import json; from domain.policy import load_all; "
        "print(json.dumps({k: p.content_hash for k, p in load_all().items()}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == {k: p.content_hash for k, p in load_all().items()}


@pytest.mark.parametrize("pack_id", sorted(SEED_FILES))
def test_pack_json_round_trip_pins_the_exact_pack(pack_id: str) -> None:
    p = load_pack(pack_id)
    data = json.loads(json.dumps(p.to_json(), ensure_ascii=False))
    assert data["ref"] == p.ref
    again = pack_from_json(data)
    assert again == p and again.content_hash == p.content_hash
    assert pack_from_json(json.dumps(data)).ref == p.ref


def test_a_tampered_pinned_pack_is_refused() -> None:
    data = load_pack("jilin-2022").to_json()
    tampered = copy.deepcopy(data)
    tampered["procedure"]["stages"][3]["working_days"] = 1
    with pytest.raises(PolicyPackError, match="content_hash: data hashes to"):
        pack_from_json(tampered)
    del tampered["content_hash"]
    assert pack_from_json(tampered).procedure.stages[3].working_days == 1  # type: ignore[union-attr]


def test_a_pinned_case_is_not_rewritten_by_a_later_policy_change(tmp_path: Path) -> None:
    pinned = load_pack("jilin-2022").to_json()  # stored when the case was opened
    _write(
        tmp_path,
        "jilin-2022.toml",
        _pack_text("jilin-2022")
        .replace("working_days = 3", "working_days = 5")
        .replace('version = "2022.2"', 'version = "2022.3"'),
    )
    newer = load_pack_file(tmp_path / "jilin-2022.toml")
    running = pack_from_json(pinned)
    assert running.procedure.stage("publicity").working_days == 3  # type: ignore[union-attr]
    assert newer.procedure.stage("publicity").working_days == 5  # type: ignore[union-attr]
    assert running.ref != newer.ref
    changes = diff_packs(running, newer)
    assert {c.path for c in changes} == {"version", "procedure.stages[publicity].working_days"}
