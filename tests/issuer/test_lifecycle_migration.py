"""A registry made before the charter lifecycle (revision 0002) upgraded to charter credentials,
versions and copies, on SQLite and PostgreSQL: nothing issued before is lost, changed or stops
verifying, and what the lifecycle adds starts at once (status lists, the one-charter rule)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from caiep.errors import InputError
from caiep.issuer import audit
from caiep.issuer.charter import CharterAward
from caiep.issuer.database import upgrade_database
from caiep.issuer.jobs import Signer, issue_one
from caiep.issuer.records import PendingResult, charter_number
from caiep.issuer.registry import open_registry
from caiep.issuer.results import ExamResult
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import registry_fetcher

ISSUED_AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _at_revision_0002(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
    finally:
        engine.dispose()


def _old_registry(url: str, signer: Signer) -> list[dict[str, Any]]:
    """What the version before the lifecycle stored for three credentials (two for one holder,
    who got them by two passes, as it allowed): rows of its ``credentials`` table and the
    ``credentials.issued`` audit entries it logged."""
    _at_revision_0002(url)
    engine = create_engine(url, poolclass=NullPool)
    stored: list[dict[str, Any]] = []
    try:
        with engine.begin() as connection:
            ids = {}
            for email, name in (("ada@example.org", "Ada Example"), ("bram@example.org", "Bram Sample")):
                connection.execute(
                    text("INSERT INTO holders (email, name, created_at) VALUES (:e, :n, :t)"),
                    {"e": email, "n": name, "t": ISSUED_AT},
                )
                ids[email] = connection.execute(
                    text("SELECT id FROM holders WHERE email = :e"), {"e": email}
                ).scalar_one()
            for email, fmt in (
                ("ada@example.org", "ldp"),
                ("ada@example.org", "jwt"),
                ("bram@example.org", "ldp"),
            ):
                holder = ids[email]
                credential_uuid = str(uuid.uuid4())
                made = signer.make(
                    (_pending(holder, email), credential_uuid, secrets.token_hex(16), ISSUED_AT, None)
                )
                document = made.document
                if fmt == "jwt":
                    from caiep.proofs.jose import sign_credential_jwt

                    unsigned = {k: v for k, v in json.loads(document).items() if k != "proof"}
                    document = (
                        sign_credential_jwt(unsigned, signer.key, kid=signer.verification_method) + "\n"
                    )
                row = {
                    "id": credential_uuid,
                    "url": made.url,
                    "holder_id": holder,
                    "format": fmt,
                    "document": document,
                    "sha256": hashlib.sha256(document.encode("utf-8")).hexdigest(),
                    "valid_from": made.valid_from,
                    "valid_until": made.valid_until,
                    "key_id": signer.key_id,
                    "issued_at": ISSUED_AT,
                }
                connection.execute(
                    text(
                        "INSERT INTO credentials (id, url, holder_id, result_id, job_id, format, document,"
                        " sha256, valid_from, valid_until, key_id, issued_at) VALUES (:id, :url, :holder_id,"
                        " NULL, NULL, :format, :document, :sha256, :valid_from, :valid_until, :key_id,"
                        " :issued_at)"
                    ),
                    row,
                )
                details = {
                    "job": None,
                    "credentials": [
                        [made.url, row["sha256"], charter_number(holder), None, signer.key_id, ""]
                    ],
                }
                audit.append(
                    connection, [audit.AuditEntry("credentials.issued", made.url, details)], now=ISSUED_AT
                )
                stored.append(row)
    finally:
        engine.dispose()
    return stored


def _pending(holder: int, email: str) -> PendingResult:
    name = email.split("@")[0].title() + " Example"
    return PendingResult(0, holder, name, email, date(2026, 2, 1), "82", "2026.1", "aie")


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
