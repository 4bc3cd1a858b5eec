"""Baked charter badges: the charter badge carrying one stored credential (OB 3.0 "Baked Badge").

Use :func:`baked_png` and :func:`baked_svg` to hand a holder their credential inside the badge
image, for a badge-aware wallet or backpack to import. ``document`` is the stored credential
exactly as it was signed at issuance: the JSON text of the credential with its embedded proof,
or the compact JWS of its VC-JWT form. Baking never signs and never reformats: a reader that
unbakes the image (:func:`caiep.baking.extract_credential`) gets the same text back, byte for
byte, and verifies it as it would the stored copy.

The bytes are written by the one baking codec (:mod:`caiep.baking`): the PNG gets one
uncompressed ``iTXt`` chunk with keyword ``openbadgecredential`` just before ``IEND``; the SVG
gets ``xmlns:openbadges`` on its root and one ``<openbadges:credential>`` right after the
``<svg>`` start tag, a JWS in its ``verify`` attribute, JSON in a CDATA section. Baking an
already baked image replaces its credential, so an image never carries two.
"""

from __future__ import annotations

from caiep.baking import bake_png, bake_svg
from caiep.wallet_export.badge import badge_png, badge_svg


def baked_png(document: str, *, image: bytes | None = None) -> bytes:
    """The charter badge PNG (or ``image``, a PNG) with ``document`` baked into it.

    Raises :class:`~caiep.errors.InputError` for empty text or an image that is not an intact PNG.
    """
    return bake_png(badge_png() if image is None else image, document)


def baked_svg(document: str, *, image: str | None = None) -> str:
    """The charter badge SVG (or ``image``, an SVG document) with ``document`` baked into it.

    Raises :class:`~caiep.errors.InputError` for empty text, JSON a CDATA section cannot carry
    unchanged (``]]>``, a carriage return) or an image that is not well-formed SVG.
    """
    return bake_svg(badge_svg() if image is None else image, document)
