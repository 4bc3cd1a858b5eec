"""Reading credentials back, on SQLite and PostgreSQL: filters, instants, one credential with its
document, and listings that stream and page.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.seed_registry import seed_credentials
from caiep.errors import InputError
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import Signer, issue_one, run_signing_job
from caiep.issuer.queries import STREAM_BATCH
from caiep.issuer.registry import CredentialRecord, Registry, charter_number

EXAMPLE_PASSES = 13


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
    stored = db.rows(
        "SELECT c.id, c.url, c.result_id, p.document FROM charter_credentials c"
        " JOIN credential_copies p ON p.credential_id = c.id AND p.served"
    )
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


# --- streaming and paging ----------------------------------------------------------------


def _signed_in_three_rounds(db: Any, signer: Signer, now: datetime) -> list[datetime]:
    """The 13 example passes signed at three times: 4, 4, then 5 credentials sharing a time."""
    db.import_examples(now=now)
    times = [now, now + timedelta(days=60), now + timedelta(days=400)]
    for moment, limit in zip(times, (4, 4, None), strict=True):
        run_signing_job(db.registry, signer, limit=limit, clock=_at(moment))
    return times


def _key(record: CredentialRecord) -> tuple[datetime, str]:
    return record.issued_at, record.credential_id


def test_listing_is_newest_first_with_ties_in_descending_uuid_order(
    db: Any, signer: Signer, now: datetime
) -> None:
    _signed_in_three_rounds(db, signer, now)
    listed = list(db.registry.credentials())
    assert len(listed) == EXAMPLE_PASSES
    assert [_key(r) for r in listed] == sorted((_key(r) for r in listed), reverse=True)


@pytest.mark.parametrize("size", [1, 3, 4, 5, 13, 20])
def test_pages_after_the_last_uuid_cover_the_listing_once_each(
    db: Any, signer: Signer, now: datetime, size: int
) -> None:
    _signed_in_three_rounds(db, signer, now)
    whole = [r.credential_id for r in db.registry.credentials()]
    pages: list[list[str]] = []
    after = None
    while True:
        page = [r.credential_id for r in db.registry.credentials(limit=size, after=after)]
        if not page:
            break
        assert len(page) <= size
        pages.append(page)
        after = page[-1]
    assert [uuid for page in pages for uuid in page] == whole
    assert len(pages) == -(-EXAMPLE_PASSES // size)


def test_paging_keeps_the_filters_and_ignores_credentials_issued_meanwhile(
    db: Any, signer: Signer, now: datetime
) -> None:
    times = _signed_in_three_rounds(db, signer, now)
    asked = times[2].replace(year=times[2].year + 5) - timedelta(days=1)
    still_valid = [r.credential_id for r in db.registry.credentials(valid_at=asked)]
    assert len(still_valid) == 5
    first = [r.credential_id for r in db.registry.credentials(valid_at=asked, limit=2)]
    later = times[2] + timedelta(days=1)  # newer than every page, and still valid when asked
    award = CharterAward("Late Comer", "late.comer@example.org", later.date(), "", "75", "2026.1", "academic")
    late = issue_one(db.registry, signer, award, now=later)
    rest = [r.credential_id for r in db.registry.credentials(valid_at=asked, after=first[-1])]
    assert first + rest == still_valid
    assert late.credential_id == next(db.registry.credentials(valid_at=asked)).credential_id


@pytest.mark.parametrize("after", ["00000000-0000-4000-8000-000000000000", ""])
def test_paging_after_an_unknown_credential_is_an_input_error(db: Any, after: str) -> None:
    with pytest.raises(InputError, match="to list after"):
        db.registry.credentials(after=after)


def test_a_negative_limit_is_an_input_error_and_zero_lists_nothing(
    db: Any, signer: Signer, now: datetime
) -> None:
    _signed_in_three_rounds(db, signer, now)
    with pytest.raises(InputError, match="cannot be negative"):
        db.registry.credentials(limit=-1)
    assert list(db.registry.credentials(limit=0)) == []


def test_a_stream_holds_one_connection_while_read_and_releases_it_when_left(
    db: Any, signer: Signer, now: datetime
) -> None:
    _signed_in_three_rounds(db, signer, now)
    pool = db.registry.engine.pool
    stream = db.registry.credentials()
    assert pool.checkedout() == 0  # nothing is opened before the first item
    with stream as records:
        next(records)
        assert pool.checkedout() == 1
    assert pool.checkedout() == 0
    assert list(stream) == []  # a closed stream yields nothing more

    exhausted = db.registry.credentials()
    assert len(list(exhausted)) == EXAMPLE_PASSES
    assert pool.checkedout() == 0


def _streamed_peak(registry: Registry) -> tuple[int, int]:
    """(how many were read, peak bytes Python allocated) while reading the whole listing."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in registry.credentials())
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _held_peak(registry: Registry) -> int:
    tracemalloc.start()
    try:
        held = list(registry.credentials())
        assert held
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_listing_is_read_in_batches_so_memory_does_not_grow_with_the_registry(registry: Registry) -> None:
    rows = 8 * STREAM_BATCH
    seed_credentials(registry, rows, document_bytes=200)
    count, streamed = _streamed_peak(registry)
    assert count == rows
    held = _held_peak(registry)
    assert streamed < held / 3, (streamed, held)


def _backend_queries(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    sql = "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    try:
        with engine.connect() as connection:
            return [str(q) for (q,) in connection.execute(text(sql)).all()]
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_listings_use_a_server_side_cursor(registry: Registry, database_url: str) -> None:
    # SQLite needs no such cursor: its rows are read from the file as they are fetched.
    seed_credentials(registry, 3 * STREAM_BATCH, document_bytes=200)
    with registry.credentials() as records:
        next(records)
        [query] = _backend_queries(database_url)
        assert query.startswith("FETCH FORWARD"), query
        assert sum(1 for _ in records) == 3 * STREAM_BATCH - 1
