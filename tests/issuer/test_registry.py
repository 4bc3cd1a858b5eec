"""The registry on SQLite and on PostgreSQL: schema, import, holders, claims, recording, queries.

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
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from bench.make_results import write_results
from caiep.errors import ConfigurationError, InputError
from caiep.issuer import audit
from caiep.issuer.jobs import Signer, run_signing_job
from caiep.issuer.registry import ImportSummary, Registry, charter_number, open_registry
from caiep.issuer.results import ExamResult, iter_results

EXAMPLE_RESULTS = Path(__file__).parents[2] / "examples" / "results.csv"
EXAMPLE_ROWS, EXAMPLE_PASSES, EXAMPLE_FAILS = 20, 13, 7  # one e-mail is written in mixed case
READ_ON = date(2026, 11, 26)
TABLES = ("audit_log", "credentials", "exam_results", "holders", "job_items", "jobs")
HEADER = (
    "candidate_id,given_name,family_name,email,registered_on,exam_date,result,score,exam_version,pathway\n"
)


def _head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


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


# --- opening ---------------------------------------------------------------------------


def test_open_creates_the_schema_at_the_alembic_head_and_reopening_changes_nothing(
    database_url: str, db_of: Callable[[Registry], Any], now: datetime
) -> None:
    first = open_registry(database_url)
    try:
        db = db_of(first)
        assert {*TABLES, "audit_head", "alembic_version"} <= set(inspect(first.engine).get_table_names())
        assert db.rows("SELECT version_num FROM alembic_version") == [(_head_revision(),)]
        assert db.rows("SELECT id, seq, hash FROM audit_head") == [(1, 0, audit.GENESIS)]
        assert first.verify_audit() == (0, None)
        db.import_examples(now=now)
        counts = _counts(db)
        head = db.rows("SELECT seq, hash FROM audit_head")
    finally:
        first.dispose()

    for _ in range(2):
        again = open_registry(database_url)
        try:
            db = db_of(again)
            assert db.rows("SELECT version_num FROM alembic_version") == [(_head_revision(),)]
            assert _counts(db) == counts
            assert db.rows("SELECT seq, hash FROM audit_head") == head
            assert again.verify_audit() == (1, None)
        finally:
            again.dispose()


@pytest.mark.parametrize(
    "url",
    ["not a database url", "", "mysql+pymysql://user@127.0.0.1/caiep", "oracle://user@127.0.0.1/caiep"],
)
def test_a_malformed_url_or_an_unsupported_database_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_registry(url)


def test_a_database_that_cannot_be_opened_is_a_configuration_error_that_hides_the_password(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        bad = f"sqlite:///{tmp_path / 'no-such-directory' / 'registry.sqlite3'}"
    else:
        missing = make_url(database_url).set(database=f"caiep_missing_{uuid.uuid4().hex[:8]}")
        bad = missing.set(password="s3cret-Passw0rd").render_as_string(hide_password=False)
    with pytest.raises(ConfigurationError, match="cannot open the registry") as raised:
        open_registry(bad)
    assert "s3cret-Passw0rd" not in str(raised.value)


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
    assert db.import_file(later, now=now).new_holders == 0

    assert db.scalar("SELECT COUNT(*) FROM holders") == 2
    ada_id = db.scalar("SELECT id FROM holders WHERE email = 'ada.example@example.org'")
    assert db.rows("SELECT DISTINCT holder_id FROM exam_results WHERE candidate_id = 'P-1'") == [(ada_id,)]

    run_signing_job(db.registry, signer, clock=lambda: now)
    numbers = [
        json.loads(document)["credentialSubject"]["licenseNumber"]
        for (document,) in db.rows("SELECT document FROM credentials WHERE holder_id = :h", h=ada_id)
    ]
    assert numbers == [charter_number(ada_id)] * 2  # two passes, one charter number
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
        registry.record_batch(connection, job_id=None, issued=[], failed=failed, now=now)
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
        issued = [signer.make((r, str(uuid.uuid4()), "ab" * 16, now)) for r in claimed[:2]]
        failed = [(claimed[2].result_id, "reason two"), (claimed[3].result_id, "reason three")]
        registry.record_batch(connection, job_id="job-1", issued=issued, failed=failed, now=now)

    statuses = dict(db.rows("SELECT id, status FROM exam_results"))
    assert [statuses[r.result_id] for r in claimed] == ["issued", "issued", "failed", "failed"]
    assert registry.count_pending() == EXAMPLE_PASSES - 4
    stored = db.rows(
        "SELECT id, url, holder_id, result_id, job_id, document, sha256, key_id"
        " FROM credentials ORDER BY result_id"
    )
    assert stored == [
        (c.credential_id, c.url, c.holder_id, c.result_id, "job-1", c.document, c.sha256, signer.key_id)
        for c in issued
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
            issued = [signer.make((r, str(uuid.uuid4()), "ab" * 16, now)) for r in claimed]
            registry.record_batch(connection, job_id=None, issued=issued, failed=[], now=now)
            raise RuntimeError("killed before commit")

    with pytest.raises(RuntimeError, match="killed"):
        killed_before_commit()

    assert db.scalar("SELECT COUNT(*) FROM credentials") == 0
    assert registry.count_pending() == EXAMPLE_PASSES
    assert db.rows("SELECT seq, hash FROM audit_head") == head
    assert registry.verify_audit() == (1, None)


def test_retry_failed_puts_failed_results_back_in_the_queue(db: Any, now: datetime) -> None:
    registry = db.registry
    db.import_examples(now=now)
    passes = _pass_ids(db)
    with registry.write() as connection:
        registry.record_batch(
            connection, job_id=None, issued=[], failed=[(passes[0], "x"), (passes[4], "y")], now=now
        )
    assert registry.count_pending() == EXAMPLE_PASSES - 2

    assert registry.retry_failed(now=now) == 2

    assert registry.count_pending() == EXAMPLE_PASSES
    assert _statuses(db) == {("pass", "pending"): EXAMPLE_PASSES, ("fail", "not_eligible"): EXAMPLE_FAILS}
    [(details,)] = db.rows("SELECT details FROM audit_log WHERE action = 'results.retried'")
    assert json.loads(details) == {"count": 2}
    assert registry.retry_failed(now=now) == 0


# --- queries ---------------------------------------------------------------------------


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def test_credentials_filter_by_holder_and_by_expiry(db: Any, signer: Signer, now: datetime) -> None:
    registry = db.registry
    db.import_examples(now=now)
    times = [now, now + timedelta(days=60), now + timedelta(days=400)]
    for moment, limit in zip(times, (4, 4, None), strict=True):
        run_signing_job(registry, signer, limit=limit, clock=_at(moment))

    everything = list(registry.credentials())
    assert len(everything) == EXAMPLE_PASSES
    newest_first = [times[2]] * 5 + [times[1]] * 4 + [times[0]] * 4
    assert [r.issued_at for r in everything] == newest_first

    [ada] = registry.credentials(holder_email="ada.example@example.org")
    assert (ada.holder_name, ada.format, ada.key_id) == ("Ada Example", "ldp", signer.key_id)
    assert ada.issued_at == now
    assert list(registry.credentials(holder_email="nobody@example.org")) == []

    # "Expiring within 90 days", asked 30 days before the second round's credentials end:
    # the first round has already ended, the third ends more than 90 days later.
    asked = times[1].replace(year=times[1].year + 5) - timedelta(days=30)
    expiring = list(registry.credentials(valid_until_before=asked + timedelta(days=90), valid_at=asked))
    assert [r.issued_at for r in expiring] == [times[1]] * 4
    assert all(asked <= r.valid_until <= asked + timedelta(days=90) for r in expiring)
    assert [r.issued_at for r in registry.credentials(valid_until_before=asked)] == [times[0]] * 4


def test_credential_times_are_instants_whatever_offset_they_are_given_in(
    db: Any, signer: Signer, now: datetime
) -> None:
    registry = db.registry
    db.import_examples(now=now)
    plus_two, minus_five = timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))
    run_signing_job(registry, signer, limit=1, clock=lambda: now.astimezone(plus_two))
    [record] = registry.credentials()
    assert record.issued_at == now
    assert record.valid_until == datetime(2031, 11, 26, 9, 30, tzinfo=UTC)

    just_before = (record.valid_until - timedelta(seconds=1)).astimezone(plus_two)
    just_after = (record.valid_until + timedelta(seconds=1)).astimezone(minus_five)
    assert list(registry.credentials(valid_until_before=just_before)) == []
    assert [r.url for r in registry.credentials(valid_until_before=just_after)] == [record.url]
    assert [r.url for r in registry.credentials(valid_at=just_before)] == [record.url]
    assert list(registry.credentials(valid_at=just_after)) == []


def test_credential_by_uuid_or_url_returns_the_exact_stored_document(
    db: Any, signer: Signer, now: datetime
) -> None:
    registry = db.registry
    db.import_examples(now=now)
    report = run_signing_job(registry, signer, clock=lambda: now)
    stored = db.rows("SELECT id, url, result_id, document FROM credentials")
    assert len(stored) == EXAMPLE_PASSES

    for credential_id, url, result_id, document in stored:
        for key in (credential_id, url, url + "/"):
            record, served = registry.credential(key)
            assert served == document
            assert (record.credential_id, record.url, record.result_id, record.job_id) == (
                credential_id, url, result_id, report.job_id,
            )  # fmt: skip
        assert hashlib.sha256(served.encode("utf-8")).hexdigest() == record.sha256
        assert json.loads(served)["id"] == url

    ada_id = db.scalar("SELECT id FROM holders WHERE email = 'ada.example@example.org'")
    [listed] = registry.credentials(holder_email="ada.example@example.org")
    record, _ = registry.credential(listed.url)
    assert (record.holder_email, record.holder_name, record.charter_number) == (
        "ada.example@example.org", "Ada Example", charter_number(ada_id),
    )  # fmt: skip


@pytest.mark.parametrize(
    "unknown",
    [
        "00000000-0000-4000-8000-000000000000",
        "https://credentials.caiep.example/credentials/00000000-0000-4000-8000-000000000000",
        "",
    ],
)
def test_an_unknown_credential_is_an_input_error(
    db: Any, signer: Signer, now: datetime, unknown: str
) -> None:
    db.import_examples(now=now)
    run_signing_job(db.registry, signer, limit=2, clock=lambda: now)
    with pytest.raises(InputError, match="no credential"):
        db.registry.credential(unknown)
