"""The two JSON Schema formats the OB 3.0 schemas use, asserted strictly.

``date-time`` (OB DateTimeZ) must be RFC 3339 *and* an XSD ``dateTimeStamp``: the timezone is
required, hour 24 and leap second 60 are refused, offsets stay within ±14:00, because the
JSON-LD contexts type these values as ``xsd:dateTime``. ``date`` is a calendar YYYY-MM-DD.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

from jsonschema import FormatChecker

from caiep.timestamps import XSD_DATETIME

_DATE: Final = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)
_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_calendar_date(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= (29 if month == 2 and leap else _DAYS_IN_MONTH[month - 1])


def is_date_time_stamp(value: object) -> bool:
    """True for an RFC 3339 date-time that is also an XSD 1.1 ``dateTimeStamp``.

    The JSON Schema ``date-time`` format (RFC 3339 §5.6) and OB's DateTimeZ both require the
    timezone; XSD additionally refuses second 60 and offsets beyond ±14:00, and wants ``T``
    and ``Z`` in upper case. Non-strings pass, as JSON Schema formats apply to strings only.
    """
    if not isinstance(value, str):
        return True
    match = XSD_DATETIME.fullmatch(value)
    # RFC 3339 narrows XSD: a four-digit year with no sign, and the zone is required.
    if match is None or len(match["year"]) != 4 or match["year"].startswith("-") or not match["zone"]:
        return False
    year, month, day, hour, minute, second = (
        int(match[name]) for name in ("year", "month", "day", "hour", "minute", "second")
    )
    if not _is_calendar_date(year, month, day) or hour > 23 or minute > 59 or second > 59:
        return False
    off_hour, off_minute = match["offset_hour"], match["offset_minute"]
    if off_hour is None or off_minute is None:
        return True
    return int(off_minute) <= 59 and (int(off_hour), int(off_minute)) <= (14, 0)


def is_full_date(value: object) -> bool:
    """True for an RFC 3339 ``full-date`` (YYYY-MM-DD, a real calendar day): the ``date`` format."""
    if not isinstance(value, str):
        return True
    match = _DATE.fullmatch(value)
    return match is not None and _is_calendar_date(*(int(g) for g in match.groups()))


FORMATS: Final[Mapping[str, Callable[[object], bool]]] = {
    "date-time": is_date_time_stamp,
    "date": is_full_date,
}


def format_checker() -> FormatChecker:
    """A jsonschema FormatChecker that asserts exactly the formats in :data:`FORMATS`."""
    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return checker
