"""The lifecycle building blocks the charter commands compose: a second version under the same
credential id, its copy with a new status index, the copies a revocation must reach."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from caiep.errors import InputError
from caiep.issuer import lifecycle, statuslists, versions
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import Signer, issue_one
from caiep.issuer.registry import Registry
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import registry_fetcher


def test_a_new_version_keeps_the_id_takes_the_hosted_url_and_both_are_revocable(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    award = CharterAward("Ada Lovelace", "ada@example.org", now.date(), "", score="88")
    first = issue_one(registry, signer, award, now=now)
    later = now + timedelta(days=30)
    with registry.write() as connection:
        charter = lifecycle.find_charter(connection, first.url, lock=True)
        assert lifecycle.find_charter(connection, charter.charter_number) == charter
        assert lifecycle.find_charter(connection, first.credential_id) == charter
        made = versions.new_version(
            connection, charter, signer, kind="reinstatement", valid_from=later,
            valid_until=charter.valid_until, now=later,
        )  # fmt: skip
        version, entry = made.version, made.status
        in_circulation = lifecycle.copies_in_circulation(
            connection, charter.credential_id, unexpired_at=later
        )
    assert version == 2
    assert registry.document(first.credential_id) == made.served  # the hosted URL serves version 2
    record, _ = registry.credential(first.url)
    assert (record.version, record.valid_from) == (2, later)
    assert {(e.list_number, e.index) for e in in_circulation} == {
        (first.status_list, first.status_index),
        (entry.list_number, entry.index),
    }
    assert registry.verify_audit()[1] is None
    with registry.read() as connection:
        assert statuslists.allocated_indexes(connection, 1) == {first.status_index, entry.index}

    with registry.write() as connection:
        statuslists.set_bits(connection, in_circulation, signer.list_signer(), now=later)
        lifecycle.set_state(connection, first.credential_id, "revoked", now=later, public_reason="withdrawn")
    fetcher = registry_fetcher(registry, signer.profile.base_url)
    for document in (first.document, made.served):
        result = verify(json.loads(document), now=later, fetcher=fetcher)
        assert [(c.outcome, c.code) for c in result.checks if c.name == "status"] == [
            (Outcome.INVALID, "revoked")
        ]
    assert registry.credential(first.url)[0].state == "revoked"


def test_an_unknown_charter_is_a_clear_error(registry: Registry) -> None:
    with (
        registry.read() as connection,
        pytest.raises(InputError, match="no charter credential 'CAIEP-000999'"),
    ):
        lifecycle.find_charter(connection, "CAIEP-000999")
