"""SVG badges: bake a credential into ``openbadges:credential`` and read it back (OB 3.0 "SVG").

Baking edits the text at the byte level, guided by expat's byte offsets: the namespace
declaration is added to the root ``<svg>`` start tag, the credential element goes directly
after it, every credential element already in the image is removed, and nothing else
changes. Reading takes the ``credential`` element in the OB 3.0 namespace (whatever its
prefix): its ``verify`` attribute holds a compact JWS, otherwise its text (CDATA) the JSON.
An image with two such elements is refused as ambiguous.

The input is hostile: an SVG that declares entities or has an internal DTD subset is refused
before any XML parser sees it (:func:`caiep.baking.spec.refuse_dtd`), and the parser is
defusedxml's, which refuses entity declarations and external references itself, so neither
check alone stands between an upload and entity expansion ("billion laughs") or XXE.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass, field

import defusedxml
import defusedxml.ElementTree as SafeElementTree

from caiep.baking.spec import (
    COMPACT_JWS,
    MAX_IMAGE_BYTES,
    NOT_A_BADGE,
    OB2_NAMESPACE,
    OB3_NAMESPACE,
    OB3_PREFIX,
    SVG_NAMESPACE,
    credential_bytes,
    only_credential,
    refuse_dtd,
)
from caiep.errors import InputError

ENTITIES_REFUSED = "the SVG declares XML entities or refers to external ones, refused (entity expansion, XXE)"
_OB3_TAG = f"{{{OB3_NAMESPACE}}}credential"
_SVG_ROOT_TAG = f"{{{SVG_NAMESPACE}}}svg"
# XML 1.0 §2.2 Char, minus CR: end-of-line handling (§2.11) turns CR into LF, so a CR in a
# CDATA section would not come back out as written.
_NOT_XML_CHARACTER = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A start tag of a document expat has already accepted (XML 1.0 §3.1 STag / EmptyElemTag).
_START_TAG = re.compile(rb"<([^\s/>]+)(?:\s+[^\s=]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")
# XML 1.0 §2.8 and §4.3.3: the encoding named in the XML declaration, when there is no BOM.
_DECLARED_ENCODING = re.compile(rb"<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")
# The encodings badges are written in; any other is refused, not guessed. The text is decoded here
# and the parser is given that text, so the DTD guard and the parser read the same characters.
_XML_ENCODINGS = frozenset({"utf-8", "utf-16", "ascii", "iso8859-1", "cp1252"})


# --- Reading -----------------------------------------------------------------------------------


def decode_xml(data: bytes, source: str | None = None) -> str | None:
    """The document as text (XML 1.0 §4.3.3, Appendix F), or None when it is not text at all.

    A byte order mark decides the encoding, else the XML declaration, else UTF-8. Raises
    :class:`InputError` for a declared encoding outside the few badges are written in.
    """
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


def read_svg(text: str, source: str | None = None) -> str:
    """The credential text baked into an SVG document (OB 3.0 "SVG → Extracting"), as baked.

    Raises :class:`InputError` for XML that is not well-formed or not an ``<svg>`` document,
    DTD declarations, two credential elements, an Open Badges 2.0 badge, an empty credential
    or one holding child elements, or no credential at all.
    """
    root = _parse_svg(text, source)
    found: list[ET.Element] = []
    legacy = False
    for element in root.iter():
        if element.tag == _OB3_TAG:
            found.append(element)
        elif isinstance(element.tag, str) and element.tag.startswith(f"{{{OB2_NAMESPACE}}}"):
            legacy = True
    return _element_text(only_credential(found, legacy=legacy, source=source), source)


def _parse_svg(text: str, source: str | None) -> ET.Element:
    refuse_dtd(text, source)
    try:
        root: ET.Element = SafeElementTree.fromstring(text)
    except defusedxml.DefusedXmlException as exc:
        raise InputError(ENTITIES_REFUSED, source=source) from exc
    except ET.ParseError as exc:
        line, column = exc.position
        where = f"line {line} column {column}"
        raise InputError(f"{NOT_A_BADGE}: the XML is not well-formed", source=source, location=where) from exc
    if root.tag != _SVG_ROOT_TAG:
        raise InputError(f"{NOT_A_BADGE}: the XML document's root is not an SVG <svg> element", source=source)
    return root


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


# --- Baking ------------------------------------------------------------------------------------


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
    credential_bytes(credential_text)
    if COMPACT_JWS.match(credential_text):
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
    refuse_dtd(svg)
    try:
        SafeElementTree.fromstring(svg)  # defusedxml's checks before expat reads it for offsets
    except defusedxml.DefusedXmlException as exc:
        raise InputError(ENTITIES_REFUSED) from exc
    except ET.ParseError:
        pass  # _svg_layout reports it, with the byte position
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


def _svg_layout(data: bytes) -> _SvgLayout:
    """Parse with expat, recording byte offsets (the text is edited as bytes, not re-serialised)."""
    # The text came in as str: its own encoding declaration no longer applies.
    parser = xml.parsers.expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    layout = _SvgLayout()
    pending: dict[str, str] = {}
    depth = 0
    open_credential: tuple[int, int] | None = None  # (start offset, depth)

    def start_namespace(prefix: str | None, uri: str) -> None:
        """Remember namespace declarations for the element that follows."""
        pending[prefix or ""] = uri

    def start_element(name: str, attributes: dict[str, str]) -> None:
        """Record the root and the start of each outermost credential element."""
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
        """Record where an open credential element ends."""
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
