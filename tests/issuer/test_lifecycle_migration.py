"""A registry made before the charter lifecycle (revision 0002) upgraded to charter credentials,
versions and copies, on SQLite and PostgreSQL: nothing issued before is lost, changed or stops
verifying, and what the lifecycle adds starts at once (status lists, the one-charter rule)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from old_registry import old_registry as _old_registry

from caiep.errors import InputError
from caiep.issuer.charter import CharterAward
from caiep.issuer.database import upgrade_database
from caiep.issuer.jobs import Signer, issue_one
from caiep.issuer.records import charter_number
from caiep.issuer.registry import open_registry
from caiep.issuer.results import ExamResult
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import registry_fetcher


def test_every_credential_of_an_older_registry_keeps_serving_and_verifying(
    database_url: str, signer: Signer, now: datetime
) -> None:
    old = _old_registry(database_url, signer)

    upgrade_database(database_url)  # what `caiep db upgrade` runs

    with open_registry(database_url) as registry:
        fetcher = registry_fetcher(registry, signer.profile.base_url)
        for row in old:
            # Served byte for byte, listed with what it was stored with.
            assert registry.document(row["id"]) == row["document"]
            record, document = registry.credential(row["url"])
            assert document == row["document"]
            assert (record.format, record.sha256, record.key_id) == (
                row["format"],
                row["sha256"],
                row["key_id"],
            )
            assert (record.state, record.version, record.status_list, record.status_index) == (
                "current",
                1,
                None,
                None,
            )
            presented = document if row["format"] == "jwt" else json.loads(document)
            result = verify(presented, now=now, fetcher=fetcher)
            assert result.outcome is Outcome.VALID, [c.to_json() for c in result.checks]
            assert {c.name: c.code for c in result.checks}["status"] == "no_status"
        # The holder who got two credentials keeps both, each its own charter credential.
        assert len(list(registry.credentials(holder_email="ada@example.org"))) == 2
        assert registry.verify_audit()[1] is None
        [first_list] = registry.status_lists(signer.profile.base_url)
        assert (first_list.number, first_list.size, first_list.used, first_list.signed_at) == (
            1,
            131_072,
            0,
            None,
        )

        # From now on: a new charter carries a status entry, from the list the migration made.
        issued = issue_one(
            registry,
            signer,
            CharterAward("Cleo New", "cleo@example.org", date(2026, 6, 1), "", score="90"),
            now=now,
        )
        assert issued.status_list == 1
        result = verify(json.loads(issued.document), now=now, fetcher=fetcher)
        assert result.outcome is Outcome.VALID
        assert {c.name: c.code for c in result.checks}["status"] == "not_revoked"

        # And a second award for a holder of a charter is refused, pointing to renewal.
        again = ExamResult(
            candidate_id="B-9",
            given_name="Bram",
            family_name="Sample",
            email="bram@example.org",
            registered_on=date(2026, 1, 5),
            exam_date=date(2026, 9, 1),
            result="pass",
            score="75",
            exam_version="2026.2",
            pathway="aie",
            line=2,
        )
        bram = charter_number(old[2]["holder_id"])
        with pytest.raises(InputError, match=f"already holds the CAiEP charter {bram} .* renew"):
            registry.import_results([again], source="late.csv", source_sha256="0" * 64, now=now)


def test_status_migrate_gives_each_earlier_credential_a_copy_with_status(
    database_url: str, signer: Signer, now: datetime
) -> None:
    from caiep.issuer.jobs import give_status_to_earlier_copies
    from caiep.proofs.jose import decode_unverified

    old = _old_registry(database_url, signer)
    upgrade_database(database_url)
    with open_registry(database_url) as registry:
        assert give_status_to_earlier_copies(registry, signer, now=now, batch_size=2) == 3
        assert give_status_to_earlier_copies(registry, signer, now=now) == 0  # safe to run again
        fetcher = registry_fetcher(registry, signer.profile.base_url)
        entries = set()
        for row in old:
            served = registry.document(row["id"])
            assert served is not None
            assert served != row["document"]
            if row["format"] == "jwt":
                new_body, old_body = (
                    decode_unverified(served.strip())[1],
                    decode_unverified(row["document"].strip())[1],
                )
            else:
                new_body, old_body = json.loads(served), json.loads(row["document"])
            for name in ("id", "validFrom", "validUntil", "awardedDate", "credentialSubject"):
                assert new_body[name] == old_body[name]  # same id, content and dates
            entries.add(new_body["credentialStatus"]["statusListIndex"])
            presented_new = served if row["format"] == "jwt" else json.loads(served)
            presented_old = row["document"] if row["format"] == "jwt" else json.loads(row["document"])
            checked = verify(presented_new, now=now, fetcher=fetcher)
            assert {c.name: c.code for c in checked.checks}["status"] == "not_revoked"
            assert checked.outcome is Outcome.VALID
            # A file downloaded before still verifies, and carries no status.
            before = verify(presented_old, now=now, fetcher=fetcher)
            assert (before.outcome, {c.name: c.code for c in before.checks}["status"]) == (
                Outcome.VALID,
                "no_status",
            )
        assert len(entries) == 3
        assert registry.verify_audit()[1] is None
        assert registry.status_lists(signer.profile.base_url)[0].used == 3
