"""Baked badges (OB 3.0 "Open Badges Document Formats → Baked Badge"): the one PNG/SVG codec.

Issuing bakes with :func:`bake_png` and :func:`bake_svg`; verifying reads with
:func:`extract_credential`. Both directions live here, below the features, so that what one
writes the other is tested to read, and neither feature imports the other.

* PNG (:mod:`caiep.baking.png`): one ``iTXt`` chunk with keyword ``openbadgecredential``,
  uncompressed; every chunk is CRC-checked up to ``IEND``.
* SVG (:mod:`caiep.baking.svg`): one ``openbadges:credential`` element directly after the
  ``<svg>`` start tag, the JWS in ``verify`` or the JSON in CDATA; DTD declarations refused.

Baking again replaces the credential, leaving exactly one; reading refuses an image with two
(OB 3.0 allows exactly one, and readers taking different ones would disagree). Since iOS 16,
Photos and Files strip this metadata, so a baked badge complements the QR code's URL and never
replaces it. Every refusal is an :class:`~caiep.errors.InputError`.
"""

from __future__ import annotations

from caiep.baking.png import bake_png, read_png
from caiep.baking.spec import MAX_CHUNK_BYTES, MAX_IMAGE_BYTES, NOT_A_BADGE, PNG_SIGNATURE
from caiep.baking.svg import bake_svg, decode_xml, read_svg
from caiep.errors import InputError

__all__ = [
    "MAX_CHUNK_BYTES",
    "MAX_IMAGE_BYTES",
    "PNG_SIGNATURE",
    "bake_png",
    "bake_svg",
    "extract_credential",
]


def extract_credential(data: bytes, *, filename: str | None = None) -> str:
    """The credential text baked into a PNG or SVG badge (OB 3.0 "Baked Badge" → Extracting).

    Use it when someone uploads a ``.png`` or ``.svg`` badge; the kind of image is decided by
    content, never by the file name (PNG by its signature, PNG §5.2; SVG by being an XML
    document whose root is ``{http://www.w3.org/2000/svg}svg``). Returns the text as baked: a
    JSON document or a compact JWS, surrounding whitespace included (an SVG's CDATA section
    usually has some), for :func:`caiep.verifier.inputs.read_presented` to parse. Raises
    :class:`InputError` (``source`` is ``filename``) for anything else: not a PNG or SVG, a
    damaged PNG, a compressed credential chunk, an SVG with entity declarations, an Open
    Badges 2.0 badge, two credentials, or none.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(f"the image is larger than {MAX_IMAGE_BYTES} bytes", source=filename)
    if not data:
        raise InputError(f"{NOT_A_BADGE}: the file is empty", source=filename)
    if data.startswith(PNG_SIGNATURE):
        return read_png(data, filename)
    if PNG_SIGNATURE.startswith(data):
        raise InputError("truncated PNG: the file ends inside the PNG signature", source=filename)
    text = decode_xml(data, filename)
    if text is None or not text.lstrip(" \t\r\n").startswith("<"):
        raise InputError(NOT_A_BADGE, source=filename)
    return read_svg(text, filename)
