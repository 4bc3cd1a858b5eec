"""Signing jobs in the registry: starting and finishing them, claiming results, recording credentials.

Exactly-once issuance rests on one rule: a credential row and its result's ``issued`` status
are written in the same transaction that claimed the result (:func:`claim_pending`, then
:func:`record_batch`, on one connection). A job killed at any point leaves its open transaction
to roll back, so the result is still pending and a re-run issues it; a crash can never leave a
result issued twice or a credential half-written. Concurrent jobs claim disjoint results:
PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, SQLite by serialising writers
(``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from caiep.issuer import audit, jobstatus, outbox
from caiep.issuer.database import insert_rows
from caiep.issuer.records import IssuedCredential, PendingResult, charter_number
from caiep.issuer.tables import (
    charter_credentials,
    credential_copies,
    credential_versions,
    exam_results,
    holders,
    job_items,
    jobs,
)


def start_job(
    connection: Connection,
    job_id: str,
    *,
    workers: int,
    now: datetime,
    runner: Mapping[str, Any] | None = None,
) -> None:
    """Record a signing job as running, with the process that runs it, and log its start.

    ``runner`` is that process's identity (default: this process, :func:`jobstatus.this_process`),
    kept in the report column until the job ends, so that a listing can tell a job whose
    process died from one still at work.
    """
    runner = jobstatus.this_process() if runner is None else runner
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
            "report": json.dumps({"runner": dict(runner)}),
        },
    )
    audit.append(connection, [audit.AuditEntry("job.started", job_id, {"workers": workers})], now=now)


def finish_job(
    connection: Connection,
    job_id: str,
    *,
    status: str,
    issued: int,
    failed: int,
    report: dict[str, Any],
    now: datetime,
) -> str:
    """Close a job and store its report with the audit head hash after its last entry."""
    head = audit.append(
        connection,
        [audit.AuditEntry("job.finished", job_id, {"status": status, "issued": issued, "failed": failed})],
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


def claim_pending(connection: Connection, limit: int) -> list[PendingResult]:
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
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=exam_results)
    return [PendingResult(*row) for row in connection.execute(query).all()]


def retry_failed(connection: Connection, *, now: datetime) -> int:
    """Put results that failed to sign back in the queue, and log it; how many."""
    count = connection.execute(
        update(exam_results).where(exam_results.c.status == "failed").values(status="pending")
    ).rowcount
    audit.append(connection, [audit.AuditEntry("results.retried", "failed", {"count": count})], now=now)
    return int(count)


def count_pending(connection: Connection) -> int:
    """How many passes wait for a credential."""
    query = select(func.count()).select_from(exam_results).where(exam_results.c.status == "pending")
    return int(connection.execute(query).scalar_one())


def record_batch(
    connection: Connection,
    *,
    job_id: str | None,
    issued: Sequence[IssuedCredential],
    failed: Sequence[tuple[int, str]],
    now: datetime,
) -> None:
    """Store a batch's credentials, job items, result statuses and audit entries, and enqueue
    each holder's award message (one bulk insert: README "How a holder receives the charter")."""
    if issued:
        _insert_credentials(connection, issued, job_id=job_id, now=now)
        outbox.enqueue_many(
            connection, [outbox.Event("award", c.holder_id, c.credential_id, 1) for c in issued], now=now
        )
        connection.execute(
            update(exam_results)
            .where(exam_results.c.id.in_([c.result_id for c in issued if c.result_id is not None]))
            .values(status="issued")
        )
    if failed:
        # Kept out of the pending queue so a job does not retry them forever; the reason is in
        # job_items, and `caiep results retry` puts them back.
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
    connection: Connection, issued: Sequence[IssuedCredential], *, job_id: str | None, now: datetime
) -> None:
    """Each credential as a charter credential, its first version (the award) and its pair: the
    served copy and the other form.

    Three bulk inserts per chunk, whatever its size (COPY on PostgreSQL).
    """
    insert_rows(
        connection,
        charter_credentials,
        [
            {
                "id": c.credential_id,
                "url": c.url,
                "holder_id": c.holder_id,
                "result_id": c.result_id,
                "state": "current",
                "state_since": now,
                "awarded_at": c.valid_from,
                "issued_at": now,
            }
            for c in issued
        ],
    )
    insert_rows(
        connection,
        credential_versions,
        [
            {
                "credential_id": c.credential_id,
                "version": 1,
                "kind": "award",
                "version_state": "current",
                "valid_from": c.valid_from,
                "valid_until": c.valid_until,
                "result_id": c.result_id,
                "job_id": job_id,
                "issued_at": now,
            }
            for c in issued
        ],
    )
    # Each version's pair: the served copy and its other form, with the same status entry.
    copies = [(c, c.format, c.document, c.sha256, True) for c in issued]
    copies += [
        (c, c.other_format, c.other_document, c.other_sha256 or "", False)
        for c in issued
        if c.other_document is not None
    ]
    insert_rows(
        connection,
        credential_copies,
        [
            {
                "credential_id": c.credential_id,
                "version": 1,
                "format": format,
                "document": document,
                "sha256": digest,
                "key_id": c.key_id,
                "status_list": c.status_list,
                "status_index": c.status_index,
                "served": served,
                "job_id": job_id,
                "issued_at": now,
            }
            for c, format, document, digest, served in copies
        ],
    )
    # One entry per recorded chunk: each copy's credential URL and the SHA-256 of its exact
    # document (a pair: two digests under one URL), so `audit verify` can prove every stored
    # document is the one issued.
    subject = job_id or issued[0].url
    details = {
        "job": job_id,
        "credentials": [
            [
                c.url,
                digest,
                charter_number(c.holder_id),
                c.result_id,
                c.key_id,
                c.valid_until.astimezone(UTC).isoformat(),
            ]
            for c, _, _, digest, _ in copies
        ],
    }
    audit.append(connection, [audit.AuditEntry("credentials.issued", subject, details)], now=now)
