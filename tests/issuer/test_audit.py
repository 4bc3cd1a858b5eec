"""The hash-chained audit log on SQLite and PostgreSQL: it holds after real work, every kind
of tampering (done with raw SQL, as someone with database access would) is found at the
right entry with a clear reason, and concurrent writers extend one chain."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from caiep.issuer import audit
from caiep.issuer.jobs import JobReport, Signer, run_signing_job

_ENTRIES = 7  # import, job started, the status list signed, three batches issued, job finished
Tamper = Callable[[Any, dict[str, list[int]], dict[str, int]], tuple[int, str, int]]


@pytest.fixture
def worked(db: Any, signer: Signer, now: datetime) -> JobReport:
    """The example results imported and signed in batches of five: several issuing entries."""
    db.import_examples(now=now)
    return run_signing_job(db.registry, signer, batch_size=5, clock=lambda: now)


def _seqs_by_action(db: Any) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for seq, action in db.rows("SELECT seq, action FROM audit_log ORDER BY seq"):
        found.setdefault(action, []).append(seq)
    return found


def _logged_by(db: Any) -> dict[str, int]:
    """Each credential URL and the seq of the one entry that logged its issue (both copies of
    its pair, each with its own digest)."""
    logged: dict[str, int] = {}
    for seq, details in db.rows("SELECT seq, details FROM audit_log WHERE action = 'credentials.issued'"):
        for url, *_ in json.loads(details)["credentials"]:
            assert logged.get(url, seq) == seq, f"{url} logged by two entries"
            logged[url] = seq
    return logged


def _logged_digests(db: Any) -> list[tuple[str, str]]:
    rows = db.rows("SELECT details FROM audit_log WHERE action = 'credentials.issued'")
    return sorted(
        (url, digest) for (details,) in rows for url, digest, *_ in json.loads(details)["credentials"]
    )


def test_the_chain_holds_after_an_import_and_a_job(db: Any, worked: JobReport) -> None:
    entries = db.rows("SELECT seq, action, subject, prev_hash, hash FROM audit_log ORDER BY seq")
    assert len(entries) == _ENTRIES
    assert [action for _, action, *_ in entries] == [
        "results.imported",
        "job.started",
        "status_list.signed",
        "credentials.issued",
        "credentials.issued",
        "credentials.issued",
        "job.finished",
    ]
    assert [seq for seq, *_ in entries] == list(range(1, len(entries) + 1))
    assert entries[0][3] == audit.GENESIS
    assert all(entry[3] == before[4] for before, entry in itertools.pairwise(entries))
    assert db.rows("SELECT seq, hash FROM audit_head") == [(len(entries), entries[-1][4])]
    assert worked.audit_head == entries[-1][4]
    assert {entries[i][2] for i in (1, 3, 4, 5, 6)} == {worked.job_id}
    assert entries[2][2] == "https://credentials.caiep.example/status/1"
    # Every stored copy (two a credential: the JSON form and the VC-JWT) is logged exactly once,
    # with the digest of its document.
    assert sorted(_logged_by(db)) == sorted(url for (url,) in db.rows("SELECT url FROM charter_credentials"))
    stored = db.rows(
        "SELECT c.url, p.sha256 FROM credential_copies p JOIN charter_credentials c ON c.id = p.credential_id"
    )
    assert _logged_digests(db) == sorted(stored)
    assert len(stored) == 2 * len(_logged_by(db))

    assert db.registry.verify_audit() == (len(entries), None)


def _edit_details(db: Any, seqs: dict[str, list[int]], _: dict[str, int]) -> tuple[int, str, int]:
    seq = seqs["credentials.issued"][1]
    assert db.execute(
        "UPDATE audit_log SET details = REPLACE(details, 'CAIEP-', 'CAIEP-9') WHERE seq = :s", s=seq
    )
    return seq, "its content does not match its hash (edited)", seq - 1


def _edit_and_rehash(db: Any, seqs: dict[str, list[int]], _: dict[str, int]) -> tuple[int, str, int]:
    """An edit whose own hash is recomputed: the next entry no longer points at it."""
    seq = seqs["job.started"][0]
    [row] = db.rows(
        "SELECT seq, at, actor, action, subject, details, prev_hash FROM audit_log WHERE seq = :s", s=seq
    )
    details = audit.canonical_details({"workers": 64})
    forged = audit.entry_hash(row[6], row[0], row[1], row[2], row[3], row[4], details)
    db.execute("UPDATE audit_log SET details = :d, hash = :h WHERE seq = :s", d=details, h=forged, s=seq)
    return seq + 1, "its prev_hash is not the hash of the entry before it", seq


def _edit_prev_hash(db: Any, seqs: dict[str, list[int]], _: dict[str, int]) -> tuple[int, str, int]:
    seq = seqs["credentials.issued"][0]
    db.execute("UPDATE audit_log SET prev_hash = :h WHERE seq = :s", h="f" * 64, s=seq)
    return seq, "its prev_hash is not the hash of the entry before it", seq - 1


def _delete_middle(db: Any, seqs: dict[str, list[int]], _: dict[str, int]) -> tuple[int, str, int]:
    seq = seqs["credentials.issued"][1]
    assert db.execute("DELETE FROM audit_log WHERE seq = :s", s=seq) == 1
    return seq, f"entry {seq} is missing (next is {seq + 1})", seq - 1


def _delete_last(db: Any, seqs: dict[str, list[int]], _: dict[str, int]) -> tuple[int, str, int]:
    last = seqs["job.finished"][0]
    assert db.execute("DELETE FROM audit_log WHERE seq = :s", s=last) == 1
    return last, f"the log ends at entry {last - 1} but the head records entry {last}", last - 1


def _swap_two(db: Any, seqs: dict[str, list[int]], _: dict[str, int]) -> tuple[int, str, int]:
    first, second = seqs["job.started"][0], seqs["credentials.issued"][0]
    with db.registry.engine.begin() as connection:
        for old, new in ((first, -1), (second, first), (-1, second)):
            connection.exec_driver_sql(f"UPDATE audit_log SET seq = {new} WHERE seq = {old}")
    return first, "its prev_hash is not the hash of the entry before it", first - 1


def _edit_document(db: Any, _: dict[str, list[int]], logged: dict[str, int]) -> tuple[int, str, int]:
    url, seq = next(iter(logged.items()))
    # The stored digest is updated too: the audit log, not the row, is the reference.
    [(document,)] = db.rows(
        "SELECT document FROM credential_copies WHERE credential_id = :c AND served", c=url.rsplit("/", 1)[1]
    )
    edited = document.replace('"licenseNumber":"CAIEP-', '"licenseNumber":"CAIEP-9')
    assert edited != document
    db.execute(
        "UPDATE credential_copies SET document = :d, sha256 = :h WHERE credential_id = :c AND served",
        d=edited,
        h=hashlib.sha256(edited.encode("utf-8")).hexdigest(),
        c=url.rsplit("/", 1)[1],
    )
    return seq, f"the stored document of {url} is not the one issued", _ENTRIES


def _edit_other_form(db: Any, _: dict[str, list[int]], logged: dict[str, int]) -> tuple[int, str, int]:
    """The VC-JWT stored beside the served JSON copy, replaced by another token: found too."""
    url, seq = list(logged.items())[1]
    [(token,)] = db.rows(
        "SELECT document FROM credential_copies WHERE credential_id = :c AND format = 'jwt'",
        c=url.rsplit("/", 1)[1],
    )
    edited = token.strip()[:-4] + ("AAAA" if not token.strip().endswith("AAAA") else "BBBB") + "\n"
    db.execute(
        "UPDATE credential_copies SET document = :d, sha256 = :h WHERE credential_id = :c AND format = 'jwt'",
        d=edited,
        h=hashlib.sha256(edited.encode("utf-8")).hexdigest(),
        c=url.rsplit("/", 1)[1],
    )
    return seq, f"the stored document of {url} is not the one issued", _ENTRIES


def _delete_credential(db: Any, _: dict[str, list[int]], logged: dict[str, int]) -> tuple[int, str, int]:
    url, seq = list(logged.items())[-1]
    assert db.execute("DELETE FROM credential_copies WHERE credential_id = :c", c=url.rsplit("/", 1)[1]) == 2
    return seq, f"credential {url} logged here is missing from the registry", _ENTRIES


def _insert_unlogged(db: Any, _: dict[str, list[int]], logged: dict[str, int]) -> tuple[int, str, int]:
    url = next(iter(logged))
    # A second copy of a logged credential, never logged itself.
    db.execute(
        "INSERT INTO credential_copies (credential_id, version, format, document, sha256, key_id,"
        " status_list, status_index, served, job_id, issued_at)"
        " SELECT credential_id, version, format, document, sha256, key_id, NULL, NULL, FALSE, job_id,"
        " issued_at FROM credential_copies WHERE credential_id = :c AND served",
        c=url.rsplit("/", 1)[1],
    )
    return 0, "1 stored credentials were never logged as issued", _ENTRIES


@pytest.mark.parametrize(
    "tamper",
    [
        _edit_details,
        _edit_other_form,
        _edit_and_rehash,
        _edit_prev_hash,
        _delete_middle,
        _delete_last,
        _swap_two,
        _edit_document,
        _delete_credential,
        _insert_unlogged,
    ],
    ids=lambda tamper: tamper.__name__.strip("_"),
)
def test_tampering_is_found_at_the_first_broken_entry(db: Any, worked: JobReport, tamper: Tamper) -> None:
    assert db.registry.verify_audit()[1] is None
    logged = _logged_by(db)

    seq, reason, intact = tamper(db, _seqs_by_action(db), logged)

    checked, broken = db.registry.verify_audit()
    assert broken is not None
    assert (broken.seq, broken.reason) == (seq, reason)
    assert checked == intact  # the entries that still hold, and none past the break


def test_a_clean_rewrite_of_the_whole_chain_is_caught_by_the_head_recorded_in_the_job_report(
    db: Any, worked: JobReport
) -> None:
    """Someone who rewrites every hash after an edit (and the head row) passes verify_audit;
    the head hash the job report kept elsewhere no longer matches."""
    rows = db.rows("SELECT seq, at, actor, action, subject, details FROM audit_log ORDER BY seq")
    previous = audit.GENESIS
    with db.registry.engine.begin() as connection:
        for seq, at, actor, action, subject, details in rows:
            if action == "job.started":
                details = audit.canonical_details({"workers": 64})
            digest = audit.entry_hash(previous, seq, at, actor, action, subject, details)
            connection.execute(
                text("UPDATE audit_log SET details = :d, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"d": details, "p": previous, "h": digest, "s": seq},
            )
            previous = digest
        connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": previous})

    assert db.registry.verify_audit() == (len(rows), None)
    assert previous != worked.audit_head


def test_concurrent_appends_extend_one_chain(db: Any, now: datetime) -> None:
    db.import_examples(now=now)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def append(writer: int) -> None:
        try:
            start.wait(5)
            for index in range(50):
                entry = audit.AuditEntry("test.appended", f"writer-{writer}", {"index": index})
                db.registry.append_audit([entry], now=now)
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(writer,)) for writer in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    assert db.registry.verify_audit() == (101, None)
    entries = db.rows("SELECT seq, subject, details, prev_hash FROM audit_log ORDER BY seq")
    assert [seq for seq, *_ in entries] == list(range(1, 102))
    assert len({prev for *_, prev in entries}) == 101  # no entry has two successors: no fork
    for writer in (1, 2):
        indexes = [
            json.loads(details)["index"]
            for _, subject, details, _ in entries
            if subject == f"writer-{writer}"
        ]
        assert indexes == list(range(50))
    assert db.rows("SELECT seq FROM audit_head") == [(101,)]


def test_entries_are_hashed_over_their_exact_stored_text(db: Any, now: datetime) -> None:
    """The stored time is the hashed text (microseconds, UTC), so a re-read never drifts."""
    head = db.registry.append_audit([audit.AuditEntry("test.one", "subject", {"b": 1, "a": "é"})], now=now)
    [(at, details, stored_hash)] = db.rows("SELECT at, details, hash FROM audit_log")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", at)
    assert at == "2026-11-26T09:30:00.000000Z"
    assert details == '{"a":"é","b":1}'
    assert (
        stored_hash == head == audit.entry_hash(audit.GENESIS, 1, at, "caiep", "test.one", "subject", details)
    )
