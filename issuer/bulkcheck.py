"""Bulk re-checks of the register by charter number, for employers with an API key.

An employer has each charter number from the applicant or employee, so a bulk check answers
for every holder, listed or not (:mod:`caiep.issuer.register`'s privacy rule is for strangers
asking by name). It answers with what the register shows and nothing more: the name as
recorded, the charter state (with the public reason of a suspension or revocation) and the
dates; never an e-mail address or exam detail.

All the numbers of a batch are looked up in one query (``holders.id IN (…)``, the primary key),
whatever their count; the answers come back in the order asked, a number that names no charter
as not found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from caiep.errors import InputError
from caiep.issuer.records import charter_state
from caiep.issuer.register import PATTERNS
from caiep.issuer.tables import charter_credentials, credential_versions, holders

#: A charter number as the register takes it (``CAIEP-`` and six digits or more, any case);
#: :data:`caiep.issuer.register.PATTERNS`'s, without the empty alternative.
NUMBER_PATTERN = PATTERNS["number"].replace("(", "", 1).replace(")?$", "$")
#: The longest charter number accepted (characters): longer text is refused before any work.
MAX_NUMBER = 32
_NUMBER = re.compile(NUMBER_PATTERN)
_LARGEST_ID = 2**31 - 1  # holders.id is a 32-bit integer: a larger number names no one


@dataclass(frozen=True)
class Checked:
    """One number's answer: ``found`` False, or the charter's name, state and dates."""

    charter_number: str
    found: bool
    name: str | None = None
    state: str | None = None
    state_since: datetime | None = None
    public_reason: str | None = None
    first_awarded: datetime | None = None
    valid_until: datetime | None = None


def parse_numbers(value: object, *, field: str = "charterNumbers") -> list[str]:
    """The charter numbers of a request, each written ``CAIEP-`` and its digits as given.

    ``value`` must be a list of strings each matching :data:`NUMBER_PATTERN`; anything else is
    an :class:`InputError` naming the field and the index (``charterNumbers[3]``). The caller
    bounds the list's length first.
    """
    if not isinstance(value, list):
        raise InputError(f'{field}: a list of charter numbers, such as ["CAIEP-000042"]')
    numbers = []
    for index, number in enumerate(value):
        if not isinstance(number, str) or len(number) > MAX_NUMBER or not _NUMBER.search(number):
            raise InputError(f"{field}[{index}]: a charter number looks like CAIEP-000042")
        numbers.append("CAIEP-" + number.split("-", 1)[1])
    return numbers


def check(connection: Connection, numbers: Sequence[str], *, now: datetime) -> list[Checked]:
    """Each number's answer, in the order given (a number may repeat; each is answered)."""
    wanted = {number: _holder_id(number) for number in numbers}
    ids = sorted({holder for holder in wanted.values() if holder is not None})
    found: dict[int, Checked] = {}
    if ids:
        rows = connection.execute(
            select(
                holders.c.id,
                holders.c.name,
                charter_credentials.c.state,
                charter_credentials.c.state_since,
                charter_credentials.c.public_reason,
                charter_credentials.c.awarded_at,
                credential_versions.c.valid_until,
            )
            .select_from(holders)
            .join(charter_credentials, charter_credentials.c.holder_id == holders.c.id)
            .join(
                credential_versions,
                (credential_versions.c.credential_id == charter_credentials.c.id)
                & (credential_versions.c.version_state == "current"),
            )
            .where(holders.c.id.in_(ids))
            .order_by(charter_credentials.c.awarded_at, charter_credentials.c.id)
        ).all()
        for holder_id, name, state, since, reason, awarded, until in rows:
            # A holder with more than one charter record is answered for the newest award.
            valid_until = _utc(until)
            shown = charter_state(state, valid_until, now)
            found[int(holder_id)] = Checked(
                charter_number="",
                found=True,
                name=name,
                state=shown,
                state_since=_utc(since),
                public_reason=reason if state in ("suspended", "revoked") else None,
                first_awarded=_utc(awarded),
                valid_until=valid_until,
            )
    answers = []
    for number in numbers:
        holder = wanted[number]
        hit = found.get(holder) if holder is not None else None
        answers.append(Checked(number, False) if hit is None else replace(hit, charter_number=number))
    return answers


def _holder_id(number: str) -> int | None:
    digits = number.split("-", 1)[1]
    holder = int(digits) if len(digits) <= 10 else _LARGEST_ID + 1
    return holder if 0 < holder <= _LARGEST_ID else None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
