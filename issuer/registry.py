"""The registry: who holds which credential, from which exam result, job and key.

SQLite in the instance directory by default; PostgreSQL (``postgresql+psycopg://…``) for
deployments that outgrow one machine. Migrations run when the registry is opened.

Exactly-once issuance rests on one rule: a credential row and its result's ``issued`` status
are written in the same transaction that claimed the result. A job killed at any point
leaves its open transaction to roll back, so the result is still pending and a re-run
issues it; a crash can never leave a result issued twice or a credential half-written.
Concurrent jobs claim disjoint results: PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``,
SQLite by serialising writers (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, tuple_, update
from sqlalchemy.engine import make_url

from caiep.errors import ConfigurationError, InputError
from caiep.issuer import audit
from caiep.issuer.tables import audit_log, credentials, exam_results, holders, job_items, jobs

_CHUNK = 500


def charter_number(holder_id: int) -> str:
    """A holder's charter number: the same for every credential and renewal they hold."""
    return f"CAIEP-{holder_id:06d}"


@dataclass(frozen=True)
class PendingResult:
    """A passing result that has no credential yet, with what its credential states."""

    result_id: int
    holder_id: int
    name: str
    email: str
    exam_date: date
    score: str | None
    exam_version: str
    pathway: str


@dataclass(frozen=True)
class IssuedCredential:
    """A signed credential ready to be recorded (``document`` is the exact text served)."""

    credential_id: str
    url: str
    holder_id: int
    result_id: int | None
    format: str
    document: str
    valid_from: datetime
    valid_until: datetime
    key_id: str

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.document.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ImportSummary:
    inserted: int
    passes: int
    fails: int
    duplicates: int
    new_holders: int


@dataclass(frozen=True)
class CredentialRecord:
    credential_id: str
    url: str
    holder_email: str
    holder_name: str
    charter_number: str
    format: str
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    key_id: str
    job_id: str | None
    result_id: int | None
    sha256: str


class Registry:
    """An opened registry. Use :func:`open_registry`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE, one writer at a time)."""
        with self.engine.execution_options(caiep_immediate=True).begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    # --- holders and results -----------------------------------------------------------

    def holder_ids(
        self, connection: Connection, people: Sequence[tuple[str, str]], *, now: datetime
    ) -> dict[str, int]:
        """Ids of holders by normalised e-mail, creating the missing ones (name as given first)."""
        emails = sorted({email for email, _ in people})
        known = dict(
            connection.execute(select(holders.c.email, holders.c.id).where(holders.c.email.in_(emails))).all()
        )
        names: dict[str, str] = {}
        for email, name in people:
            names.setdefault(email, name)  # the first name given, as the docstring says
        missing = [e for e in emails if e not in known]
        if missing:
            connection.execute(
                insert(holders), [{"email": e, "name": names[e], "created_at": now} for e in missing]
            )
            known.update(
                connection.execute(
                    select(holders.c.email, holders.c.id).where(holders.c.email.in_(missing))
                ).all()
            )
        return known

    def import_results(
        self, results: Iterable[Any], *, source: str, source_sha256: str, now: datetime
    ) -> ImportSummary:
        """Store exam results in one transaction: all of them, or nothing.

        ``results`` are ``issuer.results.ExamResult``. An exam already stored (same candidate,
        exam version and date) is a duplicate: counted, never stored twice. Fails are kept
        for the record with status ``not_eligible``; passes wait as ``pending``.
        """
        inserted = passes = fails = duplicates = new_holders = 0
        with self.write() as connection:
            if self.dialect == "postgresql":
                # The import is one transaction, so the planner's statistics still describe the
                # tables as they were before it: without this it scans the growing tables for
                # every chunk (quadratic). Every lookup here is by a unique key.
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            before = connection.execute(select(func.count()).select_from(holders)).scalar_one()
            chunk: list[Any] = []
            for item in results:
                chunk.append(item)
                if len(chunk) >= _CHUNK:
                    counts = self._import_chunk(connection, chunk, source, now)
                    inserted, passes, fails, duplicates = (
                        a + b for a, b in zip((inserted, passes, fails, duplicates), counts, strict=True)
                    )
                    chunk = []
            if chunk:
                counts = self._import_chunk(connection, chunk, source, now)
                inserted, passes, fails, duplicates = (
                    a + b for a, b in zip((inserted, passes, fails, duplicates), counts, strict=True)
                )
            new_holders = connection.execute(select(func.count()).select_from(holders)).scalar_one() - before
            summary = ImportSummary(inserted, passes, fails, duplicates, new_holders)
            audit.append(
                connection,
                [audit.AuditEntry("results.imported", source, {**summary.__dict__, "sha256": source_sha256})],
                now=now,
            )
        return summary

    def _import_chunk(
        self, connection: Connection, chunk: list[Any], source: str, now: datetime
    ) -> tuple[int, int, int, int]:
        keys = [(r.candidate_id, r.exam_version, r.exam_date) for r in chunk]
        existing: set[tuple[Any, ...]] = set(
            tuple(row)
            for row in connection.execute(
                select(
                    exam_results.c.candidate_id, exam_results.c.exam_version, exam_results.c.exam_date
                ).where(
                    tuple_(
                        exam_results.c.candidate_id, exam_results.c.exam_version, exam_results.c.exam_date
                    ).in_(keys)
                )
            ).all()
        )
        fresh = []
        for r in chunk:  # first of each exam in the chunk, and not already stored
            key = (r.candidate_id, r.exam_version, r.exam_date)
            if key not in existing:
                existing.add(key)
                fresh.append(r)
        if not fresh:
            return 0, 0, 0, len(chunk)
        ids = self.holder_ids(connection, [(r.email, r.full_name) for r in fresh], now=now)
        connection.execute(
            insert(exam_results),
            [
                {
                    "candidate_id": r.candidate_id,
                    "exam_version": r.exam_version,
                    "exam_date": r.exam_date,
                    "holder_id": ids[r.email],
                    "registered_on": r.registered_on,
                    "result": r.result,
                    "score": r.score,
                    "pathway": r.pathway,
                    "status": "pending" if r.result == "pass" else "not_eligible",
                    "source": f"{source}:{r.line}",
                    "imported_at": now,
                }
                for r in fresh
            ],
        )
        passes = sum(r.result == "pass" for r in fresh)
        return len(fresh), passes, len(fresh) - passes, len(chunk) - len(fresh)

    # --- signing jobs ------------------------------------------------------------------

    def start_job(self, job_id: str, *, workers: int, now: datetime) -> None:
        with self.write() as connection:
            connection.execute(
                insert(jobs),
                {
                    "id": job_id,
                    "kind": "signing",
                    "started_at": now,
                    "status": "running",
                    "workers": workers,
                    "issued": 0,
                    "failed": 0,
                },
            )
            audit.append(connection, [audit.AuditEntry("job.started", job_id, {"workers": workers})], now=now)

    def finish_job(
        self, job_id: str, *, status: str, issued: int, failed: int, report: dict[str, Any], now: datetime
    ) -> str:
        """Close a job and store its report with the audit head hash after its last entry."""
        with self.write() as connection:
            head = audit.append(
                connection,
                [
                    audit.AuditEntry(
                        "job.finished", job_id, {"status": status, "issued": issued, "failed": failed}
                    )
                ],
                now=now,
            )
            connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(
                    finished_at=now,
                    status=status,
                    issued=issued,
                    failed=failed,
                    report=json.dumps({**report, "auditHead": head}),
                )
            )
            return head

    def claim_pending(self, connection: Connection, limit: int) -> list[PendingResult]:
        """Lock up to ``limit`` pending passes for this transaction (skipping ones others hold)."""
        query = (
            select(
                exam_results.c.id,
                exam_results.c.holder_id,
                holders.c.name,
                holders.c.email,
                exam_results.c.exam_date,
                exam_results.c.score,
                exam_results.c.exam_version,
                exam_results.c.pathway,
            )
            .join(holders, holders.c.id == exam_results.c.holder_id)
            .where(exam_results.c.status == "pending")
            .order_by(exam_results.c.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=exam_results)
        return [PendingResult(*row) for row in connection.execute(query).all()]

    def retry_failed(self, *, now: datetime) -> int:
        """Put results that failed to sign back in the queue; how many."""
        with self.write() as connection:
            count = connection.execute(
                update(exam_results).where(exam_results.c.status == "failed").values(status="pending")
            ).rowcount
            audit.append(
                connection, [audit.AuditEntry("results.retried", "failed", {"count": count})], now=now
            )
        return int(count)

    def count_pending(self) -> int:
        with self.read() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(exam_results).where(exam_results.c.status == "pending")
                ).scalar_one()
            )

    def record_batch(
        self,
        connection: Connection,
        *,
        job_id: str | None,
        issued: Sequence[IssuedCredential],
        failed: Sequence[tuple[int, str]],
        now: datetime,
    ) -> None:
        """Store a batch's credentials, job items, result statuses and audit entries."""
        if issued:
            self._insert_credentials(connection, issued, job_id=job_id, now=now)
            connection.execute(
                update(exam_results)
                .where(exam_results.c.id.in_([c.result_id for c in issued if c.result_id is not None]))
                .values(status="issued")
            )
        if failed:
            # Kept out of the pending queue so a job does not retry them forever; the reason
            # is in job_items, and `caiep results retry` puts them back.
            connection.execute(
                update(exam_results)
                .where(exam_results.c.id.in_([rid for rid, _ in failed]))
                .values(status="failed")
            )
        if job_id is not None and failed:
            # Issued items are the credential rows themselves (they carry job and result ids);
            # job_items keeps why the others failed.
            connection.execute(
                insert(job_items),
                [
                    {
                        "job_id": job_id,
                        "result_id": rid,
                        "outcome": "failed",
                        "credential_id": None,
                        "error": error,
                    }
                    for rid, error in failed
                ],
            )

    def _insert_credentials(
        self, connection: Connection, issued: Sequence[IssuedCredential], *, job_id: str | None, now: datetime
    ) -> None:
        rows = [
            {
                "id": c.credential_id,
                "url": c.url,
                "holder_id": c.holder_id,
                "result_id": c.result_id,
                "job_id": job_id,
                "format": c.format,
                "document": c.document,
                "sha256": c.sha256,
                "valid_from": c.valid_from,
                "valid_until": c.valid_until,
                "key_id": c.key_id,
                "issued_at": now,
            }
            for c in issued
        ]
        if self.dialect == "postgresql" and len(rows) > 1:
            _copy_rows(connection, "credentials", rows)
        else:
            connection.execute(insert(credentials), rows)
        # One entry per recorded chunk: each credential's URL and the SHA-256 of its exact
        # document, so `audit verify` can prove every stored document is the one issued.
        subject = job_id or issued[0].url
        details = {
            "job": job_id,
            "credentials": [
                [
                    c.url,
                    c.sha256,
                    charter_number(c.holder_id),
                    c.result_id,
                    c.key_id,
                    c.valid_until.astimezone(UTC).isoformat(),
                ]
                for c in issued
            ],
        }
        audit.append(connection, [audit.AuditEntry("credentials.issued", subject, details)], now=now)

    # --- queries -------------------------------------------------------------------------

    def credentials(
        self,
        *,
        holder_email: str | None = None,
        valid_until_before: datetime | None = None,
        valid_at: datetime | None = None,
    ) -> Iterator[CredentialRecord]:
        """Credentials, newest first, optionally one holder's or those ending before a date."""
        query = _record_query().order_by(credentials.c.issued_at.desc(), credentials.c.id)
        if holder_email is not None:
            query = query.where(holders.c.email == holder_email)
        if valid_until_before is not None:
            query = query.where(credentials.c.valid_until <= valid_until_before)
        if valid_at is not None:
            query = query.where(credentials.c.valid_until >= valid_at)
        with self.read() as connection:
            for row in connection.execute(query):
                yield _record(row)

    def credential(self, id_or_url: str) -> tuple[CredentialRecord, str]:
        """One credential by uuid or by URL, with its exact signed document."""
        wanted = id_or_url.strip().rstrip("/")
        column = credentials.c.url if "/" in wanted else credentials.c.id
        query = _record_query().add_columns(credentials.c.document).where(column == wanted)
        with self.read() as connection:
            row = connection.execute(query).first()
        if row is None:
            raise InputError(f"no credential {id_or_url!r} in this registry")
        return _record(row), str(row.document)

    def document(self, credential_id: str) -> str | None:
        """Only the exact stored document of one credential (by uuid), or None: for serving."""
        with self.read() as connection:
            found = connection.execute(
                select(credentials.c.document).where(credentials.c.id == credential_id)
            ).scalar_one_or_none()
        return None if found is None else str(found)

    def verify_audit(self) -> tuple[int, audit.ChainBreak | None]:
        """The hash chain, then every stored credential against the digest logged at issue."""
        with self.read() as connection:
            checked, broken = audit.verify_chain(connection)
            if broken is None:
                broken = self._verify_documents(connection)
            return checked, broken

    def _verify_documents(self, connection: Connection) -> audit.ChainBreak | None:
        listed = 0
        entries = select(audit_log.c.seq, audit_log.c.details).where(
            audit_log.c.action == "credentials.issued"
        )
        for seq, details in connection.execute(entries.order_by(audit_log.c.seq)).all():
            recorded = {url: digest for url, digest, *_ in json.loads(details)["credentials"]}
            listed += len(recorded)
            rows = connection.execute(
                select(credentials.c.url, credentials.c.document).where(credentials.c.url.in_(list(recorded)))
            ).all()
            stored = {url: hashlib.sha256(document.encode("utf-8")).hexdigest() for url, document in rows}
            for url, digest in recorded.items():
                if url not in stored:
                    return audit.ChainBreak(seq, f"credential {url} logged here is missing from the registry")
                if stored[url] != digest:
                    return audit.ChainBreak(seq, f"the stored document of {url} is not the one issued")
        total = connection.execute(select(func.count()).select_from(credentials)).scalar_one()
        if total != listed:
            return audit.ChainBreak(0, f"{total - listed} stored credentials were never logged as issued")
        return None

    def append_audit(self, entries: Sequence[audit.AuditEntry], *, now: datetime) -> str:
        with self.write() as connection:
            return audit.append(connection, entries, now=now)


def _copy_rows(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL bulk insert with COPY, inside the same transaction (several times faster
    than INSERT for thousands of 4 KB documents)."""
    columns = list(rows[0])
    raw: Any = connection.connection.dbapi_connection  # psycopg.Connection: COPY is psycopg's own API
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _record_query() -> Any:
    return select(
        credentials.c.id,
        credentials.c.url,
        holders.c.email,
        holders.c.name,
        credentials.c.holder_id,
        credentials.c.format,
        credentials.c.valid_from,
        credentials.c.valid_until,
        credentials.c.issued_at,
        credentials.c.key_id,
        credentials.c.job_id,
        credentials.c.result_id,
        credentials.c.sha256,
    ).join(holders, holders.c.id == credentials.c.holder_id)


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
    )


def open_registry(url: str) -> Registry:
    """Connect, bring the schema up to date (Alembic), and return the registry."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql+psycopg"
        )
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 60})
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as exc:
        engine.dispose()
        raise ConfigurationError(
            f"cannot open the registry at {parsed.render_as_string(hide_password=True)}: {exc}"
        ) from exc
    return Registry(engine)


def upgrade_database(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (Alembic ``upgrade head``)."""
    open_registry(url).dispose()  # opening runs the upgrade


def schema_revision(registry: Registry) -> str | None:
    """The Alembic revision the registry's database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with registry.read() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and transactions we start ourselves (pysqlite's are too late)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("caiep_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
