"""Each pack's own test cases (``packs/cases/<id>.toml``, domain/policy/cases.py): every pack
there is runs its cases, which must pass and test every base condition, category and
exclusion both ways, citing its clause — generic over the packs, so a new region's valid pack
with its cases breaks nothing here. And the cases themselves: a file that contradicts its
pack is refused before anything runs (file, line, field), a case the pack decides otherwise
fails with what was expected and what came, a rule no case tests is reported;
``yuanzhu policy test`` prints the table and exits 1 on any of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from domain.eligibility import EligibilityDecision, assess
from domain.policy.authoring import skeleton
from domain.policy.cases import (
    Loaded,
    case_facts,
    check_cases,
    coverage,
    load_cases,
    packaged_cases_path,
    parse_cases,
    run_cases,
)
from domain.policy.loader import (
    PACKS_DIR,
    PolicyPackError,
    list_packs,
    load_pack,
    load_pack_file,
)
from domain.policy.model import PolicyPack

ROOT = Path(__file__).resolve().parents[2]
JILIN = "jilin-2022"


@pytest.mark.parametrize("pack_id", list_packs())
def test_every_pack_passes_its_own_cases_and_they_cover_every_rule(pack_id: str) -> None:
    pack = load_pack(pack_id)
    loaded = load_cases(packaged_cases_path(pack_id))
    check_cases(loaded, pack)
    results = run_cases(loaded, pack)
    assert results
    failed = [
        f"{loaded.where(r.index)} {r.case.name}: {r.problems}" for r in results if not r.passed
    ]
    assert not failed, "\n".join(failed)
    assert coverage(loaded, pack) == []


HEAD = f"""pack = "{JILIN}"
on = 2024-06-14

[base]
person = {{ sex = "male", birth_date = 1994-06-14, able_to_work = true, willing_to_work = true }}
residence = {{ hukou_region_code = "220102", urban = true }}
unemployment = {{ registered = true, registered_on = 2024-03-14, unemployed_since = 2024-03-14 }}
"""

OLDER_FEMALE = """
[[cases]]
name = "女，40周岁，失业半年"
rule = "categories.older_unemployed"
expect = "{expect}"
clause = "{clause}"
[cases.facts]
"person.sex" = "female"
"person.birth_date" = 1984-06-14
"unemployment.unemployed_since" = 2023-12-14
"""


def _cases(*blocks: str) -> Loaded:
    return parse_cases(HEAD + "".join(blocks), "cases/jilin-2022.toml")


def _clause(code: str) -> str:
    category = load_pack(JILIN).category(code)
    assert category is not None and category.source
    return category.source


def test_a_case_citing_another_clause_is_refused_with_file_line_and_field() -> None:
    loaded = _cases(OLDER_FEMALE.format(expect="met", clause="吉人社发〔2022〕10号 九(九)"))
    with pytest.raises(PolicyPackError) as e:
        check_cases(loaded, load_pack(JILIN))
    line = HEAD.count("\n") + 2  # the [[cases]] header after the blank line
    assert str(e.value) == (
        f"cases/jilin-2022.toml: cases/jilin-2022.toml:{line}: cases[0].clause: "
        f"categories.older_unemployed cites '{_clause('older_unemployed')}', "
        "not '吉人社发〔2022〕10号 九(九)'"
    )


def test_unknown_rules_facts_and_expectations_are_refused_together() -> None:
    loaded = _cases(
        OLDER_FEMALE.format(expect="met", clause=_clause("older_unemployed")).replace(
            "older_unemployed", "veterans"
        ),
        OLDER_FEMALE.format(expect="met", clause=_clause("older_unemployed")).replace(
            '"person.sex"', '"person.veteran"'
        ),
    )
    with pytest.raises(PolicyPackError) as e:
        check_cases(loaded, load_pack(JILIN))
    text = str(e.value)
    assert "cases[0].rule: jilin-2022 has no rule 'categories.veterans'" in text
    assert "cases[1].facts: person.veteran: Extra inputs are not permitted" in text


def test_a_malformed_file_names_the_line_of_the_case() -> None:
    with pytest.raises(PolicyPackError) as e:
        _cases(OLDER_FEMALE.format(expect="sometimes", clause="x"))
    line = HEAD.count("\n") + 2
    assert f"cases/jilin-2022.toml: {line}: cases[0].expect: Input should be 'met'" in str(e.value)
    with pytest.raises(PolicyPackError, match="TOML syntax"):
        parse_cases("pack = ", "cases/x.toml")


def test_a_case_the_pack_decides_otherwise_fails_and_says_what_came() -> None:
    pack = load_pack(JILIN)
    loaded = _cases(OLDER_FEMALE.format(expect="not_met", clause=_clause("older_unemployed")))
    check_cases(loaded, pack)  # well-formed: the pack simply disagrees
    [result] = run_cases(loaded, pack)
    assert not result.passed
    assert result.problems == ["categories.older_unemployed: expected not_met, got met"]


def test_coverage_lists_every_rule_no_case_tests_both_ways() -> None:
    pack = load_pack(JILIN)
    loaded = _cases(OLDER_FEMALE.format(expect="met", clause=_clause("older_unemployed")))
    gaps = coverage(loaded, pack)
    assert "categories.older_unemployed: no case where it is not_met" in gaps
    assert any(g.startswith("base_conditions.working_age: no case") for g in gaps)
    assert len(gaps) == len(pack.base_conditions) + len(pack.categories) + len(pack.exclusions)


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", "policy", "test", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_cli_runs_every_packaged_pack_and_prints_a_table() -> None:
    out = _cli()
    assert out.returncode == 0, out.stderr
    for pack_id in list_packs():
        assert f"{pack_id}  [" in out.stdout
    assert "失败" not in out.stdout
    assert "0 failed, 0 rules not covered" in out.stdout


def test_cli_on_a_pack_file_with_a_failing_case_beside_it_exits_1(tmp_path: Path) -> None:
    shutil.copy(PACKS_DIR / f"{JILIN}.toml", tmp_path / f"{JILIN}.toml")
    (tmp_path / "cases").mkdir()
    text = (PACKS_DIR / "cases" / f"{JILIN}.toml").read_text(encoding="utf-8")
    # The first category case's expectation turned round: the pack decides otherwise.
    first = text.index('expect = "met"', text.index('rule = "categories.'))
    text = text[:first] + 'expect = "not_met"' + text[first + len('expect = "met"') :]
    (tmp_path / "cases" / f"{JILIN}.toml").write_text(text, encoding="utf-8")
    out = _cli(str(tmp_path / f"{JILIN}.toml"))
    assert out.returncode == 1
    assert "失败" in out.stdout and "expected not_met, got met" in out.stdout
    assert "1 failed" in out.stdout


def test_cli_refuses_a_pack_file_without_cases(tmp_path: Path) -> None:
    shutil.copy(PACKS_DIR / f"{JILIN}.toml", tmp_path / f"{JILIN}.toml")
    out = _cli(str(tmp_path / f"{JILIN}.toml"))
    assert out.returncode == 1
    assert out.stderr.strip() == f"error: {JILIN}: {JILIN}.toml: no test cases: file not found"


def test_a_duration_counts_from_the_date_the_document_names(tmp_path: Path) -> None:
    """Durations say what they count from (#23): a document that counts unemployment from the
    (latest) registration, not from when the person became unemployed, writes
    ``unemployment.registered_on.months_since``; every date an application states has one."""
    pack_text, cases_text = skeleton("henan-2026", region_code="41")
    pack_text = pack_text.replace(
        """when.any = [
  { all = [ { fact = "person.sex", eq = "female" }, { fact = "person.age", gte = 40 } ] },
  { all = [ { fact = "person.sex", eq = "male" }, { fact = "person.age", gte = 50 } ] },
]""",
        'when = { fact = "unemployment.registered_on.months_since", gte = 12 }',
    )
    (tmp_path / "henan-2026.toml").write_text(pack_text, encoding="utf-8")
    pack = load_pack_file(tmp_path / "henan-2026.toml")
    cases = parse_cases(
        cases_text.split("[[cases]]")[0]
        + """
[[cases]]
name = "失业登记满12个月（失业才2个月）"
rule = "categories.older_unemployed"
expect = "met"
clause = "（文号） 一(一)"
facts = { "unemployment.registered_on" = 2025-01-01, "unemployment.unemployed_since" = 2025-11-01 }

[[cases]]
name = "失业登记11个月"
rule = "categories.older_unemployed"
expect = "not_met"
clause = "（文号） 一(一)"
facts = { "unemployment.registered_on" = 2025-01-02, "unemployment.unemployed_since" = 2024-01-01 }
""",
        "cases/henan-2026.toml",
    )
    check_cases(cases, pack)
    results = run_cases(cases, pack)
    assert [r.problems for r in results] == [[], []]
    # The officer reads why, in the words of the catalogue.
    why = next(
        f for f in assess_case(cases, pack, 1).categories_not_met if f.rule == "older_unemployed"
    )
    assert "自失业登记日期起满月数" in "".join(why.reasons_zh)
    assert "11个月" in "".join(why.reasons_zh)


def assess_case(cases: Loaded, pack: PolicyPack, index: int) -> EligibilityDecision:
    case = cases.cases.cases[index]
    return assess(case_facts(cases.cases, case), pack, case.on or cases.cases.on)
