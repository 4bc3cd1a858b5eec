"""Structural limits on a presented credential, checked before any JSON-LD processing.

JSON-LD expansion and RDF canonicalization (RDFC-1.0) cost grows with the number of values in a
document, so a hostile credential of under 1 MiB could keep a verification worker busy for
many seconds. Each limit below is named, generous (real credentials, ours and other issuers',
stay far inside every one) and chosen so that the worst document inside all of them costs at
most about half a second of CPU time through ``verify()``.

A document over a limit is refused with :class:`LimitExceeded` (code ``limit_exceeded``): the
web service answers 422, ``caiep verify`` exits 2. A string that cannot be encoded as UTF-8 (a
lone surrogate written as ``"\\udc00"``) or a number that is not finite is unreadable input
(:class:`~caiep.errors.InputError`, ``invalid_input``), found by the same walk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from caiep.errors import InputError

#: Every limit by name: its default, and what it bounds. Keys are the names used in messages.
LIMITS: Final[Mapping[str, int]] = {
    "depth": 64,  # nesting of arrays and objects
    "values": 2_500,  # JSON values of every kind (objects, arrays, strings, numbers, ...)
    "array_items": 200,  # items in any one array
    "string_chars": 262_144,  # characters in any one string or object key (256 Ki)
    "proofs": 4,  # Data Integrity proofs in "proof"
    "status_entries": 4,  # entries in "credentialStatus"
    "evidence": 100,  # items in any "evidence" array
    "alignment": 100,  # items in any "alignment" array
    "result": 100,  # items in any "result" array
}
_WHAT: Final[Mapping[str, str]] = {
    "depth": "arrays and objects nested too deep",
    "values": "too many JSON values",
    "array_items": "an array too long",
    "string_chars": "a string too long",
    "proofs": "too many proofs",
    "status_entries": "too many credentialStatus entries",
    "evidence": "too many evidence items",
    "alignment": "too many alignment items",
    "result": "too many result items",
}
#: Members whose arrays have their own, smaller limit (the limit's name is the member's).
_COUNTED_MEMBERS: Final = {"evidence": "evidence", "alignment": "alignment", "result": "result"}
_TOP_LEVEL_MEMBERS: Final = {"proof": "proofs", "credentialStatus": "status_entries"}


class LimitExceeded(InputError):
    """A presented document is over one of :data:`LIMITS`; ``limit`` names it."""

    code = "limit_exceeded"

    def __init__(
        self, limit: str, *, maximum: int, location: str | None = None, source: str | None = None
    ) -> None:
        super().__init__(
            f"{_WHAT[limit]}: over the limit {limit!r} ({maximum})", source=source, location=location
        )
        self.limit = limit
        self.maximum = maximum


def check_limits(document: Any, *, limits: Mapping[str, int] = LIMITS, source: str | None = None) -> None:
    """Refuse a parsed JSON document over any of ``limits``; return None when it is inside all.

    Raises :class:`LimitExceeded` naming the first limit passed, with a JSON Pointer to where,
    or :class:`InputError` for a string that is not Unicode text or a number that is not finite.
    The walk is iterative (no recursion) and stops at the first refusal.
    """
    if isinstance(document, Mapping):
        for member, limit in _TOP_LEVEL_MEMBERS.items():
            value = document.get(member)
            count = len(value) if isinstance(value, list) else int(value is not None)
            if count > limits[limit]:
                raise LimitExceeded(limit, maximum=limits[limit], location=f"/{member}", source=source)
    values = 0
    pending: list[tuple[Any, str, int]] = [(document, "", 1)]
    while pending:
        value, pointer, depth = pending.pop()
        values += 1
        if values > limits["values"]:
            raise LimitExceeded("values", maximum=limits["values"], location=pointer or "/", source=source)
        if isinstance(value, str):
            _check_string(value, pointer, limits, source)
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError("a number too large to represent", source=source, location=pointer)
        if not isinstance(value, dict | list):
            continue
        if depth > limits["depth"]:
            raise LimitExceeded("depth", maximum=limits["depth"], location=pointer, source=source)
        if isinstance(value, list):
            if len(value) > limits["array_items"]:
                raise LimitExceeded(
                    "array_items", maximum=limits["array_items"], location=pointer, source=source
                )
            pending.extend((item, f"{pointer}/{index}", depth + 1) for index, item in enumerate(value))
            continue
        for key, item in value.items():
            where = f"{pointer}/{_escape(key)}"
            _check_string(key, where, limits, source)
            counted = _COUNTED_MEMBERS.get(key)
            if counted is not None and isinstance(item, list) and len(item) > limits[counted]:
                raise LimitExceeded(counted, maximum=limits[counted], location=where, source=source)
            pending.append((item, where, depth + 1))


def _check_string(text: str, pointer: str, limits: Mapping[str, int], source: str | None) -> None:
    if len(text) > limits["string_chars"]:
        raise LimitExceeded("string_chars", maximum=limits["string_chars"], location=pointer, source=source)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"not Unicode text: a lone surrogate U+{ord(text[exc.start]):04X}",
            source=source,
            location=pointer,
        ) from exc


def _escape(key: str) -> str:
    """A member name as a JSON Pointer token (RFC 6901 §3)."""
    return key.replace("~", "~0").replace("/", "~1")
