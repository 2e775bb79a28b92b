"""Enrolment of the persons an emergency affected (山东 二(四) 临时援助对象), in bulk from the
list a township or community office compiles: 姓名, 身份证号 (required), 所属镇街代码 (the
township/street; default the place the list is uploaded for), 联系电话, 备注. A file is accepted
only without a single line error (the ledger import's rules: domain/table_import.py); the places
a line may name are those inside both the uploader's area and the emergency's.

Pure: stdlib and :mod:`domain`; the caller passes ``today`` and the places.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from domain.table_import import (
    DEFAULT_MAX_ERRORS,
    DEFAULT_MAX_ROWS,
    Cell,
    ImportColumn,
    RowError,
    TableParser,
    Values,
)

ENROLMENT_COLUMNS: Final[tuple[ImportColumn, ...]] = (
    ImportColumn("name", "姓名", True),
    ImportColumn("id_number", "身份证号", True, ("身份证号码", "公民身份号码")),
    ImportColumn("place_code", "所属镇街代码", False, ("行政区划代码",)),
    ImportColumn("phone", "联系电话", False, ("手机号码", "电话")),
    ImportColumn("note", "备注", False),
)
IGNORED_HEADERS: Final = frozenset({"序号", "性别", "所属镇街"})
# Mainland mobile or landline, with an optional area code and extension.
PHONE = re.compile(r"^[0-9][0-9\- ]{5,19}$")


@dataclass(frozen=True)
class EnrolmentPlace:
    """A township/street lines may name, with the pack that applies there."""

    code: str
    name: str
    pack_id: str


@dataclass(frozen=True)
class EnrolmentLine:
    line: int
    name: str
    id_number: str
    sex: str
    place_code: str
    pack_id: str
    phone: str
    note: str


@dataclass(frozen=True)
class EnrolmentFile:
    lines: tuple[EnrolmentLine, ...]
    errors: tuple[RowError, ...]
    error_count: int

    @property
    def ok(self) -> bool:
        return self.error_count == 0


class _Parser(TableParser[EnrolmentLine]):
    def __init__(
        self,
        places: Mapping[str, EnrolmentPlace],
        default_place: str | None,
        today: date,
        max_errors: int,
    ) -> None:
        super().__init__(ENROLMENT_COLUMNS, IGNORED_HEADERS, today=today, max_errors=max_errors)
        self.places = places
        self.default_place = default_place

    def row(self, line: int, values: Values, rejected: set[str]) -> None:
        name = self.name(line, values, rejected)
        id_number, sex = self.id_number(line, values, rejected)
        code = self.text(values, "place_code").removeprefix("'") or (self.default_place or "")
        place = self.place(
            line,
            code,
            self.places,
            "of the emergency in your area",
            "本次突发事件范围内、您管辖的镇街",
        )
        phone = self.text(values, "phone").removeprefix("'")
        if phone and not PHONE.match(phone):
            self.add(
                line, "联系电话", f"{phone[:20]!r} is not a phone number", "联系电话格式不正确"
            )
        note = self.free_text(line, "备注", self.text(values, "note"))
        if not self.line_ok() or place is None:
            return
        self.lines.append(
            EnrolmentLine(line, name, id_number, sex, place.code, place.pack_id, phone, note)
        )


def parse_enrolment_rows(
    rows: Iterable[tuple[int, Sequence[Cell]] | RowError],
    places: Mapping[str, EnrolmentPlace],
    *,
    today: date,
    default_place: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> EnrolmentFile:
    """Parse an enrolment list's rows (``(file line, cells)``; the first non-blank row is the
    header)."""
    p = _Parser(places, default_place, today, max_errors)
    p.parse(rows, max_rows)
    return EnrolmentFile(tuple(p.lines), tuple(p.errors), p.count)
