"""Unpadded base64url (RFC 4648 §5), strict, as JWK members use it (RFC 7517 §2, RFC 8037 §2).

Used for the ``x`` and ``d`` members of Ed25519 JWKs and for the salts in the key store index.
Decoding refuses padding, whitespace, characters outside the URL-safe alphabet and
non-canonical trailing bits, so every value has exactly one accepted spelling.
"""

from __future__ import annotations

import base64
import binascii
import re

from caiep.errors import EncodingError

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; :class:`~caiep.errors.EncodingError` unless canonical."""
    if not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise EncodingError("not unpadded base64url text", value=text)
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the checks above leave nothing to fail
        raise EncodingError("not unpadded base64url text", value=text) from exc
    if b64url_encode(data) != text:
        raise EncodingError("base64url text has non-zero trailing bits", value=text)
    return data
