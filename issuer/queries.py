"""Reading credentials back: listing them as a stream, one with its document, the document alone.

A listing is read as it is consumed: PostgreSQL through a server-side cursor, SQLite a batch of
rows at a time, so memory stays the same whether the registry holds a hundred credentials or
millions. Listings are newest first, ties broken by the credential's uuid (descending), and a
page starts after a given credential (keyset paging): the pages of a listing neither repeat nor
skip a credential, whatever is issued meanwhile (new credentials are newer than every page).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, Select, select, tuple_

from caiep.errors import InputError
from caiep.issuer.records import CredentialRecord, charter_number
from caiep.issuer.tables import charter_credentials, credential_copies, credential_versions, holders

credentials = charter_credentials  # listings order and page by the charter credential

STREAM_BATCH = 1000


class CredentialStream(Iterator[CredentialRecord], AbstractContextManager["CredentialStream"]):
    """Credentials read from an open connection as they are iterated.

    The connection opens at the first item and closes when the stream is exhausted, closed, or
    left (``with registry.credentials() as records: …``). Iterating it in full, as ``list()``
    does, needs no ``with``; a loop that may stop early should use one, so that the connection
    (and PostgreSQL's cursor) is released at once rather than when the stream is collected.
    """

    def __init__(self, engine: Engine, query: Select[Any]) -> None:
        self._rows = _stream(engine, query)

    def __next__(self) -> CredentialRecord:
        return next(self._rows)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection now; the stream yields nothing more."""
        self._rows.close()


@dataclass(frozen=True)
class CredentialFilter:
    """Which credentials a listing returns (each field None: no condition), and which page."""

    holder_email: str | None = None
    valid_until_before: datetime | None = None
    valid_at: datetime | None = None
    limit: int | None = None
    after: str | None = None
    state: str | None = None  # current | lapsed | suspended | revoked, judged at ``now``
    now: datetime | None = None


def list_credentials(engine: Engine, wanted: CredentialFilter) -> CredentialStream:
    """Credentials, newest first, filtered; at most ``limit``, starting after credential ``after``.

    ``after`` is the uuid of the last credential of the previous page; an unknown one is an
    :class:`InputError`, raised here rather than on the first item.
    """
    if wanted.limit is not None and wanted.limit < 0:
        raise InputError(f"the number of credentials to list cannot be negative: {wanted.limit}")
    query = _record_query().order_by(credentials.c.issued_at.desc(), credentials.c.id.desc())
    if wanted.holder_email is not None:
        query = query.where(holders.c.email == wanted.holder_email)
    if wanted.valid_until_before is not None:
        query = query.where(credential_versions.c.valid_until <= wanted.valid_until_before)
    if wanted.valid_at is not None:
        query = query.where(credential_versions.c.valid_until >= wanted.valid_at)
    if wanted.state is not None:
        query = query.where(*_state_condition(wanted.state, wanted.now or datetime.now(UTC)))
    if wanted.after is not None:
        with engine.connect() as connection:
            anchor = connection.execute(
                select(credentials.c.issued_at, credentials.c.id).where(
                    credentials.c.id == wanted.after.strip()
                )
            ).first()
        if anchor is None:
            raise InputError(f"no credential {wanted.after!r} in this registry to list after")
        query = query.where(tuple_(credentials.c.issued_at, credentials.c.id) < tuple(anchor))
    if wanted.limit is not None:
        query = query.limit(wanted.limit)
    return CredentialStream(engine, query)


def _state_condition(state: str, now: datetime) -> list[Any]:
    """The conditions of one charter state: lapsed is a current charter past its validUntil."""
    if state == "current":
        return [credentials.c.state == "current", credential_versions.c.valid_until >= now]
    if state == "lapsed":
        return [credentials.c.state == "current", credential_versions.c.valid_until < now]
    if state in ("suspended", "revoked"):
        return [credentials.c.state == state]
    raise InputError(f"unknown charter state {state!r}; expected current, lapsed, suspended or revoked")


def find_credential(connection: Connection, id_or_url: str) -> tuple[CredentialRecord, str]:
    """One credential by uuid or by URL, with its exact signed document; :class:`InputError` if none."""
    wanted = id_or_url.strip().rstrip("/")
    column = credentials.c.url if "/" in wanted else credentials.c.id
    query = _record_query().add_columns(credential_copies.c.document).where(column == wanted)
    row = connection.execute(query).first()
    if row is None:
        raise InputError(f"no credential {id_or_url!r} in this registry")
    return _record(row), str(row.document)


def find_document(connection: Connection, credential_id: str) -> str | None:
    """Only the exact stored document the hosted URL serves (by uuid), or None: for serving.

    That is the served copy of the charter credential's current version.
    """
    found = connection.execute(
        select(credential_copies.c.document).where(
            credential_copies.c.credential_id == credential_id, credential_copies.c.served.is_(True)
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def served_documents(connection: Connection) -> Iterator[tuple[str, str]]:
    """(uuid, exact document) of each charter credential's served copy, in uuid order."""
    rows = connection.execute(
        select(credential_copies.c.credential_id, credential_copies.c.document)
        .where(credential_copies.c.served.is_(True))
        .order_by(credential_copies.c.credential_id)
    )
    for credential_id, document in rows:
        yield str(credential_id), str(document)


def _stream(engine: Engine, query: Select[Any]) -> Generator[CredentialRecord, None, None]:
    with engine.connect() as connection:
        options = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH)
        for row in options.execute(query):
            yield _record(row)


def _record_query() -> Select[Any]:
    """Each charter credential with its current version and the copy its URL serves."""
    return (
        select(
            credentials.c.id,
            credentials.c.url,
            holders.c.email,
            holders.c.name,
            credentials.c.holder_id,
            credential_copies.c.format,
            credential_versions.c.valid_from,
            credential_versions.c.valid_until,
            credentials.c.issued_at,
            credential_copies.c.key_id,
            credential_versions.c.job_id,
            credentials.c.result_id,
            credential_copies.c.sha256,
            credentials.c.state,
            credentials.c.state_since,
            credential_versions.c.version,
            credential_copies.c.status_list,
            credential_copies.c.status_index,
        )
        .join(holders, holders.c.id == credentials.c.holder_id)
        .join(
            credential_versions,
            (credential_versions.c.credential_id == credentials.c.id)
            & (credential_versions.c.version_state == "current"),
        )
        .join(
            credential_copies,
            (credential_copies.c.credential_id == credentials.c.id) & credential_copies.c.served.is_(True),
        )
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _record(row: Any) -> CredentialRecord:
    return CredentialRecord(
        credential_id=row.id,
        url=row.url,
        holder_email=row.email,
        holder_name=row.name,
        charter_number=charter_number(row.holder_id),
        format=row.format,
        valid_from=_utc(row.valid_from),
        valid_until=_utc(row.valid_until),
        issued_at=_utc(row.issued_at),
        key_id=row.key_id,
        job_id=row.job_id,
        result_id=row.result_id,
        sha256=row.sha256,
        state=row.state,
        state_since=_utc(row.state_since),
        version=row.version,
        status_list=row.status_list,
        status_index=row.status_index,
    )
