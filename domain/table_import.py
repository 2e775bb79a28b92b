"""What every import of a person list an office keeps in a spreadsheet shares (the ledger's
服务跟踪情况 template, an emergency's enrolment list): the header row mapped to known columns by
their Chinese names and aliases, cells a spreadsheet would run as a formula rejected, names, ID
numbers (check character, birth date), dates, counts and places checked with one message each in
English and Chinese, one line per person, and the line and error limits. A file is accepted only
without a single line error; the subclasses say what a line is.

Pure: stdlib and :mod:`domain`; the caller passes ``today``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Generic, TypeVar

from domain.department_import import Cell, RowError, looks_like_formula, parse_cell_date
from domain.ids import ResidentIdError, parse_resident_id

DEFAULT_MAX_ROWS: Final = 100_000
DEFAULT_MAX_ERRORS: Final = 100
MAX_TEXT: Final = 500
MAX_COUNT: Final = 999

P = TypeVar("P")  # what a valid line becomes
Place = TypeVar("Place")


@dataclass(frozen=True)
class ImportColumn:
    key: str
    header_zh: str
    required: bool
    aliases: tuple[str, ...] = ()


def norm_header(text: str) -> str:
    # Officers mark required columns with * and pad headers with spaces.
    return re.sub(r"[\s*＊]+", "", text)


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
        self.columns = tuple(columns)
        self.ignored = frozenset(ignored)
        self.by_header = {
            norm_header(a): c for c in self.columns for a in (c.header_zh, *c.aliases)
        }
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

    def expected_headers(self) -> str:
        return "、".join(c.header_zh + ("（必填）" if c.required else "") for c in self.columns)

    def header(self, line: int, cells: Sequence[Cell]) -> list[ImportColumn | None] | None:
        names = [cell_text(c) for c in cells]
        while names and not names[-1]:
            names.pop()
        keys: list[ImportColumn | None] = []
        seen: set[str] = set()
        ok = True
        for i, name in enumerate(names, start=1):
            if not name:
                keys.append(None)
                continue
            if looks_like_formula(name):
                self.add(line, name, "the header looks like a formula", "表头疑似公式")
                ok = False
                keys.append(None)
                continue
            col = self.by_header.get(norm_header(name))
            if col is None and norm_header(name) not in self.ignored:
                self.add(
                    line,
                    name,
                    f"unknown column (column {i}); the template's columns are: "
                    f"{self.expected_headers()}",
                    f"无法识别的列（第{i}列），模板的列为：{self.expected_headers()}",
                )
                ok = False
            key = col.key if col else norm_header(name)
            if key in seen:
                self.add(line, name, "duplicate column", "表头重复")
                ok = False
            seen.add(key)
            keys.append(col)
        present = {c.key for c in keys if c is not None}
        missing = [c for c in self.columns if c.required and c.key not in present]
        if missing:
            self.add(
                line,
                None,
                "missing required column(s): " + ", ".join(c.header_zh for c in missing),
                "缺少必填列：" + "、".join(c.header_zh for c in missing),
            )
        return keys if ok and not missing else None

    # --- one line ---------------------------------------------------------------------------

    def read_line(self, line: int, cells: Sequence[Cell], keys: list[ImportColumn | None]) -> None:
        """The line's values by column key; formula cells are errors and are left out (and
        their columns are ``rejected``, so that they are not reported again as empty)."""
        self._line_start = self.count
        values: Values = {}
        rejected: set[str] = set()
        for i, cell in enumerate(cells):
            text = cell_text(cell)
            col = keys[i] if i < len(keys) else None
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
            elif i >= len(keys) and text:
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
        elif len(name) > 100 or "\n" in name:
            self.add(line, "姓名", "the name is too long or has a line break", "姓名过长或含换行")
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
        return rid.number, "女" if rid.sex == "female" else "男"

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
        keys: list[ImportColumn | None] | None = None
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
                keys = self.header(line, item)
                if keys is None:
                    break
                continue
            assert keys is not None
            data += 1
            if data > max_rows:
                self.add(
                    line,
                    None,
                    f"more than {max_rows:,} lines (the limit); split the file",
                    f"超过{max_rows}行的上限，请拆分文件",
                )
                break
            self.read_line(line, item, keys)
        if not header_seen:
            self.add(1, None, "the file is empty", "文件为空")
        elif keys is not None and data == 0:
            self.add(1, None, "the file has a header but no lines", "文件只有表头，没有记录")
