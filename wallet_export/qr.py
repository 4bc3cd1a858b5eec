"""QR codes of verification URLs, for certificates and the verification page.

ISO/IEC 18004 error correction level M (about 15 % of the codewords recoverable) and the
4-module quiet zone the standard requires, so phone cameras read it from paper as well as
screens. The same URL always gives the same bytes.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from typing import Any

import qrcode
import qrcode.constants
import qrcode.exceptions
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

from caiep.errors import InputError

QUIET_ZONE_MODULES = 4
PRINT_DPI = 300
# 2.5 cm at 300 dpi, rounded up: the smallest printed code that phone cameras read at arm's length.
PRINT_MIN_WIDTH_PX = math.ceil(25 / 25.4 * PRINT_DPI)

# Printable ASCII: what a URL is made of (RFC 3986 §2). Anything else must be percent-encoded
# first, because QR byte mode carries no charset and scanners guess it.
_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+\Z")


def qr_png(url: str, *, box_size: int = 10) -> bytes:
    """A PNG QR code of ``url``: level M, 4-module quiet zone, ``box_size`` pixels per module."""
    if box_size < 1:
        raise InputError(f"box_size must be at least 1 pixel, not {box_size}")
    image = _qr_code(url, box_size=box_size, image_factory=PilImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_print_png(url: str) -> bytes:
    """A PNG QR code of ``url`` for print (``caiep export --qr FILE.png``): 300 dpi, at least 2.5 cm.

    Level M and the 4-module quiet zone as :func:`qr_png`; each module a whole number of pixels
    (no blurred edges), as few as make the symbol with its quiet zone at least
    :data:`PRINT_MIN_WIDTH_PX` wide; the PNG's ``pHYs`` chunk says 300 dpi, so it prints at
    its intended size (PNG §11.3.5.3).
    """
    modules = _qr_code(url, box_size=1, image_factory=PilImage).pixel_size
    box_size = math.ceil(PRINT_MIN_WIDTH_PX / modules)
    image = _qr_code(url, box_size=box_size, image_factory=PilImage)
    buffer = io.BytesIO()
    image.save(buffer, dpi=(PRINT_DPI, PRINT_DPI))
    return buffer.getvalue()


def qr_svg(url: str) -> str:
    """An SVG QR code of ``url`` drawn as a single path: level M, 4-module quiet zone.

    The ``viewBox`` counts modules and ``width``/``height`` give 1 mm a module, so the drawing
    scales to any size and prints at least 29 mm wide (version 1: 21 + 8 modules) unless resized.
    """
    image = _qr_code(url, box_size=10, image_factory=SvgPathImage)
    text = image.to_string(encoding="unicode")
    assert isinstance(text, str)
    return text


def _qr_code(url: str, *, box_size: int, image_factory: type[Any]) -> Any:
    """The qrcode image of ``url`` in the smallest symbol version that holds it."""
    if not _URL_CHARACTERS.match(url):
        raise InputError("a QR code URL must be non-empty printable ASCII; percent-encode anything else")
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=QUIET_ZONE_MODULES,
        image_factory=image_factory,
    )
    code.add_data(url)
    try:
        code.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:
        # qrcode 8.2 reports data beyond version 40 as ValueError("Invalid version …").
        raise InputError(f"the URL is too long for a QR code ({len(url)} characters)") from exc
    return code.make_image()


def qr_svg_inline(url: str, label: str, *, size_px: int = 240) -> str:
    """The SVG QR code of ``url`` to place inside an HTML page: ``role="img"`` named by ``label``
    (for screen readers), ``size_px`` wide (a page's CSP may refuse ``data:`` images)."""
    svg = qr_svg(url)
    start = svg.index("<svg")
    head_end = svg.index(">", start)
    head = svg[start:head_end]
    head = re.sub(r'\swidth="[^"]*"', f' width="{size_px}"', head, count=1)
    head = re.sub(r'\sheight="[^"]*"', f' height="{size_px}"', head, count=1)
    escaped = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'{head} role="img" aria-label="{escaped}" class="qr"{svg[head_end:]}'


def qr_terminal(url: str) -> str:
    """The QR code of ``url`` for a terminal: two characters a module, dark on light (white
    quiet zone), readable by a phone from a screen with a dark or light theme."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE_MODULES)
    if not _URL_CHARACTERS.match(url):
        raise InputError("a QR code URL must be non-empty printable ASCII; percent-encode anything else")
    code.add_data(url)
    code.make(fit=True)
    lines = []
    for row in code.get_matrix():
        runs = itertools.groupby(row)
        line = "".join(f"\x1b[{40 if dark else 47}m{'  ' * len(list(cells))}" for dark, cells in runs)
        lines.append(line + "\x1b[0m")
    return "\n".join(lines) + "\n"
