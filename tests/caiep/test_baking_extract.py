"""Reading credentials out of baked badges: the 1EdTech samples, Pillow-baked PNGs, hostile files.

Every image here is either a 1EdTech file kept verbatim, written by Pillow (an independent PNG
writer), or assembled chunk by chunk below to be broken in one precise way.
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import xml.sax.saxutils
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from caiep.baking import MAX_CHUNK_BYTES, MAX_IMAGE_BYTES, PNG_SIGNATURE, extract_credential
from caiep.baking.spec import NO_CREDENTIAL
from caiep.errors import InputError
from support import EXTERNAL

ONE_EDTECH = EXTERNAL / "1edtech"
JWS = "eyJhbGciOiJFZERTQSJ9.eyJpZCI6InVybjp1dWlkOjEifQ.c2lnbmF0dXJl"
CREDENTIAL = '{"type": ["VerifiableCredential", "OpenBadgeCredential"], "name": "CAiEP®"}'
SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'


def chunk(chunk_type: bytes, data: bytes) -> bytes:
    """A PNG chunk with a correct CRC (PNG §5.3)."""
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def itxt(keyword: bytes, text: bytes, *, flag: int = 0) -> bytes:
    return chunk(b"iTXt", keyword + b"\0" + bytes([flag, 0]) + b"\0\0" + text)


def pillow_png(**texts: str) -> bytes:
    """A 4×4 PNG written by Pillow, with uncompressed iTXt chunks in keyword order."""
    info = PngImagePlugin.PngInfo()
    for keyword, text in texts.items():
        info.add_itxt(keyword, text, lang="", tkey="", zip=False)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (12, 90, 200)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def split_chunks(png: bytes) -> list[bytes]:
    """The raw chunks of an intact PNG, IEND last."""
    chunks, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack_from(">I", png, offset)
        chunks.append(png[offset : offset + 12 + length])
        offset += 12 + length
    return chunks


def assemble(*chunks: bytes) -> bytes:
    return PNG_SIGNATURE + b"".join(chunks)


def with_credential_before_iend(text: bytes, *, flag: int = 0) -> bytes:
    *body, iend = split_chunks(pillow_png())
    return assemble(*body, itxt(b"openbadgecredential", text, flag=flag), iend)


def refused(data: bytes, *, filename: str | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        extract_credential(data, filename=filename)
    return caught.value


# --- The 1EdTech samples ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1edtech-validator-baked-json.png", "1edtech-validator-baked-json.svg"])
def test_1edtech_json_badges_yield_an_open_badge_credential(name: str) -> None:
    text = extract_credential((ONE_EDTECH / name).read_bytes(), filename=name)
    credential = json.loads(text)
    assert "OpenBadgeCredential" in credential["type"]


def test_1edtech_vc_jwt_svg_yields_a_compact_jws() -> None:
    text = extract_credential((ONE_EDTECH / "1edtech-validator-baked-vcjwt-RS256.svg").read_bytes())
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", text)


def test_1edtech_png_agrees_with_pillow() -> None:
    data = (ONE_EDTECH / "1edtech-validator-baked-json.png").read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        assert extract_credential(data) == image.text["openbadgecredential"]


# --- PNG -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [CREDENTIAL, JWS, '{\n  "name": "Zoë 漢字 🎓"\n}'])
def test_png_baked_by_pillow_is_read_exactly(text: str) -> None:
    assert extract_credential(pillow_png(openbadgecredential=text)) == text


def test_png_with_two_credential_chunks_is_ambiguous() -> None:
    *body, iend = split_chunks(pillow_png())
    png = assemble(
        *body, itxt(b"openbadgecredential", b"first.a.b"), itxt(b"openbadgecredential", b"2.a.b"), iend
    )
    error = refused(png, filename="two.png")
    assert "2 baked credentials" in error.message
    assert "ambiguous" in error.message
    assert error.source == "two.png"


def test_png_other_text_chunks_are_ignored() -> None:
    png = pillow_png(Comment="made by hand", openbadgecredential=JWS, Author="CAiEP")
    assert extract_credential(png) == JWS


def test_png_without_credential() -> None:
    assert refused(pillow_png(Comment="nothing baked")).message == NO_CREDENTIAL


def test_png_chunks_after_iend_are_not_read() -> None:
    png = pillow_png() + itxt(b"openbadgecredential", JWS.encode())
    assert refused(png).message == NO_CREDENTIAL


def test_png_compressed_credential_is_refused() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("openbadgecredential", CREDENTIAL, zip=True)
    buffer = io.BytesIO()
    Image.new("L", (2, 2)).save(buffer, "PNG", pnginfo=info)
    error = refused(buffer.getvalue())
    assert "compressed" in error.message
    assert "iTXt" in (error.location or "")


@pytest.mark.parametrize(
    "legacy",
    [
        itxt(b"openbadges", b'{"@context": "https://w3id.org/openbadges/v2"}'),
        chunk(b"tEXt", b"openbadges\0https://example.org/assertions/1"),
    ],
    ids=["iTXt", "tEXt"],
)
def test_png_open_badges_2_is_refused_as_such(legacy: bytes) -> None:
    *body, iend = split_chunks(pillow_png())
    error = refused(assemble(*body, legacy, iend))
    assert "Open Badges 2.0" in error.message


def test_png_with_both_versions_yields_the_3_0_credential() -> None:
    *body, iend = split_chunks(pillow_png())
    png = assemble(*body, itxt(b"openbadges", b"{}"), itxt(b"openbadgecredential", JWS.encode()), iend)
    assert extract_credential(png) == JWS


def test_png_bad_crc() -> None:
    png = bytearray(pillow_png(openbadgecredential=CREDENTIAL))
    png[png.index(b"OpenBadgeCredential")] ^= 0x20
    error = refused(bytes(png), filename="badge.png")
    assert "CRC" in error.message
    assert error.source == "badge.png"
    assert "iTXt" in (error.location or "")
    assert str(error).startswith("badge.png:")


@pytest.mark.parametrize("keep", [9, 20, 33, 60, -13, -1])
def test_png_truncated(keep: int) -> None:
    error = refused(pillow_png(openbadgecredential=CREDENTIAL)[:keep])
    assert "truncated" in error.message


def test_png_cut_inside_the_signature() -> None:
    assert "truncated" in refused(PNG_SIGNATURE[:5]).message


def test_png_chunk_length_beyond_the_file() -> None:
    *body, iend = split_chunks(pillow_png())
    credential = bytearray(itxt(b"openbadgecredential", JWS.encode()))
    credential[:4] = struct.pack(">I", 100_000)
    error = refused(assemble(*body, bytes(credential), iend))
    assert "past the end" in error.message


def test_png_chunk_larger_than_the_cap() -> None:
    *body, iend = split_chunks(pillow_png())
    huge = struct.pack(">I", MAX_CHUNK_BYTES + 1) + b"iTXt"
    assert "more than" in refused(assemble(*body, huge, iend)).message


def test_png_length_above_png_maximum() -> None:
    *body, _ = split_chunks(pillow_png())
    assert "more than" in refused(assemble(*body, b"\xff\xff\xff\xffIEND")).message


def test_png_input_larger_than_the_cap_is_refused_before_reading() -> None:
    start = time.perf_counter()
    error = refused(PNG_SIGNATURE + bytes(MAX_IMAGE_BYTES))
    assert "larger than" in error.message
    assert time.perf_counter() - start < 0.5


def test_png_must_start_with_ihdr() -> None:
    ihdr, *rest = split_chunks(pillow_png(openbadgecredential=JWS))
    assert "before IHDR" in refused(assemble(chunk(b"tEXt", b"a\0b"), ihdr, *rest)).message


def test_png_chunk_type_must_be_letters() -> None:
    *body, iend = split_chunks(pillow_png())
    assert "chunk type" in refused(assemble(*body, chunk(b"iT1t", b""), iend)).message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"openbadgecredential\0", "ends at the keyword"),
        (b"openbadgecredential\0\x02\0\0\0x", "compression flag 2"),
        (b"openbadgecredential\0\0\0en", "NUL-terminated"),
        (b"openbadgecredential\0\0\0\0\0\xff\xfe", "not UTF-8"),
        (b"openbadgecredential\0\0\0\0\0", "empty"),
        (b"openbadgecredential\0\0\0\0\0 \n ", "empty"),
    ],
)
def test_png_malformed_credential_chunk(data: bytes, words: str) -> None:
    *body, iend = split_chunks(pillow_png())
    assert words in refused(assemble(*body, chunk(b"iTXt", data), iend)).message


def test_png_language_tag_and_translated_keyword_are_skipped() -> None:
    *body, iend = split_chunks(pillow_png())
    data = b"openbadgecredential\0\0\0en-GB\0Open Badge credential\0" + JWS.encode()
    assert extract_credential(assemble(*body, chunk(b"iTXt", data), iend)) == JWS


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=8), bit=st.integers(min_value=0, max_value=7))
def test_png_any_flipped_bit_is_caught(position: int, bit: int) -> None:
    png = bytearray(with_credential_before_iend(CREDENTIAL.encode()))
    png[position % len(png)] ^= 1 << bit
    with pytest.raises(InputError):
        extract_credential(bytes(png))


# --- SVG -------------------------------------------------------------------------------------


def svg(body: str, *, head: str = SVG_HEAD, prolog: str = "") -> bytes:
    return f"{prolog}{head}{body}<circle r='4'/></svg>".encode()


def ob3(content: str, *, prefix: str = "openbadges", attributes: str = "") -> str:
    namespace = f'xmlns:{prefix}="https://purl.imsglobal.org/ob/v3p0"'
    return f"<{prefix}:credential {namespace}{attributes}>{content}</{prefix}:credential>"


def test_svg_json_in_cdata() -> None:
    assert extract_credential(svg(ob3(f"<![CDATA[{CREDENTIAL}]]>"))) == CREDENTIAL


def test_svg_jws_in_verify_attribute() -> None:
    assert extract_credential(svg(ob3("", attributes=f' verify="{JWS}"'))) == JWS


def test_svg_namespace_matters_not_the_prefix() -> None:
    assert extract_credential(svg(ob3("", prefix="ob3", attributes=f' verify="{JWS}"'))) == JWS
    impostor = '<openbadges:credential xmlns:openbadges="https://example.org/ob" verify="a.b.c"/>'
    assert refused(svg(impostor)).message == NO_CREDENTIAL


def test_svg_with_two_credentials_is_ambiguous_even_when_nested() -> None:
    first = ob3("", attributes=' verify="one.a.b"')
    second = ob3("", attributes=' verify="two.a.b"')
    error = refused(svg(f"<g><g>{first}</g></g>{second}"))
    assert "2 baked credentials" in error.message
    assert "ambiguous" in error.message


def test_svg_with_prefixed_root_and_prolog() -> None:
    head = '<s:svg xmlns:s="http://www.w3.org/2000/svg">'
    data = f'<?xml version="1.0"?>\n<!-- badge -->\n{head}{ob3(f"<![CDATA[{CREDENTIAL}]]>")}</s:svg>'
    assert extract_credential(data.encode()) == CREDENTIAL


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_svg_with_a_byte_order_mark(encoding: str) -> None:
    data = svg(ob3(f"<![CDATA[{CREDENTIAL}]]>")).decode().encode(encoding)
    assert extract_credential(data) == CREDENTIAL


def test_svg_in_a_declared_latin_1_encoding() -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>' + svg(ob3('<![CDATA[{"n": "Zoë"}]]>')).decode()
    assert extract_credential(text.encode("latin-1")) == '{"n": "Zoë"}'


def test_svg_in_an_unsupported_encoding() -> None:
    text = '<?xml version="1.0" encoding="rot13"?>' + svg("").decode()
    assert "encoding" in refused(text.encode()).message


def test_svg_without_credential() -> None:
    assert refused(svg("")).message == NO_CREDENTIAL


def test_svg_open_badges_2_is_refused_as_such() -> None:
    legacy = '<openbadges:assertion xmlns:openbadges="http://openbadges.org" verify="https://e.org/a/1"/>'
    assert "Open Badges 2.0" in refused(svg(legacy)).message


@pytest.mark.parametrize("content", ["", "  \n  ", "<![CDATA[]]>"])
def test_svg_empty_credential(content: str) -> None:
    assert "empty" in refused(svg(ob3(content))).message


def test_svg_credential_with_child_elements() -> None:
    assert "child elements" in refused(svg(ob3("<g/>"))).message


def test_svg_allows_an_external_only_doctype() -> None:
    prolog = (
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    )
    assert extract_credential(svg(ob3("", attributes=f' verify="{JWS}"'), prolog=prolog)) == JWS


# Ten levels of ten references each: 10**9 "lol"s once expanded.
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10))
    + "]>"
)


@pytest.mark.parametrize(
    ("prolog", "reference"),
    [
        (BILLION_LAUGHS, "&lol9;"),
        ('<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
        ("<!DOCTYPE svg [<!ATTLIST svg a CDATA #FIXED 'x'>]>", ""),
        ('<!DOCTYPE svg SYSTEM "x.dtd" [ ]>', ""),
        ("<!-- <!ENTITY in a comment> -->", ""),
    ],
    ids=["billion-laughs", "xxe", "internal-subset", "empty-internal-subset", "entity-in-comment"],
)
def test_svg_dtd_declarations_are_refused_before_parsing(prolog: str, reference: str) -> None:
    data = svg(ob3(f"<![CDATA[{CREDENTIAL}]]>") + f"<text>{reference}</text>", prolog=prolog)
    start = time.perf_counter()
    error = refused(data)
    assert time.perf_counter() - start < 0.5
    assert "refused" in error.message


def test_svg_external_entity_reference_is_never_resolved() -> None:
    prolog = '<!DOCTYPE svg SYSTEM "file:///etc/passwd">'
    error = refused(svg(ob3("&xxe;"), prolog=prolog))
    assert "not well-formed" in error.message
    assert error.location is not None


@pytest.mark.parametrize(
    "data",
    [
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        b"<svg><g/></svg>",  # no SVG namespace
        b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>",
        CREDENTIAL.encode(),
        JWS.encode(),
        b"GIF89a\x01\x00\x01\x00",
        b"\xff\xd8\xff\xe0 JFIF",
    ],
    ids=["xhtml", "no-namespace", "not-well-formed", "json", "jws", "gif", "jpeg"],
)
def test_not_a_badge(data: bytes) -> None:
    assert "not a PNG or SVG badge" in refused(data).message


def test_empty_input() -> None:
    error = refused(b"", filename="upload.png")
    assert "not a PNG or SVG badge" in error.message
    assert "empty" in error.message
    assert error.source == "upload.png"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(InputError):
        extract_credential(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_as_svg_never_crashes(text: str) -> None:
    # Random text holds no credential element: every outcome is a refusal with a reason.
    with pytest.raises(InputError) as caught:
        extract_credential(svg(text))
    assert caught.value.message.strip()


# XML 1.0 §2.2: the characters a document may hold.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_in_the_credential_element_comes_back_exactly_or_is_refused(text: str) -> None:
    data = svg(ob3(xml.sax.saxutils.escape(text)))
    as_parsed = text.replace("\r\n", "\n").replace("\r", "\n")  # XML 1.0 §2.11 end-of-line handling
    if _NOT_XML.search(text) or not as_parsed.strip():
        assert refused(data).message.strip()
    else:
        assert extract_credential(data) == as_parsed


def test_defusedxml_refuses_entities_even_past_the_textual_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from caiep.baking import svg as svg_module

    monkeypatch.setattr(svg_module, "refuse_dtd", lambda *_: None)
    data = svg(ob3(f"<![CDATA[{CREDENTIAL}]]>") + "<text>&lol9;</text>", prolog=BILLION_LAUGHS)
    start = time.perf_counter()
    error = refused(data)
    assert time.perf_counter() - start < 0.5  # never expanded
    assert error.message == svg_module.ENTITIES_REFUSED  # defusedxml's refusal, not the textual one
