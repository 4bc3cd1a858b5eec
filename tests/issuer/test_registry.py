"""The registry on SQLite and on PostgreSQL: import, holders, claims, recording, retrying.

Every test that touches a database runs twice through ``database_url``: on a fresh SQLite
file and on a fresh PostgreSQL database.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bench.make_results import write_results
from caiep.errors import InputError
from caiep.issuer import audit, recording
from caiep.issuer.importing import CHUNK
from caiep.issuer.jobs import Signer, run_signing_job
from caiep.issuer.registry import ImportSummary, Registry, charter_number
from caiep.issuer.results import ExamResult, iter_results

EXAMPLE_RESULTS = Path(__file__).parents[2] / "examples" / "results.csv"
EXAMPLE_ROWS, EXAMPLE_PASSES, EXAMPLE_FAILS = 20, 13, 7  # one e-mail is written in mixed case
READ_ON = date(2026, 11, 26)
TABLES = (
    "audit_log",
    "charter_credentials",
    "credential_versions",
    "credential_copies",
    "exam_results",
    "holders",
    "job_items",
    "jobs",
)
HEADER = (
    "candidate_id,given_name,family_name,email,registered_on,exam_date,result,score,exam_version,pathway\n"
)


def _counts(db: Any) -> dict[str, int]:
    return {name: db.scalar(f"SELECT COUNT(*) FROM {name}") for name in TABLES}


def _statuses(db: Any) -> dict[tuple[str, str], int]:
    found = db.rows("SELECT result, status, COUNT(*) FROM exam_results GROUP BY result, status")
    return {(result, status): count for result, status, count in found}


def _pass_ids(db: Any) -> list[int]:
    return [rid for (rid,) in db.rows("SELECT id FROM exam_results WHERE result = 'pass' ORDER BY id")]


def _write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _raising_after(items: Iterable[Any], count: int, error: Exception) -> Iterator[Any]:
    """The first ``count`` items, then ``error``: a reader that fails in the middle of a file."""
    for index, item in enumerate(items):
        if index == count:
            raise error
        yield item
    raise AssertionError(f"fewer than {count} items: the failure was never reached")


# --- import ----------------------------------------------------------------------------


def test_import_counts_rows_and_keeps_passes_pending_and_fails_not_eligible(db: Any, now: datetime) -> None:
    summary = db.import_examples(now=now)

    assert summary == ImportSummary(
        inserted=EXAMPLE_ROWS,
        passes=EXAMPLE_PASSES,
        fails=EXAMPLE_FAILS,
        duplicates=0,
        new_holders=EXAMPLE_ROWS,
    )
    assert _statuses(db) == {("pass", "pending"): EXAMPLE_PASSES, ("fail", "not_eligible"): EXAMPLE_FAILS}
    assert db.registry.count_pending() == EXAMPLE_PASSES
    # The mixed-case address of the file is stored normalised.
    assert db.scalar("SELECT COUNT(*) FROM holders WHERE email = 'elena.testcase@example.org'") == 1
    assert db.scalar("SELECT COUNT(*) FROM holders WHERE email <> LOWER(TRIM(email))") == 0
    # Each result remembers the file and line it came from (the header is line 1).
    assert db.scalar("SELECT source FROM exam_results WHERE candidate_id = 'CAND-0003'") == "results.csv:4"
    [(action, subject, details)] = db.rows("SELECT action, subject, details FROM audit_log")
    assert (action, subject) == ("results.imported", "results.csv")
    assert json.loads(details) == {
        **summary.__dict__,
        "sha256": hashlib.sha256(EXAMPLE_RESULTS.read_bytes()).hexdigest(),
    }


def test_importing_the_same_results_again_stores_nothing_twice(db: Any, now: datetime) -> None:
    db.import_examples(now=now)
    stored = db.rows("SELECT id, candidate_id, holder_id, status FROM exam_results ORDER BY id")

    again = db.import_examples(now=now + timedelta(hours=1))

    assert again == ImportSummary(inserted=0, passes=0, fails=0, duplicates=EXAMPLE_ROWS, new_holders=0)
    assert db.rows("SELECT id, candidate_id, holder_id, status FROM exam_results ORDER BY id") == stored
    assert db.scalar("SELECT COUNT(*) FROM holders") == EXAMPLE_ROWS
    assert db.registry.verify_audit() == (2, None)


def test_an_overlapping_file_imports_only_the_exams_not_yet_known(
    db: Any, now: datetime, tmp_path: Path
) -> None:
    lines = EXAMPLE_RESULTS.read_text(encoding="utf-8").splitlines()[1:]
    db.import_file(_write_csv(tmp_path / "first-eight.csv", lines[:8]), now=now)

    summary = db.import_examples(now=now)

    passes_among_first = sum(",pass," in line for line in lines[:8])
    assert summary == ImportSummary(
        inserted=EXAMPLE_ROWS - 8,
        passes=EXAMPLE_PASSES - passes_among_first,
        fails=EXAMPLE_FAILS - (8 - passes_among_first),
        duplicates=8,
        new_holders=EXAMPLE_ROWS - 8,
    )
    assert db.scalar("SELECT COUNT(*) FROM exam_results") == EXAMPLE_ROWS


def test_duplicates_are_found_across_the_chunks_of_a_big_file(db: Any, now: datetime, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_results(path, 1_200, seed=5)
    first = db.import_file(path, now=now)
    assert (first.inserted, first.duplicates, first.new_holders) == (1_200, 0, 1_200)
    assert first.passes + first.fails == 1_200

    second = db.import_file(path, now=now)

    assert second == ImportSummary(inserted=0, passes=0, fails=0, duplicates=1_200, new_holders=0)
    assert db.scalar("SELECT COUNT(*) FROM exam_results") == 1_200


def test_an_import_that_fails_midway_stores_nothing_at_all(db: Any, now: datetime, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_results(path, 1_200, seed=3)
    results = [item for item in iter_results(path, today=READ_ON) if isinstance(item, ExamResult)]
    assert len(results) == 1_200
    failure = InputError("not UTF-8 text", source=str(path), location="line 702")

    # 700 rows: the first chunk of 500 is already written when the reader fails.
    with pytest.raises(InputError, match="not UTF-8"):
        db.registry.import_results(
            _raising_after(results, 700, failure), source="big.csv", source_sha256="0", now=now
        )

    assert _counts(db) == dict.fromkeys(TABLES, 0)
    assert db.rows("SELECT seq, hash FROM audit_head") == [(0, audit.GENESIS)]
    # Nothing is left locked or half-done: the same rows import cleanly afterwards.
    assert db.registry.import_results(results, source="big.csv", source_sha256="0", now=now).inserted == 1_200
    assert db.registry.verify_audit() == (1, None)


def _statements_of_import(registry: Registry, rows: list[ExamResult], now: datetime) -> int:
    """How many statements an import sends (an executemany or a COPY counts once)."""
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    event.listen(registry.engine, "before_cursor_execute", count)
    try:
        registry.import_results(rows, source="big.csv", source_sha256="0", now=now)
    finally:
        event.remove(registry.engine, "before_cursor_execute", count)
    return len(sent)


def test_an_import_sends_a_few_statements_per_chunk_not_one_per_row(
    registry: Registry, db_of: Callable[[Registry], Any], now: datetime, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    write_results(big, 4 * CHUNK, seed=3)
    rows = [r for r in iter_results(big, today=READ_ON) if isinstance(r, ExamResult)]
    one_chunk = _statements_of_import(registry, rows[:CHUNK], now)
    three_more = _statements_of_import(registry, rows[CHUNK:], now)
    # A chunk: its lookups and writes (at most five), the two lookups that refuse a second award,
    # then the audit entry and the transaction.
    assert one_chunk <= 5 + 2 + 4
    assert three_more <= one_chunk + 2 * (5 + 2)
    again = _statements_of_import(registry, rows, now)  # all duplicates: one lookup per chunk
    assert again <= 4 + 4
    assert db_of(registry).scalar("SELECT COUNT(*) FROM exam_results") == 4 * CHUNK


# --- holders ---------------------------------------------------------------------------


def test_one_person_is_one_holder_with_one_charter_number(
    db: Any, signer: Signer, now: datetime, tmp_path: Path
) -> None:
    retake = _write_csv(
        tmp_path / "retake.csv",
        [
            "P-1,Ada,Example, Ada.Example@Example.ORG ,2025-09-01,2026-03-14,fail,61,2026.1,experience",
            "P-1,Ada,Example,ada.example@example.org,2025-09-01,2026-06-01,pass,80,2026.1,experience",
            "P-2,Bram,Sample,bram@example.com,2025-09-01,2026-06-01,pass,90,2026.1,aie",
        ],
    )
    later = _write_csv(
        tmp_path / "later.csv",
        ["P-1,Ada,Example,ADA.EXAMPLE@EXAMPLE.ORG,2026-03-01,2026-09-12,pass,88,2026.2,experience"],
    )
    assert db.import_file(retake, now=now).new_holders == 2
    results = db.scalar("SELECT COUNT(*) FROM exam_results")
    # A second pass while the first waits to be signed: refused, nothing imported.
    with pytest.raises(InputError, match=r"later\.csv:2: .*already has a pass waiting.*nothing was imported"):
        db.import_file(later, now=now)
    assert db.scalar("SELECT COUNT(*) FROM exam_results") == results

    assert db.scalar("SELECT COUNT(*) FROM holders") == 2
    ada_id = db.scalar("SELECT id FROM holders WHERE email = 'ada.example@example.org'")
    assert db.rows("SELECT DISTINCT holder_id FROM exam_results WHERE candidate_id = 'P-1'") == [(ada_id,)]

    run_signing_job(db.registry, signer, clock=lambda: now)
    # Once she holds her charter, a second award points to renewal.
    with pytest.raises(InputError, match=rf"{charter_number(ada_id)} .*renew that charter instead"):
        db.import_file(later, now=now)
    assert db.scalar("SELECT COUNT(*) FROM exam_results") == results
    numbers = [
        json.loads(document)["credentialSubject"]["licenseNumber"]
        for (document,) in db.rows(
            "SELECT document FROM credential_copies JOIN charter_credentials c ON c.id = credential_id"
            " WHERE holder_id = :h AND served",
            h=ada_id,
        )
    ]
    assert numbers == [charter_number(ada_id)]  # one charter credential
    listed = db.registry.credentials(holder_email="ada.example@example.org")
    assert [r.charter_number for r in listed] == numbers
    [bram] = db.registry.credentials(holder_email="bram@example.com")
    assert bram.charter_number != charter_number(ada_id)


def test_a_holder_keeps_the_name_given_first(db: Any, now: datetime, tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "names.csv",
        [
            "P-1,Ada,Example,ada@example.org,2025-09-01,2026-03-14,fail,61,2026.1,experience",
            "P-1,Ada Q.,Example,ada@example.org,2025-09-01,2026-06-01,pass,80,2026.1,experience",
        ],
    )
    db.import_file(path, now=now)
    assert db.rows("SELECT name FROM holders") == [("Ada Example",)]


# --- claiming --------------------------------------------------------------------------


def test_claim_pending_returns_only_pending_passes_in_id_order(db: Any, now: datetime) -> None:
    db.import_examples(now=now)
    passes = _pass_ids(db)
    db.execute("UPDATE exam_results SET status = 'issued' WHERE id = :id", id=passes[1])
    db.execute("UPDATE exam_results SET status = 'failed' WHERE id = :id", id=passes[2])
    expected = [passes[0], *passes[3:]]

    with db.registry.write() as connection:
        everything = db.registry.claim_pending(connection, 100)
        first_three = db.registry.claim_pending(connection, 3)

    assert [r.result_id for r in everything] == expected
    assert [r.result_id for r in first_three] == expected[:3]
    ada = everything[0]
    assert (ada.name, ada.email, ada.exam_date, ada.score, ada.exam_version, ada.pathway) == (
        "Ada Example", "ada.example@example.org", date(2026, 3, 14), "86", "2026.1", "experience",
    )  # fmt: skip
    ingrid = next(r for r in everything if r.name == "Ingrid Madeup")
    assert ingrid.score is None  # an empty score stays empty, never "0"


def test_two_writers_claim_disjoint_results(db: Any, now: datetime) -> None:
    """PostgreSQL: the second writer skips the rows the first has locked (SKIP LOCKED) and goes
    on at once. SQLite: the second writer waits until the first commits (BEGIN IMMEDIATE).
    Either way the two claims never overlap."""
    registry = db.registry
    db.import_examples(now=now)
    passes = _pass_ids(db)
    events: list[str] = []
    second_claim: list[int] = []
    started = threading.Event()

    def second_writer() -> None:
        started.set()
        with registry.write() as connection:
            events.append("second writer claims")
            second_claim.extend(r.result_id for r in registry.claim_pending(connection, 100))

    worker = threading.Thread(target=second_writer)
    with registry.write() as connection:
        first_claim = [r.result_id for r in registry.claim_pending(connection, 5)]
        worker.start()
        assert started.wait(5)
        if registry.dialect == "postgresql":
            worker.join(10)
            assert not worker.is_alive(), "the second writer waited for the first"
        else:
            time.sleep(0.3)
            assert worker.is_alive(), "the second writer did not wait"
            assert events == []
        failed = [(rid, "held by the first writer") for rid in first_claim]
        recording.record_batch(connection, job_id=None, issued=[], failed=failed, now=now)
        events.append("first writer commits")
    worker.join(10)
    assert not worker.is_alive()

    assert first_claim == passes[:5]
    assert second_claim == passes[5:]
    in_order = ["second writer claims", "first writer commits"]
    assert events == (in_order if registry.dialect == "postgresql" else in_order[::-1])


# --- recording, retrying ---------------------------------------------------------------


def test_record_batch_marks_results_issued_or_failed(db: Any, signer: Signer, now: datetime) -> None:
    registry = db.registry
    db.import_examples(now=now)
    registry.start_job("job-1", workers=1, now=now)
    with registry.write() as connection:
        claimed = registry.claim_pending(connection, 4)
        issued = [signer.make((r, str(uuid.uuid4()), "ab" * 16, now, None)) for r in claimed[:2]]
        failed = [(claimed[2].result_id, "reason two"), (claimed[3].result_id, "reason three")]
        recording.record_batch(connection, job_id="job-1", issued=issued, failed=failed, now=now)

    statuses = dict(db.rows("SELECT id, status FROM exam_results"))
    assert [statuses[r.result_id] for r in claimed] == ["issued", "issued", "failed", "failed"]
    assert registry.count_pending() == EXAMPLE_PASSES - 4
    stored = db.rows(
        "SELECT c.id, c.url, c.holder_id, c.result_id, v.job_id, p.document, p.sha256, p.key_id"
        " FROM charter_credentials c JOIN credential_versions v ON v.credential_id = c.id"
        " JOIN credential_copies p ON p.credential_id = c.id ORDER BY c.result_id, p.served DESC"
    )
    assert stored == [
        (c.credential_id, c.url, c.holder_id, c.result_id, "job-1", document, digest, signer.key_id)
        for c in issued
        for document, digest in ((c.document, c.sha256), (c.other_document, c.other_sha256))
    ]
    items = db.rows("SELECT result_id, outcome, credential_id, error FROM job_items WHERE job_id = 'job-1'")
    assert sorted(items) == [(rid, "failed", None, error) for rid, error in failed]
    assert registry.verify_audit() == (3, None)


def test_a_batch_whose_transaction_fails_leaves_nothing_behind(
    db: Any, signer: Signer, now: datetime
) -> None:
    registry = db.registry
    db.import_examples(now=now)
    head = db.rows("SELECT seq, hash FROM audit_head")

    def killed_before_commit() -> None:
        with registry.write() as connection:
            claimed = registry.claim_pending(connection, 3)
            issued = [signer.make((r, str(uuid.uuid4()), "ab" * 16, now, None)) for r in claimed]
            recording.record_batch(connection, job_id=None, issued=issued, failed=[], now=now)
            raise RuntimeError("killed before commit")

    with pytest.raises(RuntimeError, match="killed"):
        killed_before_commit()

    for table in ("charter_credentials", "credential_versions", "credential_copies"):
        assert db.scalar(f"SELECT COUNT(*) FROM {table}") == 0
    assert registry.count_pending() == EXAMPLE_PASSES
    assert db.rows("SELECT seq, hash FROM audit_head") == head
    assert registry.verify_audit() == (1, None)


def test_retry_failed_puts_failed_results_back_in_the_queue(db: Any, now: datetime) -> None:
    registry = db.registry
    db.import_examples(now=now)
    passes = _pass_ids(db)
    with registry.write() as connection:
        recording.record_batch(
            connection, job_id=None, issued=[], failed=[(passes[0], "x"), (passes[4], "y")], now=now
        )
    assert registry.count_pending() == EXAMPLE_PASSES - 2

    assert registry.retry_failed(now=now) == 2

    assert registry.count_pending() == EXAMPLE_PASSES
    assert _statuses(db) == {("pass", "pending"): EXAMPLE_PASSES, ("fail", "not_eligible"): EXAMPLE_FAILS}
    [(details,)] = db.rows("SELECT details FROM audit_log WHERE action = 'results.retried'")
    assert json.loads(details) == {"count": 2}
    assert registry.retry_failed(now=now) == 0
