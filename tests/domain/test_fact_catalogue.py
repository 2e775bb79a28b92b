"""The shared fact catalogue is data (domain/facts.toml, #23 item 2): what the pages, the
pre-check and the API schema say of a fact comes from the file, and a file that disagrees with
itself or with the application's models is refused at import, naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.facts import (
    CATALOGUE_FILE,
    FACT_UNITS,
    VERIFIABLE,
    ApplicantFacts,
    FactCatalogueError,
    fact_catalogue,
    read_catalogue,
    stated_facts,
)
from domain.vocabulary import TaskKind

TEXT = CATALOGUE_FILE.read_text(encoding="utf-8")


def edited(tmp_path: Path, old: str, new: str) -> Path:
    assert old in TEXT, old
    path = tmp_path / "facts.toml"
    path.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_the_labels_units_and_verification_come_from_the_file() -> None:
    catalogue = read_catalogue(CATALOGUE_FILE)
    assert stated_facts()["person.birth_date"].label_zh == "出生日期"
    assert catalogue.labels["person.birth_date"] == ("出生日期", "date of birth")
    assert fact_catalogue()["person.age"].derived and FACT_UNITS["person.age"] == ("周岁", "years")
    visit = next(v for v in VERIFIABLE if v.fact == "household.zero_employment")
    assert TaskKind.HOME_VISIT in visit.stages and TaskKind.ACCEPTANCE not in visit.stages
    # The API's schema carries the file's words.
    person = ApplicantFacts.model_json_schema()["$defs"]["Person"]["properties"]
    assert (person["birth_date"]["title"], person["birth_date"]["description"]) == (
        "出生日期",
        "date of birth",
    )


def test_a_changed_label_reaches_every_reader(tmp_path: Path) -> None:
    path = edited(tmp_path, 'zh = "出生日期"', 'zh = "出生年月日"')
    assert read_catalogue(path).labels["person.birth_date"][0] == "出生年月日"


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        # a field of the application without its entry
        (
            '[stated."person.ethnicity"]',
            '[stated."person.ethnicity_of_record"]',
            '[stated."person.ethnicity_of_record"]',
            "no field of the application has this path",
        ),
        # a type that is not the field's
        (
            '[stated."person.able_to_work"]\ntype = "bool"',
            '[stated."person.able_to_work"]\ntype = "int"',
            '[stated."person.able_to_work"]',
            "type 'int', the field is 'bool'",
        ),
        # a derived fact computed from a fact nobody states
        (
            'from = ["graduate.left_school_on"]',
            'from = ["graduate.left_school_at"]',
            '[derived."graduate.years_since_leaving"]',
            "computed from unknown fact 'graduate.left_school_at'",
        ),
        # a verification at a set of stages the file does not name
        (
            'fact = "person.released_prisoner"\nat = "documents"',
            'fact = "person.released_prisoner"\nat = "paperwork"',
            'fact = "person.released_prisoner"',
            "at must name a set of [stages]",
        ),
        # a stage that is no task kind
        (
            'records = ["initial_review"',
            'records = ["first_review"',
            "records =",
            "stages.records",
        ),
        # a name that is not a pair
        ('male = ["男", "male"]', 'male = "男"', "male =", "[Chinese, English] expected"),
    ],
)
def test_a_broken_catalogue_names_its_line(
    tmp_path: Path, old: str, new: str, needle: str, words: str
) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(FactCatalogueError) as refused:
        read_catalogue(path)
    message = str(refused.value)
    assert words in message
    assert message.startswith(f"facts.toml:{line_of(path.read_text('utf-8'), needle)}:")


def test_a_field_without_its_entry_is_refused(tmp_path: Path) -> None:
    start = TEXT.index('[stated."person.ethnicity"]')
    end = TEXT.index("\n\n", start)
    path = tmp_path / "facts.toml"
    path.write_text(TEXT[:start] + TEXT[end + 2 :], encoding="utf-8")
    with pytest.raises(FactCatalogueError) as refused:
        read_catalogue(path)
    heading = line_of(path.read_text("utf-8"), "# --- person:")
    assert str(refused.value) == (
        f"facts.toml:{heading}: person.ethnicity: a field of the application without its entry"
    )
