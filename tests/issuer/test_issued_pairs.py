"""Every version is issued as a pair, on SQLite and PostgreSQL: after an award (``caiep issue`` in
either format, a signing job), a renewal, a reinstatement and ``status migrate``, the registry
holds the JSON copy (eddsa-rdfc-2022) and its VC-JWT, read back by ``issued_copies``: both verify
with our verifier, carry the same body and status entry, share one index (one bit, counted once
by the list), and read revoked together once the charter is revoked."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from old_registry import issued_the_old_way, old_registry

from caiep.issuer import changes, exports, statuslists
from caiep.issuer.changes import Wanted
from caiep.issuer.charter import CharterAward
from caiep.issuer.database import upgrade_database
from caiep.issuer.jobs import (
    Signer,
    give_status_to_earlier_copies,
    issue_one,
    run_signing_job,
)
from caiep.issuer.registry import Registry, open_registry
from caiep.proofs.jose import REGISTERED_CLAIMS, decode_unverified
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import registry_fetcher


def _status_code(registry: Registry, signer: Signer, presented: Any, now: datetime) -> tuple[Outcome, str]:
    result = verify(presented, now=now, fetcher=registry_fetcher(registry, signer.profile.base_url))
    status = {c.name: c.code for c in result.checks}["status"]
    return result.outcome, status


def assert_pair(
    registry: Registry, signer: Signer, credential_id: str, now: datetime, *, served: str, status: str
) -> exports.IssuedCopies:
    """Both forms of the current version: stored, verifying (status check ``status``), the same
    credential, the same entry; the JWT's payload is the JSON form without its proof plus the
    JWT claims (VC-JOSE-COSE §3.1.1, OB 3.0 §8.2)."""
    with registry.read() as connection:
        copies = exports.issued_copies(connection, credential_id, now=now)
    assert copies.served_form == served
    assert sorted(copies.forms) == ["jwt", "ldp"]
    document = json.loads(copies.forms["ldp"])
    token = copies.forms["jwt"]
    assert token.endswith("\n")
    assert token.count(".") == 2
    header, payload = decode_unverified(token.strip())
    assert header == {"alg": "EdDSA", "kid": signer.verification_method, "typ": "JWT"}
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    assert {k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS} == unsigned
    assert (payload["jti"], payload["iss"]) == (document["id"], document["issuer"]["id"])
    assert payload["nbf"] == int(
        datetime.fromisoformat(document["validFrom"].replace("Z", "+00:00")).timestamp()
    )
    assert document["id"] == copies.url
    for presented in (document, token.strip()):
        outcome, code = _status_code(registry, signer, presented, now)
        assert (outcome, code) == (Outcome.VALID if status != "revoked" else Outcome.INVALID, status)
    return copies


def _rows(registry: Registry, credential_id: str) -> list[tuple[Any, ...]]:
    with registry.read() as connection:
        return [
            (version, format, bool(served), status_list, status_index)
            for version, format, served, status_list, status_index in connection.exec_driver_sql(
                "SELECT version, format, served, status_list, status_index FROM credential_copies"
                f" WHERE credential_id = '{credential_id}' ORDER BY version, served DESC, id"
            )
        ]


def _award(email: str = "ada@example.org", exam: datetime | None = None) -> CharterAward:
    day = (exam or datetime(2026, 11, 1)).date()
    return CharterAward("Ada Lovelace", email, day, "", score="88")


@pytest.mark.parametrize("served", ["ldp", "jwt"])
def test_caiep_issue_stores_both_forms_with_one_status_entry(
    registry: Registry, make_signer: Callable[..., Signer], now: datetime, served: str
) -> None:
    signer = make_signer(format=served)
    issued = issue_one(registry, signer, _award(), now=now)

    copies = assert_pair(registry, signer, issued.credential_id, now, served=served, status="not_revoked")

    assert copies.forms[served] == issued.document == registry.document(issued.credential_id)
    other = "jwt" if served == "ldp" else "ldp"
    assert copies.forms[other] == issued.other_document
    entry = (issued.status_list, issued.status_index)
    assert _rows(registry, issued.credential_id) == [(1, served, True, *entry), (1, other, False, *entry)]
    [listed] = registry.status_lists(signer.profile.base_url)
    assert listed.used == 1  # the pair's one index, counted once
    with registry.read() as connection:
        assert statuslists.allocated_indexes(connection, 1) == {issued.status_index}
    assert registry.verify_audit()[1] is None


def test_a_signing_job_stores_each_credential_in_both_forms(db: Any, signer: Signer, now: datetime) -> None:
    db.import_examples(now=now)
    report = run_signing_job(db.registry, signer, workers=2, batch_size=4, clock=lambda: now)

    ids = [credential_id for (credential_id,) in db.rows("SELECT id FROM charter_credentials")]
    assert len(ids) == report.issued == 13
    for credential_id in ids[:4]:
        assert_pair(db.registry, signer, credential_id, now, served="ldp", status="not_revoked")
    assert db.rows(
        "SELECT format, served, count(*) FROM credential_copies GROUP BY format, served ORDER BY format"
    ) == [
        ("jwt", False, 13),
        ("ldp", True, 13),
    ]
    [listed] = db.registry.status_lists(signer.profile.base_url)
    assert listed.used == 13
    assert db.registry.verify_audit()[1] is None


def test_renewal_and_reinstatement_issue_pairs_and_revocation_sets_the_one_shared_bit(
    registry: Registry, make_signer: Callable[..., Signer], now: datetime
) -> None:
    signer = make_signer(format="jwt")  # the served form stays the one the award chose
    awarded = now - timedelta(days=5 * 365 - 30)
    issued = issue_one(registry, signer, _award(exam=awarded - timedelta(days=10)), now=awarded)
    wanted = [Wanted(issued.credential_id, "test")]

    with registry.write() as connection:
        [renewed] = changes.renew(
            connection, wanted, signer, on=None, window_months=12, actor="registrar", now=now
        )
    assert renewed.version == 2
    # The list was first signed at the award: re-signed as the daily `status publish` does.
    registry.republish_status_lists(signer.list_signer(), now=now, older_than=timedelta(0))
    renewal = assert_pair(registry, signer, issued.credential_id, now, served="jwt", status="not_revoked")
    assert renewal.version == 2
    assert renewal.forms["jwt"] == renewed.document
    assert json.loads(renewal.forms["ldp"])["evidence"][-1]["name"] == "CAiEP charter renewal"

    later = now + timedelta(days=1)
    with registry.write() as connection:
        changes.suspend(connection, wanted, signer, reason="Under review", note=None, actor="r", now=later)
    with registry.write() as connection:
        [back] = changes.reinstate(connection, wanted, signer, note=None, actor="r", now=later)
    assert back.version == 3
    reinstated = assert_pair(
        registry, signer, issued.credential_id, later, served="jwt", status="not_revoked"
    )
    assert json.loads(reinstated.forms["ldp"])["validUntil"] == json.loads(renewal.forms["ldp"])["validUntil"]

    rows = _rows(registry, issued.credential_id)
    assert [(v, f, s) for v, f, s, *_ in rows] == [
        (1, "jwt", False), (1, "ldp", False),
        (2, "jwt", False), (2, "ldp", False),
        (3, "jwt", True), (3, "ldp", False),
    ]  # fmt: skip
    entries = {v: {(n, i) for vv, _, _, n, i in rows if vv == v} for v in (1, 2, 3)}
    assert all(len(pair) == 1 for pair in entries.values())  # each pair shares one entry
    assert len(set().union(*entries.values())) == 3

    with registry.write() as connection:
        changes.revoke(connection, wanted, signer, reason="Withdrawn", note=None, actor="r", now=later)
    assert_pair(registry, signer, issued.credential_id, later, served="jwt", status="revoked")
    with registry.read() as connection:
        for version in (2, 3):
            [(n, i)] = entries[version]
            assert statuslists.bit_of(connection, statuslists.StatusEntry(n, i)) == 1
    assert sum(s.set_bits for s in registry.status_lists(signer.profile.base_url)) == 3
    assert sum(s.used for s in registry.status_lists(signer.profile.base_url)) == 3
    assert registry.verify_audit()[1] is None


def test_status_migrate_gives_both_forms_the_new_status_entry(
    database_url: str, signer: Signer, now: datetime
) -> None:
    old = old_registry(database_url, signer)
    upgrade_database(database_url)
    with open_registry(database_url) as registry:
        assert give_status_to_earlier_copies(registry, signer, now=now, batch_size=2) == 3
        assert give_status_to_earlier_copies(registry, signer, now=now) == 0
        for row in old:
            copies = assert_pair(registry, signer, row["id"], now, served=row["format"], status="not_revoked")
            assert copies.forms[row["format"]] == registry.document(row["id"])
            rows = _rows(registry, row["id"])
            assert [(f, s, n is None) for _, f, s, n, _ in rows] == [
                (row["format"], True, False),
                (row["format"], False, True),  # the copy issued before status lists, kept
                ("jwt" if row["format"] == "ldp" else "ldp", False, False),
            ]
        assert sum(s.used for s in registry.status_lists(signer.profile.base_url)) == 3
        assert registry.verify_audit()[1] is None


def test_backfill_signs_exactly_the_missing_forms_once(
    registry: Registry, make_signer: Callable[..., Signer], now: datetime
) -> None:
    from caiep.issuer.backfill import backfill_forms, count_missing_forms

    ldp, jwt = make_signer(format="ldp"), make_signer(format="jwt")
    complete = issue_one(registry, ldp, _award("new@example.org"), now=now)
    old_json = issued_the_old_way(registry, ldp, "json@example.org", now)
    old_jwt = issued_the_old_way(registry, jwt, "jwt@example.org", now)
    with registry.read() as connection:
        assert sorted(exports.issued_copies(connection, old_json.credential_id, now=now).forms) == ["ldp"]
    assert count_missing_forms(registry) == 2

    seen: list[tuple[int, int]] = []
    later = now + timedelta(hours=1)
    assert (
        backfill_forms(
            registry, ldp, now=later, batch_size=1, on_progress=lambda p: seen.append((p.signed, p.total))
        )
        == 2
    )
    assert seen == [(1, 2), (2, 2)]
    assert backfill_forms(registry, ldp, now=later) == 0  # idempotent
    assert count_missing_forms(registry) == 0

    for issued, served in ((old_json, "ldp"), (old_jwt, "jwt"), (complete, "ldp")):
        copies = assert_pair(registry, ldp, issued.credential_id, later, served=served, status="not_revoked")
        assert copies.forms[served] == issued.document  # the served copy is untouched
        assert registry.document(issued.credential_id) == issued.document
    assert len(_rows(registry, complete.credential_id)) == 2  # nothing added to a complete pair
    assert sum(s.used for s in registry.status_lists(ldp.profile.base_url)) == 3
    assert registry.verify_audit()[1] is None

    with registry.write() as connection:
        changes.revoke(
            connection,
            [Wanted(old_jwt.credential_id, "t")],
            ldp,
            reason="Withdrawn",
            note=None,
            actor="r",
            now=later,
        )
    assert_pair(registry, ldp, old_jwt.credential_id, later, served="jwt", status="revoked")


def test_backfill_of_a_registry_from_before_status_lists_then_migrate(
    database_url: str, signer: Signer, now: datetime
) -> None:
    from caiep.issuer.backfill import backfill_forms, count_missing_forms

    old = old_registry(database_url, signer)
    upgrade_database(database_url)
    with open_registry(database_url) as registry:
        assert count_missing_forms(registry) == 3
        assert backfill_forms(registry, signer, now=now, batch_size=2) == 3
        assert backfill_forms(registry, signer, now=now) == 0
        for row in old:
            copies = assert_pair(registry, signer, row["id"], now, served=row["format"], status="no_status")
            assert copies.forms[row["format"]] == row["document"]
        assert registry.verify_audit()[1] is None
        # status migrate then signs a new pair with a status entry; nothing is left to backfill.
        assert give_status_to_earlier_copies(registry, signer, now=now) == 3
        assert count_missing_forms(registry) == 0
        for row in old:
            assert_pair(registry, signer, row["id"], now, served=row["format"], status="not_revoked")
        assert registry.verify_audit()[1] is None
