"""Signing jobs on SQLite and PostgreSQL: every pending pass becomes exactly one credential
that verifies and says what the result says; limits, failures, retries, formats, determinism,
single issuance, a job that dies mid-batch and two jobs at once."""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.make_results import write_results
from caiep.issuer import audit
from caiep.issuer.charter import PATHWAYS, CharterAward, add_years, identity_hash
from caiep.issuer.jobs import Progress, Signer, issue_one, run_signing_job
from caiep.issuer.registry import charter_number, open_registry
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import create_registry, registry_fetcher

COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _pass_ids(db: Any) -> list[int]:
    return [rid for (rid,) in db.rows("SELECT id FROM exam_results WHERE result = 'pass' ORDER BY id")]


def _credentials_per_result(db: Any) -> dict[int, int]:
    found = db.rows(
        "SELECT result_id, COUNT(*) FROM charter_credentials WHERE result_id IS NOT NULL GROUP BY result_id"
    )
    return dict(found)


def _assert_exactly_once(db: Any) -> None:
    """Every pass has one credential and is issued; no fail has any."""
    passes = _pass_ids(db)
    assert _credentials_per_result(db) == dict.fromkeys(passes, 1)
    statuses = db.rows("SELECT result, status, COUNT(*) FROM exam_results GROUP BY result, status")
    assert {(result, status) for result, status, _ in statuses} <= {
        ("pass", "issued"),
        ("fail", "not_eligible"),
    }


def _assert_every_credential_verifies_and_states_its_result(
    db: Any, signer: Signer, *, now: datetime, issued_at: datetime
) -> int:
    """Verify every stored credential and compare what it states with its exam result."""
    results = {
        rid: (str(exam_date), score, version, pathway)
        for rid, exam_date, score, version, pathway in db.rows(
            "SELECT id, exam_date, score, exam_version, pathway FROM exam_results"
        )
    }
    count = 0
    fetcher = registry_fetcher(db.registry, signer.profile.base_url)  # our lists, from the registry
    for record in db.registry.credentials():
        _, document = db.registry.credential(record.credential_id)
        if signer.format == "jwt":
            assert COMPACT_JWS.fullmatch(document), document[:80]
            outcome = verify(document, now=now, fetcher=fetcher)
        else:
            outcome = verify(json.loads(document), now=now, fetcher=fetcher)
        assert outcome.outcome is Outcome.VALID, [c.to_json() for c in outcome.checks]
        assert outcome.format == signer.format == record.format
        credential = outcome.credential
        assert credential is not None
        subject = credential["credentialSubject"]

        assert credential["id"] == record.url
        assert credential["issuer"]["id"] == signer.profile.id
        assert subject["name"] == record.holder_name
        assert subject["licenseNumber"] == record.charter_number
        [identity] = subject["identifier"]
        assert identity["identityHash"] == identity_hash(record.holder_email, identity["salt"])
        valid_from, valid_until = _parse_time(credential["validFrom"]), _parse_time(credential["validUntil"])
        assert valid_from == issued_at.replace(microsecond=0)
        assert valid_until == add_years(valid_from, 5)
        assert (record.valid_from, record.valid_until, record.key_id) == (
            valid_from,
            valid_until,
            signer.key_id,
        )

        assert record.result_id is not None
        exam_date, score, version, pathway = results[record.result_id]
        exam, eligibility = credential["evidence"]
        assert exam["name"] == f"CAiEP examination {version}"
        assert f"passed on {exam_date}" in exam["narrative"]
        if score is None:
            assert "result" not in subject
            assert "score" not in exam["narrative"]
        else:
            assert subject["result"][0]["value"] == score
            assert f"scaled score of {score}." in exam["narrative"]
        assert eligibility["name"] == f"Eligibility pathway: {PATHWAYS[pathway]}"
        count += 1
    return count


@pytest.fixture
def many(db: Any, now: datetime, tmp_path: Path) -> int:
    """The example results plus 240 generated ones imported; the number of passes."""
    generated = tmp_path / "generated.csv"
    write_results(generated, 240, seed=11)
    db.import_examples(now=now)
    db.import_file(generated, now=now)
    passes = len(_pass_ids(db))
    assert 150 < passes < 260
    return passes


# --- the guarantees --------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_every_pending_pass_gets_exactly_one_credential_that_verifies(
    db: Any, signer: Signer, now: datetime, many: int, workers: int
) -> None:
    report = run_signing_job(db.registry, signer, workers=workers, batch_size=64, clock=lambda: now)

    assert (report.status, report.issued, report.failed, report.remaining) == ("finished", many, [], 0)
    _assert_exactly_once(db)
    assert _assert_every_credential_verifies_and_states_its_result(db, signer, now=now, issued_at=now) == many
    assert db.registry.verify_audit()[1] is None


def test_a_limit_issues_exactly_that_many_and_leaves_the_rest_pending(
    db: Any, signer: Signer, now: datetime
) -> None:
    registry = db.registry
    db.import_examples(now=now)
    passes = _pass_ids(db)

    assert run_signing_job(registry, signer, limit=0, clock=lambda: now).issued == 0
    limited = run_signing_job(registry, signer, limit=7, batch_size=3, clock=lambda: now)

    assert (limited.issued, limited.remaining) == (7, len(passes) - 7)
    assert sorted(_credentials_per_result(db)) == passes[:7]
    assert registry.count_pending() == len(passes) - 7

    rest = run_signing_job(registry, signer, clock=lambda: now)
    assert (rest.issued, rest.remaining) == (len(passes) - 7, 0)
    again = run_signing_job(registry, signer, clock=lambda: now)
    assert (again.status, again.issued, again.failed, again.remaining) == ("finished", 0, [], 0)
    _assert_exactly_once(db)
    assert registry.verify_audit()[1] is None


def test_the_report_matches_the_registry(db: Any, signer: Signer, now: datetime) -> None:
    registry = db.registry
    db.import_examples(now=now)
    seen: list[tuple[int, int, int]] = []

    def on_progress(progress: Progress) -> None:
        seen.append((progress.total, progress.done, progress.issued))

    report = run_signing_job(
        registry, signer, limit=12, batch_size=5, on_progress=on_progress, clock=lambda: now
    )
    summary = report.to_json()

    with registry.read() as connection:
        head = audit.head_hash(connection)
    assert summary["auditHead"] == head == db.scalar("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    assert {k: summary[k] for k in ("job", "status", "workers", "issued", "failed", "failures")} == {
        "job": report.job_id,
        "status": "finished",
        "workers": 1,
        "issued": 12,
        "failed": 0,
        "failures": [],
    }
    assert summary["remainingPending"] == registry.count_pending() == 1
    assert seen == [(12, 5, 5), (12, 10, 10), (12, 12, 12)]
    [(status, workers, issued, failed, stored)] = db.rows(
        "SELECT status, workers, issued, failed, report FROM jobs WHERE id = :id", id=report.job_id
    )
    assert (status, workers, issued, failed) == ("finished", 1, 12, 0)
    assert {k: json.loads(stored)[k] for k in ("issued", "failed", "remainingPending")} == {
        "issued": 12,
        "failed": 0,
        "remainingPending": 1,
    }
    assert {c.job_id for c in registry.credentials()} == {report.job_id}
    started, finished = db.rows(
        "SELECT action, details FROM audit_log WHERE subject = :id AND action LIKE 'job.%' ORDER BY seq",
        id=report.job_id,
    )
    assert started == ("job.started", '{"workers":1}')
    assert finished == ("job.finished", '{"failed":0,"issued":12,"status":"finished"}')


# --- failures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakage:
    column: str
    bad: str
    reason: str


BREAKAGES = [
    Breakage("name", "   ", "the holder's name is empty"),
    Breakage("email", "chioma at example.org", "not an e-mail address: 'chioma at example.org'"),
]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.column)
def test_a_result_that_cannot_be_signed_fails_once_and_is_issued_after_retry(
    db: Any, signer: Signer, now: datetime, breakage: Breakage, workers: int
) -> None:
    registry = db.registry
    db.import_examples(now=now)
    passes = _pass_ids(db)
    [(broken, holder_id, good)] = db.rows(
        f"SELECT r.id, h.id, h.{breakage.column} FROM exam_results r JOIN holders h ON h.id = r.holder_id"
        " WHERE r.candidate_id = 'CAND-0003'"
    )
    db.execute(f"UPDATE holders SET {breakage.column} = :bad WHERE id = :id", bad=breakage.bad, id=holder_id)

    report = run_signing_job(registry, signer, workers=workers, batch_size=2, clock=lambda: now)

    assert report.issued == len(passes) - 1
    assert report.failed == [{"result": broken, "reason": breakage.reason}]
    assert report.to_json()["failed"] == 1
    assert db.scalar("SELECT status FROM exam_results WHERE id = :id", id=broken) == "failed"
    assert broken not in _credentials_per_result(db)
    assert db.rows("SELECT job_id, result_id, outcome, credential_id, error FROM job_items") == [
        (report.job_id, broken, "failed", None, breakage.reason)
    ]
    again = run_signing_job(registry, signer, clock=lambda: now)
    assert (again.issued, again.failed) == (0, [])  # not retried until asked

    db.execute(f"UPDATE holders SET {breakage.column} = :good WHERE id = :id", good=good, id=holder_id)
    assert registry.retry_failed(now=now) == 1
    fixed = run_signing_job(registry, signer, workers=workers, clock=lambda: now)

    assert (fixed.issued, fixed.failed) == (1, [])
    _assert_exactly_once(db)
    assert _assert_every_credential_verifies_and_states_its_result(db, signer, now=now, issued_at=now) == len(
        passes
    )
    assert registry.verify_audit()[1] is None


@dataclass(frozen=True)
class DyingSigner(Signer):
    """A signer whose process dies (an unexpected error) after ``lives`` credentials."""

    lives: list[int] = None  # type: ignore[assignment]

    def make(self, payload: Any) -> Any:
        if self.lives[0] == 0:
            raise RuntimeError("power cut")
        self.lives[0] -= 1
        return super().make(payload)


def test_a_job_that_dies_mid_batch_loses_only_that_batch_and_a_rerun_completes_it(
    db: Any, signer: Signer, now: datetime
) -> None:
    registry = db.registry
    db.import_examples(now=now)
    passes = _pass_ids(db)
    dying = DyingSigner(signer.profile, signer.key, signer.verification_method, signer.key_id, lives=[7])

    with pytest.raises(RuntimeError, match="power cut"):
        run_signing_job(registry, dying, batch_size=5, clock=lambda: now)

    # The first batch of five was committed; the second, in flight, rolled back entirely.
    assert sorted(_credentials_per_result(db)) == passes[:5]
    assert registry.count_pending() == len(passes) - 5
    assert db.rows("SELECT status, issued FROM jobs") == [("failed", 5)]
    assert registry.verify_audit()[1] is None

    rerun = run_signing_job(registry, signer, batch_size=5, clock=lambda: now)
    assert rerun.issued == len(passes) - 5
    _assert_exactly_once(db)
    assert registry.verify_audit()[1] is None


def test_two_jobs_at_once_issue_each_result_exactly_once(
    db: Any, signer: Signer, now: datetime, many: int, database_url: str
) -> None:
    second = open_registry(database_url)
    reports: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def job(registry: Any) -> None:
        try:
            start.wait(5)
            reports.append(run_signing_job(registry, signer, batch_size=20, clock=lambda: now))
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    try:
        threads = [threading.Thread(target=job, args=(r,)) for r in (db.registry, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        second.dispose()
    assert not errors, errors

    assert sorted(r.status for r in reports) == ["finished", "finished"]
    assert sum(r.issued for r in reports) == many
    _assert_exactly_once(db)
    assert db.registry.verify_audit()[1] is None


# --- formats and determinism -----------------------------------------------------------


def test_a_jwt_job_stores_compact_jws_documents_that_verify(
    db: Any, make_signer: Callable[..., Signer], now: datetime
) -> None:
    jwt_signer = make_signer(format="jwt")
    db.import_examples(now=now)

    report = run_signing_job(db.registry, jwt_signer, workers=2, batch_size=4, clock=lambda: now)

    passes = len(_pass_ids(db))
    assert report.issued == passes
    assert db.rows("SELECT DISTINCT format FROM credential_copies WHERE served") == [("jwt",)]
    # Beside each served VC-JWT, its JSON form (Data Integrity), with the same status entry.
    assert db.rows(
        "SELECT format, count(*), count(DISTINCT status_index) FROM credential_copies GROUP BY format"
        " ORDER BY format"
    ) == [("jwt", passes, passes), ("ldp", passes, passes)]
    _assert_exactly_once(db)
    assert (
        _assert_every_credential_verifies_and_states_its_result(db, jwt_signer, now=now, issued_at=now)
        == passes
    )
    assert db.registry.verify_audit()[1] is None


def _counter(format: Callable[[int], str]) -> Callable[[], str]:
    numbers: Iterator[int] = iter(range(1, 1_000_000))
    return lambda: format(next(numbers))


def test_injected_clock_uuids_salts_and_indexes_give_byte_identical_documents(
    db: Any, db_of: Callable[[Any], Any], signer: Signer, now: datetime, new_database_url: Callable[[], str]
) -> None:
    other = db_of(create_registry(new_database_url()))
    stored = []
    try:
        for each, workers in ((db, 1), (other, 2)):
            each.import_examples(now=now)
            run_signing_job(
                each.registry,
                signer,
                workers=workers,
                batch_size=4,
                clock=lambda: now,
                new_uuid=_counter(lambda n: str(uuid.UUID(int=n))),
                new_salt=_counter(lambda n: f"{n:032x}"),
                draw_index=random.Random(18).randrange,
            )
            stored.append(
                (
                    each.rows(
                        "SELECT c.result_id, c.id, c.url, p.document, p.sha256 FROM charter_credentials c"
                        " JOIN credential_copies p ON p.credential_id = c.id"
                        " ORDER BY c.result_id, p.format DESC"
                    ),
                    each.rows(
                        "SELECT details FROM audit_log WHERE action = 'credentials.issued' ORDER BY seq"
                    ),
                )
            )
    finally:
        other.registry.dispose()

    assert stored[0] == stored[1]
    documents = stored[0][0]
    assert len(documents) == 2 * len(_pass_ids(db))  # each version's JSON form and VC-JWT
    # The injected values are the ones used: the job took uuid 1, the credentials 2, 3, ...
    first = json.loads(documents[0][3])
    assert first["id"].endswith(f"/credentials/{uuid.UUID(int=2)}")
    assert first["credentialSubject"]["identifier"][0]["salt"] == f"{1:032x}"


# --- single issuance -------------------------------------------------------------------


def test_issue_one_records_a_credential_with_the_holder_of_the_same_email(
    db: Any, signer: Signer, now: datetime
) -> None:
    registry = db.registry
    db.import_examples(now=now)
    ada_id = db.scalar("SELECT id FROM holders WHERE email = 'ada.example@example.org'")
    award = CharterAward(
        name="Ada Example",
        email="  Ada.Example@Example.ORG ",
        exam_date=date(2026, 3, 14),
        charter_number="CAIEP-999999",  # the registry's number wins
        score="86",
        exam_version="2026.1",
        pathway="experience",
    )

    issued = issue_one(registry, signer, award, now=now)

    assert (issued.holder_id, issued.result_id) == (ada_id, None)
    assert db.scalar("SELECT COUNT(*) FROM holders") == 20
    record, document = registry.credential(issued.url)
    assert document == issued.document
    assert (record.job_id, record.result_id, record.holder_email) == (None, None, "ada.example@example.org")
    assert record.charter_number == charter_number(ada_id)
    checked = verify(
        json.loads(document), now=now, fetcher=registry_fetcher(registry, signer.profile.base_url)
    )
    assert checked.outcome is Outcome.VALID
    assert checked.credential is not None
    assert checked.credential["credentialSubject"]["licenseNumber"] == charter_number(ada_id)
    assert registry.verify_audit()[1] is None

    # Her imported result is still issued by the next job, under the same charter number.
    run_signing_job(registry, signer, clock=lambda: now)
    numbers = {r.charter_number for r in registry.credentials(holder_email="ada.example@example.org")}
    assert numbers == {charter_number(ada_id)}
    assert len(list(registry.credentials(holder_email="ada.example@example.org"))) == 2

    # Someone the registry does not know becomes a new holder with a new charter number.
    newcomer = issue_one(
        registry, signer, CharterAward("Yusuf Newcomer", "yusuf@example.net", date(2026, 5, 1), "x"), now=now
    )
    newcomer_id = db.scalar("SELECT id FROM holders WHERE email = 'yusuf@example.net'")
    assert newcomer.holder_id == newcomer_id != ada_id
    assert db.scalar("SELECT COUNT(*) FROM holders") == 21
    assert registry.verify_audit()[1] is None
