"""A holder as their private page shows them, and the links (tokens) that open that page.

:func:`holder_by_token` reads, in one transaction, the holder a live token names with each of
their charter credentials: its state, its current version's stored forms and every earlier
version. :func:`new_link` mints a token for the holder of a charter (``caiep holder link``)
and, for a link that leaked, revokes every other live one; both are audit entries that name the
token only by the first characters of its hash (:data:`HASH_PREFIX`), never the token itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from caiep.issuer import audit, holdertokens
from caiep.issuer.exports import IssuedCopies, issued_copies
from caiep.issuer.lifecycle import charters_of, find_charter
from caiep.issuer.records import charter_number
from caiep.issuer.tables import charter_credentials, credential_versions, holders

#: How much of a token's hash the audit log keeps: enough to tell links apart, not to find one.
HASH_PREFIX = 12


@dataclass(frozen=True)
class HeldVersion:
    """One version of a charter credential: ``kind`` is ``award``, ``renewal`` or ``reinstatement``."""

    version: int
    kind: str
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True)
class HeldCharter:
    """A charter credential of the holder: its current version's forms (``copies``, with the
    charter state at the time read), since when it has been in that state, and the versions
    before the current one, oldest first."""

    copies: IssuedCopies
    state_since: datetime
    earlier: tuple[HeldVersion, ...]
    current_kind: str


@dataclass(frozen=True)
class Holder:
    """A holder and their charter credentials, most recently awarded first."""

    holder_id: int
    name: str
    charters: tuple[HeldCharter, ...]

    @property
    def charter_number(self) -> str:
        """The holder's charter number (``CAIEP-000042``)."""
        return charter_number(self.holder_id)


def holder_by_token(connection: Connection, token: str, *, now: datetime) -> Holder | None:
    """The holder whose live token ``token`` is, with their charters; None for a token that is
    malformed, unknown or revoked (alike: the caller cannot tell which)."""
    holder_id = holdertokens.resolve(connection, token)
    if holder_id is None:
        return None
    name = connection.execute(select(holders.c.name).where(holders.c.id == holder_id)).scalar_one()
    ids = charters_of(connection, [holder_id]).get(holder_id, [])
    charters = [_held(connection, credential_id, now=now) for credential_id in ids]
    charters.sort(key=lambda held: (held.copies.awarded_at, held.copies.credential_id), reverse=True)
    return Holder(holder_id, str(name), tuple(charters))


def _held(connection: Connection, credential_id: str, *, now: datetime) -> HeldCharter:
    copies = issued_copies(connection, credential_id, now=now)
    since = connection.execute(
        select(charter_credentials.c.state_since).where(charter_credentials.c.id == credential_id)
    ).scalar_one()
    rows = connection.execute(
        select(
            credential_versions.c.version,
            credential_versions.c.kind,
            credential_versions.c.valid_from,
            credential_versions.c.valid_until,
        )
        .where(credential_versions.c.credential_id == credential_id)
        .order_by(credential_versions.c.version)
    ).all()
    versions = [HeldVersion(int(n), str(k), _utc(f), _utc(u)) for n, k, f, u in rows]
    state_since = _utc(since)
    if copies.state == "lapsed":  # lapsed is read from the dates: since the current version ended
        state_since = copies.valid_until
    current = next(v for v in versions if v.version == copies.version)
    earlier = tuple(v for v in versions if v.version < copies.version)
    return HeldCharter(copies, state_since, earlier, current.kind)


@dataclass(frozen=True)
class NewLink:
    """What :func:`new_link` made: the token (show it once, store it nowhere), whose it is, and
    how many other live tokens of that holder it revoked (0 without ``rotate``)."""

    token: str
    holder_id: int
    revoked: int

    @property
    def charter_number(self) -> str:
        """The holder's charter number."""
        return charter_number(self.holder_id)


def new_link(connection: Connection, wanted: str, *, rotate: bool, actor: str, now: datetime) -> NewLink:
    """A new token for the holder of the charter named by URL, uuid or charter number (an
    :class:`~caiep.errors.InputError` when there is none), in the caller's transaction; with
    ``rotate``, every other live token of that holder is revoked. Each is an audit entry."""
    charter = find_charter(connection, wanted)
    token = holdertokens.mint(connection, charter.holder_id, now=now)
    prefix = holdertokens.token_hash(token)[:HASH_PREFIX]
    subject = charter_number(charter.holder_id)
    entries = [audit.AuditEntry("holder.link_created", subject, {"token_sha256_prefix": prefix}, actor=actor)]
    revoked = 0
    if rotate:
        revoked = holdertokens.revoke_others(connection, charter.holder_id, token, now=now)
        entries.append(
            audit.AuditEntry(
                "holder.links_revoked",
                subject,
                {"kept_sha256_prefix": prefix, "revoked": revoked},
                actor=actor,
            )
        )
    audit.append(connection, entries, now=now)
    return NewLink(token, charter.holder_id, revoked)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
