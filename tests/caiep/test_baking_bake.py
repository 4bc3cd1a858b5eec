"""Baking credentials into PNG and SVG badges, read back by our extractor and by Pillow."""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from caiep.baking import bake_png, bake_svg, extract_credential
from caiep.errors import InputError
from support import EXTERNAL

ONE_EDTECH = EXTERNAL / "1edtech"
SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB3 = "https://purl.imsglobal.org/ob/v3p0"
SVG_NS = "http://www.w3.org/2000/svg"
JWS = "eyJhbGciOiJFZERTQSJ9.eyJpZCI6InVybjp1dWlkOjEifQ.c2lnbmF0dXJl"
CREDENTIAL = '{"type": ["VerifiableCredential", "OpenBadgeCredential"], "name": "Zoë Ng, CAiEP®"}'
SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg"\n     viewBox="0 0 10 10" data-x="a > b">\n'
    '  <circle cx="5" cy="5" r="4" fill="#0a5"/>\n</svg>\n'
)

compact_jws = st.from_regex(r"[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{0,80}\.[A-Za-z0-9_-]{0,40}", fullmatch=True)
any_text = st.text(min_size=1).filter(str.strip)
# XML 1.0 §2.2 Char without CR (§2.11 would turn it into LF), and no "]]>" (§2.7).
xml_text = st.text(
    st.characters(
        exclude_categories=["Cs"],
        exclude_characters=[
            chr(c) for c in [*range(0x09), 0x0B, 0x0C, 0x0D, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]
        ],
    ),
    min_size=1,
).filter(lambda text: bool(text.strip()) and "]]>" not in text)


def small_png() -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGBA", (6, 5), (0, 0, 0, 0))
    image.putpixel((2, 3), (200, 30, 60, 255))
    image.save(buffer, "PNG")
    return buffer.getvalue()


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk of an intact PNG."""
    found, offset = [], len(SIGNATURE)
    while offset < len(png):
        length, chunk_type = struct.unpack_from(">I4s", png, offset)
        found.append((chunk_type, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return found


def credential_chunks(png: bytes) -> list[bytes]:
    return [
        data for kind, data in chunks(png) if kind == b"iTXt" and data.startswith(b"openbadgecredential\0")
    ]


def pillow_text(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        text = image.text["openbadgecredential"]
    assert isinstance(text, str)
    return text


# --- PNG -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [CREDENTIAL, JWS])
def test_png_round_trip(text: str) -> None:
    baked = bake_png(small_png(), text)
    assert extract_credential(baked) == text
    assert pillow_text(baked) == text


def test_png_chunk_layout_follows_the_spec() -> None:
    baked = bake_png(small_png(), JWS)
    assert credential_chunks(baked) == [b"openbadgecredential\0\0\0\0\0" + JWS.encode()]
    types = [kind for kind, _ in chunks(baked)]
    assert types[-2:] == [b"iTXt", b"IEND"]


def test_png_bytes_outside_the_new_chunk_are_untouched() -> None:
    original = small_png()
    baked = bake_png(original, CREDENTIAL)
    iend = original.rindex(b"IEND") - 4
    inserted = len(baked) - len(original)
    assert baked[:iend] == original[:iend]
    assert baked[iend + inserted :] == original[iend:]
    (length, kind), data = struct.unpack_from(">I4s", baked, iend), baked[iend + 8 : iend + inserted - 4]
    assert (length, kind) == (inserted - 12, b"iTXt")
    assert struct.unpack_from(">I", baked, iend + inserted - 4)[0] == zlib.crc32(b"iTXt" + data)


def test_png_pixels_survive() -> None:
    original, baked = small_png(), bake_png(small_png(), CREDENTIAL)
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(baked)) as after:
        assert before.tobytes() == after.tobytes()
        assert after.size == (6, 5)


def test_png_rebaking_replaces() -> None:
    once = bake_png(small_png(), CREDENTIAL)
    twice = bake_png(once, JWS)
    assert len(credential_chunks(twice)) == 1
    assert extract_credential(twice) == JWS
    assert twice == bake_png(small_png(), JWS)


def twice_baked_png(first: str, second: str) -> bytes:
    """A PNG carrying two credential chunks, as a careless writer would leave it (Pillow writes both)."""
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_itxt("openbadgecredential", first, lang="", tkey="", zip=False)
    info.add_itxt("openbadgecredential", second, lang="", tkey="", zip=False)
    Image.new("RGB", (3, 3)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def test_png_with_two_credentials_is_ambiguous_and_rebaking_leaves_one() -> None:
    stale = twice_baked_png(CREDENTIAL, "old.a.b")
    assert len(credential_chunks(stale)) == 2
    with pytest.raises(InputError, match=r"2 baked credentials.*ambiguous"):
        extract_credential(stale)
    rebaked = bake_png(stale, JWS)
    assert len(credential_chunks(rebaked)) == 1
    assert extract_credential(rebaked) == JWS


@given(first=any_text, second=compact_jws)
@settings(max_examples=40)
def test_png_baking_any_two_credentials_in_turn_keeps_only_the_last(first: str, second: str) -> None:
    rebaked = bake_png(bake_png(small_png(), first), second)
    assert len(credential_chunks(rebaked)) == 1
    assert extract_credential(rebaked) == second


def test_png_rebaking_the_1edtech_badge_keeps_one_chunk() -> None:
    baked = bake_png((ONE_EDTECH / "1edtech-validator-baked-json.png").read_bytes(), JWS)
    assert len(credential_chunks(baked)) == 1
    assert extract_credential(baked) == pillow_text(baked) == JWS


def test_png_trailing_bytes_after_iend_are_kept() -> None:
    baked = bake_png(small_png() + b"trailer", JWS)
    assert baked.endswith(b"IEND\xaeB`\x82trailer")
    assert extract_credential(baked) == JWS


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(any_text, compact_jws))
def test_png_round_trip_any_text(text: str) -> None:
    baked = bake_png(small_png(), text)
    assert extract_credential(baked) == text
    assert pillow_text(baked) == text
    assert len(credential_chunks(bake_png(baked, text))) == 1


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (b"", "signature"),
        (b"GIF89a", "signature"),
        (small_png()[:-6], "truncated"),
        (small_png()[:37], "inside a chunk header"),
        (small_png()[:50], "past the end"),
        (small_png().replace(b"IHDR", b"IHDr", 1), "CRC"),
    ],
    ids=["empty", "gif", "no-iend", "cut-header", "cut-data", "bad-crc"],
)
def test_png_damaged_images_are_refused(image: bytes, words: str) -> None:
    with pytest.raises(InputError, match=words):
        bake_png(image, JWS)


@pytest.mark.parametrize("text", ["", " \n\t", "\udc80 lone surrogate"])
def test_png_unusable_text_is_refused(text: str) -> None:
    with pytest.raises(InputError):
        bake_png(small_png(), text)


# --- SVG -------------------------------------------------------------------------------------


def credential_elements(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{{{OB3}}}credential"))


@pytest.mark.parametrize("text", [CREDENTIAL, JWS])
def test_svg_round_trip(text: str) -> None:
    baked = bake_svg(SVG, text)
    assert extract_credential(baked.encode()) == text
    root = ET.fromstring(baked)
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root[0].tag == f"{{{OB3}}}credential"


def test_svg_layout_follows_the_spec() -> None:
    jws = bake_svg(SVG, JWS)
    assert f'data-x="a > b" xmlns:openbadges="{OB3}">' in jws
    assert f'<openbadges:credential verify="{JWS}"></openbadges:credential>\n  <circle' in jws
    json_svg = bake_svg(SVG, CREDENTIAL)
    assert f"<openbadges:credential><![CDATA[{CREDENTIAL}]]></openbadges:credential>" in json_svg


def test_svg_text_outside_the_credential_is_untouched() -> None:
    baked = bake_svg(SVG, CREDENTIAL)
    restored = re.sub(
        r' xmlns:openbadges="[^"]*"|<openbadges:credential>.*</openbadges:credential>', "", baked
    )
    assert restored == SVG


def test_svg_rebaking_replaces() -> None:
    twice = bake_svg(bake_svg(SVG, CREDENTIAL), JWS)
    assert len(credential_elements(twice)) == 1
    assert extract_credential(twice.encode()) == JWS
    assert twice == bake_svg(SVG, JWS)
    assert twice.count("xmlns:openbadges") == 1


@pytest.mark.parametrize(
    "name", ["1edtech-validator-baked-json.svg", "1edtech-validator-baked-vcjwt-RS256.svg"]
)
def test_svg_rebaking_the_1edtech_badges(name: str) -> None:
    baked = bake_svg((ONE_EDTECH / name).read_text(encoding="utf-8"), CREDENTIAL)
    assert len(credential_elements(baked)) == 1
    assert extract_credential(baked.encode()) == CREDENTIAL
    assert baked.count("xmlns:openbadges") == 1


def test_svg_credentials_anywhere_are_all_replaced() -> None:
    stale = f'<ob:credential xmlns:ob="{OB3}" verify="old.a.b"/>'
    svg = SVG.replace("<circle", f"<g>{stale}<ob:credential xmlns:ob='{OB3}'>x</ob:credential></g><circle")
    baked = bake_svg(svg, JWS)
    assert len(credential_elements(baked)) == 1
    assert "<g></g>" in baked


def test_svg_with_two_credentials_is_ambiguous_and_rebaking_leaves_one() -> None:
    old = f'<ob:credential xmlns:ob="{OB3}" verify="old.a.b"/>'
    nested = f'<g><ob:credential xmlns:ob="{OB3}">x</ob:credential></g>'
    stale = SVG.replace("<circle", f"{old}{nested}<circle")
    with pytest.raises(InputError, match=r"2 baked credentials.*ambiguous"):
        extract_credential(stale.encode())
    rebaked = bake_svg(stale, CREDENTIAL)
    assert len(credential_elements(rebaked)) == 1
    assert extract_credential(rebaked.encode()).strip() == CREDENTIAL


@given(first=xml_text, second=compact_jws)
@settings(max_examples=40)
def test_svg_baking_any_two_credentials_in_turn_keeps_only_the_last(first: str, second: str) -> None:
    rebaked = bake_svg(bake_svg(SVG, first), second)
    assert len(credential_elements(rebaked)) == 1
    assert extract_credential(rebaked.encode()) == second


def test_svg_self_closing_and_prefixed_root() -> None:
    baked = bake_svg(f'<s:svg xmlns:s="{SVG_NS}" width="1"/>', JWS)
    assert baked == (
        f'<s:svg xmlns:s="{SVG_NS}" width="1" xmlns:openbadges="{OB3}">'
        f'<openbadges:credential verify="{JWS}"></openbadges:credential></s:svg>'
    )
    assert extract_credential(baked.encode()) == JWS


def test_svg_declared_encoding_and_bom_do_not_confuse_offsets() -> None:
    svg = '\ufeff<?xml version="1.0" encoding="ISO-8859-1"?><svg xmlns="http://www.w3.org/2000/svg">é</svg>'
    baked = bake_svg(svg, CREDENTIAL)
    assert baked.endswith(f"<![CDATA[{CREDENTIAL}]]></openbadges:credential>é</svg>")


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(xml_text, compact_jws))
def test_svg_round_trip_any_text(text: str) -> None:
    baked = bake_svg(SVG, text)
    assert extract_credential(baked.encode("utf-8")) == text
    assert len(credential_elements(bake_svg(baked, text))) == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"a": "]]>"}', r"\]\]>"),
        ('{\r\n"a": 1}', "carriage return"),
        ('{"a": "\x00"}', "U\\+0000"),
        ('{"a": "\ufffe"}', "U\\+FFFE"),
        ("", "empty"),
        ("\udc80", "surrogate"),
    ],
)
def test_svg_text_cdata_cannot_carry_is_refused(text: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        bake_svg(SVG, text)


@pytest.mark.parametrize(
    ("svg", "words"),
    [
        ('<html xmlns="http://www.w3.org/1999/xhtml"/>', "not an SVG"),
        ("<svg/>", "not an SVG"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>', "not well-formed"),
        ("", "not well-formed"),
        ('<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>', "entities"),
        ('<!DOCTYPE svg [ ]><svg xmlns="http://www.w3.org/2000/svg"/>', "internal DTD subset"),
        (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"/>',
            "already binds the prefix",
        ),
    ],
)
def test_svg_unusable_images_are_refused(svg: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        bake_svg(svg, JWS)
