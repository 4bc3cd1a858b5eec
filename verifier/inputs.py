"""Reading a presented credential: JSON with an embedded proof, or a compact JWS (VC-JWT).

Untrusted input is bounded before it is parsed: 1 MiB, 64 levels of nesting, no duplicate
keys (a duplicate would let two readers see two different credentials).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from caiep.errors import InputError
from caiep.strictjson import MAX_DEPTH, loads_strict

MAX_BYTES = 1_048_576
# The signature may be empty: an unsecured JWS (alg "none", RFC 7515 §A.5) is read, so that
# verification answers "invalid" (jws_alg_not_allowed) rather than "unreadable input".
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class Presented:
    """A credential as presented: ``format`` is "ldp" (JSON) or "jwt" (compact JWS)."""

    format: str
    credential: dict[str, Any] | None
    token: str | None = None


def parse_json(text: str, *, source: str = "input") -> Any:
    """Bounded JSON parsing for untrusted documents; InputError says what is wrong and where.

    At most :data:`MAX_BYTES` of UTF-8 and :data:`MAX_DEPTH` levels, read by the strict reader
    (:mod:`caiep.strictjson`: no duplicate keys, no NaN or Infinity).
    """
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES} bytes", source=source)
    return loads_strict(text, max_depth=MAX_DEPTH, source=source)


def read_presented(data: bytes | str, *, source: str = "input") -> Presented:
    """Decide what was presented and parse it. Raises InputError for unreadable input."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise InputError(f"larger than {MAX_BYTES} bytes", source=source)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("not UTF-8 text", source=source, location=f"byte {exc.start}") from exc
    else:
        text = data
    text = text.strip().lstrip("\ufeff")
    if not text:
        raise InputError("empty input", source=source)
    if text.startswith("{"):
        document = parse_json(text, source=source)
        if not isinstance(document, dict):
            raise InputError("a credential must be a JSON object", source=source)
        return Presented("ldp", document)
    if text.startswith('"'):
        inner = parse_json(text, source=source)
        if isinstance(inner, str) and _COMPACT_JWS.match(inner.strip()):
            return Presented("jwt", None, token=inner.strip())
        raise InputError(
            "neither a JSON credential nor a compact JWS: a JSON string may hold only a JWS", source=source
        )
    if len(text) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES} bytes", source=source)
    if _COMPACT_JWS.match(text):
        return Presented("jwt", None, token=text)
    if text.startswith("["):
        raise InputError("a credential must be a JSON object, not an array", source=source)
    raise InputError("neither a JSON credential nor a compact JWS (VC-JWT)", source=source)
