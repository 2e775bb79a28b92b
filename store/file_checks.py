"""What a material's file must be before it is kept (证明材料的文件检查): the one home of the
rules on a file's type, size and content, and of the normalisation of images.

- The type comes from the content's first bytes (JPEG, PNG, PDF), never from the file name or
  the type the browser claims: a Word file renamed ``.jpg`` is refused as what it is.
- The size is bounded (``YUANZHU_MATERIAL_MAX_BYTES``, 10 MB by default); how many files an
  evidence item and a case may hold is :func:`check_count`'s.
- A PDF that can act when opened (JavaScript, an action on opening, a launch of a program, an
  embedded file, additional actions: ``/JavaScript``, ``/JS``, ``/OpenAction``, ``/Launch``,
  ``/EmbeddedFile``, ``/AA``, and ``/RichMedia``, ``/XFA``) is refused, as is one that is
  encrypted (its content cannot be checked). Names are read with their ``#xx`` escapes decoded,
  inside compressed streams (object streams hide dictionaries there) as well as outside.
- An image is decoded (a file that only starts like one is refused), turned upright by its
  EXIF orientation, reduced to ``YUANZHU_MATERIAL_IMAGE_MAX_SIDE`` on its longest side and
  written again without its metadata (a phone photo's EXIF carries where it was taken); a
  preview of ``YUANZHU_MATERIAL_PREVIEW_MAX_SIDE`` is made beside it. Before the metadata goes,
  the time the photo was taken (EXIF ``DateTimeOriginal``, with ``OffsetTimeOriginal`` when the
  camera wrote one, else China's time) is read and kept as ``taken_at``: a home visit's photo
  says when it was taken, not only when it reached us.
- A PDF that passes its checks gets the same kind of preview: its first page rendered by
  PDFium (pypdfium2, the engine of Chrome's PDF viewer) into a JPEG of
  ``YUANZHU_MATERIAL_PREVIEW_MAX_SIDE``, so that the task page shows it in the page like an
  image (the pages' content security policy forbids framing the PDF itself). A PDF that PDFium
  cannot render is still kept, without a preview: the page then offers the file's link and says
  that there is no preview.

Every refusal is a :class:`FileRefused` with a stable ``code`` and its words in Chinese and in
English, naming the file; nothing is stored for a refused file.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, ClassVar

from domain.calendar import SHANGHAI
from store.settings import Settings

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

log = logging.getLogger(__name__)

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
ACCEPTED_TYPES = (JPEG, PNG, PDF)
_SUFFIX = {JPEG: "jpg", PNG: "png", PDF: "pdf"}

# Names in a PDF that make it do something when opened or carry another file.
ACTIVE_PDF_NAMES = (
    "JavaScript",
    "JS",
    "OpenAction",
    "Launch",
    "EmbeddedFile",
    "AA",
    "RichMedia",
    "XFA",
)
# A name is "/" then regular characters; it ends at whitespace or a delimiter.
_PDF_NAME = re.compile(rb"/([^\s/\[\]()<>{}%]+)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)
# A decompressed stream may be at most this many times its compressed size (a zip bomb).
_INFLATE_LIMIT = 50 * 1024 * 1024
# Pixels an image may have before it is decoded (Pillow's own bound is a warning only).
MAX_PIXELS = 60_000_000


class FileRefused(ValueError):
    """A file that is not kept, and why, in both languages."""

    code: ClassVar[str] = "file-refused"
    status: ClassVar[int] = 422

    def __init__(self, file_name: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.file_name = file_name
        self.zh = zh
        self.en = en


class UnsupportedType(FileRefused):
    code = "unsupported-file-type"
    status = 415


class FileTooLarge(FileRefused):
    code = "file-too-large"
    status = 413


class EmptyFile(FileRefused):
    code = "empty-file"


class ActivePdf(FileRefused):
    code = "pdf-active-content"


class UnreadableFile(FileRefused):
    code = "unreadable-file"


class TooManyFiles(FileRefused):
    code = "too-many-files"
    status = 409


@dataclass(frozen=True)
class CheckedFile:
    """A file fit to keep: its bytes as stored (an image normalised), its type, and for an
    image a small JPEG preview."""

    data: bytes
    media_type: str
    preview: bytes | None
    width: int | None = None
    height: int | None = None
    # When a photo was taken (its EXIF DateTimeOriginal, in UTC); None when it does not say.
    taken_at: datetime | None = None


# EXIF tags: the Exif sub-IFD, DateTimeOriginal and OffsetTimeOriginal within it.
_EXIF_IFD, _DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x8769, 0x9003, 0x9011
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
# A photo's clock that says it was taken before digital cameras or years ahead is wrong.
_EARLIEST_TAKEN = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST_SKEW = timedelta(days=366)


def sniff(data: bytes) -> str | None:
    """The file's type from its first bytes, or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    # The PDF header may follow a little junk (the specification tolerates up to 1024 bytes).
    if b"%PDF-" in data[:1024]:
        return PDF
    return None


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def check_size(file_name: str, size: int, limit: int) -> None:
    """Refuse a file larger than ``limit`` bytes (before it is read whole, where the size is
    known from the request)."""
    if size > limit:
        raise FileTooLarge(
            file_name,
            f"文件“{file_name}”大小为 {_megabytes(size)}，超过单个文件 {_megabytes(limit)} "
            "的上限；请压缩或分页扫描后重新上传。",
            f"file {file_name!r} is {_megabytes(size)}, above the limit of "
            f"{_megabytes(limit)} per file; compress it or scan it in parts",
        )


def check_count(
    file_name: str, *, in_item: int, in_case: int, evidence_name: str, settings: Settings
) -> None:
    """Refuse a file beyond what one evidence item or one case may hold (already held:
    ``in_item``, ``in_case``)."""
    if in_item >= settings.material_max_files_per_item:
        limit = settings.material_max_files_per_item
        raise TooManyFiles(
            file_name,
            f"“{evidence_name}”已有 {in_item} 个文件，达到每项材料 {limit} 个的上限。",
            f"{evidence_name!r} already holds {in_item} files, the limit per evidence item "
            f"is {limit}",
        )
    if in_case >= settings.material_max_files_per_case:
        limit = settings.material_max_files_per_case
        raise TooManyFiles(
            file_name,
            f"本案已有 {in_case} 个材料文件，达到每个案件 {limit} 个的上限。",
            f"the case already holds {in_case} files, the limit per case is {limit}",
        )


def _decoded_names(chunk: bytes) -> set[str]:
    names = set()
    for raw in _PDF_NAME.findall(chunk):
        name = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
        names.add(name.decode("latin-1"))
    return names


def _inflated_streams(data: bytes) -> list[bytes]:
    """Every stream that inflates (Flate, the common case; others cannot hide names that a
    viewer acts on without also being Flate- or un-encoded in practice)."""
    out = []
    budget = _INFLATE_LIMIT
    for match in _STREAM.finditer(data):
        body = match.group(1)
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(body, budget)
        except zlib.error:
            continue
        budget -= len(inflated)
        out.append(inflated)
        if budget <= 0:
            break
    return out


def active_pdf_names(data: bytes) -> list[str]:
    """The names in a PDF that would make it act (sorted), in its text and in its streams."""
    names = _decoded_names(data)
    for stream in _inflated_streams(data):
        names |= _decoded_names(stream)
    return sorted(n for n in names if n in ACTIVE_PDF_NAMES or n == "Encrypt")


# PDFium is not thread-safe: one rendering at a time in a process (pypdfium2's advice).
_PDFIUM = threading.Lock()
# A page larger than this (in points, 1/72 inch) on a side is not a paper anyone scanned.
_PDF_MAX_PAGE_SIDE = 14_400


def pdf_preview(data: bytes, max_side: int) -> bytes | None:
    """The first page of a PDF (already checked for active content) as a JPEG of at most
    ``max_side`` pixels on its longest side, on white; None when it cannot be rendered (a
    damaged or unusual file, a page of no or absurd size): the PDF is kept all the same."""
    import pypdfium2 as pdfium

    try:
        with _PDFIUM:
            document = pdfium.PdfDocument(data)
            try:
                if len(document) < 1:
                    return None
                page = document[0]
                try:
                    width, height = page.get_size()
                    longest = max(width, height)
                    if not 1 <= longest <= _PDF_MAX_PAGE_SIDE:
                        return None
                    bitmap = page.render(scale=max_side / longest, may_draw_forms=False)
                    image = bitmap.to_pil().convert("RGB")
                    bitmap.close()
                finally:
                    page.close()
            finally:
                document.close()
    except (pdfium.PdfiumError, ValueError, OSError, MemoryError) as exc:
        log.info("no preview for a PDF: PDFium cannot render it (%s)", exc)
        return None
    return _preview_jpeg(image)


def _preview_jpeg(image: PilImage) -> bytes:
    """A preview's bytes, an image's or a PDF's first page alike: a small JPEG."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75, optimize=True)
    return out.getvalue()


def _check_pdf(file_name: str, data: bytes, settings: Settings) -> CheckedFile:
    found = active_pdf_names(data)
    if "Encrypt" in found:
        raise ActivePdf(
            file_name,
            f"PDF 文件“{file_name}”已加密，无法检查其内容；请上传未加密的 PDF 或扫描件图片。",
            f"PDF {file_name!r} is encrypted, so its content cannot be checked; upload it "
            "unencrypted or as scanned images",
        )
    if found:
        listed = ", ".join(f"/{n}" for n in found)
        raise ActivePdf(
            file_name,
            f"PDF 文件“{file_name}”含有可执行的活动内容（{listed}），不予接收；"
            "请打印后重新扫描，或“打印为 PDF”后上传。",
            f"PDF {file_name!r} contains active content ({listed}) and is refused; print it "
            "and scan it again, or 'print to PDF', and upload that",
        )
    if b"%%EOF" not in data[-2048:]:
        raise UnreadableFile(
            file_name,
            f"PDF 文件“{file_name}”不完整（缺少文件结尾），可能上传中断或文件已损坏。",
            f"PDF {file_name!r} is incomplete (no end-of-file marker): the upload was cut "
            "short or the file is damaged",
        )
    return CheckedFile(
        data=data,
        media_type=PDF,
        preview=pdf_preview(data, settings.material_preview_max_side),
    )


def taken_at(image: PilImage) -> datetime | None:
    """When the photo was taken, from its EXIF (read before the metadata is dropped), in UTC.

    ``DateTimeOriginal`` is the camera's local time (``YYYY:MM:DD HH:MM:SS``); its zone is
    ``OffsetTimeOriginal`` when the camera wrote one, else China's (+08:00: the officers'
    phones are set to it). A missing, malformed or implausible value (before 1990, or more
    than a year ahead of the clock) gives None: no time is better than a wrong one."""
    try:
        exif = image.getexif().get_ifd(_EXIF_IFD)
    except (AttributeError, KeyError, OSError, SyntaxError, ValueError):
        return None
    raw = exif.get(_DATE_TIME_ORIGINAL)
    if not isinstance(raw, str):
        return None
    try:
        local = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone: timezone = SHANGHAI
    offset = exif.get(_OFFSET_TIME_ORIGINAL)
    match = _EXIF_OFFSET.fullmatch(offset.strip("\x00 ")) if isinstance(offset, str) else None
    if match:
        sign = -1 if match.group(1) == "-" else 1
        zone = timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    at = local.replace(tzinfo=zone).astimezone(UTC)
    if at < _EARLIEST_TAKEN or at > datetime.now(UTC) + _LATEST_SKEW:
        return None
    return at


def _check_image(file_name: str, data: bytes, media_type: str, settings: Settings) -> CheckedFile:
    from PIL import Image, ImageOps

    expected = "JPEG" if media_type == JPEG else "PNG"
    unreadable = UnreadableFile(
        file_name,
        f"图片“{file_name}”无法读取（文件已损坏或并非完整的 {expected} 图片）。",
        f"image {file_name!r} cannot be read (damaged, or not a whole {expected} image)",
    )
    try:
        with Image.open(io.BytesIO(data), formats=[expected]) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise FileTooLarge(
                    file_name,
                    f"图片“{file_name}”尺寸为 {probe.width}×{probe.height} 像素，过大，"
                    "请降低分辨率后重新上传。",
                    f"image {file_name!r} is {probe.width}×{probe.height} pixels, too large; "
                    "lower its resolution",
                )
            probe.load()
            # Read before exif_transpose and the save below drop the metadata.
            taken = taken_at(probe)
            image = ImageOps.exif_transpose(probe)
    except FileRefused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise unreadable from None
    if image.mode not in ("RGB", "L") and media_type == JPEG:
        image = image.convert("RGB")
    image.thumbnail((settings.material_image_max_side,) * 2, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Written again without EXIF: the orientation is applied, and where a photo was taken
    # is nobody's business here.
    if media_type == JPEG:
        image.save(out, "JPEG", quality=88, optimize=True)
    else:
        image.save(out, "PNG", optimize=True)
    preview_image = image.convert("RGB") if image.mode != "RGB" else image.copy()
    preview_image.thumbnail((settings.material_preview_max_side,) * 2, Image.Resampling.LANCZOS)
    return CheckedFile(
        data=out.getvalue(),
        media_type=media_type,
        preview=_preview_jpeg(preview_image),
        width=image.width,
        height=image.height,
        taken_at=taken,
    )


def check_file(file_name: str, data: bytes, settings: Settings) -> CheckedFile:
    """The file as it is kept, or a :class:`FileRefused` saying why not."""
    if not data:
        raise EmptyFile(file_name, f"文件“{file_name}”是空文件。", f"file {file_name!r} is empty")
    check_size(file_name, len(data), settings.material_max_bytes)
    media_type = sniff(data)
    if media_type is None:
        raise UnsupportedType(
            file_name,
            f"文件“{file_name}”不是 JPEG、PNG 或 PDF 文件（按文件内容判断，与文件名无关）；"
            "请上传扫描件或照片。",
            f"file {file_name!r} is not a JPEG, PNG or PDF file (judged by its content, "
            "whatever its name says); upload a scan or a photo",
        )
    if media_type == PDF:
        return _check_pdf(file_name, data, settings)
    return _check_image(file_name, data, media_type, settings)


def download_name(file_name: str, media_type: str) -> str:
    """The name a download carries: the original name with the suffix of what it is."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return f"{stem}.{_SUFFIX.get(media_type, 'bin')}"
