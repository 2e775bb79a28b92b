"""Parsing a department list (部门名单) an administrator imports: the rows of a CSV or XLSX file
in, :class:`ImportedRecord` lines and line-level :class:`RowError` problems out.

The file has a header row (the first non-blank line) naming its columns, in Chinese or English:

- 身份证号 (身份证号码, 公民身份号码, 身份证) / ``id_number``: required; 15 or 18 characters,
  kept as the normalised 18-character number;
- 姓名 / ``name``: required;
- 开始日期 (起始日期, 生效日期) / ``valid_from``: optional date;
- 结束日期 (截止日期, 终止日期) / ``valid_to``: optional date, not before ``valid_from``;
- 行政区划 (行政区划代码, 区划代码) / ``jurisdiction_code``: optional, 6 to 12 digits (GB/T 2260
  and the township/village extensions).

English names are matched ignoring case, spaces, hyphens and underscores (``Valid From``).
Any other column is kept, as text, in the record's ``detail`` (e.g. 低保证号, 残疾等级), except a
header that is a near miss of a known one (``valid_form``): that is rejected, because the
validity period would otherwise be silently ignored. Dates may be ``YYYY-MM-DD``,
``YYYY/MM/DD`` (one-digit month and day allowed), ``YYYY.MM.DD``, ``YYYYMMDD``,
``YYYY年M月D日``, a spreadsheet date cell or an Excel serial day number.

A file is accepted only if it has no error at all: the caller imports nothing otherwise. Errors
are collected for every line (the first ``max_errors`` are kept, the total is counted) so the
office can fix the whole file at once (after a header error the lines are not read: their
columns are unknown). A file with a header and no records is rejected as well: an empty list
would make everyone "not on the list". Cells that a spreadsheet would run as a formula (CSV
injection: a leading ``=``, ``@``, or ``+``/``-`` followed by anything but a number) are
rejected, never stored. Line numbers are 1-based lines of the file (the header is line 1 when
the file starts with it); a CSV record spanning several lines is reported at its first line.

Pure: stdlib and :mod:`domain` only; the caller passes ``today`` for the ID numbers' "birth date
not in the future" check. Nothing here raises on bad input: every problem is a ``RowError``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Final

from domain.department_data import DepartmentList, DepartmentRecord
from domain.ids import ResidentIdError, parse_resident_id
from domain.table_import import (
    Cell,
    Header,
    HeaderReader,
    ImportColumn,
    RowError,
    csv_rows,
    looks_like_formula,
    parse_cell_date,
)
from domain.text import name_refused

__all__ = [
    "COLUMNS",
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_ROWS",
    "Cell",
    "ImportedRecord",
    "ParseResult",
    "RowError",
    "expected_headers",
    "looks_like_formula",
    "parse_cell_date",
    "parse_department_csv",
    "parse_department_rows",
]

DEFAULT_MAX_ROWS: Final = 200_000
DEFAULT_MAX_ERRORS: Final = 100


COLUMNS: Final[tuple[ImportColumn, ...]] = (
    ImportColumn(
        "id_number",
        "身份证号",
        True,
        ("身份证号", "身份证号码", "公民身份号码", "身份证", "身份证件号码", "id_number"),
    ),
    ImportColumn("name", "姓名", True, ("姓名", "name")),
    ImportColumn(
        "valid_from",
        "开始日期",
        False,
        ("开始日期", "起始日期", "生效日期", "valid_from", "start_date"),
    ),
    ImportColumn(
        "valid_to",
        "结束日期",
        False,
        ("结束日期", "截止日期", "终止日期", "valid_to", "valid_until", "end_date"),
    ),
    ImportColumn(
        "jurisdiction_code",
        "行政区划",
        False,
        ("行政区划", "行政区划代码", "区划代码", "jurisdiction_code"),
    ),
)


def expected_headers() -> str:
    """``身份证号/id_number (required), 姓名/name (required), 开始日期/valid_from, ...``."""
    return ", ".join(
        f"{c.header_zh}/{c.key}" + (" (required)" if c.required else "") for c in COLUMNS
    )


@dataclass(frozen=True)
class ImportedRecord:
    """One valid line of an import file."""

    line: int
    list: DepartmentList
    id_number: str  # normalised, 18 characters
    name: str
    valid_from: date | None = None
    valid_to: date | None = None
    jurisdiction_code: str | None = None
    # The other columns of the line, header -> text (blank cells left out).
    detail: Mapping[str, str] = field(default_factory=dict)

    @property
    def record(self) -> DepartmentRecord:
        return DepartmentRecord(self.list, self.id_number, self.valid_from, self.valid_to)


@dataclass(frozen=True)
class ParseResult:
    """The parsed file: the valid lines, the first ``max_errors`` errors and their total."""

    kind: DepartmentList
    records: tuple[ImportedRecord, ...]
    errors: tuple[RowError, ...]
    error_count: int

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def more_errors(self) -> int:
        """Errors counted but not kept (beyond ``max_errors``)."""
        return self.error_count - len(self.errors)


class _Errors:
    def __init__(self, cap: int) -> None:
        self.cap = max(cap, 0)
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, line: int, column: str | None, message: str, message_zh: str) -> None:
        self.count += 1
        if len(self.kept) < self.cap:
            self.kept.append(RowError(line, column, message, message_zh))


# -- cells ---------------------------------------------------------------------------------


def _text(cell: Cell) -> str:
    if type(cell) is str:  # the common case first (CSV has nothing else)
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        if math.isfinite(cell) and cell.is_integer() and abs(cell) < 1e15:
            return str(int(cell))
        return repr(cell)
    if isinstance(cell, datetime):
        if cell.time() == time(0):
            return cell.date().isoformat()
        return cell.isoformat(sep=" ")
    if isinstance(cell, date | time):
        return cell.isoformat()
    return str(cell).strip()


# -- header --------------------------------------------------------------------------------


class _HeaderReader(HeaderReader):
    """The department list's header: English column names too (matched ignoring case, spaces,
    hyphens and underscores), and any other column kept as detail, except a near miss of a
    known one (``valid_form``): the validity period would otherwise be silently ignored."""

    @staticmethod
    def normalise(text: str) -> str:
        return re.sub(r"[\s_\-]+", "_", text.strip().rstrip("*").strip().casefold()).strip("_")

    @staticmethod
    def text(cell: Cell) -> str:
        return _text(cell)

    def shown(self, column: ImportColumn) -> str:
        return f"{column.header_zh}/{column.key}"

    def expected(self) -> str:
        return expected_headers()

    def unknown(self, i: int, norm: str) -> tuple[str, str] | None:
        near = difflib.get_close_matches(norm, list(self.by_header), n=1, cutoff=0.8)
        if not near:
            return None  # a detail column (低保证号, 残疾等级)
        spec = self.by_header[near[0]]
        return (
            f"unknown header (did you mean {spec.header_zh}/{spec.key}?); "
            f"expected headers: {expected_headers()}",
            f"无法识别的表头（是否应为“{spec.header_zh}”？）",
        )


_HEADER: Final = _HeaderReader(COLUMNS)


# -- lines ---------------------------------------------------------------------------------


def _blank(cells: Sequence[Cell]) -> bool:
    return all(c is None or (type(c) is str and not c.strip()) for c in cells)


class _Parser:
    def __init__(
        self,
        kind: DepartmentList,
        max_rows: int,
        max_errors: int,
        today: date | None,
    ) -> None:
        self.kind = kind
        self.max_rows = max_rows
        self.today = today
        self.errors = _Errors(max_errors)
        self.records: list[ImportedRecord] = []
        self.first_line: dict[str, int] = {}

    def run(self, rows: Iterable[tuple[int, Sequence[Cell]] | RowError]) -> ParseResult:
        header: Header | None = None
        header_seen = False
        header_line = 1
        data_rows = 0
        for item in rows:
            if isinstance(item, RowError):
                self.errors.add(item.line, item.column, item.message, item.message_zh)
                continue
            line, cells = item
            if _blank(cells):
                continue
            if not header_seen:
                header_seen = True
                header_line = line
                header = _HEADER.read(line, cells, self.errors.add)
                if header is None:
                    break  # the lines cannot be read without a header
                continue
            assert header is not None
            data_rows += 1
            if data_rows > self.max_rows:
                self.errors.add(
                    line,
                    None,
                    f"the file has more than {self.max_rows:,} records (the limit); "
                    "split it or ask an administrator to raise the limit",
                    f"记录数超过上限{self.max_rows}条，请拆分文件",
                )
                break
            self._line(line, cells, header)
        if not header_seen:
            self.errors.add(1, None, "the file is empty", "文件为空")
        elif header is not None and data_rows == 0 and self.errors.count == 0:
            self.errors.add(
                header_line,
                None,
                "the file has a header but no records (an empty list would mark everyone as "
                "not on it)",
                "文件只有表头，没有记录",
            )
        return ParseResult(
            self.kind, tuple(self.records), tuple(self.errors.kept), self.errors.count
        )

    def _line(self, line: int, cells: Sequence[Cell], header: Header) -> None:
        errors_before = self.errors.count
        add = self.errors.add
        values: dict[str, Cell] = {}
        rejected: set[str | None] = set()
        detail: dict[str, str] = {}
        for i, cell in enumerate(cells):
            text = _text(cell)
            if i >= header.width or not header.names[i]:
                if text:
                    add(
                        line,
                        f"column {i + 1}",
                        "a value in a column without a header",
                        f"第{i + 1}列没有表头但有内容",
                    )
                continue
            name = header.names[i]
            if text and looks_like_formula(text):
                add(
                    line,
                    name,
                    "the cell holds a formula or starts like one (=, +, -, @); only plain "
                    "values are accepted",
                    "单元格为公式或以=、+、-、@开头，只接受纯文本值",
                )
                rejected.add(header.key(i))
                continue
            key = header.key(i)
            if key is None:
                if text:
                    detail[name] = text
            else:
                values[key] = cell
        col = header.written

        id_number = None
        if "id_number" not in rejected:
            id_number = self._id_number(line, col["id_number"], values.get("id_number"))
        name = _text(values.get("name"))
        if "name" in rejected:
            pass
        elif not name:
            add(line, col["name"], "the name is empty", "姓名为空")
        elif (refused := name_refused(name)) is not None:
            add(line, col["name"], f"the name {refused}", f"姓名{refused.zh}")
        valid_from = self._date(line, col.get("valid_from"), values.get("valid_from"))
        valid_to = self._date(line, col.get("valid_to"), values.get("valid_to"))
        if valid_from is not None and valid_to is not None and valid_to < valid_from:
            add(
                line,
                col["valid_to"],
                f"{valid_to.isoformat()} is before the start date {valid_from.isoformat()}",
                f"结束日期{valid_to.isoformat()}早于开始日期{valid_from.isoformat()}",
            )
        code = self._jurisdiction(line, col.get("jurisdiction_code"), values)
        if id_number is not None:
            first = self.first_line.get(id_number)
            if first is not None:
                add(
                    line,
                    col["id_number"],
                    f"the same ID number is already on line {first}",
                    f"身份证号与第{first}行重复",
                )
                return
            self.first_line[id_number] = line
        if self.errors.count > errors_before or id_number is None:
            return
        self.records.append(
            ImportedRecord(
                line=line,
                list=self.kind,
                id_number=id_number,
                name=name,
                valid_from=valid_from,
                valid_to=valid_to,
                jurisdiction_code=code,
                detail=detail,
            )
        )

    def _id_number(self, line: int, column: str, cell: Cell) -> str | None:
        if isinstance(cell, float):
            self.errors.add(
                line,
                column,
                "the ID number is stored as a number in the spreadsheet, which loses digits; "
                "format the column as text",
                "身份证号以数值格式保存，已丢失位数，请将该列设为文本格式",
            )
            return None
        text = _text(cell).removeprefix("'")
        if cell is None or not text:
            self.errors.add(line, column, "the ID number is empty", "身份证号为空")
            return None
        try:
            return parse_resident_id(text, today=self.today).number
        except ResidentIdError as exc:
            self.errors.add(
                line,
                column,
                f"invalid ID number: {exc.message}",
                f"身份证号无效：{exc.message_zh}",
            )
            return None

    def _date(self, line: int, column: str | None, cell: Cell) -> date | None:
        if column is None or _text(cell) == "":
            return None
        found = parse_cell_date(cell)
        if found is None:
            shown = _text(cell)
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            self.errors.add(
                line,
                column,
                f"{shown!r} is not a date (YYYY-MM-DD, YYYY/MM/DD or a spreadsheet date)",
                f"“{shown}”不是有效日期（应为YYYY-MM-DD、YYYY/MM/DD或表格日期）",
            )
        return found

    def _jurisdiction(self, line: int, column: str | None, values: dict[str, Cell]) -> str | None:
        cell = values.get("jurisdiction_code")
        text = _text(cell).removeprefix("'")
        if column is None or not text:
            return None
        if not (text.isascii() and text.isdigit() and 6 <= len(text) <= 12):
            shown = text if len(text) <= 20 else text[:20] + "…"
            self.errors.add(
                line,
                column,
                f"{shown!r} is not an administrative division code (6 to 12 digits)",
                f"“{shown}”不是行政区划代码（应为6至12位数字）",
            )
            return None
        return text


def parse_department_rows(
    rows: Iterable[Sequence[Cell]],
    kind: DepartmentList,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    today: date | None = None,
) -> ParseResult:
    """Parse rows (row ``i`` of the iterable is file line ``i``, 1-based: a spreadsheet's rows
    including blank ones). The iterable is consumed lazily and abandoned after ``max_rows``
    records, so a huge sheet is not read to the end."""
    return _Parser(kind, max_rows, max_errors, today).run(enumerate(rows, start=1))


def parse_department_csv(
    text: str,
    kind: DepartmentList,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    today: date | None = None,
) -> ParseResult:
    """Parse decoded CSV text (comma-separated, or tab-separated when the first line has tabs
    and no commas; quoted cells may span lines). A leading BOM is ignored."""
    text = text.removeprefix("\ufeff")
    return _Parser(kind, max_rows, max_errors, today).run(csv_rows(text))
