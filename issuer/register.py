"""The public register of charter holders: who holds the charter, asked by full name.

A lookup needs the holder's **full name**; a charter number (``CAIEP-000042``) and a year of
award only narrow it. Charter numbers are sequential, so a lookup by number alone would walk the
whole register: :func:`parse_query` refuses it, as it refuses wildcards and empty or over-long
names, by the query's syntax alone (before the registry is asked).

Names are compared whole, in one normal form (:func:`name_key`): compatibility-decomposed,
combining marks dropped, case-folded, white space collapsed, recomposed. "Zoë  Ångström" and
"zoe angstrom" have the same key; "Zoë" alone is another key and finds no one. Each holder's key
is stored beside the name (``holders.name_key``, indexed), so a lookup is one index probe.

Privacy: a holder is ``listed`` or ``unlisted`` (their own choice, else the certification body's
default). An unlisted holder whose charter is current or lapsed is never found, and the answer is
the one a name nobody holds gets: the condition is part of the one query, so the work done is the
same. A suspended or revoked charter stays findable for a number of years after the decision
(``register_decision_years``), whatever the holder chose, as public registers of regulated titles
keep disciplinary decisions. Matches carry the name, charter number, state (with the public
reason of a suspension or revocation) and dates: never an e-mail address or exam detail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, and_, func, literal, or_, select, update

from caiep.errors import InputError
from caiep.issuer import audit
from caiep.issuer.lifecycle import find_charter
from caiep.issuer.records import charter_number, charter_state
from caiep.issuer.tables import charter_credentials, credential_versions, holders

LISTED: Final = "listed"
UNLISTED: Final = "unlisted"
LISTINGS: Final = (LISTED, UNLISTED)
#: The longest name a query may give (characters, before normalisation).
MAX_NAME: Final = 200
#: Characters that are wildcards somewhere (SQL LIKE, shells, search boxes): never accepted, so
#: nobody mistakes the register for a search that takes patterns.
WILDCARDS: Final = frozenset("*%?_")
#: The query's rules as regular expressions, in the OpenAPI document too (``/api/v1/register``):
#: a name has no control character (C0, DEL, C1) and no wildcard, and something other than white
#: space; a number is ``CAIEP-`` and at least six digits (any case); a year has four digits from
#: 1900. Number and year may be empty.
PATTERNS: Final = {
    "name": "^[^\\u0000-\\u001f\\u007f-\\u009f*%?_]*$",
    "name_nonblank": "\\S",
    "number": "^([Cc][Aa][Ii][Ee][Pp]-[0-9]{6,})?$",
    "year": "^((19|[2-9][0-9])[0-9]{2})?$",
}
_NAME = re.compile(PATTERNS["name"])
_NONBLANK = re.compile(PATTERNS["name_nonblank"])
_NUMBER = re.compile(PATTERNS["number"])
_YEAR = re.compile(PATTERNS["year"])
_SPACE = re.compile(r"\s+")
_LARGEST_ID = 2**31 - 1  # holders.id is a 32-bit integer: a larger number names no one


def name_key(name: str) -> str:
    """The form names are compared in: NFKD, combining marks dropped, case-folded, white space
    collapsed, NFC. ``name_key("Zoë  Ångström") == name_key("zoe angstrom") == "zoe angstrom"``."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", _SPACE.sub(" ", bare.casefold()).strip())


@dataclass(frozen=True)
class RegisterQuery:
    """A lookup as asked (``name``, ``number``, ``year``) with the name's key and the holder id
    the number names."""

    name: str
    number: str | None
    year: int | None
    key: str
    holder_id: int | None

    def to_json(self) -> dict[str, object]:
        """The query as asked, in the API's words."""
        return {"name": self.name, "number": self.number, "year": self.year}


def parse_query(name: str | None, number: str | None = None, year: str | None = None) -> RegisterQuery:
    """Check a lookup by its syntax alone; :class:`InputError` says what is wrong with which field.

    The rules are the patterns of :data:`PATTERNS`, which the OpenAPI document states word for
    word: a query the document allows is answered, any other is refused. An empty ``number`` or
    ``year`` (a form's blank field) is no narrowing.
    """
    name = name or ""
    if not _NONBLANK.search(name):
        if number:
            raise InputError(
                "name: the full name is required; a charter number only narrows a lookup by name"
            )
        raise InputError("name: give the holder's full name")
    if len(name) > MAX_NAME:
        raise InputError(f"name: at most {MAX_NAME} characters")
    if not _NAME.search(name):
        wildcards = sorted(WILDCARDS.intersection(name))
        if wildcards:
            shown = " ".join(wildcards)
            raise InputError(f"name: wildcard characters ({shown}) are not accepted; give the full name")
        raise InputError("name: control characters (line breaks, tabs and the like) are not accepted")
    name = name.strip()
    holder_id = None
    if number:
        if not _NUMBER.search(number):
            raise InputError("number: a charter number looks like CAIEP-000042")
        digits = number.strip().split("-", 1)[1]
        number = f"CAIEP-{digits}"
        holder_id = int(digits) if len(digits) <= 10 else _LARGEST_ID + 1
    year_value = None
    if year:
        if not _YEAR.search(year):
            raise InputError("year: the year of award, four digits from 1900, such as 2026")
        year_value = int(year.strip())
    return RegisterQuery(
        name=name, number=number or None, year=year_value, key=name_key(name), holder_id=holder_id
    )


@dataclass(frozen=True)
class Match:
    """One charter found: what the register shows of it."""

    name: str
    charter_number: str
    credential_id: str
    state: str
    state_since: datetime
    public_reason: str | None
    first_awarded: datetime
    valid_until: datetime


@dataclass(frozen=True)
class Answer:
    """The matches (at most the configured number) and whether more matched than are shown."""

    matches: tuple[Match, ...]
    more: bool


@dataclass(frozen=True)
class RegisterPolicy:
    """The certification body's choices: its default listing, how many years a suspension or
    revocation stays findable whatever the holder chose, and how many matches one answer shows."""

    default_listing: str = LISTED
    decision_years: int = 5
    max_matches: int = 10


def lookup(connection: Connection, query: RegisterQuery, policy: RegisterPolicy, *, now: datetime) -> Answer:
    """The charters ``query`` finds, oldest award first, at most ``policy.max_matches``."""
    if query.holder_id is not None and query.holder_id > _LARGEST_ID:
        return Answer((), False)
    listing = func.coalesce(holders.c.register_listing, literal(policy.default_listing))
    decided_since = now - timedelta(days=round(365.25 * policy.decision_years))
    findable = or_(
        listing == LISTED,
        and_(
            charter_credentials.c.state.in_(("suspended", "revoked")),
            charter_credentials.c.state_since >= decided_since,
        ),
    )
    statement = (
        select(
            holders.c.name,
            holders.c.id,
            charter_credentials.c.id,
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
        .where(holders.c.name_key == query.key, findable)
        .order_by(charter_credentials.c.awarded_at, charter_credentials.c.id)
        .limit(policy.max_matches + 1)
    )
    if query.holder_id is not None:
        statement = statement.where(holders.c.id == query.holder_id)
    if query.year is not None:
        start = datetime(query.year, 1, 1, tzinfo=UTC)
        statement = statement.where(
            charter_credentials.c.awarded_at >= start,
            charter_credentials.c.awarded_at < start.replace(year=query.year + 1),
        )
    rows = connection.execute(statement).all()
    matches = tuple(
        Match(
            name=name,
            charter_number=charter_number(holder_id),
            credential_id=credential_id,
            state=charter_state(state, _utc(valid_until), now),
            state_since=_utc(state_since),
            public_reason=reason if state in ("suspended", "revoked") else None,
            first_awarded=_utc(awarded_at),
            valid_until=_utc(valid_until),
        )
        for name, holder_id, credential_id, state, state_since, reason, awarded_at, valid_until in rows
    )
    return Answer(matches[: policy.max_matches], len(matches) > policy.max_matches)


@dataclass(frozen=True)
class ListingChange:
    """What ``register hide|show`` did: the holder's charter number and their listing before and after."""

    charter_number: str
    before: str | None
    after: str


def set_listing(
    connection: Connection, wanted: str, listing: str, *, actor: str, via: str, now: datetime
) -> ListingChange:
    """Record the holder of charter ``wanted`` as ``listed`` or ``unlisted`` (an audit entry);
    ``via`` says who asked: ``cli`` (the certification body) or ``holder`` (their private page)."""
    if listing not in LISTINGS:
        raise InputError(f"listing: {LISTED} or {UNLISTED}, not {listing!r}")
    charter = find_charter(connection, wanted)
    return set_holder_listing(connection, charter.holder_id, listing, actor=actor, via=via, now=now)


def set_holder_listing(
    connection: Connection, holder_id: int, listing: str, *, actor: str, via: str, now: datetime
) -> ListingChange:
    """Record holder ``holder_id`` as ``listed`` or ``unlisted``, with its audit entry."""
    before = connection.execute(
        select(holders.c.register_listing).where(holders.c.id == holder_id)
    ).scalar_one_or_none()
    connection.execute(update(holders).where(holders.c.id == holder_id).values(register_listing=listing))
    number = charter_number(holder_id)
    audit.append(
        connection,
        [audit.AuditEntry(f"register.{listing}", number, {"before": before, "via": via}, actor=actor)],
        now=now,
    )
    return ListingChange(number, before, listing)


def holder_choice(connection: Connection, holder_id: int) -> str | None:
    """The listing the holder (or the body for them) chose, or None: the body's default applies."""
    stored = connection.execute(
        select(holders.c.register_listing).where(holders.c.id == holder_id)
    ).scalar_one_or_none()
    return None if stored is None else str(stored)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
