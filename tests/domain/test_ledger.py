"""The ledger's pure rules (domain/ledger.py): export rows in both layouts (masked ID numbers,
counts against the standards, inert text) and the import template's line-level validation."""

from __future__ import annotations

from datetime import date

from domain.department_import import Cell, RowError
from domain.ledger import (
    IMPORT_COLUMNS,
    ImportPlace,
    LedgerImportResult,
    LedgerPerson,
    export_table,
    inert,
    parse_ledger_rows,
)
from tests.factories import make_id

TODAY = date(2026, 3, 2)
PLACES = {
    "441803100": ImportPlace(
        "441803100",
        "太和镇",
        "qingxin-2024",
        {"older_unemployed": "大龄失业人员", "disabled": "残疾人员"},
    )
}
HEADER: list[Cell] = [
    "姓名",
    "身份证号",
    "人员类别",
    "认定日期",
    "就业意向",
    "计划服务项目",
    "岗位推荐次数",
    "联系次数",
    "最近主动联系日期",
]


def parse(*rows: list[Cell], default: str | None = "441803100") -> LedgerImportResult:
    return parse_ledger_rows(
        enumerate([HEADER, *rows], start=1),
        PLACES,
        today=TODAY,
        default_place=default,
    )


def person(**kw: object) -> LedgerPerson:
    base: dict[str, object] = {
        "case_id": "C1",
        "name": "刘芳",
        "id_number": "11010519491231002X",
        "sex": "女",
        "place_code": "441803100",
        "place_name": "太和镇",
        "category_name": "大龄失业人员",
        "identified_on": date(2025, 5, 6),
        "status": "active",
        "services": {"job_recommendation": 2, "career_guidance": 1},
        "standards": (("131服务", "职业指导1/1、岗位推荐2/3", False),),
        "contacts": 4,
        "last_own_contact_on": date(2026, 1, 10),
        "subsidies": (("social_insurance", 6, 50000),),
    }
    base.update(kw)
    return LedgerPerson(**base)  # type: ignore[arg-type]


def test_export_service_tracking_masks_ids_and_counts_services() -> None:
    title, headers, rows = export_table([person()], "service_tracking", full_ids=False)
    row = dict(zip(headers, next(rows), strict=True))
    assert title == "就业困难人员服务跟踪情况"
    assert row["序号"] == 1 and row["姓名"] == "刘芳"
    assert row["身份证号"] == "110***********002X"
    assert row["岗位推荐次数"] == 2 and row["职业指导次数"] == 1 and row["职业培训次数"] == 0
    assert row["服务达标情况"] == "131服务：职业指导1/1、岗位推荐2/3（未达标）"
    assert row["最近主动联系日期"] == date(2026, 1, 10) and row["联系次数"] == 4
    assert row["补贴情况"] == "社会保险补贴 6个月 每月500.00元"  # named, as the page names it
    assert row["人员状态"] == "援助中"
    # Every import column is in the service-tracking export (the export is re-importable).
    assert {c.header_zh for c in IMPORT_COLUMNS} <= set(headers)


def test_export_one_person_one_file_uses_jilin_words_and_full_ids_when_asked() -> None:
    exited = person(status="exited", exit_reason="就业", exited_on=date(2026, 2, 1))
    _, headers, rows = export_table([exited], "one_person_one_file", full_ids=True)
    row = dict(zip(headers, next(rows), strict=True))
    for word in ("求职意愿", "服务需求", "帮扶次数", "政策享受"):  # jilin 三(一)
        assert word in headers
    assert row["身份证号"] == "11010519491231002X"
    assert row["帮扶次数"] == 3
    assert row["人员状态"] == "已退出" and row["退出原因"] == "就业"


def test_export_text_is_inert() -> None:
    _, headers, rows = export_table(
        [person(name='=HYPERLINK("http://x")')], "service_tracking", full_ids=False
    )
    row = dict(zip(headers, next(rows), strict=True))
    assert row["姓名"] == '\'=HYPERLINK("http://x")'
    assert inert("-5") == "-5" and inert("@SUM(A1)") == "'@SUM(A1)"


def test_a_valid_line_becomes_a_person() -> None:
    number = make_id(region="441803")
    r = parse(
        [
            " 王强 ",
            number,
            "大龄失业人员",
            "2025/5/6",
            "保洁",
            "职业指导、岗位推荐",
            "2",
            "3",
            "2026-01-10",
        ]
    )
    assert r.ok and len(r.lines) == 1
    line = r.lines[0]
    assert line.line == 2 and line.name == "王强" and line.id_number == number
    assert line.category_code == "older_unemployed" and line.identified_on == date(2025, 5, 6)
    assert line.planned == ("career_guidance", "job_recommendation")
    assert line.services == {"job_recommendation": 2} and line.contacts == 3
    assert line.place_code == "441803100" and line.pack_id == "qingxin-2024"


def test_the_seeds_service_names_and_a_ledger_exported_with_the_old_ones() -> None:
    # The export names the service kinds as the seeds do (domain/labels.py: 一次性求职创业补贴,
    # 山东 三(三)3; 政策扶持, 新余 第四条(四)); a ledger exported before still imports.
    _, headers, _rows = export_table([person()], "service_tracking", full_ids=False)
    assert "一次性求职创业补贴次数" in headers and "政策扶持次数" in headers
    old_header = [*HEADER[:6], "求职创业补贴次数", *HEADER[7:]]
    r = parse_ledger_rows(
        enumerate(
            [
                old_header,
                [
                    "王强",
                    make_id(region="441803"),
                    "大龄失业人员",
                    "2025-05-06",
                    "",
                    "求职创业补贴、政策扶持（补贴）",
                    "1",
                    "0",
                    "",
                ],
            ],
            start=1,
        ),
        PLACES,
        today=TODAY,
        default_place="441803100",
    )
    assert r.ok, r.errors
    assert r.lines[0].planned == ("job_seeking_subsidy", "policy_subsidy")
    assert r.lines[0].services == {"job_seeking_subsidy": 1}


def test_every_bad_cell_is_a_line_error_with_its_column() -> None:
    good = make_id(region="441803")
    r = parse(
        ["王强", good[:-1] + ("0" if good[-1] != "0" else "1"), "大龄失业人员", "2025-05-06"],
        ["李丽", make_id(region="441803"), "不存在的类别", "2025-13-01"],
        ["=CMD()", make_id(region="441803"), "older_unemployed", "2025-05-06", "", "理发", "-1"],
        ["张三", good, "disabled", "2027-01-01"],
    )
    assert not r.ok and r.lines == ()
    where = {(e.line, e.column) for e in r.errors}
    assert (2, "身份证号") in where  # check character
    assert (3, "人员类别") in where and (3, "认定日期") in where
    assert (4, "姓名") in where  # a formula, rejected, never stored
    assert (4, "计划服务项目") in where and (4, "岗位推荐次数") in where
    assert (5, "认定日期") in where  # in the future
    messages = " ".join(e.message_zh for e in r.errors)
    assert "身份证号无效" in messages and "公式" in messages


def test_wrong_columns_are_rejected_before_any_line() -> None:
    r = parse_ledger_rows(
        enumerate([["姓名", "身份证", "类别"], ["王强", "x", "y"]], start=1),
        PLACES,
        today=TODAY,
    )
    assert not r.ok
    assert any(e.line == 1 and e.column is None and "人员类别" in e.message_zh for e in r.errors)
    assert any(e.column == "身份证" for e in r.errors)


def test_duplicates_places_exited_lines_and_reader_errors() -> None:
    number = make_id(region="441803")
    r = parse(
        ["王强", number, "大龄失业人员", "2025-05-06"],
        ["王强", number, "大龄失业人员", "2025-05-06"],
        default=None,
    )
    assert not r.ok
    assert any(e.column == "所属镇街代码" for e in r.errors)
    assert any("重复" in e.message_zh for e in r.errors)
    exited = parse_ledger_rows(
        enumerate(
            [
                [*HEADER, "人员状态"],
                [
                    "王强",
                    make_id(region="441803"),
                    "大龄失业人员",
                    "2025-05-06",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "已退出",
                ],
            ],
            start=1,
        ),
        PLACES,
        today=TODAY,
        default_place="441803100",
    )
    assert exited.ok and exited.lines == () and exited.skipped_exited == 1
    broken = parse_ledger_rows(
        [(1, HEADER), RowError(2, None, "not valid CSV", "CSV格式错误")], PLACES, today=TODAY
    )
    assert not broken.ok and broken.errors[0].line == 2


def test_empty_and_header_only_files_are_errors() -> None:
    assert not parse_ledger_rows([], PLACES, today=TODAY).ok
    assert not parse_ledger_rows([(1, HEADER)], PLACES, today=TODAY).ok
