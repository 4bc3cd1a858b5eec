"""Reading a credential out of a baked badge image (OB 3.0 "Open Badges Document Formats → Baked Badge").

Use :func:`extract_credential` when someone uploads a ``.png`` or ``.svg`` badge: it returns the
credential text exactly as baked (a JSON document or a compact JWS) for
:func:`verifier.inputs.read_presented` to parse. The kind of image is decided by content, never
by the file name: PNG by its signature (PNG §5.2), SVG by being an XML document whose root is
``{http://www.w3.org/2000/svg}svg``.

* PNG (OB 3.0 #png-extracting): every chunk is walked up to ``IEND`` and its CRC checked
  (PNG §5.3), so a truncated or damaged file is refused rather than half read; the text of the
  *first* ``iTXt`` chunk with keyword ``openbadgecredential`` is the credential. That chunk
  must not be compressed (OB 3.0 #png-baking: "Compression MUST NOT be used").
* SVG (OB 3.0 "SVG → Extracting"): the first element ``credential`` in the namespace
  ``https://purl.imsglobal.org/ob/v3p0``, whatever its prefix; its ``verify`` attribute holds a
  compact JWS, otherwise its text (the CDATA section) holds the JSON.
* Open Badges 2.0 badges (PNG keyword ``openbadges``, SVG namespace ``http://openbadges.org``)
  are recognised and refused with a message that says so.

The input is hostile: it is capped at 10 MiB (5 MiB per PNG chunk), and an SVG that declares
entities or has an internal DTD subset is refused before any XML parser sees it (entity
expansion, "billion laughs"; XML 1.0 §2.8 and §4.2). A DOCTYPE that only names an external DTD,
as the 1EdTech samples do, is allowed: ElementTree never fetches external DTDs or entities.
Every refusal is an :class:`~caiep.errors.InputError` whose ``source`` is the file name given.
"""

from __future__ import annotations

import codecs
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from caiep.errors import InputError

MAX_IMAGE_BYTES = 10 * 1_048_576
MAX_CHUNK_BYTES = 5 * 1_048_576

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB3_PNG_KEYWORD = b"openbadgecredential"
OB2_PNG_KEYWORD = b"openbadges"

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
OB3_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_NAMESPACE = "http://openbadges.org"

NOT_A_BADGE = "not a PNG or SVG badge"
NO_CREDENTIAL = "no Open Badges 3.0 credential is baked into this image"
OB2_BADGE = (
    "this is an Open Badges 2.0 badge, which this verifier does not accept: "
    "only Open Badges 3.0 credentials are verified"
)

_OB3_TAG = f"{{{OB3_NAMESPACE}}}credential"
_SVG_ROOT_TAG = f"{{{SVG_NAMESPACE}}}svg"
# PNG §5.4: a chunk type is four ASCII letters.
_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}\Z")
# XML 1.0 §2.8 doctypedecl without the optional internal subset ("[" … "]"): the only DOCTYPE let
# through. Entities can be declared only in a DTD, and an external one is never loaded.
_QUOTED = r"(?:\"[^\"]*\"|'[^']*')"
_EXTERNAL_ONLY_DOCTYPE = re.compile(
    rf"<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM\s+{_QUOTED}|PUBLIC\s+{_QUOTED}\s+{_QUOTED}))?\s*>"
)
# XML 1.0 §2.8 and §4.3.3: the encoding named in the XML declaration, when there is no BOM.
_DECLARED_ENCODING = re.compile(rb"<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")
# The encodings badges are written in; any other is refused, not guessed. The text is decoded here
# and the parser is given that text, so the DTD guard and the parser read the same characters.
_XML_ENCODINGS = frozenset({"utf-8", "utf-16", "ascii", "iso8859-1", "cp1252"})


@dataclass(frozen=True)
class _Chunk:
    """One PNG chunk (PNG §5.3): its type, its data, and where it starts in the file."""

    type: bytes
    data: bytes
    offset: int
    index: int

    @property
    def where(self) -> str:
        return f"chunk {self.index} ({self.type.decode('ascii')}) at byte {self.offset}"


def extract_credential(data: bytes, *, filename: str | None = None) -> str:
    """The credential text baked into a PNG or SVG badge (OB 3.0 "Baked Badge" → Extracting).

    Returns the text as baked: a JSON document or a compact JWS, surrounding whitespace
    included (an SVG's CDATA section usually has some). Raises :class:`InputError` for anything
    else: not a PNG or SVG, a damaged PNG, a compressed credential chunk, an SVG with entity
    declarations, an Open Badges 2.0 badge, or an image with no credential baked in.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(f"the image is larger than {MAX_IMAGE_BYTES} bytes", source=filename)
    if not data:
        raise InputError(f"{NOT_A_BADGE}: the file is empty", source=filename)
    if data.startswith(PNG_SIGNATURE):
        return _from_png(data, filename)
    if PNG_SIGNATURE.startswith(data):
        raise InputError("truncated PNG: the file ends inside the PNG signature", source=filename)
    text = _decode_xml(data, filename)
    if text is None or not text.lstrip(" \t\r\n").startswith("<"):
        raise InputError(NOT_A_BADGE, source=filename)
    return _from_svg(text, filename)


# --- PNG ---------------------------------------------------------------------------------------


def _png_chunks(data: bytes, source: str | None) -> Iterator[_Chunk]:
    """Every chunk up to and including IEND, each checked against its CRC (PNG §5.3, §5.6).

    Bytes after IEND are not part of the datastream and are never read.
    """
    offset = len(PNG_SIGNATURE)
    index = 0
    while True:
        if offset == len(data):
            raise InputError("truncated PNG: the file ends before the IEND chunk", source=source)
        if offset + 8 > len(data):
            raise InputError(
                "truncated PNG: the file ends inside a chunk header", source=source, location=f"byte {offset}"
            )
        length, chunk_type = struct.unpack_from(">I4s", data, offset)
        if not _CHUNK_TYPE.match(chunk_type):
            raise InputError(
                f"corrupt PNG: {chunk_type!r} is not a chunk type", source=source, location=f"byte {offset}"
            )
        name = chunk_type.decode("ascii")
        where = f"chunk {index} ({name}) at byte {offset}"
        if length > MAX_CHUNK_BYTES:
            # Also covers lengths above 2**31 - 1, which PNG §5.3 forbids outright.
            raise InputError(
                f"the {name} chunk claims {length} bytes, more than the {MAX_CHUNK_BYTES} accepted",
                source=source,
                location=where,
            )
        end = offset + 12 + length
        if end > len(data):
            raise InputError(
                f"truncated PNG: the {name} chunk's length ({length} bytes) runs past the end of the file",
                source=source,
                location=where,
            )
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, offset + 8 + length)
        if zlib.crc32(body, zlib.crc32(chunk_type)) != crc:
            raise InputError(f"corrupt PNG: the {name} chunk fails its CRC", source=source, location=where)
        if index == 0 and chunk_type != b"IHDR":
            raise InputError(f"corrupt PNG: {name} comes before IHDR", source=source, location=where)
        yield _Chunk(chunk_type, body, offset, index)
        if chunk_type == b"IEND":
            return
        offset = end
        index += 1


def _from_png(data: bytes, source: str | None) -> str:
    credential: str | None = None
    legacy = False
    # The whole datastream is walked even after the credential is found: the spec lets a reader
    # stop there (#png-extracting), but a file damaged further on is not one to vouch for.
    for chunk in _png_chunks(data, source):
        if chunk.type not in (b"iTXt", b"tEXt"):
            continue
        keyword = chunk.data.split(b"\0", 1)[0]
        if chunk.type == b"iTXt" and keyword == OB3_PNG_KEYWORD and credential is None:
            credential = _itxt_text(chunk, source)
        elif keyword == OB2_PNG_KEYWORD:
            legacy = True
    if credential is not None:
        return credential
    raise InputError(OB2_BADGE if legacy else NO_CREDENTIAL, source=source)


def _itxt_text(chunk: _Chunk, source: str | None) -> str:
    """The text of an ``openbadgecredential`` iTXt chunk (PNG §11.3.4.5, OB 3.0 #png-baking).

    Layout after the keyword's NUL: compression flag, compression method, language tag NUL,
    translated keyword NUL, then UTF-8 text up to the end of the chunk.
    """
    rest = chunk.data[len(OB3_PNG_KEYWORD) + 1 :]
    if len(rest) < 2:
        raise InputError("malformed iTXt chunk: it ends at the keyword", source=source, location=chunk.where)
    flag = rest[0]
    if flag == 1:
        raise InputError(
            "the openbadgecredential iTXt chunk is compressed; Open Badges 3.0 forbids compression",
            source=source,
            location=chunk.where,
        )
    if flag != 0:
        raise InputError(
            f"malformed iTXt chunk: compression flag {flag} is neither 0 nor 1",
            source=source,
            location=chunk.where,
        )
    fields = rest[2:].split(b"\0", 2)
    if len(fields) != 3:
        raise InputError(
            "malformed iTXt chunk: the language tag or translated keyword is not NUL-terminated",
            source=source,
            location=chunk.where,
        )
    try:
        text = fields[2].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            "the openbadgecredential iTXt text is not UTF-8", source=source, location=chunk.where
        ) from exc
    if not text.strip():
        raise InputError("the baked credential is empty", source=source, location=chunk.where)
    return text


# --- SVG ---------------------------------------------------------------------------------------


def _decode_xml(data: bytes, source: str | None) -> str | None:
    """The document as text (XML 1.0 §4.3.3, Appendix F), or None when it is not text at all."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        declared = _DECLARED_ENCODING.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
        try:
            known = codecs.lookup(encoding).name
        except LookupError:
            known = None
        if known not in _XML_ENCODINGS:
            raise InputError(f"the XML's encoding {encoding!r} is not supported", source=source)
    try:
        return data.decode(encoding)
    except UnicodeError:
        return None


def _refuse_dtd(text: str, source: str | None) -> None:
    """Refuse entity declarations and internal DTD subsets before parsing (XML 1.0 §2.8, §4.2).

    Entity expansion ("billion laughs") and external entities (XXE) both need an entity
    declaration, and declarations live only in a DTD. The check is textual, so it also refuses
    the same characters inside a comment or CDATA section; no badge needs them.
    """
    if "<!ENTITY" in text:
        raise InputError("the SVG declares XML entities, refused (entity expansion, XXE)", source=source)
    for doctype in re.finditer("<!DOCTYPE", text):
        if not _EXTERNAL_ONLY_DOCTYPE.match(text, doctype.start()):
            raise InputError(
                "the SVG has a DOCTYPE with an internal DTD subset, which is refused (entity expansion, XXE)",
                source=source,
            )


def _parse_svg(text: str, source: str | None) -> ET.Element:
    _refuse_dtd(text, source)
    try:
        # Safe after _refuse_dtd: nothing is left to expand, and ElementTree loads no external DTD.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        line, column = exc.position
        where = f"line {line} column {column}"
        raise InputError(f"{NOT_A_BADGE}: the XML is not well-formed", source=source, location=where) from exc
    if root.tag != _SVG_ROOT_TAG:
        raise InputError(f"{NOT_A_BADGE}: the XML document's root is not an SVG <svg> element", source=source)
    return root


def _from_svg(text: str, source: str | None) -> str:
    root = _parse_svg(text, source)
    legacy = False
    for element in root.iter():
        if element.tag == _OB3_TAG:
            return _element_text(element, source)
        if element.tag.startswith(f"{{{OB2_NAMESPACE}}}"):
            legacy = True
    raise InputError(OB2_BADGE if legacy else NO_CREDENTIAL, source=source)


def _element_text(element: ET.Element, source: str | None) -> str:
    """``@verify`` (a compact JWS) or else the text (CDATA) of ``openbadges:credential``."""
    verify = element.get("verify")
    if verify is not None:
        text = verify
    elif len(element):
        raise InputError(
            "the openbadges:credential element holds child elements instead of the credential text",
            source=source,
        )
    else:
        text = element.text or ""
    if not text.strip():
        raise InputError("the baked credential is empty", source=source)
    return text
