"""The pre-check explained for officers (#21): three-valued (an unknown fact is 待核实, never
不符合), an ``any`` rule explained by the branch that can still hold, the category applied for
first with other categories met as 也可能符合 and the rest folded, five groups in order, and
plain words (女, 是/否, 2026年3月1日, 48周岁, 大专及以上) without field paths — over the real
packs, with the issue's two applicants (Jilin, Weifang)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from domain.eligibility import assess
from domain.facts import ApplicantFacts
from domain.policy.expr import explain, parse_expr
from domain.policy.loader import load_pack
from domain.policy.wording import requirement, value_text
from domain.precheck import PreCheckExplanation, PreCheckRule, explain as explain_pre_check
from tests.domain.test_policy_packs import HUKOU, base_data

ON = date(2026, 12, 6)
CJK = re.compile(r"[\u3400-\u9fff]")


def _applicant(pack_id: str, overrides: dict[str, Any]) -> ApplicantFacts:
    data = base_data(pack_id)
    data["residence"]["hukou_region_code"] = HUKOU[pack_id]
    data["unemployment"]["registered_on"] = "2026-03-01"
    data["unemployment"]["unemployed_since"] = "2026-03-01"
    for path, value in overrides.items():
        if "." not in path:
            data[path] = value
            continue
        section, name = path.split(".", 1)
        data[section][name] = value
    return ApplicantFacts.model_validate(data)


def _jilin_woman() -> ApplicantFacts:
    """The issue's Jilin applicant: a woman born 1978 applying as 大龄失业人员, unemployed
    since March, urban residence not stated."""
    return _applicant(
        "jilin-2022",
        {
            "person.sex": "female",
            "person.birth_date": "1978-05-01",
            "residence.urban": None,
            "requested_category": "older_unemployed",
        },
    )


def _weifang_man() -> ApplicantFacts:
    """The mirror in Weifang: a man of 56 applying as an older unemployed person, whether he
    draws a pension not stated."""
    return _applicant(
        "weifang-2023",
        {
            "person.sex": "male",
            "person.birth_date": "1970-05-01",
            "person.receiving_pension": None,
            "requested_category": "older_unemployed",
        },
    )


def _group(ex: PreCheckExplanation, code: str) -> Any:
    return next(g for g in ex.groups if g.code == code)


def _requested(ex: PreCheckExplanation) -> PreCheckRule:
    rules = _group(ex, "categories").rules
    assert rules[0].role == "requested"
    return rules[0]


def _texts(ex: PreCheckExplanation, zh: bool = True) -> list[str]:
    out = [ex.text_zh if zh else ex.text_en]
    for g in ex.groups:
        for r in [*g.rules, *g.folded]:
            out.append(r.text_zh if zh else r.text_en)
            out += [t.text_zh if zh else t.text_en for t in r.tests]
    return out


def test_jilin_woman_of_48_is_to_verify_not_refused() -> None:
    pack = load_pack("jilin-2022")
    ex = explain_pre_check(_jilin_woman(), pack, ON)
    assert ex.verdict == "to_verify" and not ex.eligible
    assert ex.requested_category_verdict == "to_verify"
    assert ex.text_zh == "预审待核实：尚需核实城镇户籍或城镇常住（仅供参考，由经办人员认定）"
    assert ex.facts_to_verify == ["residence.urban"]
    rule = _requested(ex)
    assert rule.code == "older_unemployed" and rule.verdict == "to_verify"
    assert rule.clause == "吉人社发〔2022〕10号 一(一)2"
    assert rule.verdict_text == "待核实"
    assert [t.text_zh for t in rule.tests] == [
        "城镇户籍或城镇常住：待核实",
        "性别：女",
        "年龄：48周岁（须满40周岁）",
        "连续失业月数：9个月（须满6个月）",
    ]
    assert [t.verdict for t in rule.tests] == ["to_verify", "met", "met", "met"]
    assert rule.facts_to_verify == ["residence.urban"]
    # Never the men's branch that cannot apply to her.
    joined = " ".join(_texts(ex))
    assert "须为男" not in joined and "须满50周岁" not in joined and "male" not in joined
    # The stored decision says the same: the requested category is to verify, not failed.
    d = assess(_jilin_woman(), pack, ON)
    line = next(ln for ln in d.lines if ln.kind == "requested_category")
    assert line.outcome == "unknown" and line.message_zh == "申报类别「大龄失业人员」待核实"
    assert d.verdict == "to_verify" and d.requested_category_met is False


def test_weifang_man_of_56_mirror() -> None:
    ex = explain_pre_check(_weifang_man(), load_pack("weifang-2023"), ON)
    assert ex.verdict == "to_verify"
    rule = _requested(ex)
    assert rule.verdict == "to_verify"
    assert [t.text_zh for t in rule.tests] == [
        "性别：男",
        "年龄：56周岁（须满50周岁）",
        "已享受基本养老保险待遇：待核实",
    ]
    assert [t.text_en for t in rule.tests] == [
        "sex: male",
        "age: 56 years (needs at least 50 years)",
        "receiving a basic pension: to be verified",
    ]
    assert "须为女" not in " ".join(_texts(ex))


def test_when_every_branch_fails_the_nearest_one_says_why() -> None:
    # A man of 45 in Jilin: the men's branch fails on age; the women's (on sex) is not shown.
    facts = _applicant(
        "jilin-2022",
        {"person.birth_date": "1981-05-01", "requested_category": "older_unemployed"},
    )
    ex = explain_pre_check(facts, load_pack("jilin-2022"), ON)
    rule = _requested(ex)
    assert rule.verdict == "not_met" and rule.verdict_text == "不符合"
    assert [t.text_zh for t in rule.tests] == ["年龄：45周岁（须满50周岁）"]
    assert ex.verdict == "not_met"  # no category is met or could be
    assert ex.text_zh == "预审不符合：「大龄失业人员」不符合（仅供参考，由经办人员认定）"


def test_unknown_base_condition_is_to_verify_and_a_failed_one_not_met() -> None:
    pack = load_pack("jilin-2022")
    unknown = _applicant("jilin-2022", {"person.able_to_work": None})
    ex = explain_pre_check(unknown, pack, ON)
    base = _group(ex, "base_conditions")
    assert base.verdict == "to_verify"
    able = next(r for r in base.rules if r.code == "able_to_work")
    assert able.verdict == "to_verify" and able.tests[0].text_zh == "有劳动能力：待核实"
    line = next(ln for ln in assess(unknown, pack, ON).lines if ln.rule == "able_to_work")
    assert "不符合" not in line.message_zh and "待核实" in line.message_zh

    failed = _applicant("jilin-2022", {"person.able_to_work": False})
    ex = explain_pre_check(failed, pack, ON)
    assert ex.verdict == "not_met" and _group(ex, "base_conditions").verdict == "not_met"
    able = next(r for r in _group(ex, "base_conditions").rules if r.code == "able_to_work")
    assert able.tests[0].text_zh == "有劳动能力：否（须为是）"


def test_groups_in_order_requested_first_other_met_also_rest_folded() -> None:
    facts = _applicant(
        "jilin-2022",
        {
            "person.disability_certificate": True,
            "household.zero_employment": True,
            "requested_category": "laid_off",
        },
    )
    ex = explain_pre_check(facts, load_pack("jilin-2022"), ON)
    assert [g.code for g in ex.groups] == [
        "base_conditions",
        "categories",
        "exclusions",
        "evidence",
        "data_check",
    ]
    assert [g.name for g in ex.groups] == [
        "基本条件",
        "申报类别",
        "不予认定情形",
        "证明材料",
        "部门数据核查",
    ]
    cats = _group(ex, "categories")
    assert [(r.code, r.role, r.verdict) for r in cats.rules] == [
        ("laid_off", "requested", "not_met"),
        ("disabled", "also_met", "met"),
        ("zero_employment_household", "also_met", "met"),
    ]
    assert cats.verdict == "not_met"  # the group's verdict is the requested category's
    assert {r.code for r in cats.folded} == {
        "older_unemployed",
        "minimum_living_allowance",
        "landless_farmer",
        "difficult_graduate",
    }
    assert all(r.role == "other" for r in cats.folded)
    # Met via another category: the overall verdict is met, as ``eligible`` is.
    assert ex.verdict == "met" and ex.eligible
    # Exclusions that do not apply are folded; the manual one stays for the officer.
    excl = _group(ex, "exclusions")
    assert [(r.code, r.verdict, r.outcome) for r in excl.rules] == [("other", "to_verify", "check")]
    assert [r.code for r in excl.folded] == [
        "labour_relation",
        "business_or_officer",
        "stable_income",
    ]
    assert all(r.verdict == "met" and r.verdict_text == "不属于此情形" for r in excl.folded)
    # Read from the applicant's side: 否 ✓ when the ground does not apply.
    assert [t.text_zh for t in excl.folded[0].tests] == [
        "已与用人单位建立劳动关系：否",
        "在用人单位参加社会保险：否",
    ]
    assert all(t.verdict == "met" for r in excl.folded for t in r.tests)
    # Evidence still to hand in is shown, settled evidence folded.
    ev = _group(ex, "evidence")
    assert ev.rules and all(r.outcome == "missing" and r.verdict_text == "需补充" for r in ev.rules)


def test_without_a_requested_category_met_ones_lead() -> None:
    facts = _applicant("weifang-2023", {"person.disability_certificate": True})
    cats = _group(explain_pre_check(facts, load_pack("weifang-2023"), ON), "categories")
    assert [(r.code, r.role) for r in cats.rules] == [("disabled", "also_met")]
    assert cats.verdict == "met"


def test_every_rule_keeps_its_clause_and_no_text_shows_a_path_or_code() -> None:
    for pack_id, facts in (("jilin-2022", _jilin_woman()), ("weifang-2023", _weifang_man())):
        ex = explain_pre_check(facts, load_pack(pack_id), ON)
        for g in ex.groups:
            for r in [*g.rules, *g.folded]:
                assert r.clause, r.code
        zh = " ".join(_texts(ex))
        for bad in ("person.", "residence.", "unemployment.", "= true", "true", "false", "≥"):
            assert bad not in zh, bad
        assert not re.search(r"[a-z]{3,}", zh.replace("pre-check", "")), zh
        en = _texts(ex, zh=False)
        assert not any(CJK.search(t) for t in en if "「" not in t), en


def test_value_wording() -> None:
    assert value_text("person.sex", "female", True) == "女"
    assert value_text("person.sex", "male", False) == "male"
    assert value_text("person.able_to_work", True, True) == "是"
    assert value_text("person.able_to_work", False, False) == "no"
    assert value_text("unemployment.unemployed_since", date(2026, 3, 1), True) == "2026年3月1日"
    assert value_text("unemployment.unemployed_since", date(2026, 3, 1), False) == "1 March 2026"
    assert value_text("person.age", 48, True) == "48周岁"
    assert value_text("unemployment.months_unemployed", 9, True) == "9个月"
    assert value_text("economic.stable_monthly_income", 1800.0, True) == "1800元/月"
    assert value_text("person.age", None, True) == "待核实"
    levels = ("junior_college", "bachelor", "postgraduate")
    assert requirement("graduate.level", "in", levels, True) == "须为大专及以上"
    assert requirement("graduate.level", "in", levels, False) == "must be junior college or above"
    marital = ("divorced", "widowed", "unmarried")
    assert requirement("person.marital_status", "in", marital, True) == "须为离婚、丧偶或未婚"
    assert requirement("person.age", "gte", 40, True) == "须满40周岁"
    assert requirement("graduate.years_since_leaving", "lt", 2, True) == "须不满2年"
    assert requirement("economic.stable_monthly_income", "gte", 2000, True) == "须不低于2000元/月"
    assert (
        requirement("unemployment.unemployed_since", "lte", date(2026, 3, 1), True)
        == "须不晚于2026年3月1日"
    )


def test_graduate_level_reads_junior_college_and_above() -> None:
    facts = _applicant(
        "jilin-2022",
        {
            "graduate.is_graduate": True,
            "graduate.full_time_domestic": True,
            "graduate.level": "bachelor",
            "graduate.left_school_on": "2023-07-01",
            "graduate.ever_employed": False,
            "requested_category": "difficult_graduate",
        },
    )
    rule = _requested(explain_pre_check(facts, load_pack("jilin-2022"), ON))
    assert rule.verdict == "met"
    assert "学历层次：本科（须为大专及以上）" in [t.text_zh for t in rule.tests]
    level = next(t for t in rule.tests if t.fact == "graduate.level")
    # The machine-readable side keeps the pack's codes.
    assert level.operator == "in" and level.expected == [
        "junior_college",
        "bachelor",
        "postgraduate",
    ]
    assert level.actual == "bachelor" and level.verdict == "met"


def test_a_negated_test_reads_positively() -> None:
    expr = parse_expr({"not": {"fact": "person.age", "gte": 50}})
    ev = explain(expr, {"person.age": 56})
    assert ev.value is False
    assert [leaf.explain_zh() for leaf in ev.leaves] == ["年龄：56周岁（须不满50周岁）"]
    assert ev.leaves[0].value is False
    both = parse_expr(
        {"not": {"all": [{"fact": "person.age", "gte": 50}, {"fact": "person.sex", "eq": "male"}]}}
    )
    ev = explain(both, {"person.age": 56, "person.sex": "female"})
    assert ev.value is True
    # not(all) holds by the part that fails: only that one explains it.
    assert [leaf.explain_zh() for leaf in ev.leaves] == ["性别：女（不得为男）"]


def test_data_conflict_is_worded_and_to_verify() -> None:
    facts = _applicant(
        "weifang-2023",
        {
            "data_sharing": [
                {
                    "fact": "person.disability_certificate",
                    "value": True,
                    "source": "残联",
                    "checked_on": "2026-12-01",
                }
            ]
        },
    )
    ex = explain_pre_check(facts, load_pack("weifang-2023"), ON)
    data = _group(ex, "data_check")
    assert data.verdict == "to_verify"
    (rule,) = data.rules
    assert rule.code == "person.disability_certificate" and rule.verdict_text == "与申报不一致"
    assert rule.text_zh == "部门数据（残联）显示持《中华人民共和国残疾人证》为是，与申报的否不一致"


def test_an_exclusion_that_applies_says_which_fact() -> None:
    facts = _applicant("jilin-2022", {"economic.has_labour_relation": True})
    ex = explain_pre_check(facts, load_pack("jilin-2022"), ON)
    assert ex.verdict == "not_met"
    excl = _group(ex, "exclusions")
    hit = next(r for r in excl.rules if r.code == "labour_relation")
    assert (hit.verdict, hit.outcome, hit.verdict_text) == ("not_met", "hit", "属于此情形")
    assert [(t.text_zh, t.verdict) for t in hit.tests] == [
        ("已与用人单位建立劳动关系：是（须为否）", "not_met")
    ]
    assert excl.verdict == "not_met"
    assert ex.text_zh == (
        "预审不符合：「已建立劳动关系或在用人单位参加社会保险」属于此情形"
        "（仅供参考，由经办人员认定）"
    )
