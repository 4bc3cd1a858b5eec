"""The charter lifecycle's building blocks: finding a charter credential, its copies in
circulation, its state, and adding a version or a copy.

Every function runs inside the caller's transaction (``registry.write()``), so a command that
changes a charter (revoke, suspend, reinstate, renew, status migrate) composes them and either
all of it happens or none. The invariants the tables leave to this module: exactly one version
of a charter credential is ``current`` (:func:`add_version` supersedes the previous one), and
exactly one copy is ``served`` (a served copy stored by :mod:`caiep.issuer.copies` takes it
over; :mod:`caiep.issuer.versions` signs and stores a version's pair). Bits are
set with :func:`caiep.issuer.statuslists.set_bits` on the entries :func:`copies_in_circulation`
returns; the list is re-signed there, under its row lock.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, update

from caiep.errors import InputError
from caiep.issuer.copies import NewCopy, StoredCopy, add_copies, copies_in_circulation, copies_without_status
from caiep.issuer.records import charter_number
from caiep.issuer.tables import charter_credentials, credential_versions

__all__ = [  # the copies' functions are re-exported: the lifecycle commands compose them with these
    "STATES",
    "Charter",
    "NewCopy",
    "Standing",
    "StoredCopy",
    "add_copies",
    "add_version",
    "awarded_at",
    "charters_of",
    "copies_in_circulation",
    "copies_without_status",
    "find_charter",
    "set_state",
    "standing",
]

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
    the previous current one becomes ``superseded``. Returns its number. Use
    :func:`caiep.issuer.versions.new_version`, which adds it with its signed pair."""
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
