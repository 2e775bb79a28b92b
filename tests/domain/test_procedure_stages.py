"""Procedures as data (#23): stages known by a per-pack id (any number of review levels), a
publicity that runs at least its working days, and what its notice shows — validated with the
field and line of the problem, and invisible to the packs that say none of it (their stage
codes and content hashes stay as they were, so running cases' pinned copies still verify)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.calendar import WorkingCalendar
from domain.case_clock import OpenTaskFact, ProcedureStage, TimelineFact, case_position
from domain.policy import PolicyPackError, load_all, load_pack_file, pack_from_json
from domain.policy.diff import diff_packs
from domain.vocabulary import PlaceRef
from workflows.rules import case_rules

FIXTURE = Path(__file__).parents[1] / "fixtures" / "policy" / "fourstep-2026.toml"
TEXT = FIXTURE.read_text(encoding="utf-8")
NEW_STAGE_FIELDS = ("document", "minimum", "shows")


def test_the_seed_packs_keep_their_stage_codes_and_hashes() -> None:
    for pack in load_all().values():
        if pack.procedure is None:
            continue
        # None provides a re-examination: a refusal closes the case as before.
        assert pack.procedure.reexamination is None
        assert "reexamination" not in json.loads(pack.canonical_json())["procedure"]
        assert [s.stage_id for s in pack.procedure.stages] == pack.procedure.kinds
        data = json.loads(pack.canonical_json())
        for stage in data["procedure"]["stages"]:
            # Left out at their defaults: the hash is the one computed before they existed.
            assert not set(stage) & {"id", *NEW_STAGE_FIELDS}, (pack.id, stage["kind"])
        assert pack_from_json(pack.to_json()) == pack


def test_a_pack_with_two_review_levels_and_a_minimum_publicity() -> None:
    pack = load_pack_file(FIXTURE)
    assert pack.procedure is not None
    stages = pack.procedure.stages
    assert [(s.stage_id, s.kind, s.level) for s in stages] == [
        ("community_review", "initial_review", "community"),
        ("publicity", "publicity", "community"),
        ("street_recheck", "initial_review", "street"),
        ("review", "review", "county"),
    ]
    publicity = stages[1]
    assert publicity.minimum and publicity.working_days == 7
    assert publicity.publicity_fields == ("name", "masked_id", "category", "place")
    assert [s.document for s in stages] == [
        "初审意见",
        "公示名单",
        "复查意见",
        "就业困难人员认定表",
    ]
    assert pack.procedure.stage_by_id("street_recheck") is stages[2]
    # The new fields are part of what it pins.
    data = json.loads(pack.canonical_json())
    assert data["procedure"]["stages"][0]["id"] == "community_review"
    assert data["procedure"]["stages"][1]["minimum"] is True
    assert pack_from_json(pack.to_json()) == pack

    chain = [
        PlaceRef("460105001001", "46.4601.460105.460105001.460105001001", "community", "社区"),
        PlaceRef("460105001", "46.4601.460105.460105001", "street", "街道"),
        PlaceRef("460105", "46.4601.460105", "county", "区"),
    ]
    rules = case_rules(pack, chain)
    assert [(r.stage_id, r.kind, r.place.level) for r in rules.stages] == [
        ("community_review", "initial_review", "community"),
        ("publicity", "publicity", "community"),
        ("street_recheck", "initial_review", "street"),
        ("review", "review", "county"),
    ]
    assert rules.stages[1].minimum and not rules.stages[0].minimum
    assert rules.stages[2].refusal_basis == "测人社发〔2026〕1号 二(三)"
    # The applicant's request for re-examination (复核申请), at the county, with its clocks.
    again = rules.reexamination
    assert again is not None
    assert (again.name, again.request_within, again.role) == ("复核", 5, "county_reviewer")
    assert again.place.code == "460105" and (again.sla.goal, again.sla.deadline) == (7, 7)
    assert again.source == "测人社发〔2026〕1号 二(五)"
    assert data["procedure"]["reexamination"]["request_within"] == 5


def test_a_stage_without_the_new_fields_keeps_the_default_publicity_columns() -> None:
    jilin = load_all()["jilin-2022"]
    assert jilin.procedure is not None
    publicity = jilin.procedure.stage("publicity")
    assert publicity is not None and not publicity.minimum
    assert publicity.publicity_fields == ("name", "masked_id", "category", "place", "period")


def load_broken(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / FIXTURE.name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyPackError) as caught:
        load_pack_file(path)
    return caught.value.errors


def line_of(text: str, needle: str, nth: int = 0) -> int:
    found = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == needle]
    return found[nth]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # Two stages under one id.
        (
            ('id = "street_recheck"', 'id = "community_review"'),
            "line {2}: procedure.stages[2].id: duplicate stage 'community_review'; "
            "give each a distinct `id`",
        ),
        # A second conclusion: a further level is an initial_review with its own id.
        (
            (
                'id = "street_recheck"\nkind = "initial_review"',
                'id = "street_recheck"\nkind = "review"',
            ),
            "line {3}: procedure.stages[3].kind: a procedure has one 'review' stage; further "
            "review levels are `initial_review` stages, each with its own `id`",
        ),
        # A minimum or a content on a stage that is no publicity.
        (
            ('document = "复查意见"', 'document = "复查意见"\nminimum = true'),
            "line {2}: procedure.stages[2]: `minimum` is only for the publicity stage",
        ),
        (
            ('document = "复查意见"', 'document = "复查意见"\nshows = ["name"]'),
            "line {2}: procedure.stages[2]: `shows` is only for the publicity stage",
        ),
        # A notice that does not name the person, an unknown column.
        (
            ('shows = ["name", "masked_id"', 'shows = ["masked_id"'),
            "line {1}: procedure.stages[1]: shows: a publicity notice names the person (`name`)",
        ),
        (
            ('shows = ["name", "masked_id"', 'shows = ["name", "phone"'),
            "line {1}: procedure.stages[1].shows[1]: Input should be 'name', 'masked_id', "
            "'sex', 'category', 'place' or 'period'",
        ),
        # An id that is no code.
        (
            ('id = "street_recheck"', 'id = "Street Recheck"'),
            "line {2}: procedure.stages[2].id: String should match pattern '^[a-z][a-z0-9_]*$'",
        ),
    ],
)
def test_a_broken_procedure_names_the_field_and_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = TEXT.replace(*change)
    assert text != TEXT
    lines = {i: line_of(text, "[[procedure.stages]]", i) for i in range(4)}
    errors = load_broken(tmp_path, text)
    assert expected.format(*lines.values()) in errors


def test_the_conclusion_is_the_last_human_stage(tmp_path: Path) -> None:
    # The county's review moved before the street's re-check: the re-check would never run.
    head, county = TEXT.split('[[procedure.stages]]\nkind = "review"')
    parts = head.split("[[procedure.stages]]")
    text = "[[procedure.stages]]".join(
        [*parts[:3], '\nkind = "review"' + county.rstrip("\n") + "\n\n", parts[3]]
    )
    errors = load_broken(tmp_path, text)
    line = line_of(text, "[[procedure.stages]]", 2)
    assert (
        f"line {line}: procedure.stages[2].kind: the concluding stage (review) "
        "must be the procedure's last human stage"
    ) in errors


def test_a_second_level_shows_in_the_diff_as_one_added_stage(tmp_path: Path) -> None:
    before = load_pack_file(FIXTURE)
    start = TEXT.index('[[procedure.stages]]\nid = "street_recheck"')
    end = TEXT.index('[[procedure.stages]]\nkind = "review"')
    path = tmp_path / FIXTURE.name
    path.write_text(TEXT[:start] + TEXT[end:], encoding="utf-8")
    after = load_pack_file(path)
    assert [(c.path, c.kind) for c in diff_packs(after, before)] == [
        ("procedure.stages[street_recheck]", "added")
    ]


def test_the_stage_map_follows_each_level_by_its_id() -> None:
    stages = [
        ProcedureStage(
            "initial_review", "社区初审", "community", "grassroots_officer", "community_review"
        ),
        ProcedureStage("publicity", "社区公示", "publicity", "grassroots_officer"),
        ProcedureStage(
            "initial_review", "街道复查", "street", "grassroots_officer", "street_recheck"
        ),
        ProcedureStage("review", "县级认定", "county", "county_reviewer"),
    ]
    now = datetime(2026, 3, 10, 2, tzinfo=UTC)
    opened = now - timedelta(days=1)
    wf = "identification-X"
    events = [
        TimelineFact("stage", opened - timedelta(days=12), {"stage": "community_review"}),
        TimelineFact(
            "task_completed",
            opened - timedelta(days=11),
            {"task_id": f"{wf}.initial_review.1", "stage_id": "community_review"},
        ),
        TimelineFact("publicity", opened - timedelta(days=11), {"stage": "publicity"}),
        TimelineFact("task_completed", opened, {"task_id": f"{wf}.publicity_report.2"}),
        TimelineFact("stage", opened, {"stage": "street_recheck"}),
    ]
    task = OpenTaskFact(
        f"{wf}.initial_review.3",
        "initial_review",
        opened,
        now + timedelta(days=6),
        "street_recheck",
    )
    p = case_position(
        stages=stages,
        stored_stage="street_recheck",
        concluded=False,
        events=events,
        open_tasks=[task],
        now=now,
        calendar=WorkingCalendar(),
    )
    assert [(s.kind, s.state) for s in p.steps] == [
        ("community_review", "done"),
        ("publicity", "done"),
        ("street_recheck", "current"),
        ("review", "next"),
    ]
    assert p.stage == "street_recheck" and p.waiting_on == "office"
    assert p.clock is not None and p.clock.task_id == task.id
    assert p.stage_name("street_recheck") == "街道复查"
    assert p.steps[0].finished_on == (opened - timedelta(days=11)).date()
