"""The checks a material's file passes before it is kept (store/file_checks.py): type from the
content, size, active PDF content, images turned upright, reduced and previewed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from store.file_checks import (
    JPEG,
    PDF,
    PNG,
    ActivePdf,
    EmptyFile,
    FileTooLarge,
    TooManyFiles,
    UnreadableFile,
    UnsupportedType,
    active_pdf_names,
    check_count,
    check_file,
    download_name,
)
from store.settings import Settings, load_settings
from tests.materials_support import docx_renamed, jpeg, pdf, png, scan_pdf, unrenderable_pdf


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, material_image_max_side=300)


def test_a_word_file_renamed_jpg_is_refused_by_its_content(settings: Settings) -> None:
    with pytest.raises(UnsupportedType) as refused:
        check_file("身份证.jpg", docx_renamed(), settings)
    assert refused.value.code == "unsupported-file-type" and refused.value.status == 415
    assert "身份证.jpg" in refused.value.zh and "不是 JPEG、PNG 或 PDF" in refused.value.zh
    assert "judged by its content" in refused.value.en


def test_a_png_named_pdf_is_kept_as_a_png(settings: Settings) -> None:
    assert check_file("scan.pdf", png(), settings).media_type == PNG
    assert download_name("scan.pdf", PNG) == "scan.png"


def test_a_50_mb_scan_is_refused_with_both_sizes(settings: Settings) -> None:
    scan = jpeg()[:-2] + b"\x00" * (50 * 1024 * 1024)
    with pytest.raises(FileTooLarge) as refused:
        check_file("户口簿.jpg", scan, settings)
    assert refused.value.status == 413
    assert "50 MB" in refused.value.zh and "10 MB" in refused.value.zh
    assert "above the limit of 10 MB per file" in refused.value.en


def test_an_empty_file_is_refused(settings: Settings) -> None:
    with pytest.raises(EmptyFile):
        check_file("a.pdf", b"", settings)


@pytest.mark.parametrize(
    ("catalog", "streams", "compress", "names"),
    [
        (("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",), (), False, "/JS"),
        (("/Names << /EmbeddedFiles 5 0 R >>",), (b"<< /Type /EmbeddedFile >>",), False, None),
        (("/OpenAction << /S /Launch /F (cmd.exe) >>",), (), False, "/Launch"),
        (("/AA << /O 4 0 R >>",), (), False, "/AA"),
        # the name spelled with #xx escapes, as the specification allows
        (("/OpenAction << /S /J#61vaScript /J#53 (x) >>",), (), False, "/JavaScript"),
        # hidden inside a compressed object stream
        ((), (b"4 0 << /S /JavaScript /JS (app.alert(1)) >>",), True, "/JavaScript"),
    ],
)
def test_a_pdf_with_active_content_is_refused(
    settings: Settings,
    catalog: tuple[str, ...],
    streams: tuple[bytes, ...],
    compress: bool,
    names: str | None,
) -> None:
    with pytest.raises(ActivePdf) as refused:
        check_file("证明.pdf", pdf(*catalog, streams=streams, compress=compress), settings)
    assert refused.value.code == "pdf-active-content"
    assert "活动内容" in refused.value.zh and "active content" in refused.value.en
    if names:
        assert names in refused.value.en


def test_names_that_only_start_like_active_ones_are_not_active() -> None:
    assert active_pdf_names(pdf("/JSON 1", "/AAX 2", "/Lang (zh-CN)")) == []


def test_an_encrypted_pdf_cannot_be_checked(settings: Settings) -> None:
    encrypted = pdf().replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 9 0 R")
    with pytest.raises(ActivePdf, match="encrypted"):
        check_file("a.pdf", encrypted, settings)


def test_a_truncated_pdf_is_refused(settings: Settings) -> None:
    with pytest.raises(UnreadableFile, match="incomplete"):
        check_file("a.pdf", pdf()[:-40], settings)


def test_a_clean_pdf_is_kept_as_it_is_with_its_first_page_as_preview(
    settings: Settings,
) -> None:
    data = pdf(streams=(b"BT /F1 12 Tf (hello) Tj ET",), compress=True)
    checked = check_file("a.pdf", data, settings)
    assert (checked.data, checked.media_type) == (data, PDF)
    assert checked.preview is not None
    # A letter page (612×792 points), blank: 480 high on white, as the images' preview.
    preview = Image.open(io.BytesIO(checked.preview))
    assert preview.format == "JPEG" and preview.size == (371, 480)
    assert preview.getpixel((185, 240)) == (255, 255, 255)


def test_a_scanned_pdf_s_preview_shows_its_first_page(settings: Settings) -> None:
    # A scan 620×877 with a dark band across its top eighth: the preview is the page reduced
    # to 480 on its longest side, the band dark, the rest white.
    checked = check_file("户口簿.pdf", scan_pdf(), settings)
    assert checked.preview is not None
    preview = Image.open(io.BytesIO(checked.preview))
    assert max(preview.size) == settings.material_preview_max_side == 480
    assert preview.size[0] in (339, 340)  # 620 × 480 / 877, rounded either way
    band, paper = preview.getpixel((170, 20)), preview.getpixel((170, 400))
    assert isinstance(band, tuple) and isinstance(paper, tuple)
    assert max(band) < 120 and min(paper) > 240


def test_a_pdf_that_cannot_be_rendered_is_kept_without_a_preview(settings: Settings) -> None:
    data = unrenderable_pdf()
    checked = check_file("扫描件.pdf", data, settings)
    assert (checked.data, checked.media_type, checked.preview) == (data, PDF, None)


def test_a_photo_is_turned_upright_reduced_stripped_and_previewed(settings: Settings) -> None:
    # 600×300 as taken, EXIF "turn 90° clockwise": upright it is 300 wide and 600 high, and
    # reduced to 300 on its longest side, 150×300.
    checked = check_file("photo.jpeg", jpeg(600, 300, orientation=6), settings)
    assert checked.media_type == JPEG
    kept = Image.open(io.BytesIO(checked.data))
    assert kept.size == (150, 300) == (checked.width, checked.height)
    assert not kept.getexif()  # no orientation left to apply twice, no maker, no place
    # The dark half was on the left; turned clockwise it is on top.
    assert kept.getpixel((75, 10))[0] < 60 and kept.getpixel((75, 290))[0] > 150
    assert checked.preview is not None
    preview = Image.open(io.BytesIO(checked.preview))
    assert preview.format == "JPEG" and max(preview.size) <= settings.material_preview_max_side


def test_an_image_that_only_starts_like_one_is_unreadable(settings: Settings) -> None:
    with pytest.raises(UnreadableFile, match="cannot be read"):
        check_file("a.jpg", b"\xff\xd8\xff\xe0" + b"junk" * 100, settings)
    with pytest.raises(UnreadableFile):
        check_file("a.png", png()[:60], settings)


def test_counts_per_item_and_per_case(settings: Settings) -> None:
    check_count("a.pdf", in_item=9, in_case=59, evidence_name="身份证", settings=settings)
    with pytest.raises(TooManyFiles, match="per evidence item is 10"):
        check_count("a.pdf", in_item=10, in_case=10, evidence_name="身份证", settings=settings)
    with pytest.raises(TooManyFiles, match="per case is 60"):
        check_count("a.pdf", in_item=0, in_case=60, evidence_name="身份证", settings=settings)


# --- when a photo was taken (a home visit's photo, #24 item 4) ---------------------------------


def test_the_time_a_photo_was_taken_is_read_before_its_exif_goes() -> None:
    """DateTimeOriginal is the camera's local time: China's (+08:00) unless the camera wrote
    its zone (OffsetTimeOriginal); the photo as kept has no EXIF left."""
    from datetime import UTC, datetime

    settings = load_settings()
    china = check_file("visit.jpg", jpeg(taken="2026:12:05 14:30:00"), settings)
    assert china.taken_at == datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    assert not Image.open(io.BytesIO(china.data)).getexif()
    zoned = jpeg(taken="2026:12:05 14:30:00", offset="+09:00", orientation=6)
    checked = check_file("visit.jpg", zoned, settings)
    assert checked.taken_at == datetime(2026, 12, 5, 5, 30, tzinfo=UTC)
    assert (checked.width, checked.height) == (200, 400)  # turned upright all the same


@pytest.mark.parametrize(
    "taken",
    [None, "not a date", "0000:00:00 00:00:00", "1970:01:01 00:00:00", "2999:01:01 00:00:00"],
)
def test_a_photo_that_does_not_say_when_or_says_nonsense_has_no_time(taken: str | None) -> None:
    settings = load_settings()
    assert check_file("visit.jpg", jpeg(taken=taken), settings).taken_at is None
    assert check_file("scan.png", png(), settings).taken_at is None
