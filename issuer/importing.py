"""Holders and the import of exam results into the registry.

An import is one transaction: every valid row of the file is stored, or none is. Rows travel
in chunks of :data:`CHUNK`, each a fixed handful of statements whatever its size: one query
finds the exams already stored, one the holders already known; the missing holders are written
in one batch and their new ids read back in one query; the results are written in one batch
(:func:`~caiep.issuer.database.insert_rows`: ``COPY`` on PostgreSQL). No statement is sent per
row, so a database across a network imports about as fast as a local file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, select

from caiep.errors import InputError
from caiep.issuer import audit
from caiep.issuer.database import insert_rows
from caiep.issuer.records import ImportSummary, charter_number
from caiep.issuer.register import name_key
from caiep.issuer.tables import charter_credentials, exam_results, holders

CHUNK = 500

_ExamKey = tuple[str, str, date]


def holder_ids(connection: Connection, people: Sequence[tuple[str, str]], *, now: datetime) -> dict[str, int]:
    """Ids of holders by normalised e-mail, creating the missing ones (the first name given wins).

    ``people`` are (normalised e-mail, name) pairs; runs inside the caller's transaction.
    """
    return _holder_ids(connection, people, now)[0]


def _holder_ids(
    connection: Connection, people: Sequence[tuple[str, str]], now: datetime
) -> tuple[dict[str, int], int]:
    """The ids by e-mail, and how many holders were created."""
    emails = sorted({email for email, _ in people})
    query = select(holders.c.email, holders.c.id)
    known = dict(connection.execute(query.where(holders.c.email.in_(emails))).all())
    names: dict[str, str] = {}
    for email, name in people:
        names.setdefault(email, name)
    missing = [e for e in emails if e not in known]
    if missing:
        insert_rows(
            connection,
            holders,
            [
                {"email": e, "name": names[e], "name_key": name_key(names[e]), "created_at": now}
                for e in missing
            ],
        )
        known.update(connection.execute(query.where(holders.c.email.in_(missing))).all())
    return known, len(missing)


def import_results(
    connection: Connection, results: Iterable[Any], *, source: str, source_sha256: str, now: datetime
) -> ImportSummary:
    """Store exam results inside the caller's (single) transaction, and log the import.

    ``results`` are :class:`~caiep.issuer.results.ExamResult`. An exam already stored (same
    candidate, exam version and date), or met earlier in ``results``, is a duplicate: counted,
    never stored twice. Fails are kept for the record with status ``not_eligible``; passes wait
    as ``pending``.
    """
    if connection.dialect.name == "postgresql":
        # The import is one transaction, so the planner's statistics still describe the tables
        # as they were before it: without this it scans the growing tables for every chunk
        # (quadratic). Every lookup here is by an indexed key.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    totals = [0, 0, 0, 0, 0]  # inserted, passes, fails, duplicates, new holders
    awarded: set[int] = set()  # holders given a pass by this import
    for chunk in _chunks(iter(results)):
        for index, count in enumerate(_import_chunk(connection, chunk, source, now, awarded)):
            totals[index] += count
    summary = ImportSummary(*totals)
    audit.append(
        connection,
        [audit.AuditEntry("results.imported", source, {**summary.__dict__, "sha256": source_sha256})],
        now=now,
    )
    return summary


def _chunks(items: Iterator[Any]) -> Iterator[list[Any]]:
    while chunk := list(islice(items, CHUNK)):
        yield chunk


def _import_chunk(
    connection: Connection, chunk: list[Any], source: str, now: datetime, awarded: set[int]
) -> tuple[int, int, int, int, int]:
    """Store one chunk: (inserted, passes, fails, duplicates, new holders)."""
    seen = _stored_exams(connection, {r.candidate_id for r in chunk})
    fresh = []
    for r in chunk:  # the first of each exam in the chunk, and not already stored
        key = (r.candidate_id, r.exam_version, r.exam_date)
        if key not in seen:
            seen.add(key)
            fresh.append(r)
    if not fresh:
        return 0, 0, 0, len(chunk), 0
    ids, new_holders = _holder_ids(connection, [(r.email, r.full_name) for r in fresh], now)
    _refuse_second_awards(connection, [r for r in fresh if r.result == "pass"], ids, source, awarded)
    rows = [
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
    ]
    insert_rows(connection, exam_results, rows)
    passes = sum(r.result == "pass" for r in fresh)
    return len(fresh), passes, len(fresh) - passes, len(chunk) - len(fresh), new_holders


def _refuse_second_awards(
    connection: Connection, passes: list[Any], ids: dict[str, int], source: str, awarded: set[int]
) -> None:
    """Refuse a pass for a holder who already holds a charter credential, has a pass waiting to
    be signed, or has another pass earlier in this import: a charter is awarded once, and renewed.

    Two queries per chunk (both by an indexed holder id). Raises :class:`InputError` naming the
    row, which rolls the whole import back.
    """
    if not passes:
        return
    holder_ids = sorted({ids[r.email] for r in passes})
    held = dict(
        connection.execute(
            select(charter_credentials.c.holder_id, charter_credentials.c.url).where(
                charter_credentials.c.holder_id.in_(holder_ids)
            )
        ).all()
    )
    waiting = set(
        connection.execute(
            select(exam_results.c.holder_id).where(
                exam_results.c.holder_id.in_(holder_ids),
                exam_results.c.status.in_(("pending", "failed")),
            )
        ).scalars()
    )
    for r in passes:
        holder = ids[r.email]
        where = f"{source}:{r.line}"
        if holder in held:
            raise InputError(
                f"{where}: {r.email} already holds the CAiEP charter {charter_number(holder)} "
                f"({held[holder]}); a second award is refused: renew that charter instead "
                "(a renewal keeps its credential id); nothing was imported"
            )
        if holder in waiting or holder in awarded:
            raise InputError(
                f"{where}: {r.email} already has a pass waiting for its charter "
                f"({charter_number(holder)}); a second award is refused: once issued, renew it "
                "instead; nothing was imported"
            )
        awarded.add(holder)


def _stored_exams(connection: Connection, candidates: set[str]) -> set[_ExamKey]:
    """Every stored exam of these candidates: one lookup on the leading column of the unique key.

    (A row-value ``IN`` of whole keys is not planned as index lookups by PostgreSQL: it filtered
    the whole table for every chunk.)
    """
    query = select(exam_results.c.candidate_id, exam_results.c.exam_version, exam_results.c.exam_date)
    rows = connection.execute(query.where(exam_results.c.candidate_id.in_(sorted(candidates))))
    return {(str(c), str(v), d) for c, v, d in rows}
