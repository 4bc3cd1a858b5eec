"""Poppler's readers on PDF bytes, a drawn badge, and a QR decoder (importable as ``pdf_support``).

pdftotext, pdffonts, pdfinfo, pdfimages and pdftoppm come from Debian's poppler-utils, which
``make system-deps`` installs; ``needs_poppler`` skips a test, saying so, only where it is absent.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw

POPPLER_TOOLS = ("pdftotext", "pdffonts", "pdfinfo", "pdfimages", "pdftoppm")
needs_poppler = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in POPPLER_TOOLS),
    reason="poppler-utils is not installed (make system-deps installs it: apt-get install poppler-utils)",
)
# Bidi embedding and isolate controls that pdftotext puts around right-to-left runs.
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class PdfFont:
    """One row of ``pdffonts``."""

    name: str
    type: str
    embedded: bool
    subset: bool
    unicode: bool


def _run(tool: str, pdf: bytes, *args: str, to_stdout: tuple[str, ...] = ("-",)) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.pdf"
        path.write_bytes(pdf)
        return subprocess.run([tool, *args, str(path), *to_stdout], capture_output=True, check=True).stdout


def pdftotext(pdf: bytes) -> str:
    """The text poppler extracts, in reading order, without the bidi controls it adds."""
    return BIDI_CONTROLS.sub("", _run("pdftotext", pdf, "-enc", "UTF-8").decode("utf-8"))


def pdffonts(pdf: bytes) -> list[PdfFont]:
    """The fonts of the PDF as ``pdffonts`` lists them."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.pdf"
        path.write_bytes(pdf)
        lines = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    rows = lines.stdout.splitlines()[2:]
    fonts = []
    for row in rows:
        # name, type (may hold spaces), encoding, emb, sub, uni, object number, generation
        match = re.match(r"(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", row)
        assert match, row
        name, kind, _, emb, sub, uni = match.groups()
        fonts.append(PdfFont(name, kind, emb == "yes", sub == "yes", uni == "yes"))
    return fonts


def pdfinfo(pdf: bytes) -> dict[str, str]:
    """``pdfinfo``'s fields ("Pages", "Page size", …)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    fields = (line.partition(":") for line in out.splitlines())
    return {key.strip(): value.strip() for key, _, value in fields}


def pdfimages(pdf: bytes) -> list[tuple[int, int]]:
    """Width and height in pixels of each image ``pdfimages -list`` finds."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True)
    return [(int(row.split()[3]), int(row.split()[4])) for row in out.stdout.splitlines()[2:]]


def render_page(pdf: bytes, dpi: int) -> Image.Image:
    """The first page drawn by ``pdftoppm`` at ``dpi``, as an RGB image."""
    png = _run("pdftoppm", pdf, "-png", "-r", str(dpi), "-singlefile", to_stdout=())
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")


def decode_qr(image: Image.Image) -> list[zxingcpp.Barcode]:
    """Every QR code zxing-cpp finds in ``image``."""
    return [code for code in zxingcpp.read_barcodes(image) if code.format == zxingcpp.BarcodeFormat.QRCode]


def drawn_badge_png() -> bytes:
    """A 600×600 transparent PNG emblem drawn with Pillow, standing in for the charter badge."""
    image = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 580, 580), fill=(31, 58, 95, 255))
    draw.ellipse((70, 70, 530, 530), outline=(168, 134, 58, 255), width=14)
    draw.regular_polygon((300, 300, 150), 6, fill=(168, 134, 58, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
