"""Free text as the system keeps it: one rule for the API, the pages and the imports (#20 §6).

Names and other one-line texts: runs of white space become one space, the ends are stripped,
and control characters, direction controls (a right-to-left override turns "张三.exe" into
"张三exe." on screen and in printed notices) and invisible characters (zero-width spaces that
make two names look alike) are refused, as is anything longer than its limit. Notes keep their
line breaks and tabs and refuse the same characters otherwise. A refusal is a
:class:`TextRefused` — a ``ValueError``, so that schemas report it as a field error — with
words for the page in Chinese."""

from __future__ import annotations

import re
import unicodedata

# A person's name: the longest Chinese names (with a transliterated minority name and its
# separator dots) stay well under 50 characters; the column holds 100.
PERSON_NAME_MAX = 50
# A line of free text (an address, a place's or a filter's name, a display name).
LINE_MAX = 200
# A note, a reason, an objection, a task's comment.
NOTE_MAX = 2000

_SPACES = re.compile(r"\s+")
# Kept in notes: the line break and the tab are how people write paragraphs and lists.
_NOTE_WHITESPACE = frozenset("\n\t")


class TextRefused(ValueError):
    """A text that breaks the rule: ``str(err)`` is the API's words, ``zh`` the page's."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


def _hidden(ch: str) -> bool:
    """Control characters (Cc) and format characters (Cf: direction marks and overrides,
    zero-width spaces and joiners, the byte-order mark, the soft hyphen)."""
    return unicodedata.category(ch) in ("Cc", "Cf")


def _refuse_hidden(text: str, allowed: frozenset[str] = frozenset()) -> None:
    if any(_hidden(ch) and ch not in allowed for ch in text):
        raise TextRefused(
            "must not contain control characters, direction marks or invisible characters",
            "不能包含控制字符、文字方向控制符或不可见字符",
        )


def _refuse_long(text: str, limit: int) -> None:
    if len(text) > limit:
        raise TextRefused(
            f"must have at most {limit} characters, not {len(text)}", f"最多 {limit} 个字"
        )


def clean_line(value: str | None, limit: int = LINE_MAX) -> str | None:
    """One line of free text as stored (None for nothing); :class:`TextRefused` otherwise."""
    if value is None:
        return None
    text = _SPACES.sub(" ", value).strip()
    _refuse_hidden(text)
    _refuse_long(text, limit)
    return text or None


def clean_note(value: str, limit: int = NOTE_MAX) -> str:
    """A note as stored: line breaks kept (CR LF as LF), the ends stripped."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    _refuse_hidden(text, _NOTE_WHITESPACE)
    _refuse_long(text, limit)
    return text


def person_name(value: str | None) -> str | None:
    """A person's name (申请人、家庭成员), as :func:`clean_line` with its own limit."""
    return clean_line(value, PERSON_NAME_MAX)


def name_refused(value: str) -> TextRefused | None:
    """Why a person's name read from a spreadsheet cell is refused — a line break (two cells
    run together), a hidden character, too long — or None. The imports report it per row."""
    if "\n" in value or "\r" in value:
        return TextRefused("must not contain a line break", "不能含有换行符")
    try:
        person_name(value)
    except TextRefused as err:
        return err
    return None
