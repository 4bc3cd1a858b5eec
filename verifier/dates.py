"""XSD dateTime values of credentials (VCDM 2.0 §4.9; VCDM 1.1 issuanceDate/expirationDate)."""

from __future__ import annotations

from datetime import UTC, datetime

from caiep.errors import InputError
from caiep.timestamps import is_xsd_datetime


def parse_datetime(value: object, *, field: str, required: bool) -> datetime | None:
    """The instant ``value`` names, timezone-aware (UTC assumed only for VCDM 1.1 values without one)."""
    if value is None:
        if required:
            raise InputError(f"{field} is missing")
        return None
    if not is_xsd_datetime(value):
        raise InputError(f"{field} is not an XSD dateTime: {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{field} is not a valid date and time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
