"""Baked charter badges: the stored credential goes in and comes out byte for byte, in the
1EdTech layout (OB 3.0 "Baked Badge"), exactly once, and the image still shows the badge.

The credentials are the golden signed copies (``tests/vectors/golden/charter-credential.*``):
the JSON text with its embedded proof, and the compact JWS of the VC-JWT form.
"""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
from PIL import Image, ImageChops

from caiep.baking import extract_credential
from caiep.wallet_export.badge import badge_png, badge_svg
from caiep.wallet_export.baked import baked_png, baked_svg
from support import GOLDEN

JSON_TEXT = (GOLDEN / "charter-credential.json").read_text(encoding="utf-8")
JWS = (GOLDEN / "charter-credential.jwt").read_text(encoding="utf-8").strip()
FORMS = pytest.mark.parametrize("document", [JSON_TEXT, JWS], ids=["json", "jwt"])
OB3 = "https://purl.imsglobal.org/ob/v3p0"


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, read with struct from the bytes (PNG §5.3), CRCs checked."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, found = 8, []
    while offset < len(png):
        (length,) = struct.unpack_from(">I", png, offset)
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", png, offset + 8 + length)
        assert crc == zlib.crc32(kind + data)
        found.append((kind, data))
        offset += 12 + length
    return found


@FORMS
def test_unbaking_gives_back_the_stored_text_byte_for_byte(document: str) -> None:
    assert extract_credential(baked_png(document)).encode("utf-8") == document.encode("utf-8")
    assert extract_credential(baked_svg(document).encode("utf-8")).encode("utf-8") == document.encode("utf-8")


@FORMS
def test_the_png_carries_one_uncompressed_itxt_chunk_in_the_1edtech_layout(document: str) -> None:
    chunks = _chunks(baked_png(document))
    credentials = [data for kind, data in chunks if kind == b"iTXt"]
    assert len(credentials) == 1
    # keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL
    expected = b"openbadgecredential\x00" + b"\x00" + b"\x00" + b"\x00" + b"\x00" + document.encode("utf-8")
    assert credentials[0] == expected
    assert [kind for kind, _ in chunks][-2:] == [b"iTXt", b"IEND"]
    # every chunk of the badge is kept, in order, around the one added
    assert [c for c in chunks if c[0] != b"iTXt"] == _chunks(badge_png())


@FORMS
def test_pillow_reads_the_text_and_shows_the_same_badge(document: str) -> None:
    baked = Image.open(io.BytesIO(baked_png(document)))
    baked.load()
    assert baked.text["openbadgecredential"] == document  # type: ignore[attr-defined]
    plain = Image.open(io.BytesIO(badge_png()))
    assert (baked.size, baked.mode) == ((600, 600), "RGBA")
    assert ImageChops.difference(baked, plain).getbbox() is None  # the same pixels


def test_the_svg_holds_the_json_in_cdata_right_after_the_svg_start_tag() -> None:
    text = baked_svg(JSON_TEXT)
    start_tag = text[: text.index(">") + 1]
    assert start_tag.startswith("<svg ")
    assert f'xmlns:openbadges="{OB3}"' in start_tag
    assert text[len(start_tag) :].startswith(
        f"<openbadges:credential><![CDATA[{JSON_TEXT}]]></openbadges:credential>"
    )
    assert (
        text.replace(text[len(start_tag) : text.index("</openbadges:credential>") + 24], "").replace(
            f' xmlns:openbadges="{OB3}"', ""
        )
        == badge_svg()
    )  # nothing else changed


def test_the_svg_holds_a_jws_in_the_verify_attribute() -> None:
    text = baked_svg(JWS)
    start_tag = text[: text.index(">") + 1]
    assert f'xmlns:openbadges="{OB3}"' in start_tag
    assert text[len(start_tag) :].startswith(
        f'<openbadges:credential verify="{JWS}"></openbadges:credential>'
    )
    root = ET.fromstring(text)
    assert root[0].tag == f"{{{OB3}}}credential"
    assert root[0].get("verify") == JWS


@FORMS
def test_baking_again_replaces_the_credential_never_adds_one(document: str) -> None:
    other = JWS if document == JSON_TEXT else JSON_TEXT
    twice = baked_png(document, image=baked_png(other))
    assert [kind for kind, _ in _chunks(twice)].count(b"iTXt") == 1
    assert extract_credential(twice) == document
    again = baked_svg(document, image=baked_svg(other))
    assert again.count("<openbadges:credential") == 1
    assert again.count("xmlns:openbadges=") == 1
    assert extract_credential(again.encode("utf-8")) == document
    assert baked_png(document, image=baked_png(document)) == baked_png(document)
    assert baked_svg(document, image=baked_svg(document)) == baked_svg(document)
