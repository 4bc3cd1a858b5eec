"""The names, limits and messages of OB 3.0 baking, shared by the PNG and SVG codecs.

OB 3.0 "Open Badges Document Formats → Baked Badge": a PNG carries the credential in one
``iTXt`` chunk with keyword ``openbadgecredential``; an SVG in one ``openbadges:credential``
element (namespace ``https://purl.imsglobal.org/ob/v3p0``). Open Badges 2.0 used the keyword
``openbadges`` and the namespace ``http://openbadges.org``; those are recognised only to be
refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from caiep.errors import InputError

T = TypeVar("T")

#: The largest image read or written, and the largest PNG chunk (hostile input is capped).
MAX_IMAGE_BYTES = 10 * 1_048_576
MAX_CHUNK_BYTES = 5 * 1_048_576

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB3_PNG_KEYWORD = b"openbadgecredential"
OB2_PNG_KEYWORD = b"openbadges"

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
OB3_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB3_PREFIX = "openbadges"
OB2_NAMESPACE = "http://openbadges.org"

NOT_A_BADGE = "not a PNG or SVG badge"
NO_CREDENTIAL = "no Open Badges 3.0 credential is baked into this image"
OB2_BADGE = (
    "this is an Open Badges 2.0 badge, which this verifier does not accept: "
    "only Open Badges 3.0 credentials are verified"
)

#: The compact JWS serialization (RFC 7515 §7.1): baked in SVG as ``verify``, not as text.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\Z")

# XML 1.0 §2.8 doctypedecl without the optional internal subset ("[" … "]"): the only DOCTYPE let
# through. Entities can be declared only in a DTD, and an external one is never loaded.
_QUOTED = r"(?:\"[^\"]*\"|'[^']*')"
_EXTERNAL_ONLY_DOCTYPE = re.compile(
    rf"<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM\s+{_QUOTED}|PUBLIC\s+{_QUOTED}\s+{_QUOTED}))?\s*>"
)


def only_credential(found: Sequence[T], *, legacy: bool, source: str | None) -> T:
    """The one credential place an image holds; InputError for none, or for more than one.

    OB 3.0 allows exactly one baked credential: readers that each took a different one would
    disagree about what the badge says, so two are refused as ambiguous rather than the first
    being picked. With none, an Open Badges 2.0 badge (``legacy``) is refused by name.
    """
    if len(found) > 1:
        raise InputError(
            f"the image holds {len(found)} baked credentials; Open Badges 3.0 allows exactly one, "
            "so which one it carries is ambiguous",
            source=source,
        )
    if not found:
        raise InputError(OB2_BADGE if legacy else NO_CREDENTIAL, source=source)
    return found[0]


def credential_bytes(credential_text: str) -> bytes:
    """The UTF-8 bytes of a credential about to be baked; InputError if empty or not Unicode."""
    if not credential_text.strip():
        raise InputError("the credential text is empty")
    try:
        return credential_text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("the credential text is not valid Unicode (it holds a lone surrogate)") from exc


def refuse_dtd(text: str, source: str | None = None) -> None:
    """Refuse entity declarations and internal DTD subsets before parsing (XML 1.0 §2.8, §4.2).

    Entity expansion ("billion laughs") and external entities (XXE) both need an entity
    declaration, and declarations live only in a DTD. The check is textual, so it also refuses
    the same characters inside a comment or CDATA section; no badge needs them. A DOCTYPE that
    only names an external DTD, as the 1EdTech samples do, is allowed: neither ElementTree
    nor expat as used here fetches external DTDs or entities.
    """
    if "<!ENTITY" in text:
        raise InputError("the SVG declares XML entities, refused (entity expansion, XXE)", source=source)
    for doctype in re.finditer("<!DOCTYPE", text):
        if not _EXTERNAL_ONLY_DOCTYPE.match(text, doctype.start()):
            raise InputError(
                "the SVG has a DOCTYPE with an internal DTD subset, which is refused (entity expansion, XXE)",
                source=source,
            )
