"""Reading a presented credential: JSON with an embedded proof, or a compact JWS (VC-JWT).

Untrusted input is bounded before it is parsed: 1 MiB, 64 levels of nesting, no duplicate
keys (a duplicate would let two readers see two different credentials).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from caiep.errors import InputError

MAX_BYTES = 1_048_576
MAX_DEPTH = 64
# The signature may be empty: an unsecured JWS (alg "none", RFC 7515 §A.5) is read, so that
# verification answers "invalid" (jws_alg_not_allowed) rather than "unreadable input".
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class Presented:
    """A credential as presented: ``format`` is "ldp" (JSON) or "jwt" (compact JWS)."""

    format: str
    credential: dict[str, Any] | None
    token: str | None = None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InputError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    """``json.loads`` hook: NaN and Infinity are not JSON (RFC 8259 §6)."""
    raise InputError(f"{name} is not a JSON value (RFC 8259 §6)")


def _depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(text: str, *, source: str = "input") -> Any:
    """Bounded JSON parsing for untrusted documents; InputError says what is wrong."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES} bytes", source=source)
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", source=source)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}", source=source, location=f"line {exc.lineno} column {exc.colno}"
        ) from exc
    except InputError as exc:
        # The parsing hooks do not know where the text came from; say it here.
        raise InputError(exc.message, source=source) from exc


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
        if isinstance(inner, str):
            return read_presented(inner, source=source)
    if len(text) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES} bytes", source=source)
    if _COMPACT_JWS.match(text):
        return Presented("jwt", None, token=text)
    if text.startswith("["):
        raise InputError("a credential must be a JSON object, not an array", source=source)
    raise InputError("neither a JSON credential nor a compact JWS (VC-JWT)", source=source)
