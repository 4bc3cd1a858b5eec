"""Signing jobs: every pending pass becomes exactly one signed credential.

A job works in batches. Each batch is one registry transaction: claim up to ``batch_size``
pending results, sign them (in ``workers`` processes), store the credentials, job items,
result statuses and audit entries, commit. Killed at any point, a job loses at most the
batch in flight, which rolls back and stays pending for the next run; see
:mod:`issuer.registry` for why nothing can be issued twice. Memory is bounded by the batch,
whatever the number of results.

Signing runs in forked worker processes (:mod:`issuer.workers`) that inherit the decrypted
key from the parent: the key is never pickled, written or sent anywhere.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from caiep.issuer import recording, statuslists
from caiep.issuer.charter import CharterAward, normalise_email
from caiep.issuer.registry import IssuedCredential, PendingResult, Registry
from caiep.issuer.signer import Payload, Signer, SigningAttempt
from caiep.issuer.statuslists import StatusEntry
from caiep.issuer.workers import ForkedWorkers

__all__ = [
    "IssuedCredential",
    "JobReport",
    "Payload",
    "Progress",
    "Signer",
    "SigningAttempt",
    "give_status_to_earlier_copies",
    "issue_one",
    "run_signing_job",
]


def _entries(issued: list[IssuedCredential]) -> Iterator[StatusEntry]:
    for c in issued:
        if c.status_list is not None and c.status_index is not None:
            yield StatusEntry(c.status_list, c.status_index)


@dataclass
class Progress:
    """How far a job is; handed to the progress callback after every batch."""

    total: int
    done: int = 0
    issued: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Results done per second since the job started."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate; None before anything is done."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None


@dataclass(frozen=True)
class JobReport:
    """What a finished (or failed) job did: written as JSON beside the instance and in the registry."""

    job_id: str
    status: str
    workers: int
    issued: int
    failed: list[dict[str, Any]]
    remaining: int
    seconds: float
    audit_head: str

    def to_json(self) -> dict[str, Any]:
        """The report as stored and written to ``jobs/<id>.json`` (camelCase keys)."""
        rate = self.issued / self.seconds if self.seconds > 0 else None
        return {
            "job": self.job_id,
            "status": self.status,
            "workers": self.workers,
            "issued": self.issued,
            "failed": len(self.failed),
            "failures": self.failed,
            "remainingPending": self.remaining,
            "seconds": round(self.seconds, 3),
            "credentialsPerSecond": round(rate, 1) if rate else None,
            "auditHead": self.audit_head,
        }


SignStream = Callable[[list[Payload]], Iterator[list[SigningAttempt]]]
_RECORD_CHUNK = 250


def _chunks(attempts: Iterator[SigningAttempt], size: int) -> Iterator[list[SigningAttempt]]:
    chunk: list[SigningAttempt] = []
    for attempt in attempts:
        chunk.append(attempt)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sign_in_worker(signer: Signer) -> Callable[[Payload], SigningAttempt]:
    """What a worker does per result: sign, and take the credential's SHA-256 there.

    The digest travels with the credential, so the parent, which records every batch
    alone, has that much less to do.
    """

    def sign(payload: Payload) -> SigningAttempt:
        outcome = signer.sign(payload)
        if outcome[1] is not None:
            outcome[1].sha256  # noqa: B018 - computed here, cached on the credential
            outcome[1].other_sha256  # noqa: B018 - and the other form's
        return outcome

    return sign


@contextmanager
def _signing(signer: Signer, workers: int) -> Iterator[SignStream]:
    """Sign payloads, yielding the attempts in chunks as they are ready (in order).

    With workers, the caller records one chunk while the workers sign the next, so the
    database writes overlap the signing instead of following it.
    """
    if workers <= 1:
        yield lambda payloads: _chunks((signer.sign(p) for p in payloads), _RECORD_CHUNK)
        return
    pool = ForkedWorkers(_sign_in_worker(signer), workers)
    try:
        yield lambda payloads: _chunks(pool.map(payloads), _RECORD_CHUNK)
    finally:
        pool.close()


def issue_one(registry: Registry, signer: Signer, award: CharterAward, *, now: datetime) -> IssuedCredential:
    """Issue one credential outside a job (``caiep issue``) and record it with its holder.

    The holder is found (or created) by e-mail, so their charter number is the registry's. The
    copy's status index is drawn in the transaction that records it.
    """
    credential_uuid = str(uuid.uuid4())
    email = normalise_email(award.email)
    with registry.write() as connection:
        reservation = statuslists.reserve(connection, 1, signer.list_signer(), now=now)
        [entry] = reservation.entries
        holder_id = registry.holder_ids(connection, [(email, award.name.strip())], now=now)[email]
        result = PendingResult(
            result_id=0,
            holder_id=holder_id,
            name=award.name,
            email=award.email,
            exam_date=award.exam_date,
            score=award.score,
            exam_version=award.exam_version or "",
            pathway=award.pathway or "",
        )
        place = (entry.list_number, entry.index)
        issued = signer.make((result, credential_uuid, secrets.token_hex(16), now, place))
        recording.record_batch(connection, job_id=None, issued=[issued], failed=[], now=now)
        reservation.record(connection, [entry])
    return issued


def run_signing_job(
    registry: Registry,
    signer: Signer,
    *,
    workers: int = 1,
    limit: int | None = None,
    batch_size: int = 1000,
    on_progress: Callable[[Progress], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    new_uuid: Callable[[], str] = lambda: str(uuid.uuid4()),
    new_salt: Callable[[], str] = lambda: secrets.token_hex(16),
    draw_index: Callable[[int], int] = secrets.randbelow,
) -> JobReport:
    """Sign every pending pass (at most ``limit``) and record each credential exactly once.

    ``clock``, ``new_uuid``, ``new_salt`` and ``draw_index`` (a random status index below its
    argument) are the job's only sources of time and randomness: the same ones give
    byte-identical credentials.
    """
    if workers < 1 or batch_size < 1 or (limit is not None and limit < 0):
        raise ValueError("workers and batch_size must be positive, limit not negative")
    job_id = new_uuid()
    pending = registry.count_pending()
    progress = Progress(total=pending if limit is None else min(limit, pending))
    registry.start_job(job_id, workers=workers, now=clock())
    failures: list[dict[str, Any]] = []
    status = "failed"
    list_signer = signer.list_signer()
    try:
        with _signing(signer, workers) as sign_stream:
            while limit is None or progress.done < limit:
                want = batch_size if limit is None else min(batch_size, limit - progress.done)
                with registry.write() as connection:
                    claimed = registry.claim_pending(connection, want)
                    if not claimed:
                        if progress.total != progress.done and on_progress is not None:
                            # Another job took the rest: what we did is the whole of ours.
                            progress.total = progress.done
                            on_progress(progress)
                        break
                    now = clock()
                    # The whole batch's status indexes in one locked step; written back once, with
                    # only those of the copies recorded, before this transaction commits.
                    reservation = statuslists.reserve(
                        connection, len(claimed), list_signer, now=now, randbelow=draw_index
                    )
                    payloads: list[Payload] = [
                        (r, new_uuid(), new_salt(), now, (e.list_number, e.index))
                        for r, e in zip(claimed, reservation.entries, strict=True)
                    ]
                    carried: list[StatusEntry] = []
                    for attempts in sign_stream(payloads):
                        issued = [c for _, c, _ in attempts if c is not None]
                        failed = [
                            (rid, error) for rid, c, error in attempts if c is None and error is not None
                        ]
                        recording.record_batch(
                            connection, job_id=job_id, issued=issued, failed=failed, now=now
                        )
                        carried.extend(_entries(issued))
                        progress.issued += len(issued)
                        progress.failed += len(failed)
                        failures.extend({"result": rid, "reason": error} for rid, error in failed)
                    reservation.record(connection, carried)
                progress.done += len(claimed)
                if on_progress is not None:
                    on_progress(progress)
        status = "finished"
    finally:
        seconds = time.monotonic() - progress.started
        remaining = registry.count_pending()
        report = JobReport(job_id, status, workers, progress.issued, failures, remaining, seconds, "")
        head = registry.finish_job(
            job_id,
            status=status,
            issued=progress.issued,
            failed=progress.failed,
            report=report.to_json(),
            now=clock(),
        )
    return JobReport(job_id, status, workers, progress.issued, failures, remaining, seconds, head)


def give_status_to_earlier_copies(
    registry: Registry, signer: Signer, *, now: datetime, batch_size: int = 500
) -> int:
    """``caiep status migrate``: a new pair, with a status entry, of every current version whose
    served copy was issued before status lists (same id, body and dates; a new proof by the
    current key; served in the served copy's format, the other form beside it). The hosted URL
    serves the new copy from then on; files downloaded before carry no status. One transaction
    per batch; the number of versions given a status entry."""
    from caiep.issuer.copies import copies_without_status
    from caiep.issuer.versions import give_status

    made = 0
    while True:
        with registry.write() as connection:
            earlier = copies_without_status(connection, batch_size)
            if not earlier:
                return made
            give_status(connection, signer, earlier, now=now)
            made += len(earlier)
