"""The assistance ledger (帮扶台账 / 服务跟踪情况 / 吉林 一人一册): its columns, the rows
of an export, and the parsing of a ledger an office migrates.

**Columns.** The seeds name the ledger and what it records but do not reproduce a template:
qingxin 三(三)1 keeps "《就业困难人员服务跟踪情况》管理台账" recording 就业状态、技能状况及
家庭收入变动 (its import template, 附件2 "服务跟踪情况-就业困难人员导入模板", is named but
not attached);
jilin 三(一) records per person (一人一册) 基本信息、求职意愿、服务需求、帮扶次数、政策享受. The
two layouts below use those words as headers; the service columns use the pack's service names
(职业指导、岗位推荐、职业培训 ...). The service-tracking layout is also the import template: an
export with full ID numbers can be imported elsewhere as it is (its informational columns —
序号, 服务达标情况, 补贴情况, 退出原因 ... — are read and ignored).

**Import.** A file is accepted only without a single line error: ID numbers (check character,
birth date), dates (认定日期, 最近主动联系日期), the category (code or Chinese name, among the
pack's categories of the line's place), the services named in 计划服务项目 (known service kinds),
counts (whole numbers ≥ 0), places inside the office's area, one line per person. Cells a
spreadsheet would run as a formula are rejected, never stored. A line whose 人员状态 says the
person has exited (已退出) is skipped: only people in assistance become cases.

Pure: stdlib and :mod:`domain`; the caller passes ``today`` and the places it may import into.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from domain.ids import mask_id_number
from domain.labels import SERVICE_KINDS, label
from domain.table_import import (
    DEFAULT_MAX_ERRORS,
    DEFAULT_MAX_ROWS,
    Cell,
    ImportColumn,
    RowError,
    TableParser,
    Values,
    looks_like_formula,
)

__all__ = [
    "EXPORT_LAYOUTS",
    "IMPORT_COLUMNS",
    "ImportPlace",
    "LedgerImportResult",
    "LedgerLine",
    "LedgerPerson",
    "export_table",
    "inert",
    "parse_ledger_rows",
]


# Other names a ledger may give a service kind: the short one officers write, and the names
# of ledgers exported before the export took the seeds' words (domain/labels.py).
_OTHER_SERVICE_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "public_welfare_post": ("公益性岗位",),
    "policy_subsidy": ("政策扶持（补贴）",),
    "job_seeking_subsidy": ("求职创业补贴",),
}
_SERVICE_BY_NAME: Final[dict[str, str]] = {
    **{zh: kind for kind, zh in SERVICE_KINDS.items()},
    **{kind: kind for kind in SERVICE_KINDS},
    **{name: kind for kind, names in _OTHER_SERVICE_NAMES.items() for name in names},
}
_EXITED_WORDS: Final = frozenset({"已退出", "已注销", "退出", "注销", "exited"})
_ACTIVE_WORDS: Final = frozenset({"", "援助中", "在册", "active"})


# --- export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerPerson:
    """One person of the ledger, as the repository reads them (plain data)."""

    case_id: str
    name: str
    id_number: str
    sex: str  # 男 | 女 | ""
    place_code: str
    place_name: str
    category_name: str
    identified_on: date | None
    status: str  # active | exited
    intentions: str = ""
    planned_services: tuple[str, ...] = ()
    services: Mapping[str, int] = field(default_factory=dict)
    # "职业指导1/1、岗位推荐2/3" per standard that applies, and whether all are met
    standards: tuple[tuple[str, str, bool], ...] = ()
    contacts: int = 0
    last_contact_on: date | None = None
    last_own_contact_on: date | None = None
    subsidies: tuple[tuple[str, int, int], ...] = ()  # (kind, months, monthly fen)
    exit_reason: str = ""
    exited_on: date | None = None
    # The materials held as files (证明材料): (evidence name, how many files), in the pack's
    # catalogue order.
    materials: tuple[tuple[str, int], ...] = ()


def _materials_text(p: LedgerPerson) -> str:
    return "、".join(f"{name}（{n}份）" for name, n in p.materials)


def _services_text(kinds: Iterable[str]) -> str:
    return "、".join(SERVICE_KINDS.get(k, k) for k in kinds)


def _standards_text(p: LedgerPerson) -> str:
    return "；".join(
        f"{name}：{detail}（{'已达标' if met else '未达标'}）" for name, detail, met in p.standards
    )


def _subsidies_text(p: LedgerPerson) -> str:
    return "；".join(
        f"{label('subsidy_kind', kind)} {months}个月 每月{fen // 100}.{fen % 100:02d}元"
        for kind, months, fen in p.subsidies
    )


# A column's value for a person: (person, its number in the sheet, full ID numbers?).
Getter = Callable[[LedgerPerson, int, bool], Cell]


def _id(p: LedgerPerson, _n: int, full: bool) -> str:
    return p.id_number if full else mask_id_number(p.id_number)


def _service_count(kind: str) -> Getter:
    return lambda p, n, f: int(p.services.get(kind, 0))


_SERVICE_COLUMNS: Final[list[tuple[str, Getter]]] = [
    (f"{zh}次数", _service_count(kind)) for kind, zh in SERVICE_KINDS.items()
]

SERVICE_TRACKING: Final[list[tuple[str, Getter]]] = [
    ("序号", lambda p, n, f: n),
    ("姓名", lambda p, n, f: p.name),
    ("身份证号", _id),
    ("性别", lambda p, n, f: p.sex),
    ("所属镇街代码", lambda p, n, f: p.place_code),
    ("所属镇街", lambda p, n, f: p.place_name),
    ("人员类别", lambda p, n, f: p.category_name),
    ("认定日期", lambda p, n, f: p.identified_on),
    ("就业意向", lambda p, n, f: p.intentions),
    ("计划服务项目", lambda p, n, f: _services_text(p.planned_services)),
    *_SERVICE_COLUMNS,
    ("服务达标情况", lambda p, n, f: _standards_text(p)),
    ("联系次数", lambda p, n, f: p.contacts),
    ("最近联系日期", lambda p, n, f: p.last_contact_on),
    ("最近主动联系日期", lambda p, n, f: p.last_own_contact_on),
    ("补贴情况", lambda p, n, f: _subsidies_text(p)),
    ("人员状态", lambda p, n, f: label("ledger_status", p.status)),
    ("退出原因", lambda p, n, f: p.exit_reason),
    ("退出日期", lambda p, n, f: p.exited_on),
    ("证明材料", lambda p, n, f: _materials_text(p)),
    ("备注", lambda p, n, f: ""),  # the office's own remarks (the import keeps them)
    ("案件编号", lambda p, n, f: p.case_id),
]

# jilin 三(一): 基本信息、求职意愿、服务需求、帮扶次数、政策享受 (一人一册).
ONE_PERSON_ONE_FILE: Final[list[tuple[str, Getter]]] = [
    ("序号", lambda p, n, f: n),
    ("姓名", lambda p, n, f: p.name),
    ("身份证号", _id),
    ("性别", lambda p, n, f: p.sex),
    ("所属街道", lambda p, n, f: p.place_name),
    ("认定类别", lambda p, n, f: p.category_name),
    ("认定日期", lambda p, n, f: p.identified_on),
    ("求职意愿", lambda p, n, f: p.intentions),
    ("服务需求", lambda p, n, f: _services_text(p.planned_services)),
    *_SERVICE_COLUMNS,
    ("服务达标情况", lambda p, n, f: _standards_text(p)),
    ("帮扶次数", lambda p, n, f: sum(p.services.values())),
    ("联系次数", lambda p, n, f: p.contacts),
    ("最近主动联系日期", lambda p, n, f: p.last_own_contact_on),
    ("政策享受", lambda p, n, f: _subsidies_text(p)),
    ("人员状态", lambda p, n, f: label("ledger_status", p.status)),
    ("退出原因", lambda p, n, f: p.exit_reason),
    ("退出日期", lambda p, n, f: p.exited_on),
    ("证明材料", lambda p, n, f: _materials_text(p)),
    ("案件编号", lambda p, n, f: p.case_id),
]

EXPORT_LAYOUTS: Final[dict[str, tuple[str, list[tuple[str, Getter]]]]] = {
    "service_tracking": ("就业困难人员服务跟踪情况", SERVICE_TRACKING),
    "one_person_one_file": ("就业困难人员一人一册", ONE_PERSON_ONE_FILE),
}


def inert(value: Cell) -> Cell:
    """A value safe to put in a spreadsheet cell: text a spreadsheet would run as a formula
    (a name typed as ``=HYPERLINK(...)``) gets a leading apostrophe, so it shows as text."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def export_table(
    persons: Iterable[LedgerPerson], layout: str, *, full_ids: bool
) -> tuple[str, list[str], Iterator[list[Cell]]]:
    """(sheet title, headers, rows) of the ledger in ``layout``; every text cell is inert."""
    title, columns = EXPORT_LAYOUTS[layout]
    headers = [h for h, _ in columns]

    def rows() -> Iterator[list[Cell]]:
        for n, p in enumerate(persons, start=1):
            yield [inert(get(p, n, full_ids)) for _, get in columns]

    return title, headers, rows()


# --- import ---------------------------------------------------------------------------------


IMPORT_COLUMNS: Final[tuple[ImportColumn, ...]] = (
    ImportColumn("name", "姓名", True),
    ImportColumn("id_number", "身份证号", True, ("身份证号码", "公民身份号码")),
    ImportColumn("category", "人员类别", True, ("认定类别", "就业困难人员类别")),
    ImportColumn("identified_on", "认定日期", True),
    ImportColumn("place_code", "所属镇街代码", False, ("行政区划代码",)),
    ImportColumn("intentions", "就业意向", False, ("求职意愿",)),
    ImportColumn("planned", "计划服务项目", False, ("服务需求",)),
    *(
        ImportColumn(f"svc:{k}", f"{zh}次数", False, tuple(f"{n}次数" for n in others))
        for k, zh in SERVICE_KINDS.items()
        for others in [_OTHER_SERVICE_NAMES.get(k, ())]
    ),
    ImportColumn("contacts", "联系次数", False),
    ImportColumn("last_own_contact_on", "最近主动联系日期", False),
    ImportColumn("status", "人员状态", False),
    ImportColumn("note", "备注", False),
)
# Columns of the export that an import reads past (they are computed, not migrated).
IGNORED_HEADERS: Final = frozenset(
    {
        "序号",
        "性别",
        "所属镇街",
        "所属街道",
        "服务达标情况",
        "帮扶次数",
        "最近联系日期",
        "补贴情况",
        "政策享受",
        "退出原因",
        "退出日期",
        "证明材料",
        "案件编号",
    }
)


@dataclass(frozen=True)
class ImportPlace:
    """A place lines may be imported into, with the categories of its pack (code -> name)."""

    code: str
    name: str
    pack_id: str
    categories: Mapping[str, str]


@dataclass(frozen=True)
class LedgerLine:
    """One valid line: a person in assistance to become a case."""

    line: int
    name: str
    id_number: str
    sex: str
    place_code: str
    pack_id: str
    category_code: str
    identified_on: date
    intentions: str
    planned: tuple[str, ...]
    services: Mapping[str, int]
    contacts: int
    last_own_contact_on: date | None
    note: str


@dataclass(frozen=True)
class LedgerImportResult:
    lines: tuple[LedgerLine, ...]
    skipped_exited: int
    errors: tuple[RowError, ...]
    error_count: int

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)


class _Parser(TableParser[LedgerLine]):
    def __init__(
        self,
        places: Mapping[str, ImportPlace],
        default_place: str | None,
        today: date,
        max_errors: int,
    ) -> None:
        super().__init__(IMPORT_COLUMNS, IGNORED_HEADERS, today=today, max_errors=max_errors)
        self.places = places
        self.default_place = default_place
        self.skipped = 0

    def row(self, line: int, values: Values, rejected: set[str]) -> None:
        status = self.text(values, "status")
        if status in _EXITED_WORDS:
            if self.line_ok():
                self.skipped += 1
            return
        if status not in _ACTIVE_WORDS:
            self.add(
                line,
                "人员状态",
                f"{status[:20]!r} is not 援助中 or 已退出",
                "人员状态应为“援助中”或“已退出”",
            )
        name = self.name(line, values, rejected)
        id_number, sex = self.id_number(line, values, rejected)
        place_code = self.text(values, "place_code").removeprefix("'") or (self.default_place or "")
        place = self.place(line, place_code, self.places)

        category_code = ""
        category = self.text(values, "category")
        if "category" in rejected:
            pass
        elif not category:
            self.add(line, "人员类别", "the category is empty", "人员类别为空")
        elif place is not None:
            by_name = {v: k for k, v in place.categories.items()}
            category_code = category if category in place.categories else by_name.get(category, "")
            if not category_code:
                known = "、".join(place.categories.values())
                self.add(
                    line,
                    "人员类别",
                    f"{category[:40]!r} is not a category of {place.pack_id} ({known})",
                    f"“{category[:40]}”不是本地政策的认定类别（{known}）",
                )

        identified_on = self.date(
            line,
            values.get("identified_on"),
            required="identified_on" not in rejected,
            header="认定日期",
        )
        if identified_on is not None and identified_on > self.today:
            self.add(line, "认定日期", "the date is in the future", "认定日期晚于今天")
        last_own = self.date(
            line, values.get("last_own_contact_on"), required=False, header="最近主动联系日期"
        )
        if last_own is not None and last_own > self.today:
            self.add(line, "最近主动联系日期", "the date is in the future", "日期晚于今天")

        planned: list[str] = []
        for part in re.split(r"[、,，;；/\s]+", self.text(values, "planned")):
            if not part:
                continue
            kind = _SERVICE_BY_NAME.get(part)
            if kind is None:
                known = "、".join(SERVICE_KINDS.values())
                self.add(
                    line,
                    "计划服务项目",
                    f"{part[:20]!r} is not a service kind ({known})",
                    f"“{part[:20]}”不是援助服务项目（{known}）",
                )
            elif kind not in planned:
                planned.append(kind)

        services: dict[str, int] = {}
        for kind in SERVICE_KINDS:
            n = self.count_of(line, values.get(f"svc:{kind}"))
            if n:
                services[kind] = n
        contacts = self.count_of(line, values.get("contacts")) or 0
        intentions = self.free_text(line, "就业意向", self.text(values, "intentions"))
        note = self.free_text(line, "备注", self.text(values, "note"))
        if not self.line_ok() or place is None or identified_on is None:
            return
        self.lines.append(
            LedgerLine(
                line=line,
                name=name,
                id_number=id_number,
                sex=sex,
                place_code=place.code,
                pack_id=place.pack_id,
                category_code=category_code,
                identified_on=identified_on,
                intentions=intentions,
                planned=tuple(planned),
                services=services,
                contacts=contacts,
                last_own_contact_on=last_own,
                note=note,
            )
        )


def parse_ledger_rows(
    rows: Iterable[tuple[int, Sequence[Cell]] | RowError],
    places: Mapping[str, ImportPlace],
    *,
    today: date,
    default_place: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> LedgerImportResult:
    """Parse a ledger's rows, each ``(file line, cells)`` (1-based lines; a ``RowError``
    stands for a line the reader could not read). The first non-blank row is the
    header. ``places`` are the places lines may name (code -> place); ``default_place`` is used
    for lines without 所属镇街代码."""
    p = _Parser(places, default_place, today, max_errors)
    p.parse(rows, max_rows)
    return LedgerImportResult(tuple(p.lines), p.skipped, tuple(p.errors), p.count)
