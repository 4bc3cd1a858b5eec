"""Badge images with the credential baked in (OB 3.0 "Open Badges Document Formats → Baked Badge").

Since iOS 16, Photos and Files strip that metadata, so a baked badge complements the QR
code's URL and never replaces it. Both bakers edit the image at the byte level: nothing
outside the credential and its namespace declaration changes, and baking again replaces the
credential, leaving exactly one.
"""

from __future__ import annotations

import re
import struct
import xml.parsers.expat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from caiep.errors import InputError

MAX_IMAGE_BYTES = 10 * 1_048_576
MAX_CHUNK_BYTES = 5 * 1_048_576

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB3_PNG_KEYWORD = b"openbadgecredential"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
OB3_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB3_PREFIX = "openbadges"

# The compact JWS serialization (RFC 7515 §7.1); the same shape verifier.inputs accepts.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\Z")
# XML 1.0 §2.2 Char, minus CR: end-of-line handling (§2.11) turns CR into LF, so a CR in a
# CDATA section would not come back out as written.
_NOT_XML_CHARACTER = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A start tag of a document expat has already accepted (XML 1.0 §3.1 STag / EmptyElemTag).
_START_TAG = re.compile(rb"<([^\s/>]+)(?:\s+[^\s=]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")
_QUOTED = r"(?:\"[^\"]*\"|'[^']*')"
_EXTERNAL_ONLY_DOCTYPE = re.compile(
    rf"<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM\s+{_QUOTED}|PUBLIC\s+{_QUOTED}\s+{_QUOTED}))?\s*>"
)


# --- QR codes ----------------------------------------------------------------------------------


# --- Baking: PNG -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """One PNG chunk (PNG §5.3): its type, its data, and its bytes' span in the file."""

    type: bytes
    data: bytes
    start: int
    end: int


def bake_png(image: bytes, credential_text: str) -> bytes:
    """``image`` with the credential in one uncompressed ``openbadgecredential`` iTXt chunk.

    OB 3.0 #png-baking: keyword ``openbadgecredential``, compression flag 0, method 0, empty
    language tag and translated keyword, then the UTF-8 text (JSON or compact JWS). The chunk
    goes just before IEND; any ``openbadgecredential`` chunk already there is dropped, so the
    result has exactly one. Every other byte, including anything after IEND, is kept as is.
    Raises :class:`InputError` for an image that is not an intact PNG, or unusable text.
    """
    text = _credential_bytes(credential_text)
    if len(image) > MAX_IMAGE_BYTES:
        raise InputError(f"the image is larger than {MAX_IMAGE_BYTES} bytes")
    if not image.startswith(PNG_SIGNATURE):
        raise InputError("not a PNG image: the PNG signature is missing")
    # keyword NUL, compression flag 0, method 0, language tag "" NUL, translated keyword "" NUL, text
    data = OB3_PNG_KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + text
    if len(data) > MAX_CHUNK_BYTES:
        raise InputError(f"the credential is too large to bake: more than {MAX_CHUNK_BYTES} bytes")
    parts = [PNG_SIGNATURE]
    end = len(PNG_SIGNATURE)
    for chunk in _png_chunks(image):
        if chunk.type == b"iTXt" and chunk.data.split(b"\0", 1)[0] == OB3_PNG_KEYWORD:
            continue
        if chunk.type == b"IEND":
            parts.append(struct.pack(">I4s", len(data), b"iTXt"))
            parts.append(data)
            parts.append(struct.pack(">I", zlib.crc32(data, zlib.crc32(b"iTXt"))))
        parts.append(image[chunk.start : chunk.end])
        end = chunk.end
    parts.append(image[end:])
    baked = b"".join(parts)
    if len(baked) > MAX_IMAGE_BYTES:
        raise InputError(f"the baked image would be larger than {MAX_IMAGE_BYTES} bytes")
    return baked


def _credential_bytes(credential_text: str) -> bytes:
    if not credential_text.strip():
        raise InputError("the credential text is empty")
    try:
        return credential_text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("the credential text is not valid Unicode (it holds a lone surrogate)") from exc


def _png_chunks(image: bytes) -> Iterator[_Chunk]:
    """Every chunk up to and including IEND, each checked against its CRC (PNG §5.3, §5.6)."""
    offset = len(PNG_SIGNATURE)
    while True:
        where = f"byte {offset}"
        if offset == len(image):
            raise InputError("truncated PNG: the file ends before the IEND chunk", location=where)
        if offset + 8 > len(image):
            raise InputError("truncated PNG: the file ends inside a chunk header", location=where)
        length, chunk_type = struct.unpack_from(">I4s", image, offset)
        if not chunk_type.isalpha():  # PNG §5.4: four ASCII letters
            raise InputError(f"corrupt PNG: {chunk_type!r} is not a chunk type", location=where)
        name = chunk_type.decode("ascii")
        if length > MAX_CHUNK_BYTES:
            raise InputError(f"a {name} chunk of {length} bytes is too large", location=where)
        end = offset + 12 + length
        if end > len(image):
            raise InputError(f"truncated PNG: the {name} chunk runs past the end of the file", location=where)
        data = image[offset + 8 : end - 4]
        (crc,) = struct.unpack_from(">I", image, end - 4)
        if zlib.crc32(data, zlib.crc32(chunk_type)) != crc:
            raise InputError(f"corrupt PNG: the {name} chunk fails its CRC", location=where)
        if offset == len(PNG_SIGNATURE) and chunk_type != b"IHDR":
            raise InputError("corrupt PNG: the first chunk is not IHDR", location=where)
        yield _Chunk(chunk_type, data, offset, end)
        if chunk_type == b"IEND":
            return
        offset = end


# --- Baking: SVG -------------------------------------------------------------------------------


@dataclass
class _SvgLayout:
    """Where things are in an SVG's UTF-8 bytes, as expat reports them (byte offsets)."""

    root_name: str = ""
    root_start: int = -1
    root_namespaces: dict[str, str] = field(default_factory=dict)
    # (start of the start tag, start of the end tag) of each outermost OB 3.0 credential element
    credentials: list[tuple[int, int]] = field(default_factory=list)


def bake_svg(svg: str, credential_text: str) -> str:
    """``svg`` with the credential baked in (OB 3.0 #svg-baking).

    Adds ``xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`` to the root ``<svg>`` (unless
    it is there) and puts ``<openbadges:credential>`` directly after the ``<svg>`` start tag: a
    compact JWS in its ``verify`` attribute, anything else (the JSON) in a CDATA section. Any
    credential element already in the image is removed, so there is exactly one. The rest of the
    text is kept as written. Raises :class:`InputError` for text CDATA cannot carry (``]]>``,
    a carriage return, characters XML forbids), for DTDs that declare entities, and for
    documents that are not well-formed SVG.
    """
    _credential_bytes(credential_text)
    if _COMPACT_JWS.match(credential_text):
        element = f'<{OB3_PREFIX}:credential verify="{credential_text}"></{OB3_PREFIX}:credential>'
    else:
        _check_cdata(credential_text)
        element = f"<{OB3_PREFIX}:credential><![CDATA[{credential_text}]]></{OB3_PREFIX}:credential>"
    try:
        data = svg.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("the SVG text is not valid Unicode (it holds a lone surrogate)") from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(f"the SVG is larger than {MAX_IMAGE_BYTES} bytes")
    _refuse_dtd(svg)
    layout = _svg_layout(data)
    if layout.root_name != f"{SVG_NAMESPACE} svg":
        raise InputError("not an SVG image: the root element is not <svg> in the SVG namespace")
    bound = layout.root_namespaces.get(OB3_PREFIX)
    if bound not in (None, OB3_NAMESPACE):
        raise InputError(f"the <svg> element already binds the prefix {OB3_PREFIX!r} to {bound!r}")
    declaration = b"" if bound else f' xmlns:{OB3_PREFIX}="{OB3_NAMESPACE}"'.encode()

    root_tag = _START_TAG.match(data, layout.root_start)
    assert root_tag is not None, "expat accepted a start tag the grammar does not match"
    self_closing = root_tag.group(2) == b"/"
    close = root_tag.end() - (2 if self_closing else 1)
    parts = [data[:close], declaration, b">", element.encode("utf-8")]
    if self_closing:
        parts += [b"</", root_tag.group(1), b">"]
    position = root_tag.end()
    for start, end_tag in layout.credentials:
        parts.append(data[position:start])
        position = _element_end(data, start, end_tag)
    parts.append(data[position:])
    return b"".join(parts).decode("utf-8")


def _check_cdata(text: str) -> None:
    """Refuse text a CDATA section cannot carry unchanged (XML 1.0 §2.2, §2.7, §2.11)."""
    if "]]>" in text:
        raise InputError("the credential text contains ']]>', which cannot be put in a CDATA section")
    if "\r" in text:
        raise InputError("the credential text contains a carriage return, which XML turns into a line feed")
    bad = _NOT_XML_CHARACTER.search(text)
    if bad:
        raise InputError(f"the credential text contains U+{ord(bad.group()):04X}, which XML does not allow")


def _refuse_dtd(text: str) -> None:
    """Refuse entity declarations and internal DTD subsets (XML 1.0 §2.8, §4.2): see verifier.baked."""
    if "<!ENTITY" in text:
        raise InputError("the SVG declares XML entities, which are refused (entity expansion, XXE)")
    for doctype in re.finditer("<!DOCTYPE", text):
        if not _EXTERNAL_ONLY_DOCTYPE.match(text, doctype.start()):
            raise InputError("the SVG has a DOCTYPE with an internal DTD subset, which is refused")


def _svg_layout(data: bytes) -> _SvgLayout:
    """Parse with expat, recording byte offsets (the text is edited as bytes, not re-serialised)."""
    # The text came in as str: its own encoding declaration no longer applies.
    parser = xml.parsers.expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    layout = _SvgLayout()
    pending: dict[str, str] = {}
    depth = 0
    open_credential: tuple[int, int] | None = None  # (start offset, depth)

    def start_namespace(prefix: str | None, uri: str) -> None:
        pending[prefix or ""] = uri

    def start_element(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, open_credential
        depth += 1
        if depth == 1:
            layout.root_name = name
            layout.root_start = parser.CurrentByteIndex
            layout.root_namespaces = dict(pending)
        pending.clear()
        if open_credential is None and name == f"{OB3_NAMESPACE} credential":
            open_credential = (parser.CurrentByteIndex, depth)

    def end_element(name: str) -> None:
        nonlocal depth, open_credential
        if open_credential is not None and open_credential[1] == depth:
            layout.credentials.append((open_credential[0], parser.CurrentByteIndex))
            open_credential = None
        depth -= 1

    parser.StartNamespaceDeclHandler = start_namespace
    parser.StartElementHandler = start_element
    parser.EndElementHandler = end_element
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise InputError(
            f"the SVG is not well-formed XML: {xml.parsers.expat.errors.messages[exc.code]}",
            location=f"line {exc.lineno} column {exc.offset + 1}",
        ) from exc
    return layout


def _element_end(data: bytes, start: int, end_tag: int) -> int:
    """The offset just past the element whose start tag begins at ``start``."""
    tag = _START_TAG.match(data, start)
    assert tag is not None, "expat accepted a start tag the grammar does not match"
    if tag.group(2) == b"/":
        return tag.end()
    return data.index(b">", end_tag) + 1
