"""Bitstring Status List ``encodedList`` values (W3C REC 2025-05-15 §2.2, §3.3, §3.4): both directions.

The issuer publishes a list with :func:`encode_status_list`; the verifier reads one with
:func:`decode_status_list`. Both live here, below issuer and verifier, so that neither
imports the other and so that what one writes the other is tested to read.

``encodedList`` is the multibase prefix ``u`` followed by base64url without padding of the
GZIP-compressed bitstring. Decoding treats the value as hostile: only the canonical
base64url spelling is accepted, GZIP CRCs and lengths are checked, trailing bytes refused,
and inflation stops one byte past ``max_bytes`` so a compression bomb never expands further.
"""

from __future__ import annotations

import base64
import gzip
import re
import zlib
from typing import Final

from caiep.errors import EncodingError

#: Refuse bitstrings that expand past this many bytes (a GZIP bomb guard; 1024 times the
#: 131,072-entry minimum a verifier requires).
MAX_DECODED_BYTES: Final = 16 * 1024 * 1024
#: Multibase prefix of base64url without padding, the only encoding §2.2 allows for encodedList.
MULTIBASE_BASE64URL: Final = "u"

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def encode_status_list(bits: bytes | bytearray) -> str:
    """The ``encodedList`` value for a bitstring (§3.3): "u" + base64url-no-pad(GZIP(bits)).

    Use it when publishing a list. The GZIP header's time is zero so the same bits always
    give the same string. The caller makes the list at least 131,072 bits long (§3.2 step 2).
    """
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_status_list(encoded_list: str, *, max_bytes: int = MAX_DECODED_BYTES) -> bytes:
    """The bitstring inside an ``encodedList`` value (Bitstring Expansion Algorithm, §3.4).

    Raises :class:`EncodingError` for a multibase prefix other than "u", text that is not
    canonical base64url without padding (§2.2), data that is not GZIP (RFC 1952; CRC and
    length are checked, trailing bytes refused) and output beyond ``max_bytes``.
    """
    if not isinstance(encoded_list, str):
        raise EncodingError("encodedList must be a string")
    if not encoded_list.startswith(MULTIBASE_BASE64URL):
        raise EncodingError(
            "encodedList must start with the multibase prefix 'u' (base64url without padding)",
            value=_excerpt(encoded_list),
        )
    text = encoded_list[len(MULTIBASE_BASE64URL) :]
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise EncodingError("encodedList is not base64url without padding", value=_excerpt(encoded_list))
    compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii") != text:
        # Unused low bits in the last character make a second spelling of the same bytes.
        raise EncodingError("encodedList is not canonical base64url", value=_excerpt(encoded_list))
    return _gunzip(compressed, max_bytes=max_bytes, value=_excerpt(encoded_list))


def _gunzip(data: bytes, *, max_bytes: int, value: str) -> bytes:
    """Expand GZIP data (one or more members, RFC 1952 §2.2) without ever holding more than the cap."""
    if not data:
        raise EncodingError("encodedList holds no GZIP data", value=value)
    out = bytearray()
    rest = data
    while rest:
        member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            # max_length stops inflation one byte past the cap, so a bomb never expands further.
            out += member.decompress(rest, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise EncodingError("encodedList is not valid GZIP data", value=value) from exc
        if len(out) > max_bytes:
            raise EncodingError(f"encodedList expands beyond the {max_bytes}-byte limit", value=value)
        if not member.eof:
            raise EncodingError("encodedList holds truncated GZIP data", value=value)
        rest = member.unused_data
    return bytes(out)


def _excerpt(value: str, limit: int = 80) -> str:
    """The start of a possibly huge value, for error fields."""
    return value if len(value) <= limit else value[:limit] + "…"
