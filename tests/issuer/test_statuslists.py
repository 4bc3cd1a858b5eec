"""Status lists in the registry: random, never-reused indexes; a new list at three-quarters; bits
set and re-signed under the list's lock; concurrent draws on PostgreSQL that never collide."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from caiep.issuer import statuslists
from caiep.issuer.jobs import Signer
from caiep.issuer.registry import Registry, open_registry
from caiep.issuer.statuslists import FULL_AT, LIST_SIZE, StatusEntry
from caiep.statuslist import decode_status_list
from caiep.verifier.bitstring import check_entry
from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import registry_fetcher


def _draw(registry: Registry, signer: Signer, count: int, now: datetime) -> list[StatusEntry]:
    with registry.write() as connection:
        reservation = statuslists.reserve(connection, count, signer.list_signer(), now=now)
        reservation.record(connection, reservation.entries)
    return reservation.entries


def _list(registry: Registry, number: int) -> dict[str, Any]:
    import json

    document = registry.status_list(number)
    assert document is not None
    return dict(json.loads(document))


def test_indexes_are_random_distinct_and_the_first_draw_signs_the_list(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    assert registry.status_list(1) is None  # made by the migration, unsigned until first used
    first = _draw(registry, signer, 500, now)
    second = _draw(registry, signer, 500, now)
    indexes = [e.index for e in first + second]
    assert len(set(indexes)) == 1000
    assert {e.list_number for e in first + second} == {1}
    assert sorted(indexes) != indexes  # not handed out in order
    assert max(indexes) - min(indexes) > LIST_SIZE // 2  # spread over the list, not a sequence
    with registry.read() as connection:
        assert statuslists.allocated_indexes(connection, 1) == set(indexes)
    document = _list(registry, 1)
    assert document["credentialSubject"]["ttl"] == signer.status_ttl_ms
    assert decode_status_list(document["credentialSubject"]["encodedList"]) == bytes(LIST_SIZE // 8)
    listed = verify(document, now=now, fetcher=MappingFetcher({}))
    assert [c.outcome for c in listed.checks if c.name == "proof"] == [Outcome.VALID]


def test_a_new_list_starts_when_one_is_three_quarters_full(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    _draw(registry, signer, 10, now)
    with registry.write() as connection:  # as if 98,302 copies carried indexes of list 1
        connection.exec_driver_sql(f"UPDATE status_lists SET used = {FULL_AT - 2} WHERE number = 1")
    drawn = _draw(registry, signer, 5, now)
    assert [e.list_number for e in drawn] == [1, 1, 2, 2, 2]
    summaries = registry.status_lists(signer.profile.base_url)
    assert [(s.number, s.used) for s in summaries] == [(1, FULL_AT), (2, 3)]
    assert summaries[1].url == f"{signer.profile.base_url}/status/2"
    assert summaries[1].valid_until == summaries[1].signed_at + timedelta(days=30)  # type: ignore[operator]
    assert _list(registry, 2)["id"] == summaries[1].url


def test_a_set_bit_is_signed_into_the_list_and_read_by_the_verifier(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    target, bystander = _draw(registry, signer, 2, now)
    before = registry.status_list(1)
    with registry.write() as connection:
        changed = statuslists.set_bits(
            connection, [target], signer.list_signer(), now=now + timedelta(hours=1)
        )
        again = statuslists.set_bits(connection, [target], signer.list_signer(), now=now + timedelta(hours=1))
    assert (changed, again) == ([1], [])  # a bit already set changes nothing, and is not re-signed
    assert registry.status_list(1) != before
    document = _list(registry, 1)
    for entry, expected in ((target, True), (bystander, False)):
        json_entry = statuslists.status_entry(signer.profile.base_url, entry.list_number, entry.index)
        assert check_entry(json_entry, document).set is expected
    assert registry.status_lists(signer.profile.base_url)[0].set_bits == 1


def test_publish_re_signs_only_lists_older_than_seven_days(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    _draw(registry, signer, 1, now)
    six_days = registry.republish_status_lists(
        signer.list_signer(), now=now + timedelta(days=6), older_than=timedelta(days=7)
    )
    eight_days = registry.republish_status_lists(
        signer.list_signer(), now=now + timedelta(days=8), older_than=timedelta(days=7)
    )
    assert (six_days, eight_days) == ([], [1])
    [summary] = registry.status_lists(signer.profile.base_url)
    assert summary.signed_at == now + timedelta(days=8)
    assert registry.expiring_status_lists(now + timedelta(days=8 + 29)) == []
    assert [n for n, _ in registry.expiring_status_lists(now + timedelta(days=8 + 31))] == [1]


def test_50000_indexes_drawn_by_two_concurrent_writers_on_postgresql_never_collide(
    database_url: str, registry: Registry, signer: Signer, now: datetime
) -> None:
    """The locked step a signing job takes per batch, run by two connections at once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing can collide there")
    drawn: list[list[StatusEntry]] = [[], []]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(slot: int) -> None:
        try:
            with open_registry(database_url) as own:
                start.wait()
                for _ in range(25):
                    drawn[slot].extend(_draw(own, signer, 1000, now))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [(e.list_number, e.index) for e in drawn[0] + drawn[1]]
    assert len(every) == 50_000
    assert len(set(every)) == 50_000  # no collision
    with registry.read() as connection:
        taken = statuslists.allocated_indexes(connection, 1)
    assert taken == {i for n, i in every if n == 1}
    assert registry.status_lists(signer.profile.base_url)[0].used == 50_000


def test_a_job_credential_verifies_with_its_list_read_from_the_registry(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    import json

    from caiep.issuer.charter import CharterAward
    from caiep.issuer.jobs import issue_one

    issued = issue_one(
        registry, signer, CharterAward("Ada Lovelace", "ada@example.org", now.date(), ""), now=now
    )
    fetcher = registry_fetcher(registry, signer.profile.base_url)
    result = verify(json.loads(issued.document), now=now, fetcher=fetcher)
    assert result.outcome is Outcome.VALID
    with registry.write() as connection:
        statuslists.set_bits(
            connection,
            [StatusEntry(issued.status_list or 0, issued.status_index or 0)],
            signer.list_signer(),
            now=now,
        )
    revoked = verify(json.loads(issued.document), now=now, fetcher=fetcher)  # the next verification sees it
    assert [(c.outcome, c.code) for c in revoked.checks if c.name == "status"] == [
        (Outcome.INVALID, "revoked")
    ]
