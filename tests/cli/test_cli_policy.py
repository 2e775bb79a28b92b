"""``yuanzhu policy list|show|validate|diff`` and ``yuanzhu eligibility`` through click's
runner on a throwaway root group: output formats, one-line errors on stderr and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from domain.ids import check_digit
from domain.policy.loader import PACKS_DIR, list_packs, load_pack, pack_from_json
from worker.cli_policy import register

# Whatever packs exist (a new region's pack breaks nothing here), the five seeds among them.
KNOWN = ", ".join(list_packs())
SEEDS = {"jilin-2022", "qingxin-2024", "shandong-2021", "weifang-2023", "xinyu-2023"}


@pytest.fixture(scope="module")
def root() -> click.Group:
    group = click.Group(name="yuanzhu")
    register(group)
    return group


def run(root: click.Group, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(root, list(args), input=stdin)


def facts_json(**person: object) -> str:
    return json.dumps(
        {
            "person": {
                "sex": "female",
                "birth_date": "1980-01-01",
                "able_to_work": True,
                "willing_to_work": True,
                "disability_certificate": True,
                **person,
            },
            "residence": {"hukou_region_code": "220102", "urban": True},
            "unemployment": {"registered": True, "unemployed_since": "2023-01-01"},
            "economic": {
                "has_labour_relation": False,
                "employer_social_insurance_now": False,
                "business_licence": False,
                "legal_representative_or_officer_elsewhere": False,
                "has_stable_income": False,
            },
            "evidence": ["application_form"],
        },
        ensure_ascii=False,
    )


def test_list(root: click.Group) -> None:
    r = run(root, "policy", "list")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == list_packs()
    assert set(list_packs()) >= SEEDS


def test_list_json(root: click.Group) -> None:
    r = run(root, "policy", "list", "--json")
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == list_packs()
    weifang = next(row for row in rows if row["id"] == "weifang-2023")
    assert weifang["extends"] == "shandong-2021"
    assert weifang["hash"] == load_pack("weifang-2023").content_hash
    assert weifang["version"] == "2023.1" and weifang["issuer"] and weifang["name"]


def test_show_summary_names_rules_and_clauses(root: click.Group) -> None:
    r = run(root, "policy", "show", "jilin-2022")
    assert r.exit_code == 0
    out = r.stdout
    assert load_pack("jilin-2022").ref in out
    assert "older_unemployed: 大龄失业人员" in out and "吉人社发〔2022〕10号 一(一)2" in out
    assert "publicity: 辖区内公示" in out and "3 working days" in out
    assert "identification_deadline: value=10, unit=working_days" in out
    assert "exit_request_or_refusals" in out
    qx = run(root, "policy", "show", "qingxin-2024").stdout
    assert "assumed: " in qx


def test_show_json_is_the_full_merged_pack(root: click.Group) -> None:
    r = run(root, "policy", "show", "weifang-2023", "--json")
    assert r.exit_code == 0
    assert pack_from_json(json.loads(r.stdout)) == load_pack("weifang-2023")


def test_show_unknown_pack(root: click.Group) -> None:
    r = run(root, "policy", "show", "xx")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == f"error: unknown policy pack 'xx'; known: {KNOWN}\n"


def test_validate_ok_and_error(root: click.Group, tmp_path: Path) -> None:
    good = tmp_path / "jilin-2022.toml"
    good.write_text((PACKS_DIR / "jilin-2022.toml").read_text(encoding="utf-8"), encoding="utf-8")
    r = run(root, "policy", "validate", str(good))
    assert r.exit_code == 0 and r.stdout == f"ok: {load_pack('jilin-2022').ref}\n"
    bad = tmp_path / "bad.toml"
    bad.write_text(
        good.read_text(encoding="utf-8").replace(
            '"person.age", gte = 40', '"person.agee", gte = 40', 1
        ),
        encoding="utf-8",
    )
    r = run(root, "policy", "validate", str(bad))
    assert r.exit_code == 1
    assert re.match(r"error: bad\.toml: line \d+: categories\[1\]\.when: ", r.stderr)
    assert "unknown fact path 'person.agee'" in r.stderr


def test_diff(root: click.Group, tmp_path: Path) -> None:
    newer = tmp_path / "jilin-2022.toml"
    newer.write_text(
        (PACKS_DIR / "jilin-2022.toml")
        .read_text(encoding="utf-8")
        .replace("working_days = 3", "working_days = 5")
        .replace('version = "2022.2"', 'version = "2022.3"'),
        encoding="utf-8",
    )
    r = run(root, "policy", "diff", "jilin-2022", str(newer))
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        '~ version: "2022.2" → "2022.3"',
        "~ procedure.stages[publicity].working_days: 3 → 5",
    ]
    j = json.loads(run(root, "policy", "diff", "jilin-2022", str(newer), "--json").stdout)
    assert j[1] == {
        "path": "procedure.stages[publicity].working_days",
        "kind": "changed",
        "before": 3,
        "after": 5,
    }
    assert run(root, "policy", "diff", "jilin-2022", "jilin-2022").stdout == ""


def test_eligibility_prints_the_decision_as_json(root: click.Group, tmp_path: Path) -> None:
    f = tmp_path / "facts.json"
    f.write_text(facts_json(), encoding="utf-8")
    r = run(root, "eligibility", "--policy", "jilin-2022", "--on", "2024-06-14", str(f))
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["eligible"] is True
    assert [c["rule"] for c in d["categories_met"]] == ["older_unemployed", "disabled"]
    assert [m["code"] for m in d["evidence_missing"]] == [
        "id_card",
        "household_register_or_urban_residence_proof",
        "disability_certificate",
    ]
    assert d["pack_ref"] == load_pack("jilin-2022").ref


def test_eligibility_reads_stdin(root: click.Group) -> None:
    r = run(
        root, "eligibility", "--policy", "xinyu-2023", "--on", "2024-06-14", "-", stdin=facts_json()
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["pack_id"] == "xinyu-2023"


def test_eligibility_invalid_id_number_is_one_line(root: click.Group, tmp_path: Path) -> None:
    body = "22010219800101002"
    good = body + check_digit(body)
    bad = body + ("1" if good[-1] != "1" else "2")
    f = tmp_path / "FILE.json"
    f.write_text(facts_json(id_number=bad), encoding="utf-8")
    r = run(root, "eligibility", "--policy", "jilin-2022", "--on", "2024-06-14", str(f))
    assert r.exit_code == 1
    assert r.stderr == (
        f"error: {f}: person.id_number: check digit is {bad[-1]} but should be {good[-1]}\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "nope", "--on", "2024-06-14"], "error: unknown policy pack 'nope'; known: "),
        (
            ["--policy", "jilin-2022", "--on", "2024-13-01"],
            "error: '2024-13-01' is not a valid date (YYYY-MM-DD)",
        ),
        (
            ["--policy", "jilin-2022", "--on", "20240614"],
            "error: '20240614' is not a valid date (YYYY-MM-DD)",
        ),
    ],
)
def test_eligibility_errors(
    root: click.Group, tmp_path: Path, args: list[str], message: str
) -> None:
    f = tmp_path / "facts.json"
    f.write_text(facts_json(), encoding="utf-8")
    r = run(root, "eligibility", *args, str(f))
    assert r.exit_code == 1
    assert r.stderr.startswith(message)
    assert r.stdout == ""


def test_eligibility_bad_json_and_missing_file(root: click.Group, tmp_path: Path) -> None:
    f = tmp_path / "broken.json"
    f.write_text("{", encoding="utf-8")
    r = run(root, "eligibility", "--policy", "jilin-2022", "--on", "2024-06-14", str(f))
    assert r.exit_code == 1 and r.stderr.startswith(f"error: {f}: not valid JSON")
    r = run(
        root,
        "eligibility",
        "--policy",
        "jilin-2022",
        "--on",
        "2024-06-14",
        str(tmp_path / "none.json"),
    )
    assert r.exit_code == 1 and r.stderr.startswith("error: ")
