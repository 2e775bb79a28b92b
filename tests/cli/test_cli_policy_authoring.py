"""Authoring a pack from a document (#23, docs/policy-authoring.md) through the CLI:
``policy new`` writes a pack and its cases that load and pass; ``policy check`` refuses a
quote the document does not hold, an id that is not the file name and cases that fail, and
says every default the pack's silence leaves; ``policy facts`` lists the catalogue a
predicate may read; ``policy show`` prints every section, the defaults among them."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from domain.facts import fact_catalogue
from domain.policy.loader import PACKS_DIR
from worker.cli_policy import register

SEEDS = Path("/work/shared/seeds")
JILIN_SEED = SEEDS / "001_6e7db49f9ee827e8.txt"


@pytest.fixture(scope="module")
def root() -> click.Group:
    group = click.Group(name="yuanzhu")
    register(group)
    return group


def run(root: click.Group, *args: str) -> Result:
    return CliRunner().invoke(root, list(args))


def test_new_writes_a_pack_and_cases_that_load_and_pass(root: click.Group, tmp_path: Path) -> None:
    r = run(root, "policy", "new", "henan-2026", "--region-code", "41", "--dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    pack = tmp_path / "henan-2026.toml"
    assert pack.is_file() and (tmp_path / "cases" / "henan-2026.toml").is_file()
    checked = run(root, "policy", "check", str(pack))
    assert checked.exit_code == 0, checked.output
    assert checked.output.splitlines()[-1].startswith("ok: henan-2026@1#")
    # The defaults its silence leaves, each said out loud.
    assert "warning: clocks.supplement_deadline: not set; 10 working_days applies" in checked.output
    assert "warning: ledger.layout: not set; service_tracking applies" in checked.output
    assert "warning: quotes not checked" in checked.output
    tested = run(root, "policy", "test", str(pack))
    assert tested.exit_code == 0 and "5 passed, 0 failed, 0 rules not covered" in tested.output
    # Nothing is overwritten.
    again = run(root, "policy", "new", "henan-2026", "--dir", str(tmp_path))
    assert again.exit_code == 1 and "exists; nothing written" in again.output
    bad = run(root, "policy", "new", "Henan 2026", "--dir", str(tmp_path))
    assert bad.exit_code == 1 and "is not a pack id" in bad.output


def test_new_extending_a_pack_starts_from_its_parents_cases(
    root: click.Group, tmp_path: Path
) -> None:
    r = run(
        root, "policy", "new", "weifang-2027", "--extends", "weifang-2023", "--dir", str(tmp_path)
    )
    assert r.exit_code == 0, r.output
    cases = (tmp_path / "cases" / "weifang-2027.toml").read_text(encoding="utf-8")
    assert 'pack = "weifang-2027"' in cases and "categories.older_unemployed" in cases
    tested = run(root, "policy", "test", str(tmp_path / "weifang-2027.toml"))
    assert tested.exit_code == 0, tested.output


@pytest.mark.skipif(not JILIN_SEED.is_file(), reason="seed documents not available")
def test_check_against_the_document_refuses_a_quote_it_does_not_hold(
    root: click.Group, tmp_path: Path
) -> None:
    ok = run(
        root, "policy", "check", str(PACKS_DIR / "jilin-2022.toml"), "--source", str(JILIN_SEED)
    )
    assert ok.exit_code == 0, ok.output
    text = (PACKS_DIR / "jilin-2022.toml").read_text(encoding="utf-8")
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "jilin-2022.toml").write_text(
        (PACKS_DIR / "cases" / "jilin-2022.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    changed = text.replace('quote = "凡具有本省户籍"', 'quote = "凡具有本市户籍"', 1)
    assert changed != text
    (tmp_path / "jilin-2022.toml").write_text(changed, encoding="utf-8")
    r = run(root, "policy", "check", str(tmp_path / "jilin-2022.toml"), "--source", str(JILIN_SEED))
    assert r.exit_code == 1
    assert (
        "error: jilin-2022.toml: base_conditions[0].quote: not in the document: '凡具有本市户籍'"
        in r.output
    )


def test_check_refuses_an_id_that_is_not_the_file_name_and_failing_cases(
    root: click.Group, tmp_path: Path
) -> None:
    run(root, "policy", "new", "henan-2026", "--dir", str(tmp_path))
    (tmp_path / "henan-2026.toml").rename(tmp_path / "henan.toml")
    r = run(root, "policy", "check", str(tmp_path / "henan.toml"))
    assert r.exit_code == 1
    assert "error: henan.toml: id: 'henan-2026' does not match the file name" in r.output
    assert "error: henan.toml: no test cases: file not found" in r.output
    cases = tmp_path / "cases" / "henan-2026.toml"
    cases.write_text(
        cases.read_text(encoding="utf-8").replace('expect = "not_met"', 'expect = "met"', 1),
        encoding="utf-8",
    )
    (tmp_path / "henan.toml").rename(tmp_path / "henan-2026.toml")
    r = run(root, "policy", "check", str(tmp_path / "henan-2026.toml"))
    assert r.exit_code == 1
    assert "base_conditions.working_age: expected met, got not_met" in r.output


def test_facts_lists_the_catalogue_with_units_sources_and_stages(root: click.Group) -> None:
    r = run(root, "policy", "facts", "--json")
    assert r.exit_code == 0
    rows = {row["path"]: row for row in json.loads(r.output)}
    assert set(rows) == set(fact_catalogue())
    age = rows["person.age"]
    assert (age["type"], age["unit"], age["derived_from"]) == ("int", "周岁", ["person.birth_date"])
    assert rows["residence.urban"]["verified_at"]
    plain = run(root, "policy", "facts")
    assert "person.age" in plain.output and "derived from person.birth_date" in plain.output


def test_show_prints_every_section_and_the_defaults(root: click.Group) -> None:
    r = run(root, "policy", "show", "jilin-2022")
    assert r.exit_code == 0
    for heading in (
        "证明材料 evidence:",
        "受理 where to apply:",
        "台账 ledger: one_person_one_file",
    ):
        assert heading in r.output
    assert "默认值 defaults" in r.output and "hukou_region_prefix = 22" in r.output


def test_show_says_what_a_revision_does_to_the_persons_identified(
    root: click.Group, tmp_path: Path
) -> None:
    """A revision's [transition] with its clause; a silent revision names the default."""
    assert run(root, "policy", "new", "testland-2026", "--dir", str(tmp_path)).exit_code == 0
    pack = tmp_path / "testland-2026.toml"
    text = pack.read_text(encoding="utf-8").replace(
        'version = "1"', 'version = "2"\neffective_from = 2027-01-01'
    )
    pack.write_text(text, encoding="utf-8")
    silent = run(root, "policy", "show", str(pack))
    assert silent.exit_code == 0, silent.output
    assert "施行日期 effective from: 2027-01-01" in silent.output
    assert "transition.assistance = stay" in silent.output
    pack.write_text(
        text + '\n[transition]\nassistance = "move"\nsource = "（文号） 第三十条"\n'
        'quote = "本办法施行前已认定的"\n',
        encoding="utf-8",
    )
    moving = run(root, "policy", "show", str(pack))
    assert moving.exit_code == 0, moving.output
    assert (
        "已认定人员 persons already identified: move — move to this revision's assistance "
        "rules from its first day  (（文号） 第三十条)"
    ) in moving.output
    assert "transition.assistance = stay" not in moving.output
