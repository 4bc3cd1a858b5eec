"""XSD dateTime values as credentials write and read them (VCDM 2.0 §4.9, XSD 1.1 §3.3.7).

Issuer and verifier share this module so that a credential's ``validFrom``, a proof's
``created`` and a JWT's translated ``nbf`` are spelled one way, and so that every reader of
those values agrees on what an XSD dateTime looks like.

``format_timestamp`` writes the one form we issue: UTC, whole seconds, ``Z``
(``2026-11-26T09:30:00Z``), an XSD ``dateTimeStamp`` and an RFC 3339 ``date-time`` at once.
:data:`XSD_DATETIME` is the lexical form readers accept; each reader adds its own stricter
rules on top of the named groups (the JSON Schema format wants a zone and a four-digit year,
VCDM 1.1 credentials may omit the zone).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final, TypeGuard

#: XSD 1.1 dateTime (§3.3.7.2): an optionally signed year of four or more digits, month, day,
#: ``T``, hour, minute, second with an optional fraction, and an optional zone (``Z`` or
#: ``±hh:mm``). ASCII digits only. Use ``fullmatch``; the groups are named for range checks.
XSD_DATETIME: Final = re.compile(
    r"(?P<year>-?\d{4,})-(?P<month>\d\d)-(?P<day>\d\d)"
    r"T(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)(?:\.\d+)?"
    r"(?P<zone>Z|[+-](?P<offset_hour>\d\d):(?P<offset_minute>\d\d))?",
    re.ASCII,
)


# A pure function of a small value: remembered for the last few instants (a signing job stamps
# thousands of credentials and proofs with the same ones). lru_cache is bounded and thread-safe.
@lru_cache(maxsize=64)
def format_timestamp(moment: datetime) -> str:
    """The XSD dateTimeStamp a credential or proof carries for ``moment``: UTC, seconds, ``Z``.

    Use it for ``validFrom``, ``validUntil``, ``awardedDate``, a proof's ``created`` and the
    dates translated from JWT claims. Fractions of a second are dropped (not rounded), so the
    same second always gives the same text. Raises ValueError for a naive datetime: a time
    without a zone names no instant.
    """
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_xsd_datetime(value: object) -> TypeGuard[str]:
    """True when ``value`` is a string in the XSD dateTime lexical form (zone optional)."""
    return isinstance(value, str) and XSD_DATETIME.fullmatch(value) is not None
