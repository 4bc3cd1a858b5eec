"""The charter lifecycle's building blocks: finding a charter credential, its copies in
circulation, its state, and adding a version or a copy.

Every function runs inside the caller's transaction (``registry.write()``), so a command that
changes a charter (revoke, suspend, reinstate, renew, status migrate) composes them and either
all of it happens or none. The invariants the tables leave to this module: exactly one version
of a charter credential is ``current`` (:func:`add_version` supersedes the previous one), and
exactly one copy is ``served`` (:func:`add_copy` with ``served=True`` takes it over). Bits are
set with :func:`caiep.issuer.statuslists.set_bits` on the entries :func:`copies_in_circulation`
returns; the list is re-signed there, under its row lock.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, update

from caiep.errors import InputError
from caiep.issuer import audit
from caiep.issuer.records import charter_number
from caiep.issuer.statuslists import StatusEntry
from caiep.issuer.tables import charter_credentials, credential_copies, credential_versions

STATES = ("current", "suspended", "revoked")  # stored; "lapsed" is read from the dates
_CHARTER_NUMBER = re.compile(r"CAIEP-(\d{6,})\Z", re.IGNORECASE)


@dataclass(frozen=True)
class Charter:
    """One charter credential as the lifecycle commands need it."""

    credential_id: str
    url: str
    holder_id: int
    state: str
    state_since: datetime
    current_version: int
    valid_from: datetime
    valid_until: datetime

    @property
    def charter_number(self) -> str:
        """The holder's charter number (``CAIEP-000042``)."""
        return charter_number(self.holder_id)


def find_charter(connection: Connection, wanted: str, *, lock: bool = False) -> Charter:
    """The charter credential named by its URL, its uuid, or its holder's charter number (the
    most recently awarded one of that holder); :class:`InputError` when there is none.

    ``lock`` takes a row lock on it (PostgreSQL ``FOR UPDATE``) for a change of state.
    """
    text = wanted.strip().rstrip("/")
    query = select(
        charter_credentials.c.id,
        charter_credentials.c.url,
        charter_credentials.c.holder_id,
        charter_credentials.c.state,
        charter_credentials.c.state_since,
        credential_versions.c.version,
        credential_versions.c.valid_from,
        credential_versions.c.valid_until,
    ).join(
        credential_versions,
        (credential_versions.c.credential_id == charter_credentials.c.id)
        & (credential_versions.c.version_state == "current"),
    )
    number = _CHARTER_NUMBER.fullmatch(text)
    if number is not None:
        query = query.where(charter_credentials.c.holder_id == int(number.group(1)))
        query = query.order_by(
            charter_credentials.c.awarded_at.desc(), charter_credentials.c.id.desc()
        ).limit(1)
    elif "/" in text:
        query = query.where(charter_credentials.c.url == text)
    else:
        query = query.where(charter_credentials.c.id == text)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update(of=charter_credentials)
    row = connection.execute(query).first()
    if row is None:
        raise InputError(f"no charter credential {wanted!r} in this registry")
    return Charter(
        str(row.id),
        str(row.url),
        int(row.holder_id),
        str(row.state),
        _utc(row.state_since),
        int(row.version),
        _utc(row.valid_from),
        _utc(row.valid_until),
    )


def copies_in_circulation(
    connection: Connection, credential_id: str, *, unexpired_at: datetime | None = None
) -> list[StatusEntry]:
    """The status entries of the charter credential's copies: of every version, or only of the
    versions still valid at ``unexpired_at`` (what a revocation must reach: a renewed charter's
    older versions too). Copies issued before status lists carry none and are left out."""
    query = (
        select(credential_copies.c.status_list, credential_copies.c.status_index)
        .join(
            credential_versions,
            (credential_versions.c.credential_id == credential_copies.c.credential_id)
            & (credential_versions.c.version == credential_copies.c.version),
        )
        .where(
            credential_copies.c.credential_id == credential_id, credential_copies.c.status_list.is_not(None)
        )
    )
    if unexpired_at is not None:
        query = query.where(credential_versions.c.valid_until >= unexpired_at)
    return sorted({StatusEntry(int(n), int(i)) for n, i in connection.execute(query).all()}, key=_order)


def _order(entry: StatusEntry) -> tuple[int, int]:
    return entry.list_number, entry.index


def set_state(
    connection: Connection,
    credential_id: str,
    state: str,
    *,
    now: datetime,
    public_reason: str | None = None,
    internal_note: str | None = None,
) -> None:
    """Record the charter state (``current``, ``suspended`` or ``revoked``) from ``now``, with its
    public reason and internal note. The caller checks the transition and logs it."""
    if state not in STATES:
        raise ValueError(f"a stored charter state is one of {', '.join(STATES)}, not {state!r}")
    connection.execute(
        update(charter_credentials)
        .where(charter_credentials.c.id == credential_id)
        .values(state=state, state_since=now, public_reason=public_reason, internal_note=internal_note)
    )


def add_version(
    connection: Connection,
    credential_id: str,
    *,
    kind: str,
    valid_from: datetime,
    valid_until: datetime,
    now: datetime,
    result_id: int | None = None,
    job_id: str | None = None,
) -> int:
    """A new current version of the charter credential (``renewal`` or ``reinstatement``);
    the previous current one becomes ``superseded``. Returns its number. Sign its copies with
    the charter's first ``awarded_at`` as ``awardedDate``, then :func:`add_copy` each."""
    latest = connection.execute(
        select(func.max(credential_versions.c.version)).where(
            credential_versions.c.credential_id == credential_id
        )
    ).scalar_one()
    if latest is None:
        raise InputError(f"no charter credential {credential_id!r} in this registry")
    connection.execute(
        update(credential_versions)
        .where(
            credential_versions.c.credential_id == credential_id,
            credential_versions.c.version_state == "current",
        )
        .values(version_state="superseded")
    )
    number = int(latest) + 1
    connection.execute(
        insert(credential_versions),
        {
            "credential_id": credential_id,
            "version": number,
            "kind": kind,
            "version_state": "current",
            "valid_from": valid_from,
            "valid_until": valid_until,
            "result_id": result_id,
            "job_id": job_id,
            "issued_at": now,
        },
    )
    return number


def add_copy(
    connection: Connection,
    credential_id: str,
    version: int,
    *,
    format: str,
    document: str,
    key_id: str,
    status: StatusEntry | None,
    now: datetime,
    served: bool = True,
    job_id: str | None = None,
    url: str,
    holder_id: int,
) -> str:
    """Store one signed copy of a version and log it as issued (its SHA-256, so ``audit verify``
    covers it). ``served`` makes it the copy the hosted URL serves from now on. Draw its status
    index with :func:`caiep.issuer.statuslists.reserve` in the same transaction and record it
    there. Returns the copy's SHA-256."""
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    if served:
        connection.execute(
            update(credential_copies)
            .where(credential_copies.c.credential_id == credential_id)
            .values(served=False)
        )
    connection.execute(
        insert(credential_copies),
        {
            "credential_id": credential_id,
            "version": version,
            "format": format,
            "document": document,
            "sha256": digest,
            "key_id": key_id,
            "status_list": None if status is None else status.list_number,
            "status_index": None if status is None else status.index,
            "served": served,
            "job_id": job_id,
            "issued_at": now,
        },
    )
    details = {"job": job_id, "credentials": [[url, digest, charter_number(holder_id), None, key_id, ""]]}
    audit.append(connection, [audit.AuditEntry("credentials.issued", url, details)], now=now)
    return digest


def awarded_at(connection: Connection, credential_id: str) -> datetime:
    """The first award of the charter credential: every version's ``awardedDate``."""
    return _utc(
        connection.execute(
            select(charter_credentials.c.awarded_at).where(charter_credentials.c.id == credential_id)
        ).scalar_one()
    )


def charters_of(connection: Connection, holder_ids: Sequence[int]) -> dict[int, list[str]]:
    """The charter credential ids of each holder (a registry from before the one-charter rule may
    hold several for one holder)."""
    found: dict[int, list[str]] = {}
    rows = connection.execute(
        select(charter_credentials.c.holder_id, charter_credentials.c.id).where(
            charter_credentials.c.holder_id.in_(list(holder_ids))
        )
    ).all()
    for holder, credential in rows:
        found.setdefault(int(holder), []).append(str(credential))
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class NewCopy:
    """A copy to store with :func:`add_copies`: which version, the exact document and its status."""

    credential_id: str
    version: int
    url: str
    holder_id: int
    format: str
    document: str
    key_id: str
    status: StatusEntry | None


def add_copies(
    connection: Connection, copies: Sequence[NewCopy], *, now: datetime, job_id: str | None
) -> None:
    """Store many new served copies at once (one statement per table, one audit entry): each
    becomes the copy its charter credential's hosted URL serves."""
    if not copies:
        return
    from caiep.issuer.database import insert_rows  # the bulk path jobs use

    connection.execute(
        update(credential_copies)
        .where(credential_copies.c.credential_id.in_([c.credential_id for c in copies]))
        .values(served=False)
    )
    digests = [hashlib.sha256(c.document.encode("utf-8")).hexdigest() for c in copies]
    insert_rows(
        connection,
        credential_copies,
        [
            {
                "credential_id": c.credential_id,
                "version": c.version,
                "format": c.format,
                "document": c.document,
                "sha256": digest,
                "key_id": c.key_id,
                "status_list": None if c.status is None else c.status.list_number,
                "status_index": None if c.status is None else c.status.index,
                "served": True,
                "job_id": job_id,
                "issued_at": now,
            }
            for c, digest in zip(copies, digests, strict=True)
        ],
    )
    details = {
        "job": job_id,
        "credentials": [
            [c.url, digest, charter_number(c.holder_id), None, c.key_id, ""]
            for c, digest in zip(copies, digests, strict=True)
        ],
    }
    audit.append(
        connection, [audit.AuditEntry("credentials.issued", job_id or copies[0].url, details)], now=now
    )


@dataclass(frozen=True)
class Unstatused:
    """A served copy of a current version that carries no status entry (issued before status lists)."""

    credential_id: str
    version: int
    url: str
    holder_id: int
    format: str
    document: str


def copies_without_status(connection: Connection, limit: int) -> list[Unstatused]:
    """Up to ``limit`` served copies of current versions with no status entry, oldest first."""
    query = (
        select(
            credential_copies.c.credential_id,
            credential_copies.c.version,
            charter_credentials.c.url,
            charter_credentials.c.holder_id,
            credential_copies.c.format,
            credential_copies.c.document,
        )
        .join(charter_credentials, charter_credentials.c.id == credential_copies.c.credential_id)
        .join(
            credential_versions,
            (credential_versions.c.credential_id == credential_copies.c.credential_id)
            & (credential_versions.c.version == credential_copies.c.version),
        )
        .where(
            credential_copies.c.served.is_(True),
            credential_copies.c.status_list.is_(None),
            credential_versions.c.version_state == "current",
        )
        .order_by(credential_copies.c.id)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=credential_copies, skip_locked=True)
    return [
        Unstatused(str(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]))
        for r in connection.execute(query)
    ]


@dataclass(frozen=True)
class Standing:
    """What the public page and API say of a charter credential, read from the registry.

    ``state`` is one of ``current``, ``lapsed`` (the current version is past its ``validUntil``
    and was not renewed), ``suspended`` or ``revoked``; ``versions`` are (number, version state,
    validFrom, validUntil) in issuance order; ``lapses`` the gaps a renewal after a lapse left.
    """

    credential_id: str
    url: str
    state: str
    state_since: datetime
    public_reason: str | None
    awarded_at: datetime
    versions: tuple[tuple[int, str, datetime, datetime], ...]
    lapses: tuple[tuple[datetime, datetime], ...]

    @property
    def current(self) -> tuple[int, str, datetime, datetime]:
        """The current version."""
        return next(v for v in self.versions if v[1] == "current")

    def version_of(self, valid_from: datetime | None) -> str:
        """``current`` or ``superseded``: the state of the version whose validFrom this is
        (a document whose validFrom matches no version is taken for the current one)."""
        for _, state, start, _ in self.versions:
            if valid_from is not None and abs((start - valid_from).total_seconds()) < 1:
                return state
        return "current"


def standing(connection: Connection, wanted: str, *, now: datetime) -> Standing | None:
    """The standing of the charter credential with this uuid or URL, or None when there is none."""
    text = wanted.strip().rstrip("/")
    column = charter_credentials.c.url if "/" in text else charter_credentials.c.id
    row = connection.execute(
        select(
            charter_credentials.c.id,
            charter_credentials.c.url,
            charter_credentials.c.state,
            charter_credentials.c.state_since,
            charter_credentials.c.public_reason,
            charter_credentials.c.awarded_at,
        ).where(column == text)
    ).first()
    if row is None:
        return None
    rows = connection.execute(
        select(
            credential_versions.c.version,
            credential_versions.c.version_state,
            credential_versions.c.valid_from,
            credential_versions.c.valid_until,
        )
        .where(credential_versions.c.credential_id == row.id)
        .order_by(credential_versions.c.version)
    ).all()
    versions = tuple((int(n), str(s), _utc(f), _utc(u)) for n, s, f, u in rows)
    if not versions or not any(v[1] == "current" for v in versions):
        return None
    lapses = tuple(
        (before[3], after[2]) for before, after in itertools.pairwise(versions) if after[2] > before[3]
    )
    state, since = str(row.state), _utc(row.state_since)
    current_until = next(v[3] for v in versions if v[1] == "current")
    if state == "current" and current_until < now:
        state, since = "lapsed", current_until
    return Standing(
        str(row.id),
        str(row.url),
        state,
        since,
        None if row.public_reason is None else str(row.public_reason),
        _utc(row.awarded_at),
        versions,
        lapses,
    )
