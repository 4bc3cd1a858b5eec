"""What holder exports read: a charter credential's current version and its issued forms.

Exports never sign. Each version is issued as a pair of copies signed in the same transaction:
the JSON form (``ldp``, an eddsa-rdfc-2022 proof) and the VC-JWT form (``jwt``) of the same
body, carrying the same status entry. One of the two is the ``served`` copy (the hosted URL's);
the other is the copy of the same version, in the other format, with the same status list and
index. Copies bound to a wallet's key carry their own index, so they are never mistaken for the
issued pair. A form that is missing (a credential issued before both were stored) is added by
``caiep credentials backfill``, never at export time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Select, select

from caiep.issuer.copies import same_pair
from caiep.issuer.lifecycle import find_charter
from caiep.issuer.records import charter_state
from caiep.issuer.tables import charter_credentials, credential_copies, holders

#: The forms a version is issued in: the JSON credential with a Data Integrity proof, and its
#: VC-JWT (VC-JOSE) envelope.
FORMS = ("ldp", "jwt")


@dataclass(frozen=True)
class IssuedCopies:
    """A charter credential as exports show it: its state, dates and the current version's forms.

    ``state`` is ``current``, ``lapsed``, ``suspended`` or ``revoked`` at the ``now`` it was read
    at; ``awarded_at`` is the first award (every version's ``awardedDate``); ``valid_from`` and
    ``valid_until`` are the current version's. ``forms`` maps ``ldp``/``jwt`` to the exact
    stored text (the JSON document, or the compact JWS).
    """

    credential_id: str
    url: str
    charter_number: str
    holder_name: str
    state: str
    public_reason: str | None
    awarded_at: datetime
    version: int
    valid_from: datetime
    valid_until: datetime
    served_form: str
    forms: Mapping[str, str]


def issued_copies(connection: Connection, wanted: str, *, now: datetime) -> IssuedCopies:
    """The charter credential named by URL, uuid or charter number, with its current version's
    issued forms; :class:`~caiep.errors.InputError` when there is no such credential."""
    charter = find_charter(connection, wanted)
    head = connection.execute(
        select(charter_credentials.c.public_reason, charter_credentials.c.awarded_at, holders.c.name)
        .join(holders, holders.c.id == charter_credentials.c.holder_id)
        .where(charter_credentials.c.id == charter.credential_id)
    ).one()
    pair = _pair(charter.credential_id).add_columns(credential_copies.c.document, credential_copies.c.served)
    forms: dict[str, str] = {}
    served_form = ""
    for row in connection.execute(pair.order_by(credential_copies.c.id)):
        forms.setdefault(str(row.format), str(row.document))
        if row.served:
            served_form = str(row.format)
    return IssuedCopies(
        credential_id=charter.credential_id,
        url=charter.url,
        charter_number=charter.charter_number,
        holder_name=str(head.name),
        state=charter_state(charter.state, charter.valid_until, now),
        public_reason=None if head.public_reason is None else str(head.public_reason),
        awarded_at=_utc(head.awarded_at),
        version=charter.current_version,
        valid_from=charter.valid_from,
        valid_until=charter.valid_until,
        served_form=served_form,
        forms=MappingProxyType(forms),
    )


def issued_forms(connection: Connection, credential_id: str) -> frozenset[str]:
    """The forms (``ldp``, ``jwt``) the current version of a charter credential is stored in:
    one query, for a page that links to them."""
    rows = connection.execute(_pair(credential_id))
    return frozenset(str(format) for (format,) in rows)


def _pair(credential_id: str) -> Select[Any]:
    """The formats of the current version's issued pair: the served copy and the copy that
    shares its version and status entry (:func:`~caiep.issuer.copies.same_pair`)."""
    served = credential_copies.alias("served")
    return (
        select(credential_copies.c.format)
        .join(served, same_pair(credential_copies, served) & served.c.served.is_(True))
        .where(credential_copies.c.credential_id == credential_id)
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
