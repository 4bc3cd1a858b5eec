"""The one strict JSON reader: what every untrusted JSON text in the product goes through.

RFC 8259 leaves room that attackers use, so this reader closes it:

* a name repeated in one object is refused (§4 says names SHOULD be unique; two readers that
  keep different duplicates would see two different credentials);
* ``NaN``, ``Infinity`` and ``-Infinity`` are refused (they are not JSON, §6, though Python's
  ``json`` accepts them by default);
* nesting deeper than ``max_depth`` arrays and objects is refused before the parser recurses,
  so a hostile document cannot exhaust the stack.

Every refusal is an :class:`~caiep.errors.InputError` saying what and where (``source`` as
given, ``location`` as line and column when the parser knows it); callers in other layers
re-raise it as their own error with ``raise ... from``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from caiep.errors import InputError

#: The default nesting limit: far beyond any credential, DID document or JWS header.
MAX_DEPTH: Final = 64


def loads_strict(text: str | bytes, *, max_depth: int = MAX_DEPTH, source: str | None = None) -> Any:
    """Parse one JSON text, refusing duplicate names, non-standard constants and deep nesting.

    ``text`` may be ``str`` or ``bytes`` (bytes in UTF-8, UTF-16 or UTF-32, detected as
    ``json.loads`` does). Raises :class:`InputError` with ``source`` and, for syntax errors,
    ``location`` ("line L column C").
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode(json.detect_encoding(text))
        except UnicodeDecodeError as exc:
            raise InputError("not valid JSON: the text is not Unicode", source=source) from exc
    if exceeds_depth(text, max_depth):
        raise InputError(f"nested deeper than {max_depth} levels", source=source)
    try:
        return json.loads(text, object_pairs_hook=_unique_names, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}", source=source, location=f"line {exc.lineno} column {exc.colno}"
        ) from exc
    except _Refused as exc:
        raise InputError(str(exc), source=source) from None
    except RecursionError as exc:  # pragma: no cover - the depth check runs first
        raise InputError("nested too deeply", source=source) from exc


def exceeds_depth(text: str, limit: int) -> bool:
    """True when arrays and objects in a JSON text nest more than ``limit`` deep.

    Brackets inside strings do not count. A text with ``limit`` brackets or fewer is not
    scanned, and the scan stops at the first bracket past the limit, so the check is cheap.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
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
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class _Refused(ValueError):
    """Raised inside the parser's hooks; turned into InputError once parsing has stopped."""


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON value (RFC 8259 §6)")
