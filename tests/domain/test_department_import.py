"""Parsing department list files: the header (Chinese and English aliases, missing, unknown,
duplicate columns), every line error with its line number, formulas (CSV injection), dates,
limits, and the file readers (UTF-8 with and without BOM, GBK, undecodable bytes, XLSX with
formulas and date cells). Parsing never raises on arbitrary input (property test)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import Workbook

from domain.department_data import DepartmentList, DepartmentRecord
from domain.department_import import (
    DEFAULT_MAX_ROWS,
    Cell,
    ParseResult,
    RowError,
    expected_headers,
    looks_like_formula,
    parse_cell_date,
    parse_department_csv,
    parse_department_rows,
)
from domain.ids import check_digit
from store.department_files import (
    DepartmentFileError,
    decode_csv_bytes,
    parse_department_bytes,
    read_department_file,
)

KIND = DepartmentList.MINIMUM_LIVING_ALLOWANCE
HEADER = "身份证号,姓名,开始日期,结束日期,行政区划"
LIU_FANG = "11010519491231002X"  # GB 11643-1999 example


def make_id(i: int, region: str = "370702") -> str:
    body = f"{region}{1960 + i // 300:04d}{(i // 25) % 12 + 1:02d}{i % 25 + 1:02d}{i % 7:03d}"
    return body + check_digit(body)


def parse(text: str, **kw: object) -> ParseResult:
    return parse_department_csv(text, KIND, **kw)  # type: ignore[arg-type]


def errors(result: ParseResult) -> list[tuple[int, str | None]]:
    return [(e.line, e.column) for e in result.errors]


def only_error(result: ParseResult) -> RowError:
    assert not result.ok
    assert result.error_count == 1, result.errors
    return result.errors[0]


# -- good files ------------------------------------------------------------------------------


def test_good_file() -> None:
    text = (
        "身份证号,姓名,开始日期,结束日期,行政区划,低保证号,备注\n"
        f"{LIU_FANG},刘芳,2024-01-01,2026/12/31,370702001,DB-0001,\n"
        f"{make_id(1).lower()[:-1] + make_id(1)[-1].lower()},王强,,,,DB-0002,  独居  \n"
        "370702800101123,张三,2025/3/1,,370702,,\n"
    )
    result = parse(text)
    assert result.ok and result.errors == () and result.error_count == 0
    assert [r.line for r in result.records] == [2, 3, 4]
    first, second, third = result.records
    assert first.list is KIND
    assert first.id_number == LIU_FANG and first.name == "刘芳"
    assert (first.valid_from, first.valid_to) == (date(2024, 1, 1), date(2026, 12, 31))
    assert first.jurisdiction_code == "370702001"
    assert first.detail == {"低保证号": "DB-0001"}  # blank cells left out
    assert first.record == DepartmentRecord(KIND, LIU_FANG, date(2024, 1, 1), date(2026, 12, 31))
    assert second.id_number == make_id(1)  # upper-case X, normalised
    assert second.detail == {"低保证号": "DB-0002", "备注": "独居"}
    assert (second.valid_from, second.valid_to, second.jurisdiction_code) == (None, None, None)
    # A 15-digit number is stored in its 18-character form.
    assert third.id_number == "37070219800101123X"
    assert third.valid_from == date(2025, 3, 1)


def test_only_required_columns() -> None:
    result = parse(f"姓名,身份证号\n刘芳,{LIU_FANG}\n")
    assert result.ok
    assert result.records[0].id_number == LIU_FANG and result.records[0].valid_to is None


@pytest.mark.parametrize(
    "header",
    [
        "id_number,name,valid_from,valid_to,jurisdiction_code",
        "ID Number,Name,Valid From,Valid-To,Jurisdiction Code",
        "  ID_NUMBER ,NAME,start date,end date,jurisdiction-code",
        "公民身份号码,姓名,起始日期,截止日期,行政区划代码",
        "身份证号码*,姓名*,生效日期,终止日期,区划代码",
        "身份证,姓名,开始日期,valid_until,行政区划",
    ],
)
def test_header_aliases(header: str) -> None:
    result = parse(f"{header}\n{LIU_FANG},刘芳,2024-01-01,2024-12-31,370702\n")
    assert result.ok, result.errors
    record = result.records[0]
    assert (record.valid_from, record.valid_to) == (date(2024, 1, 1), date(2024, 12, 31))
    assert record.jurisdiction_code == "370702" and record.detail == {}


def test_blank_lines_are_skipped_but_counted() -> None:
    text = f"\n{HEADER}\n\n{LIU_FANG},刘芳,,,\n,,,,\n{make_id(2)},bad,2024-13-01,,\n"
    result = parse(text)
    assert errors(result) == [(6, "开始日期")]
    assert [r.line for r in result.records] == [4]


def test_crlf_and_quoted_cells_spanning_lines() -> None:
    text = (
        f'{HEADER},备注\r\n{LIU_FANG},刘芳,,,,"两行\r\n备注"\r\n{make_id(1)},王强,2024-02-30,,,\r\n'
    )
    result = parse(text)
    assert result.records[0].detail == {"备注": "两行\r\n备注"}
    # The bad line is the third record but the fourth line of the file.
    assert errors(result) == [(4, "开始日期")]


def test_tab_separated() -> None:
    result = parse(f"身份证号\t姓名\t备注\n{LIU_FANG}\t刘芳\ta, b\n")
    assert result.ok
    assert result.records[0].detail == {"备注": "a, b"}


# -- header errors ---------------------------------------------------------------------------


def test_missing_required_columns_names_them_and_the_expected_headers() -> None:
    error = only_error(parse(f"开始日期,备注\n2024-01-01,{LIU_FANG}\n"))
    assert (error.line, error.column) == (1, None)
    assert "missing required columns 身份证号/id_number, 姓名/name" in error.message
    assert expected_headers() in error.message
    assert "身份证号/id_number (required), 姓名/name (required), 开始日期/valid_from" in (
        error.message
    )
    assert error.message_zh == "缺少必填列：身份证号、姓名"
    one = only_error(parse(f"身份证号\n{LIU_FANG}\n"))
    assert one.message.startswith("missing required column 姓名/name;")


def test_unknown_header_near_miss_is_rejected_other_columns_are_detail() -> None:
    result = parse(f"身份证号,姓名,valid_form,备注\n{LIU_FANG},刘芳,2024-01-01,x\n")
    error = only_error(result)
    assert (error.line, error.column) == (1, "valid_form")
    assert "unknown header (did you mean 开始日期/valid_from?)" in error.message
    assert result.records == ()


def test_duplicate_header() -> None:
    result = parse(f"身份证号,姓名,id_number\n{LIU_FANG},刘芳,{LIU_FANG}\n")
    error = only_error(result)
    assert (error.line, error.column) == (1, "id_number")
    assert error.message == "duplicate column (same as column 1)"
    other = parse(f"身份证号,姓名,备注,备注\n{LIU_FANG},刘芳,a,b\n")
    assert errors(other) == [(1, "备注")]


def test_blank_header_between_columns() -> None:
    result = parse(f"身份证号,,姓名\n{LIU_FANG},x,刘芳\n{make_id(1)},,王强\n")
    assert errors(result) == [(2, "column 2")]
    assert result.errors[0].message == "a value in a column without a header"
    assert [r.line for r in result.records] == [3]
    # Trailing blank header cells (spreadsheet formatting) are ignored.
    assert parse(f"身份证号,姓名,,\n{LIU_FANG},刘芳,,\n").ok


def test_formula_in_header() -> None:
    result = parse(f"身份证号,姓名,=HYPERLINK(1)\n{LIU_FANG},刘芳,x\n")
    assert errors(result) == [(1, "=HYPERLINK(1)")]


@pytest.mark.parametrize("text", ["", "\n\n", " , ,\n", "\ufeff"])
def test_empty_file(text: str) -> None:
    error = only_error(parse(text))
    assert (error.line, error.message, error.message_zh) == (1, "the file is empty", "文件为空")


def test_header_without_records() -> None:
    error = only_error(parse(f"{HEADER}\n\n"))
    assert error.line == 1 and "header but no records" in error.message


# -- line errors -----------------------------------------------------------------------------


def test_invalid_id_numbers_carry_the_id_module_message() -> None:
    text = f"{HEADER}\n110105194912310023,甲,,,\n,乙,,,\n12345,丙,,,\n110105209901010021,丁,,,\n"
    result = parse(text, today=date(2026, 1, 1))
    assert errors(result) == [(2, "身份证号"), (3, "身份证号"), (4, "身份证号"), (5, "身份证号")]
    bad_check, empty, short, future = result.errors
    assert bad_check.message == "invalid ID number: check digit is 3 but should be X"
    assert bad_check.message_zh == "身份证号无效：校验码错误：应为X，实为3"
    assert empty.message == "the ID number is empty"
    assert short.message == (
        "invalid ID number: the ID number must have 15 or 18 characters, not 5"
    )
    assert "is in the future" in future.message
    assert result.records == ()


def test_name_required() -> None:
    long_name = "名" * 51
    text = f"{HEADER}\n{make_id(1)},,,,\n{make_id(2)},{long_name},,,\n{make_id(3)}\n"
    result = parse(text)
    assert errors(result) == [(2, "姓名"), (3, "姓名"), (4, "姓名")]
    assert result.errors[0].message == "the name is empty"
    # The rule every name follows, in the API and the pages as here (domain/text.py).
    assert "at most 50 characters" in result.errors[1].message


def test_a_name_with_hidden_characters_is_refused() -> None:
    rows = [
        f"{make_id(1)},张\u202e三,,,",  # a right-to-left override
        f"{make_id(2)},张\u200b三,,,",  # a zero-width space: looks like 张三
        f"{make_id(3)},张三,,,",
    ]
    result = parse("\n".join([HEADER, *rows]) + "\n")
    assert errors(result) == [(2, "姓名"), (3, "姓名")]
    assert "invisible characters" in result.errors[0].message
    assert len(result.records) == 1


def test_valid_to_before_valid_from() -> None:
    text = (
        f"{HEADER}\n{LIU_FANG},刘芳,2025-06-01,2025-05-31,\n"
        f"{make_id(1)},王强,2025-06-01,2025-06-01,\n"
    )
    result = parse(text)
    error = only_error(result)
    assert (error.line, error.column) == (2, "结束日期")
    assert error.message == "2025-05-31 is before the start date 2025-06-01"
    assert [r.line for r in result.records] == [3]  # a one-day record is fine


def test_bad_dates() -> None:
    text = f"{HEADER}\n{LIU_FANG},刘芳,2025-02-29,,\n{make_id(1)},王强,,soon,\n"
    result = parse(text)
    assert errors(result) == [(2, "开始日期"), (3, "结束日期")]
    assert result.errors[0].message == (
        "'2025-02-29' is not a date (YYYY-MM-DD, YYYY/MM/DD or a spreadsheet date)"
    )


def test_bad_jurisdiction_code() -> None:
    text = (
        f"{HEADER}\n{LIU_FANG},刘芳,,,37\n{make_id(1)},王强,,,城关街道\n"
        f"{make_id(2)},李四,,,'370702\n"
    )
    result = parse(text)
    assert errors(result) == [(2, "行政区划"), (3, "行政区划")]
    assert result.records[0].jurisdiction_code == "370702"  # Excel's text marker is dropped


def test_duplicate_id_numbers_within_the_file() -> None:
    text = (
        f"{HEADER}\n"
        f"{LIU_FANG},刘芳,,,\n"
        f"{make_id(1)},王强,,,\n"
        f"{LIU_FANG.lower()},刘芳,,,\n"
        "370702800101123,张三,,,\n"
        "37070219800101123X,张三,,,\n"
    )
    result = parse(text)
    assert errors(result) == [(4, "身份证号"), (6, "身份证号")]
    assert result.errors[0].message == "the same ID number is already on line 2"
    assert result.errors[1].message == "the same ID number is already on line 5"


def test_value_in_a_column_without_header() -> None:
    result = parse(f"{HEADER}\n{LIU_FANG},刘芳,,,,extra\n{make_id(1)},王强,,,,,\n")
    assert errors(result) == [(2, "column 6")]


@pytest.mark.parametrize(
    "cell",
    [
        "=1+2",
        '=HYPERLINK("http://x","y")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "  =1",
        "\t=1",
        "-A1",
    ],
)
def test_formulas_are_rejected_with_their_line(cell: str) -> None:
    quoted = '"' + cell.replace('"', '""') + '"'
    text = f"{HEADER},备注\n{make_id(1)},王强,,,,ok\n{LIU_FANG},刘芳,,,,{quoted}\n"
    result = parse(text)
    error = only_error(result)
    assert (error.line, error.column) == (3, "备注")
    assert "formula" in error.message
    assert [r.line for r in result.records] == [2]


def test_formula_in_a_known_column() -> None:
    text = f"{HEADER}\n=A2,刘芳,,,\n{LIU_FANG},@name,,,\n"
    assert errors(parse(text)) == [(2, "身份证号"), (3, "姓名")]


@pytest.mark.parametrize("cell", ["-5", "+86 138 0000 0000", "--", "-", "-1,234.5", "a=b", "备注"])
def test_plain_values_that_start_like_numbers_are_accepted(cell: str) -> None:
    assert not looks_like_formula(cell)
    result = parse(f'{HEADER},备注\n{LIU_FANG},刘芳,,,,"{cell}"\n')
    assert result.ok and result.records[0].detail == {"备注": cell}


def test_row_limit() -> None:
    rows = "".join(f"{make_id(i)},人{i},,,\n" for i in range(5))
    error = only_error(parse(f"{HEADER}\n{rows}", max_rows=4))
    assert error.line == 6 and "more than 4 records" in error.message
    assert parse(f"{HEADER}\n{rows}", max_rows=5).ok


def test_default_row_limit_is_200000() -> None:
    assert DEFAULT_MAX_ROWS == 200_000
    header: list[Cell] = ["身份证号", "姓名"]
    row: list[Cell] = ["1", "x"]  # cheap to reject: every line is an error of its own
    result = parse_department_rows([header, *([row] * 200_001), row, row], KIND, max_errors=1)
    assert result.error_count == 200_001  # 200,000 bad lines + the limit, then it stops
    assert result.more_errors == 200_000


def test_errors_are_capped_and_counted() -> None:
    rows = "".join(f"bad{i},人{i},,,\n" for i in range(150))
    result = parse(f"{HEADER}\n{rows}")
    assert result.error_count == 150 and len(result.errors) == 100
    assert result.more_errors == 50 and not result.ok
    assert result.errors[-1].line == 101
    small = parse(f"{HEADER}\n{rows}", max_errors=3)
    assert len(small.errors) == 3 and small.error_count == 150


def test_row_error_str() -> None:
    assert str(RowError(3, "身份证号", "boom", "炸")) == "line 3: 身份证号: boom"
    assert str(RowError(1, None, "the file is empty", "文件为空")) == "line 1: the file is empty"


def test_csv_syntax_error_has_a_line_and_parsing_goes_on() -> None:
    text = f'{HEADER}\n{LIU_FANG},"刘"芳,,,\n{make_id(1)},王强,,,\n{make_id(2)},李四,2024-99-01,,\n'
    result = parse(text)
    assert errors(result) == [(2, None), (4, "开始日期")]
    assert result.errors[0].message.startswith("not valid CSV: ")
    unterminated = parse(f'{HEADER}\n{LIU_FANG},"刘芳,,,\n')
    assert errors(unterminated) == [(2, None)]


# -- dates and spreadsheet cells -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("2024/03/05", date(2024, 3, 5)),
        ("2024.03.05", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("2024年3月5日", date(2024, 3, 5)),
        ("2024-03-05 00:00:00", date(2024, 3, 5)),
        (" 2024-03-05 ", date(2024, 3, 5)),
        ("45356", date(2024, 3, 5)),  # Excel serial as text
        (45356, date(2024, 3, 5)),
        (45356.0, date(2024, 3, 5)),
        (1, date(1900, 1, 1)),
        (59, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),
        (datetime(2024, 3, 5, 0, 0), date(2024, 3, 5)),
        (date(2024, 3, 5), date(2024, 3, 5)),
        ("2024-3/5", None),
        ("2024-02-30", None),
        ("2024", None),
        ("tomorrow", None),
        (60, None),  # Excel's 1900-02-29 never existed
        (45356.5, None),
        (0, None),
        (float("nan"), None),
        (10**20, None),
        (True, None),
        (time(12, 0), None),
        ("２０２４-03-05", None),  # full-width digits
    ],
)
def test_parse_cell_date(cell: Cell, expected: date | None) -> None:
    assert parse_cell_date(cell) == expected


def test_spreadsheet_cells() -> None:
    rows: list[Sequence[Cell]] = [
        ["身份证号", "姓名", "开始日期", "结束日期", "行政区划", "人数", "金额"],
        [LIU_FANG, "刘芳", datetime(2024, 1, 1), 46387, 370702001, 3, 12.5],
        [],
        [370702198001011213, "赵六", None, None, 370702.0, True, None],
        [3.70702198001011e17, "钱七", None, None, None, None, None],
    ]
    result = parse_department_rows(rows, KIND)
    assert errors(result) == [(5, "身份证号")]
    assert "stored as a number" in result.errors[0].message
    first, second = result.records
    assert (first.valid_from, first.valid_to) == (date(2024, 1, 1), date(2026, 12, 31))
    assert first.jurisdiction_code == "370702001"
    assert first.detail == {"人数": "3", "金额": "12.5"}
    assert second.line == 4 and second.id_number == "370702198001011213"
    assert second.jurisdiction_code == "370702" and second.detail == {"人数": "true"}


# -- never raises ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text: str) -> None:
    result = parse(text, max_rows=50)
    assert result.ok == (result.error_count == 0)
    assert all(e.line >= 1 for e in result.errors)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(",\n\r\"'=+-@ \t0123456789X身份证号姓名开始日期/")),
        max_size=6,
    )
)
def test_parse_never_raises_on_csv_like_text(parts: list[str]) -> None:
    parse(HEADER + "\n" + "".join(parts))


cells = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.sampled_from([LIU_FANG, "身份证号", "姓名", "开始日期", "结束日期", "=1"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, max_size=6), max_size=6))
def test_parse_rows_never_raises(rows: list[list[Cell]]) -> None:
    parse_department_rows(rows, KIND)


# -- file readers (store.department_files) ---------------------------------------------------


def gbk_csv() -> bytes:
    return f"{HEADER},备注\n{LIU_FANG},刘芳,2024-01-01,,,低保户\n".encode("gbk")


def test_utf8_with_and_without_bom() -> None:
    text = f"{HEADER}\n{LIU_FANG},刘芳,,,\n"
    for data in (text.encode("utf-8"), text.encode("utf-8-sig")):
        result = parse_department_bytes(data, "a.csv", KIND)
        assert result.ok and result.records[0].name == "刘芳"
    assert decode_csv_bytes(b"\xef\xbb\xbfabc") == "abc"


def test_gbk_file() -> None:
    result = parse_department_bytes(gbk_csv(), "低保名单.csv", KIND)
    assert result.ok
    assert result.records[0].name == "刘芳" and result.records[0].detail == {"备注": "低保户"}


def test_gb18030_only_characters() -> None:
    data = f"{HEADER}\n{LIU_FANG},刘芳𠀀,,,\n".encode("gb18030")  # 𠀀 is not in GBK
    assert parse_department_bytes(data, "a.csv", KIND).records[0].name == "刘芳𠀀"


def test_utf16_unicode_text() -> None:
    data = f"身份证号\t姓名\n{LIU_FANG}\t刘芳\n".encode("utf-16")
    assert parse_department_bytes(data, "a.txt", KIND).records[0].name == "刘芳"


def test_bad_encoding_is_one_clear_error() -> None:
    data = b"id_number,name\n\x80\xff\x80\xff,\x81\n"
    with pytest.raises(DepartmentFileError) as info:
        parse_department_bytes(data, "a.csv", KIND)
    assert info.value.message == (
        "the file is neither UTF-8 nor GB18030/GBK text; save it from Excel as 'CSV UTF-8' or "
        "as an .xlsx workbook"
    )
    assert "编码" in info.value.message_zh
    with pytest.raises(DepartmentFileError, match="neither UTF-8"):
        parse_department_bytes(b"\xff\xfe\x00\xd8", "a.csv", KIND)  # broken UTF-16


def test_utf8_with_bytes_from_another_encoding_is_not_read_as_gbk() -> None:
    # A UTF-8 file with one name pasted in GBK would decode as GB18030 into garbage names.
    data = f"{HEADER}\n{LIU_FANG},刘芳,,,\n".encode() + f"{make_id(1)},王强,,,\n".encode("gbk")
    with pytest.raises(DepartmentFileError) as info:
        parse_department_bytes(data, "a.csv", KIND)
    assert info.value.message.startswith("the file is UTF-8 but line 3 has bytes that are not")
    bom = b"\xef\xbb\xbfid_number,name\n" + "王强".encode("gbk")
    with pytest.raises(DepartmentFileError, match="UTF-8 but line 2"):
        parse_department_bytes(bom, "a.csv", KIND)


def test_web_page_saved_as_xls() -> None:
    with pytest.raises(DepartmentFileError, match="web page"):
        parse_department_bytes(b"<html><table><tr><td>1</td></tr></table>", "a.xls", KIND)


def test_tab_separated_text_named_xls() -> None:
    data = f"身份证号\t姓名\n{LIU_FANG}\t刘芳\n".encode("gbk")
    assert parse_department_bytes(data, "export.xls", KIND).records[0].name == "刘芳"


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(DepartmentFileError, match=r"the file is 0\.0 MB; the limit is 0 MB"):
        read_department_file(path, KIND, max_bytes=1024)
    with pytest.raises(DepartmentFileError, match="limit is 50 MB"):
        parse_department_bytes(b"x" * (50 * 1024 * 1024 + 1), "a.csv", KIND)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DepartmentFileError, match="cannot read the file"):
        read_department_file(tmp_path / "nope.csv", KIND)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_file(tmp_path: Path) -> None:
    data = xlsx_bytes(
        [
            ["身份证号", "姓名", "开始日期", "结束日期", "行政区划", "残疾等级"],
            [LIU_FANG, "刘芳", datetime(2024, 1, 1), "2026/12/31", "370702001", 2],
            [None, None, None, None, None, None],
            [make_id(1), "王强", None, None, 370702, "一级"],
        ]
    )
    path = tmp_path / "残疾人.xlsx"
    path.write_bytes(data)
    result = read_department_file(path, KIND)
    assert result.ok, result.errors
    first, second = result.records
    assert first.valid_from == date(2024, 1, 1) and first.valid_to == date(2026, 12, 31)
    assert first.detail == {"残疾等级": "2"}
    assert (second.line, second.jurisdiction_code) == (4, "370702")
    # Content decides, not the name.
    assert parse_department_bytes(data, "export.csv", KIND).ok


def test_xlsx_formulas_are_rejected_not_their_cached_values() -> None:
    data = xlsx_bytes(
        [
            ["身份证号", "姓名", "备注"],
            [LIU_FANG, "刘芳", "=1+2"],
            [make_id(1), '=CONCAT("王","强")', "x"],
            [make_id(2), "李四", "ok"],
        ]
    )
    result = parse_department_bytes(data, "a.xlsx", KIND)
    assert errors(result) == [(2, "备注"), (3, "姓名")]
    assert [r.line for r in result.records] == [4]


def test_not_a_workbook() -> None:
    with pytest.raises(DepartmentFileError, match=r"named \.xlsx but is not"):
        parse_department_bytes(b"id,name\n", "a.xlsx", KIND)
    with pytest.raises(DepartmentFileError, match=r"old binary \.xls"):
        parse_department_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.dat", KIND)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(DepartmentFileError, match=r"not a readable \.xlsx workbook"):
        parse_department_bytes(out.getvalue(), "a.xlsx", KIND)


def test_empty_xlsx_sheet() -> None:
    error = only_error(parse_department_bytes(xlsx_bytes([]), "a.xlsx", KIND))
    assert error.message == "the file is empty"


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert only_error(read_department_file(path, KIND)).message == "the file is empty"


def test_xlsx_line_numbers_are_sheet_rows() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws["B3"] = "身份证号"
    ws["C3"] = "姓名"
    ws["B4"] = LIU_FANG
    ws["C4"] = "刘芳"
    ws["B7"] = "bad"
    ws["C7"] = "王强"
    out = io.BytesIO()
    wb.save(out)
    result = parse_department_bytes(out.getvalue(), "a.xlsx", KIND)
    assert errors(result) == [(7, "身份证号")]
    assert [r.line for r in result.records] == [4]
