"""QR codes of verification URLs, for certificates and the verification page.

ISO/IEC 18004 error correction level M (about 15 % of the codewords recoverable) and the
4-module quiet zone the standard requires, so phone cameras read it from paper as well as
screens. The same URL always gives the same bytes.
"""

from __future__ import annotations

import io
import re
from typing import Any

import qrcode
import qrcode.constants
import qrcode.exceptions
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

from caiep.errors import InputError

QUIET_ZONE_MODULES = 4

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


def qr_svg(url: str) -> str:
    """An SVG QR code of ``url`` drawn as a single path: level M, 4-module quiet zone."""
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
