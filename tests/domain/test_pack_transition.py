"""``[transition]``: what a revision says of the persons already identified (#23). Read with its
clause, refused with file, line and field, not inherited through ``extends``, said as a default
on a revision that is silent, left out of the hash where absent; and which revision governs a
person's assistance (store.packs.assistance_revision)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from domain.policy.authoring import defaults_applying, skeleton
from domain.policy.loader import PolicyPackError, load_all, load_pack_file
from store.packs import InForce, assistance_revision

MOVE = """
[transition]
assistance = "move"
source = "（文号） 第三十条"
quote = "本办法施行前已认定的就业困难人员，按本办法执行"
"""


def write(tmp_path: Path, text: str, pack_id: str = "testland-2026") -> Path:
    path = tmp_path / f"{pack_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def revision(version: str, extra: str = "") -> str:
    pack, _ = skeleton("testland-2026", region_code="46")
    return pack.replace('version = "1"', f'version = "{version}"') + extra


def test_a_revision_says_the_persons_identified_move_with_its_clause(tmp_path: Path) -> None:
    pack = load_pack_file(write(tmp_path, revision("2", MOVE)))
    assert pack.transition is not None and pack.moves_assistance
    assert pack.transition.citation == "（文号） 第三十条"
    stay = load_pack_file(write(tmp_path, revision("3", MOVE.replace('"move"', '"stay"'))))
    assert stay.transition is not None and not stay.moves_assistance
    silent = load_pack_file(write(tmp_path, revision("4")))
    assert silent.transition is None and not silent.moves_assistance
    assert "transition" in json.loads(pack.canonical_json())


def test_a_seed_without_the_section_hashes_as_before() -> None:
    for seed in load_all().values():
        assert seed.transition is None
        assert "transition" not in json.loads(seed.canonical_json())


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (MOVE.replace('"move"', '"go"'), "transition.assistance: Input should be 'move' or 'stay'"),
        (
            '\n[transition]\nassistance = "move"\n',
            "transition: every rule needs a `source` clause or `assumed = true` with a `note`",
        ),
        (MOVE + "moves = true\n", "transition.moves: Extra inputs are not permitted"),
    ],
)
def test_a_broken_transition_is_refused_with_file_line_and_field(
    tmp_path: Path, section: str, problem: str
) -> None:
    text = revision("2", section)
    line = text.splitlines().index("[transition]") + 1
    with pytest.raises(PolicyPackError) as e:
        load_pack_file(write(tmp_path, text))
    assert str(e.value) == f"testland-2026.toml: line {line}: {problem}"


def test_a_child_pack_does_not_inherit_its_parents_transition(tmp_path: Path) -> None:
    write(tmp_path, revision("2", MOVE))
    child = write(
        tmp_path,
        'id = "testcity-2026"\nversion = "1"\nextends = "testland-2026"\n'
        'name = "测试市"\nname_en = "test city"\nregion = "测试市"\nregion_code = "4601"\n',
        "testcity-2026",
    )
    assert load_pack_file(child).transition is None


def test_a_silent_revision_says_its_persons_stay() -> None:
    pack = load_all()["weifang-2023"]
    assert "transition.assistance" not in {d.path for d in defaults_applying(pack)}
    revised = pack.model_copy(update={"effective_from": date(2027, 1, 1)})
    [default] = [d for d in defaults_applying(revised) if d.path == "transition.assistance"]
    assert default.value == "stay"


def test_the_revision_governing_a_persons_assistance(tmp_path: Path) -> None:
    """v1 packaged; v2 (stay) from March; v3 (move) from May; v4 (stay) from July: a person
    identified under v1 or v2 follows v3 from its first day; one under v3 or v4 keeps theirs."""
    seed = load_pack_file(write(tmp_path, revision("1")))
    v2 = load_pack_file(write(tmp_path, revision("2")))
    v3 = load_pack_file(write(tmp_path, revision("3", MOVE)))
    v4 = load_pack_file(write(tmp_path, revision("4")))
    packs = InForce(
        {seed.id: seed},
        {
            seed.id: (
                (date(2026, 3, 1), v2),
                (date(2026, 5, 1), v3),
                (date(2026, 7, 1), v4),
            )
        },
    )
    assert assistance_revision(packs, seed, date(2026, 4, 30)) is seed
    assert assistance_revision(packs, seed, date(2026, 5, 1)) is v3
    assert assistance_revision(packs, v2, date(2026, 8, 1)) is v3
    assert assistance_revision(packs, v3, date(2026, 8, 1)) is v3
    assert assistance_revision(packs, v4, date(2026, 8, 1)) is v4
