"""Files for the materials tests: a phone photo (JPEG with an EXIF orientation), a PNG scan,
clean PDFs and PDFs with active content (plain, hex-escaped, hidden in a compressed object
stream), and things that only pretend (a Word file renamed .jpg)."""

from __future__ import annotations

import io
import zlib


def jpeg(
    width: int = 400,
    height: int = 200,
    orientation: int | None = None,
    *,
    taken: str | None = None,
    offset: str | None = None,
    colour: tuple[int, int, int] = (200, 30, 30),
) -> bytes:
    """A JPEG photo; with ``orientation`` its EXIF says how to turn it (6: 90° clockwise), with
    ``taken`` (``YYYY:MM:DD HH:MM:SS``) when it was taken (DateTimeOriginal) and with
    ``offset`` (``+08:00``) in which zone (OffsetTimeOriginal), as a phone's camera writes."""
    from PIL import Image

    image = Image.new("RGB", (width, height), colour)
    # A dark left half, so that a turn shows in the pixels as well as the size.
    image.paste((10, 10, 10), (0, 0, width // 2, height))
    out = io.BytesIO()
    if orientation is None and taken is None:
        image.save(out, "JPEG")
    else:
        exif = Image.Exif()
        if orientation is not None:
            exif[0x0112] = orientation
        exif[0x010F] = "PhoneMaker"
        if taken is not None:
            ifd = exif.get_ifd(0x8769)
            ifd[0x9003] = taken
            if offset is not None:
                ifd[0x9011] = offset
        image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 300, height: int = 300) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "PNG")
    return out.getvalue()


def pdf(*extra_catalog: str, streams: tuple[bytes, ...] = (), compress: bool = False) -> bytes:
    """A one-page PDF; ``extra_catalog`` entries go into its catalogue (``/OpenAction …``),
    ``streams`` become stream objects (Flate-compressed with ``compress``)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + " ".join(extra_catalog).encode() + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    for body in streams:
        data = zlib.compress(body) if compress else body
        filt = b" /Filter /FlateDecode" if compress else b""
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(data), filt) + data + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def docx_renamed() -> bytes:
    """What a Word document starts with (a ZIP archive), whatever its name says."""
    return b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200


def scan_pdf(lines: tuple[str, ...] = (), width: int = 620, height: int = 877) -> bytes:
    """A scanned paper as a PDF (one page holding one image, as a scanner writes it): white,
    a dark band across its top and, with ``lines``, text (Chinese where a CJK font is installed),
    so that its rendered first page shows what it is."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, width, height // 8), fill=(20, 40, 90))
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 34)
    except OSError:
        font = ImageFont.load_default()
    for n, line in enumerate(lines):
        draw.text((40, height // 8 + 40 + n * 60), line, fill=(0, 0, 0), font=font)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=72.0)
    return out.getvalue()


def unrenderable_pdf() -> bytes:
    """A file that passes the PDF checks (its header, its end, no active content) but holds no
    document PDFium can open: kept, without a preview."""
    return b"%PDF-1.7\n% a scanner's output cut short and patched\n%%EOF\n"
