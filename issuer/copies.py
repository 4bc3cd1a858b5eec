"""A version's stored copies: storing them, and finding the ones a command must reach.

A copy is one signed document of a version. Each version is issued as a pair (see
:mod:`caiep.issuer.versions`, the one place that signs and stores a pair): the ``served`` copy,
the one the hosted URL serves, and the same body in the other format (``ldp`` beside ``jwt``),
stored with ``served`` false and the SAME status list and index. A pair's two copies share one
index, so revocation sets one bit for both and a list's ``used`` counts the pair once.
Copies issued before status lists carry no entry (both null).

Every function runs inside the caller's transaction (``registry.write()``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, select, update

from caiep.issuer import audit
from caiep.issuer.records import charter_number
from caiep.issuer.statuslists import StatusEntry
from caiep.issuer.tables import charter_credentials, credential_copies, credential_versions


def copies_in_circulation(
    connection: Connection, credential_id: str, *, unexpired_at: datetime | None = None
) -> list[StatusEntry]:
    """The status entries of the charter credential's copies: of every version, or only of the
    versions still valid at ``unexpired_at`` (what a revocation must reach: a renewed charter's
    older versions too). A pair's shared entry is given once; copies issued before status lists
    carry none and are left out."""
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


@dataclass(frozen=True)
class NewCopy:
    """A copy to store with :func:`add_copies`: which version, the exact document, its status,
    and whether the hosted URL serves it from now on."""

    credential_id: str
    version: int
    url: str
    holder_id: int
    format: str
    document: str
    key_id: str
    status: StatusEntry | None
    served: bool = True


def add_copies(
    connection: Connection,
    copies: Sequence[NewCopy],
    *,
    now: datetime,
    job_id: str | None,
    subject: str | None = None,
) -> list[str]:
    """Store signed copies (one statement per table, one ``credentials.issued`` audit entry with
    each copy's SHA-256, so ``audit verify`` vouches for every one); their SHA-256s, in order.

    A ``served`` copy becomes the one its charter credential's hosted URL serves. Not for
    issuing: :mod:`caiep.issuer.versions` signs a version's pair and draws and records its
    status index in the same step, which this function leaves to its caller.
    """
    if not copies:
        return []
    from caiep.issuer.database import insert_rows  # the bulk path jobs use

    taking_over = sorted({c.credential_id for c in copies if c.served})
    if taking_over:
        connection.execute(
            update(credential_copies)
            .where(credential_copies.c.credential_id.in_(taking_over))
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
                "served": c.served,
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
    entry = audit.AuditEntry("credentials.issued", subject or job_id or copies[0].url, details)
    audit.append(connection, [entry], now=now)
    return digests


@dataclass(frozen=True)
class StoredCopy:
    """One stored copy of a version, with what signing its other form needs."""

    credential_id: str
    version: int
    url: str
    holder_id: int
    format: str
    document: str
    status: StatusEntry | None


def copies_without_status(connection: Connection, limit: int) -> list[StoredCopy]:
    """Up to ``limit`` served copies of current versions with no status entry (issued before
    status lists), oldest first: what ``status migrate`` gives a new pair with a status entry.
    The served copy only: a form signed beside it (``credentials backfill``) shares its body."""
    query = _served_copies().where(credential_copies.c.status_list.is_(None))
    query = query.order_by(credential_copies.c.id).limit(limit)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=credential_copies, skip_locked=True)
    return [_stored(row) for row in connection.execute(query)]


def same_pair(copy: Any, served: Any) -> ColumnElement[bool]:
    """The condition that ``copy`` belongs to the issued pair of ``served`` (both aliases of
    ``credential_copies``): the same charter credential and version, with the same status entry
    (both null for copies issued before status lists). The one definition of a version's pair:
    copies bound to a wallet carry their own index and never match."""
    return and_(
        copy.c.credential_id == served.c.credential_id,
        copy.c.version == served.c.version,
        copy.c.status_list.is_not_distinct_from(served.c.status_list),
        copy.c.status_index.is_not_distinct_from(served.c.status_index),
    )


def lacking_a_form() -> Select[Any]:
    """The served copies (of current versions) stored without their other form: no copy of the
    same version in the other format with the same status entry (both null for a copy issued
    before status lists). Copies bound to a wallet carry their own index and never pair."""
    other = credential_copies.alias("other")
    paired = exists().where(same_pair(other, credential_copies), other.c.format != credential_copies.c.format)
    return _served_copies().add_columns(credential_copies.c.id).where(~paired)


def copies_lacking_a_form(
    connection: Connection, limit: int, *, after: int = 0
) -> list[tuple[int, StoredCopy]]:
    """Up to ``limit`` of :func:`lacking_a_form`, by copy id after ``after``: (copy id, copy)."""
    query = (
        lacking_a_form().where(credential_copies.c.id > after).order_by(credential_copies.c.id).limit(limit)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=credential_copies, skip_locked=True)
    return [(int(row.id), _stored(row)) for row in connection.execute(query)]


def _stored(row: Any) -> StoredCopy:
    status = None if row.status_list is None else StatusEntry(int(row.status_list), int(row.status_index))
    return StoredCopy(
        str(row.credential_id),
        int(row.version),
        str(row.url),
        int(row.holder_id),
        str(row.format),
        str(row.document),
        status,
    )


def _served_copies() -> Select[Any]:
    """Each charter credential's served copy, of its current version, with its URL and holder."""
    return (
        select(
            credential_copies.c.credential_id,
            credential_copies.c.version,
            charter_credentials.c.url,
            charter_credentials.c.holder_id,
            credential_copies.c.format,
            credential_copies.c.document,
            credential_copies.c.status_list,
            credential_copies.c.status_index,
        )
        .join(charter_credentials, charter_credentials.c.id == credential_copies.c.credential_id)
        .join(
            credential_versions,
            (credential_versions.c.credential_id == credential_copies.c.credential_id)
            & (credential_versions.c.version == credential_copies.c.version),
        )
        .where(credential_copies.c.served.is_(True), credential_versions.c.version_state == "current")
    )
