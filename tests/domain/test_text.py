"""domain/text.py: the one rule for free text (#20 §6)."""

from __future__ import annotations

import pytest

from domain.text import TextRefused, clean_line, clean_note, name_refused, person_name


def test_a_line_is_collapsed_stripped_and_bounded() -> None:
    assert clean_line("  张\t三\n ") == "张 三"
    assert clean_line("   ") is None and clean_line(None) is None
    with pytest.raises(TextRefused, match="at most 5 characters, not 6") as refused:
        clean_line("六个字的名字", 5)
    assert refused.value.zh == "最多 5 个字"


@pytest.mark.parametrize(
    "hidden",
    [
        "\u202e",
        "\u202a",
        "\u2066",
        "\u200e",
        "\u200b",
        "\u200d",
        "\ufeff",
        "\u00ad",
        "\x00",
        "\x7f",
    ],
)
def test_hidden_characters_are_refused_everywhere(hidden: str) -> None:
    for check in (lambda v: clean_line(v), lambda v: clean_note(v), person_name):
        with pytest.raises(TextRefused) as refused:
            check(f"张{hidden}三")
        assert refused.value.zh == "不能包含控制字符、文字方向控制符或不可见字符"


def test_a_note_keeps_its_lines() -> None:
    assert clean_note(" 第一行\r\n\t第二行\r第三行 ") == "第一行\n\t第二行\n第三行"
    with pytest.raises(TextRefused):
        clean_note("x" * 2001)


def test_a_name_from_a_spreadsheet() -> None:
    assert name_refused("欧阳娜娜") is None
    assert name_refused("张\n三") is not None  # two cells run together
    refused = name_refused("名" * 51)
    assert refused is not None and str(refused) == "must have at most 50 characters, not 51"
