"""Reading department list files: CSV (UTF-8 with or without BOM, GB18030/GBK as Chinese offices'
Excel saves it, UTF-16 "Unicode text") and XLSX, into :func:`domain.department_import` parsing.

File-level problems (too big, not decodable, not a readable workbook, an old binary ``.xls``)
raise :class:`DepartmentFileError`; everything about the content comes back as line errors in
the :class:`~domain.department_import.ParseResult`.

XLSX: the first worksheet is read with openpyxl in read-only mode and *without* ``data_only``,
so a formula cell shows as its formula text (``=VLOOKUP(...)``) and is rejected on its line:
the cached value Excel stored with it is never imported (it may be stale, and the import must
be exactly what the department sent). Date-formatted cells arrive as dates.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from domain.department_data import DepartmentList
from domain.department_import import (
    DEFAULT_MAX_ERRORS,
    DEFAULT_MAX_ROWS,
    Cell,
    ParseResult,
    parse_department_csv,
    parse_department_rows,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DepartmentFileError",
    "decode_csv_bytes",
    "parse_department_bytes",
    "read_department_file",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# An .xlsx may unpack to at most this many times the file size limit.
_UNPACKED_FACTOR = 10
# Chinese characters correctly decoded as UTF-8 before the first bad byte that show the file
# is UTF-8 (GBK bytes misread as UTF-8 practically never give this many in a row).
_UTF8_EVIDENCE = 8
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other OLE documents)


class DepartmentFileError(ValueError):
    """The file cannot be read at all (as opposed to line errors in it)."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


def _cjk(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def decode_csv_bytes(data: bytes) -> str:
    """Text of a CSV file: UTF-16 when it starts with a UTF-16 BOM, else UTF-8 (a BOM is
    dropped), else GB18030 (a superset of GBK and GB2312). Raises DepartmentFileError when
    none of them decodes the whole file, and when the file is clearly UTF-8 (a BOM, or a run of
    Chinese text before the first bad byte) but has bytes that are not: decoding such a mixed
    file as GB18030 would silently garble every name."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _undecodable() from None
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode("utf-8", errors="replace")
        if bom or _cjk(before) >= _UTF8_EVIDENCE:
            line = before.count("\n") + 1
            raise DepartmentFileError(
                f"the file is UTF-8 but line {line} has bytes that are not UTF-8 (text pasted "
                "from another encoding?); fix that line or save the file again as 'CSV UTF-8'",
                f"文件为UTF-8编码，但第{line}行含有非UTF-8字节，请修正后另存为“CSV UTF-8”",
            ) from None
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise _undecodable() from None


def _undecodable() -> DepartmentFileError:
    return DepartmentFileError(
        "the file is neither UTF-8 nor GB18030/GBK text; save it from Excel as "
        "'CSV UTF-8' or as an .xlsx workbook",
        "文件编码无法识别（既不是UTF-8也不是GB18030/GBK），请另存为“CSV UTF-8”或.xlsx工作簿",
    )


def _check_not_html(text: str) -> None:
    head = text.lstrip("\ufeff \t\r\n")[:20].lower()
    if head.startswith(("<html", "<!doctype", "<table", "<?xml", "<meta")):
        raise DepartmentFileError(
            "the file is a web page or XML (some systems export those as .xls); open it in "
            "Excel and save it as .xlsx or CSV",
            "文件为网页或XML格式（部分系统导出的.xls即为此类），请用Excel打开后另存为.xlsx或CSV",
        )


def _cell(value: Any) -> Cell:
    """openpyxl values: formulas (text, ArrayFormula, DataTableFormula) become ``=...`` text,
    which the parser rejects as a formula."""
    if value is None or isinstance(value, str | int | float | bool | date):
        return value
    text = getattr(value, "text", None)  # ArrayFormula
    if isinstance(text, str):
        return text if text.startswith("=") else "=" + text
    if type(value).__name__ == "DataTableFormula":
        return "=TABLE()"
    return str(value)


_BROKEN_XLSX_ZH = "无法读取该.xlsx工作簿，文件可能已损坏"


def _broken(exc: BaseException) -> DepartmentFileError:
    return DepartmentFileError(
        f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})", _BROKEN_XLSX_ZH
    )


def _open_workbook(data: bytes, max_bytes: int) -> Any:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        # A zip bomb would be expanded by openpyxl (shared strings are read whole).
        if unpacked > _UNPACKED_FACTOR * max_bytes:
            raise DepartmentFileError(
                f"the workbook unpacks to {unpacked / 1024 / 1024:.0f} MB, more than "
                f"{_UNPACKED_FACTOR * max_bytes / 1024 / 1024:.0f} MB",
                "工作簿解压后过大",
            )
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except DepartmentFileError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as exc:
        # SyntaxError: xml.etree's ParseError on a broken part.
        raise _broken(exc) from None


def _xlsx_rows(workbook: Any) -> Iterator[Sequence[Cell]]:
    sheet = workbook.worksheets[0]
    # The stored dimensions may be missing or wrong (files written by other programs): read
    # whatever rows there are. Missing rows come back empty, so row i is line i.
    sheet.reset_dimensions()
    for row in sheet.iter_rows(values_only=True):
        yield tuple(_cell(v) for v in row)


def _is_xlsx(data: bytes, file_name: str) -> bool:
    suffix = Path(file_name).suffix.lower()
    if data.startswith(_OLE_MAGIC):
        raise DepartmentFileError(
            "old binary .xls workbooks are not accepted; save the file as .xlsx or CSV",
            "不支持旧版.xls格式，请另存为.xlsx或CSV",
        )
    if data.startswith(_ZIP_MAGIC):
        return True
    if suffix in (".xlsx", ".xlsm"):
        raise DepartmentFileError(
            "the file is named .xlsx but is not an .xlsx workbook",
            "文件扩展名为.xlsx，但内容不是.xlsx工作簿",
        )
    # Anything else is read as text (systems often name tab-separated text ".xls").
    return False


def parse_department_bytes(
    data: bytes,
    file_name: str,
    kind: DepartmentList,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    today: date | None = None,
) -> ParseResult:
    """Parse an uploaded file's content. XLSX is recognised by its content (a zip), whatever
    the name; anything else is CSV."""
    _check_size(len(data), max_bytes)
    if _is_xlsx(data, file_name):
        workbook = _open_workbook(data, max_bytes)
        try:
            if not workbook.worksheets:
                raise DepartmentFileError("the workbook has no worksheet", "工作簿中没有工作表")
            return parse_department_rows(
                _xlsx_rows(workbook), kind, max_rows=max_rows, max_errors=max_errors, today=today
            )
        except DepartmentFileError:
            raise
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as exc:
            # The workbook opened but a sheet's XML is broken.
            raise _broken(exc) from None
        finally:
            workbook.close()
    text = decode_csv_bytes(data)
    _check_not_html(text)
    return parse_department_csv(text, kind, max_rows=max_rows, max_errors=max_errors, today=today)


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DepartmentFileError(
            f"the file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{max_bytes / 1024 / 1024:.0f} MB (split the list or use .xlsx)",
            f"文件大小{size / 1024 / 1024:.1f} MB，超过上限{max_bytes / 1024 / 1024:.0f} MB",
        )


def read_department_file(
    path: Path,
    kind: DepartmentList,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    today: date | None = None,
) -> ParseResult:
    """Read and parse a CSV or XLSX file; the size is checked before anything is read."""
    try:
        _check_size(path.stat().st_size, max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        raise DepartmentFileError(
            f"cannot read the file: {exc.strerror or exc}", f"无法读取文件：{exc.strerror or exc}"
        ) from None
    return parse_department_bytes(
        data,
        path.name,
        kind,
        max_bytes=max_bytes,
        max_rows=max_rows,
        max_errors=max_errors,
        today=today,
    )
