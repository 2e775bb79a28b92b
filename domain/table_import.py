"""What every import of a person list an office keeps in a spreadsheet shares (the ledger's
服务跟踪情况 template, an emergency's enrolment list): the header row mapped to known columns by
their Chinese names and aliases, cells a spreadsheet would run as a formula rejected, names, ID
numbers (check character, birth date), dates, counts and places checked with one message each in
English and Chinese, one line per person, and the line and error limits. A file is accepted only
without a single line error; the subclasses say what a line is. The cells and CSV records every
reader hands over, the formula test and the header reader (:class:`HeaderReader`) are here too:
the department lists (:mod:`domain.department_import`) read their header with it.

Pure: stdlib and :mod:`domain`; the caller passes ``today``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Generic, TypeVar

from domain.ids import ResidentIdError, parse_resident_id
from domain.labels import label
from domain.text import name_refused

# A cell as a reader hands it over: text from CSV; text, numbers, booleans, dates from XLSX.
Cell = str | int | float | bool | date | datetime | time | None


DEFAULT_MAX_ROWS: Final = 100_000
DEFAULT_MAX_ERRORS: Final = 100
MAX_TEXT: Final = 500
MAX_COUNT: Final = 999

P = TypeVar("P")  # what a valid line becomes
Place = TypeVar("Place")


@dataclass(frozen=True)
class RowError:
    """One problem in an import file. ``line`` is the 1-based file line; ``column`` is the
    header as written in the file (or the English column name when the column is missing);
    ``None`` when the problem is the whole line."""

    line: int
    column: str | None
    message: str
    message_zh: str

    def __str__(self) -> str:
        where = f"line {self.line}: "
        return where + (f"{self.column}: " if self.column else "") + self.message


# -- cells --------------------------------------------------------------------------------------

_NUMBER_LIKE = re.compile(r"[0-9\s.,\-]*")


def looks_like_formula(text: str) -> bool:
    """True for a cell a spreadsheet would evaluate (OWASP CSV injection): it starts (after
    leading whitespace) with ``=`` or ``@``, or with ``+``/``-`` followed by anything other than
    digits, spaces, dots, commas and hyphens (``-5``, ``+86 138 0000 0000`` and a ``--``
    placeholder are plain values; ``-2+3`` and ``+cmd|...`` are not)."""
    s = text.lstrip()
    if not s:
        return False
    if s[0] in "=@":
        return True
    if s[0] in "+-":
        return _NUMBER_LIKE.fullmatch(s[1:]) is None
    return False


_DATE_SEPARATED = re.compile(
    r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?"
)
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATE_ZH = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")
_EXCEL_SERIAL_TEXT = re.compile(r"[0-9]{5}(?:\.0+)?")
# Excel's day 1 is 1900-01-01 and it counts a 29 February 1900 that never was (day 60), so from
# day 61 on the epoch is 1899-12-30. The largest serial is 9999-12-31.
_EXCEL_MAX_SERIAL: Final = 2_958_465


def _excel_serial(value: float) -> date | None:
    if not math.isfinite(value) or not value.is_integer() or not 1 <= value <= _EXCEL_MAX_SERIAL:
        return None
    n = int(value)
    if n == 60:
        return None  # 1900-02-29 does not exist
    return date(1899, 12, 31 if n < 60 else 30) + timedelta(days=n)


def parse_cell_date(cell: Cell) -> date | None:
    """A date from a cell, or ``None`` when the cell is not a date in an accepted form (blank
    cells are the caller's business). Raises nothing."""
    if isinstance(cell, bool) or cell is None or isinstance(cell, time):
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float):
        try:
            return _excel_serial(float(cell))
        except OverflowError:
            return None
    text = cell.strip()
    try:
        if m := _DATE_SEPARATED.fullmatch(text):
            return date(int(m[1]), int(m[3]), int(m[4]))
        if m := _DATE_COMPACT.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DATE_ZH.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if _EXCEL_SERIAL_TEXT.fullmatch(text):
            return _excel_serial(float(text))
    except ValueError:
        return None
    return None


# -- files --------------------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return "\t" if "," not in first and "\t" in first else ","


def csv_rows(text: str) -> Iterator[tuple[int, Sequence[Cell]] | RowError]:
    """The records of decoded CSV text, each ``(first file line, cells)``: comma separated, or
    tab separated when the first line has tabs and no commas; a quoted cell may span lines (the
    record is reported at its first); a broken record is a line error."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(start, None, f"not valid CSV: {exc}", f"CSV格式错误：{exc}")
            start = reader.line_num + 1
            continue
        yield start, row
        start = reader.line_num + 1


# -- the header ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportColumn:
    key: str
    header_zh: str
    required: bool
    aliases: tuple[str, ...] = ()


def cell_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "是" if cell else "否"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, date):
        return cell.isoformat()[:10]
    return str(cell).strip()


def blank(cells: Sequence[Cell]) -> bool:
    return all(cell_text(c) == "" for c in cells)


# Where an error goes: (line, column as written or None, message, message_zh).
AddError = Callable[[int, str | None, str, str], None]


@dataclass(frozen=True)
class Header:
    """A file's header row read: per column, its name as written ('' where blank) and the known
    column it names (None for a blank header, an ignored one or one kept as detail)."""

    names: tuple[str, ...]
    columns: tuple[ImportColumn | None, ...]

    @property
    def width(self) -> int:
        return len(self.names)

    def key(self, i: int) -> str | None:
        col = self.columns[i]
        return col.key if col else None

    @property
    def written(self) -> dict[str, str]:
        """Known column key -> its header as written in the file."""
        return {c.key: self.names[i] for i, c in enumerate(self.columns) if c is not None}


class HeaderReader:
    """Maps a header row to known columns by their Chinese names and aliases. What a header
    nobody knows means, how names compare and how columns are named in messages are the hooks
    an import overrides (:mod:`domain.department_import` keeps unknown columns as detail)."""

    def __init__(self, columns: Sequence[ImportColumn], ignored: Iterable[str] = ()) -> None:
        self.columns = tuple(columns)
        self.ignored = frozenset(self.normalise(i) for i in ignored)
        self.by_header = {
            self.normalise(a): c for c in self.columns for a in (c.header_zh, *c.aliases)
        }

    # --- hooks ------------------------------------------------------------------------------

    @staticmethod
    def normalise(text: str) -> str:
        # Officers mark required columns with * and pad headers with spaces.
        return re.sub(r"[\s*＊]+", "", text)

    @staticmethod
    def text(cell: Cell) -> str:
        return cell_text(cell)

    def shown(self, column: ImportColumn) -> str:
        """A column as messages name it."""
        return column.header_zh

    def expected(self) -> str:
        return "、".join(c.header_zh + ("（必填）" if c.required else "") for c in self.columns)

    def unknown(self, i: int, norm: str) -> tuple[str, str] | None:
        """The error (English, Chinese) for the unknown header of column ``i`` (1-based), or
        None where such a column is fine (ignored here)."""
        if norm in self.ignored:
            return None
        return (
            f"unknown column (column {i}); the template's columns are: {self.expected()}",
            f"无法识别的列（第{i}列），模板的列为：{self.expected()}",
        )

    # --- the row ----------------------------------------------------------------------------

    def read(self, line: int, cells: Sequence[Cell], add: AddError) -> Header | None:
        """The header of ``cells`` (file line ``line``), or None after an error (the lines
        cannot be read without it: their columns are unknown)."""
        names = [self.text(c) for c in cells]
        while names and not names[-1]:
            names.pop()  # trailing blank header cells (spreadsheet formatting) mean nothing
        columns: list[ImportColumn | None] = []
        seen: dict[str, int] = {}
        ok = True
        for i, name in enumerate(names, start=1):
            if not name:
                # A column without a header is fine while it is empty (a spacer column); a
                # value in it is a line error.
                columns.append(None)
                continue
            if looks_like_formula(name):
                add(line, name, "the header looks like a formula", "表头疑似公式，存在注入风险")
                ok = False
                columns.append(None)
                continue
            norm = self.normalise(name)
            col = self.by_header.get(norm)
            ident = col.key if col else norm
            if ident in seen:
                add(
                    line,
                    name,
                    f"duplicate column (same as column {seen[ident]})",
                    f"表头重复（与第{seen[ident]}列相同）",
                )
                ok = False
            else:
                seen[ident] = i
            if col is None and (error := self.unknown(i, norm)) is not None:
                add(line, name, *error)
                ok = False
            columns.append(col)
        present = {c.key for c in columns if c is not None}
        missing = [c for c in self.columns if c.required and c.key not in present]
        if missing:
            add(
                line,
                None,
                f"missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(self.shown(c) for c in missing)}; "
                f"expected headers: {self.expected()}",
                f"缺少必填列：{'、'.join(c.header_zh for c in missing)}",
            )
        if missing or not ok:
            return None
        return Header(tuple(names), tuple(columns))


Values = dict[str, tuple[str, Cell]]


class TableParser(Generic[P]):
    """The rows of one file; :meth:`row` (a subclass's) turns a line's values into a ``P`` in
    ``lines`` or into errors."""

    def __init__(
        self,
        columns: Sequence[ImportColumn],
        ignored: Iterable[str],
        *,
        today: date,
        max_errors: int = DEFAULT_MAX_ERRORS,
    ) -> None:
        self.headers = HeaderReader(columns, ignored)
        self.today = today
        self.max_errors = max_errors
        self.errors: list[RowError] = []
        self.count = 0
        self.lines: list[P] = []
        self.seen: dict[str, int] = {}
        self._line_start = 0

    # --- what a subclass defines ------------------------------------------------------------

    def row(self, line: int, values: Values, rejected: set[str]) -> None:
        raise NotImplementedError

    # --- errors and the header --------------------------------------------------------------

    def add(self, line: int, column: str | None, message: str, message_zh: str) -> None:
        self.count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(RowError(line, column, message, message_zh))

    def header(self, line: int, cells: Sequence[Cell]) -> Header | None:
        return self.headers.read(line, cells, self.add)

    # --- one line ---------------------------------------------------------------------------

    def read_line(self, line: int, cells: Sequence[Cell], head: Header) -> None:
        """The line's values by column key; formula cells are errors and are left out (and
        their columns are ``rejected``, so that they are not reported again as empty)."""
        self._line_start = self.count
        values: Values = {}
        rejected: set[str] = set()
        for i, cell in enumerate(cells):
            text = cell_text(cell)
            col = head.columns[i] if i < head.width else None
            header = col.header_zh if col else f"第{i + 1}列"
            if text and looks_like_formula(text):
                self.add(
                    line,
                    header,
                    "the cell holds a formula or starts like one (=, +, -, @); only plain "
                    "values are accepted",
                    "单元格为公式或以=、+、-、@开头，只接受纯文本值",
                )
                if col is not None:
                    rejected.add(col.key)
                continue
            if col is not None:
                values[col.key] = (col.header_zh, cell)
            elif i >= head.width and text:
                self.add(
                    line, header, "a value in a column without a header", "该列没有表头但有内容"
                )
        self.row(line, values, rejected)

    def line_ok(self) -> bool:
        """No error on the line being read so far."""
        return self.count == self._line_start

    @staticmethod
    def text(values: Values, key: str) -> str:
        return cell_text(values[key][1]) if key in values else ""

    def name(self, line: int, values: Values, rejected: set[str]) -> str:
        name = self.text(values, "name")
        if "name" in rejected:
            pass
        elif not name:
            self.add(line, "姓名", "the name is empty", "姓名为空")
        elif (refused := name_refused(name)) is not None:
            self.add(line, "姓名", f"the name {refused}", f"姓名{refused.zh}")
        return name

    def id_number(self, line: int, values: Values, rejected: set[str]) -> tuple[str, str]:
        """(ID number, 男/女) or ("", "") after an error; a number seen on an earlier line is
        an error on this one."""
        raw = values.get("id_number", ("", None))[1]
        if isinstance(raw, float):
            self.add(
                line,
                "身份证号",
                "the ID number is stored as a number, which loses digits; format the column as "
                "text",
                "身份证号以数值格式保存，已丢失位数，请将该列设为文本格式",
            )
            return "", ""
        if "id_number" in rejected:
            return "", ""
        text = self.text(values, "id_number")
        if not text:
            self.add(line, "身份证号", "the ID number is empty", "身份证号为空")
            return "", ""
        try:
            rid = parse_resident_id(text.removeprefix("'"), today=self.today)
        except ResidentIdError as exc:
            self.add(
                line,
                "身份证号",
                f"invalid ID number: {exc.message}",
                f"身份证号无效：{exc.message_zh}",
            )
            return "", ""
        first = self.seen.get(rid.number)
        if first is not None:
            self.add(
                line,
                "身份证号",
                f"the same ID number is already on line {first}",
                f"身份证号与第{first}行重复",
            )
        else:
            self.seen[rid.number] = line
        return rid.number, label("sex", rid.sex)

    def place(
        self,
        line: int,
        code: str,
        places: Mapping[str, Place],
        what: str = "with a policy pack in your area",
        what_zh: str = "您管辖范围内已配置政策的镇街",
    ) -> Place | None:
        """The place a line names by its code (所属镇街代码) among those it may name."""
        place = places.get(code)
        if not code:
            self.add(
                line,
                "所属镇街代码",
                "no place: give the township/street code (所属镇街代码) or import into one",
                "未填写所属镇街代码",
            )
        elif place is None:
            self.add(
                line,
                "所属镇街代码",
                f"{code[:20]!r} is not a township/street {what}",
                f"“{code[:20]}”不是{what_zh}",
            )
        return place

    def date(
        self, line: int, value: tuple[str, Cell] | None, *, required: bool, header: str
    ) -> date | None:
        if value is None or cell_text(value[1]) == "":
            if required:
                self.add(line, header, "the date is empty", "日期为空")
            return None
        header, cell = value
        found = parse_cell_date(cell)
        if found is None:
            shown = cell_text(cell)[:40]
            self.add(
                line,
                header,
                f"{shown!r} is not a date (YYYY-MM-DD, YYYY/MM/DD or a spreadsheet date)",
                f"“{shown}”不是有效日期",
            )
        return found

    def count_of(self, line: int, value: tuple[str, Cell] | None) -> int | None:
        if value is None or cell_text(value[1]) == "":
            return None
        header, cell = value
        text = cell_text(cell)
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_COUNT:
            self.add(
                line,
                header,
                f"{text[:20]!r} is not a whole number from 0 to {MAX_COUNT}",
                f"“{text[:20]}”不是0至{MAX_COUNT}的整数",
            )
            return None
        return int(text)

    def free_text(self, line: int, header: str, value: str) -> str:
        if len(value) > MAX_TEXT:
            self.add(line, header, f"longer than {MAX_TEXT} characters", f"超过{MAX_TEXT}个字符")
        return value

    # --- the file ---------------------------------------------------------------------------

    def parse(self, rows: Iterable[tuple[int, Sequence[Cell]] | RowError], max_rows: int) -> None:
        """Read ``rows``, each ``(file line, cells)`` (1-based lines; a ``RowError`` stands for a
        line the reader could not read). The first non-blank row is the header."""
        header: Header | None = None
        header_seen = False
        data = 0
        for entry in rows:
            if isinstance(entry, RowError):
                self.add(entry.line, entry.column, entry.message, entry.message_zh)
                continue
            line, item = entry
            if blank(item):
                continue
            if not header_seen:
                header_seen = True
                header = self.header(line, item)
                if header is None:
                    break
                continue
            assert header is not None
            data += 1
            if data > max_rows:
                self.add(
                    line,
                    None,
                    f"more than {max_rows:,} lines (the limit); split the file",
                    f"超过{max_rows}行的上限，请拆分文件",
                )
                break
            self.read_line(line, item, header)
        if not header_seen:
            self.add(1, None, "the file is empty", "文件为空")
        elif header is not None and data == 0:
            self.add(1, None, "the file has a header but no lines", "文件只有表头，没有记录")
