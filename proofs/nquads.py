"""RDF terms as canonical N-Quads text (RDF Dataset Canonicalization 1.0 §4.3, RDF 1.2 N-Quads).

A term is kept as the exact string it has in canonical N-Quads: ``<iri>``, ``_:label`` or a
literal ``"lexical"^^<datatype>`` / ``"lexical"@lang``. A quad is a 4-tuple whose graph is
``""`` for the default graph. Keeping terms as text makes canonicalisation string work only.
"""

from __future__ import annotations

import re

from caiep.errors import InvalidIRIError

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

Quad = tuple[str, str, str, str]

# Canonical N-Quads escape only these in literals: the two ECHARs that must be escaped,
# the five control characters that have an ECHAR, and UCHAR for the remaining controls.
_LITERAL_ESCAPES = {
    0x22: '\\"',
    0x5C: "\\\\",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
}
_NEEDS_ESCAPE = re.compile('[\u0000-\u001f"\\\\\u007f]')
_ESCAPE_TABLE = {c: _LITERAL_ESCAPES.get(c, f"\\u{c:04X}") for c in (*range(0x20), 0x22, 0x5C, 0x7F)}

# RFC 3987 forbids these in an IRI; N-Quads IRIREF excludes them too (plus controls/space).
# An absolute IRI is a scheme and a colon, then none of them (one match does both checks).
_ABSOLUTE_IRI = re.compile('[A-Za-z][A-Za-z0-9+.\\-]*:[^\u0000-\u0020<>"{}|^`\\\\\u007f-\u009f]*')


def escape_literal(value: str) -> str:
    """Escape a literal's lexical form as canonical N-Quads requires."""
    if _NEEDS_ESCAPE.search(value) is None:
        return value
    return value.translate(_ESCAPE_TABLE)


def is_absolute_iri(value: str) -> bool:
    """True for an absolute IRI with no character that N-Quads or RFC 3987 forbid."""
    return _ABSOLUTE_IRI.fullmatch(value) is not None


def iri(value: str, *, json_pointer: str | None = None) -> str:
    """The ``<iri>`` term for ``value``; InvalidIRIError when it is not a valid absolute IRI."""
    if not is_absolute_iri(value):
        raise InvalidIRIError(f"not a valid absolute IRI: {value!r}", iri=value, json_pointer=json_pointer)
    return f"<{value}>"


def literal(value: str, datatype: str | None = None, language: str | None = None) -> str:
    """The literal term; plain strings (xsd:string) carry no datatype in N-Quads."""
    text = f'"{escape_literal(value)}"'
    if language:
        return f"{text}@{language}"
    if datatype and datatype != XSD_STRING:
        return f"{text}^^{iri(datatype)}"
    return text


def serialize_quad(quad: Quad) -> str:
    """One canonical N-Quads line, newline included."""
    s, p, o, g = quad
    if g:
        return f"{s} {p} {o} {g} .\n"
    return f"{s} {p} {o} .\n"
