"""The registry: who holds which credential, from which exam result, job and key.

Open it with :func:`open_registry`, best as ``with open_registry(url) as registry: …``, which
disposes of its connections on leaving. Opening checks that the database is at this version's
schema revision and refuses it otherwise; :func:`upgrade_database` creates or migrates the
schema (``caiep init``, ``caiep db upgrade``).

The work is done in modules by concern, which this one puts behind one object and re-exports:
:mod:`~caiep.issuer.database` (connecting, the revision check, upgrades),
:mod:`~caiep.issuer.importing` (holders and imports), :mod:`~caiep.issuer.recording` (signing
jobs: claiming results and recording credentials exactly once), :mod:`~caiep.issuer.queries`
(reading credentials back) and :mod:`~caiep.issuer.records` (the records handed out).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine

from caiep.issuer import audit, exports, importing, jobstatus, lifecycle, queries, recording, statuslists
from caiep.issuer.database import check_revision, connect, upgrade_database
from caiep.issuer.jobstatus import JobRecord
from caiep.issuer.queries import CredentialStream
from caiep.issuer.records import (
    CredentialRecord,
    ImportSummary,
    IssuedCredential,
    PendingResult,
    charter_number,
)

__all__ = [
    "CredentialRecord",
    "CredentialStream",
    "ImportSummary",
    "IssuedCredential",
    "JobRecord",
    "PendingResult",
    "Registry",
    "charter_number",
    "open_registry",
    "upgrade_database",
]


class Registry:
    """An opened registry: transactions, and the operations of the CLI, jobs and web pages.

    Use :func:`open_registry`. Methods that take a ``connection`` run inside the caller's
    transaction (from :meth:`write`); the others open and commit their own.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE, one writer at a time); commits on success."""
        with self.engine.execution_options(caiep_immediate=True).begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading; closed, and its transaction rolled back, on leaving."""
        with self.engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection; the registry can still be used (it reconnects)."""
        self.engine.dispose()

    # --- holders and results -----------------------------------------------------------

    def holder_ids(
        self, connection: Connection, people: Sequence[tuple[str, str]], *, now: datetime
    ) -> dict[str, int]:
        """Ids of holders by normalised e-mail, creating the missing ones (name as given first)."""
        return importing.holder_ids(connection, people, now=now)

    def import_results(
        self, results: Iterable[Any], *, source: str, source_sha256: str, now: datetime
    ) -> ImportSummary:
        """Store exam results in one transaction: all of them, or nothing.

        ``results`` are ``issuer.results.ExamResult``. An exam already stored (same candidate,
        exam version and date) is a duplicate: counted, never stored twice. Fails are kept
        for the record with status ``not_eligible``; passes wait as ``pending``.
        """
        with self.write() as connection:
            return importing.import_results(
                connection, results, source=source, source_sha256=source_sha256, now=now
            )

    # --- signing jobs ------------------------------------------------------------------

    def start_job(self, job_id: str, *, workers: int, now: datetime) -> None:
        """Record a signing job as running, and log its start (its own transaction)."""
        with self.write() as connection:
            recording.start_job(connection, job_id, workers=workers, now=now)

    def finish_job(
        self, job_id: str, *, status: str, issued: int, failed: int, report: dict[str, Any], now: datetime
    ) -> str:
        """Close a job and store its report with the audit head hash after its last entry."""
        with self.write() as connection:
            return recording.finish_job(
                connection, job_id, status=status, issued=issued, failed=failed, report=report, now=now
            )

    def claim_pending(self, connection: Connection, limit: int) -> list[PendingResult]:
        """Lock up to ``limit`` pending passes for this transaction (skipping ones others hold)."""
        return recording.claim_pending(connection, limit)

    def retry_failed(self, *, now: datetime) -> int:
        """Put results that failed to sign back in the queue; how many."""
        with self.write() as connection:
            return recording.retry_failed(connection, now=now)

    def jobs(self) -> list[JobRecord]:
        """Every signing job, newest first; a ``running`` job whose process died is ``interrupted``."""
        with self.read() as connection:
            return jobstatus.list_jobs(connection)

    def count_pending(self) -> int:
        """How many passes wait for a credential."""
        with self.read() as connection:
            return recording.count_pending(connection)

    # --- queries -------------------------------------------------------------------------

    def credentials(
        self,
        *,
        holder_email: str | None = None,
        valid_until_before: datetime | None = None,
        valid_at: datetime | None = None,
        limit: int | None = None,
        after: str | None = None,
        state: str | None = None,
        now: datetime | None = None,
    ) -> CredentialStream:
        """Credentials, newest first, read as they are iterated (constant memory).

        Optionally one holder's, those ending before a date, those still valid at a date; at
        most ``limit`` of them, starting after the credential whose uuid is ``after`` (the last
        of the previous page); only those in charter ``state`` at ``now``. Use ``with`` when the
        loop may stop early; see :class:`~caiep.issuer.queries.CredentialStream`.
        """
        wanted = queries.CredentialFilter(
            holder_email, valid_until_before, valid_at, limit, after, state, now
        )
        return queries.list_credentials(self.engine, wanted)

    def credential(self, id_or_url: str) -> tuple[CredentialRecord, str]:
        """One credential by uuid or by URL, with its exact signed document."""
        with self.read() as connection:
            return queries.find_credential(connection, id_or_url)

    def document(self, credential_id: str) -> str | None:
        """Only the exact stored document of one credential (by uuid), or None: for serving."""
        with self.read() as connection:
            return queries.find_document(connection, credential_id)

    def standing(self, credential: str, *, now: datetime) -> lifecycle.Standing | None:
        """The charter state, versions and first award of a charter credential (uuid or URL), or None.

        Read afresh on every call (no cache): a state changed by another process shows at once.
        """
        with self.read() as connection:
            return lifecycle.standing(connection, credential, now=now)

    def issued_copies(self, wanted: str, *, now: datetime) -> exports.IssuedCopies:
        """A charter credential (URL, uuid or charter number) with its current version's stored
        forms, for exports; :class:`~caiep.errors.InputError` when there is none."""
        with self.read() as connection:
            return exports.issued_copies(connection, wanted, now=now)

    def issued_forms(self, credential_id: str) -> frozenset[str]:
        """The forms (``ldp``, ``jwt``) the current version of a charter credential is stored in."""
        with self.read() as connection:
            return exports.issued_forms(connection, credential_id)

    def served_documents(self) -> Iterator[tuple[str, str]]:
        """(uuid, exact document) of every charter credential's served copy, for a static copy."""
        with self.read() as connection:
            yield from queries.served_documents(connection)

    # --- status lists ----------------------------------------------------------------------

    def status_list(self, number: int) -> str | None:
        """The exact signed ``BitstringStatusListCredential`` of list ``number``, or None: for serving.

        Read afresh on every call (no cache): a change made by another process shows at once.
        """
        with self.read() as connection:
            return statuslists.signed_list(connection, number)

    def status_lists(self, base_url: str) -> list[statuslists.ListSummary]:
        """Every status list: size, indexes taken, bits set, signed when, valid until."""
        with self.read() as connection:
            return statuslists.summaries(connection, base_url)

    def signed_status_lists(self) -> list[tuple[int, str, datetime | None]]:
        """(number, exact signed list, valid until) of every list signed so far, for a static copy."""
        with self.read() as connection:
            found = []
            for summary in statuslists.summaries(connection, "https://unused.invalid"):
                document = statuslists.signed_list(connection, summary.number)
                if document is not None:
                    found.append((summary.number, document, summary.valid_until))
            return found

    def expiring_status_lists(self, before: datetime) -> list[tuple[int, datetime]]:
        """Signed lists whose validUntil comes before ``before``: (number, valid until)."""
        with self.read() as connection:
            return statuslists.expiring(connection, before=before)

    def republish_status_lists(
        self, signer: statuslists.ListSigner, *, now: datetime, older_than: timedelta
    ) -> list[int]:
        """Re-sign every list signed before ``now - older_than``, each under its row lock; their numbers."""
        with self.write() as connection:
            return statuslists.republish(connection, signer, now=now, older_than=older_than)

    # --- audit ---------------------------------------------------------------------------

    def verify_audit(self) -> tuple[int, audit.ChainBreak | None]:
        """The hash chain, then every stored credential against the digest logged at issue."""
        with self.read() as connection:
            checked, broken = audit.verify_chain(connection)
            if broken is None:
                broken = audit.verify_documents(connection)
            if broken is None:
                broken = audit.verify_status_lists(connection)
            return checked, broken

    def append_audit(self, entries: Sequence[audit.AuditEntry], *, now: datetime) -> str:
        """Append entries to the audit log in their own transaction; the new head hash."""
        with self.write() as connection:
            return audit.append(connection, entries, now=now)


def open_registry(url: str) -> Registry:
    """Connect to the registry at ``url`` after checking its schema revision (one query).

    Raises :class:`~caiep.errors.ConfigurationError` for a URL that is not SQLite or PostgreSQL,
    a database that cannot be reached, and a schema that is not this version's: empty or
    behind (run ``caiep db upgrade``), or migrated by a newer version (upgrade caiep).
    """
    engine = connect(url)
    try:
        check_revision(engine)
    except BaseException:
        engine.dispose()
        raise
    return Registry(engine)
