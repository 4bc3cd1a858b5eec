"""Registries as earlier versions left them.

:func:`old_registry`: as the version before the charter lifecycle (schema revision 0002) left
it: three credentials in its ``credentials`` table, one form each, no status entry, and the
``credentials.issued`` audit entries it logged. Upgrade it with ``upgrade_database``.
:func:`issued_the_old_way`: a charter credential as issued before versions were issued as pairs.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from caiep.issuer import audit, recording, statuslists
from caiep.issuer.jobs import IssuedCredential, Signer
from caiep.issuer.records import PendingResult, charter_number
from caiep.issuer.registry import Registry

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


def old_registry(url: str, signer: Signer) -> list[dict[str, Any]]:
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


def issued_the_old_way(registry: Registry, signer: Signer, email: str, now: datetime) -> IssuedCredential:
    """What ``caiep issue`` stored before versions were issued as pairs: the served copy alone."""
    with registry.write() as connection:
        reservation = statuslists.reserve(connection, 1, signer.list_signer(), now=now)
        [entry] = reservation.entries
        holder = registry.holder_ids(connection, [(email, "Old Way")], now=now)[email]
        pending = PendingResult(0, holder, "Old Way", email, now.date(), "80", "", "")
        issued = signer.make(
            (
                pending,
                f"00000000-0000-4000-8000-{holder:012d}",
                "ab" * 16,
                now,
                (entry.list_number, entry.index),
            )
        )
        issued = replace(issued, other_document=None)
        recording.record_batch(connection, job_id=None, issued=[issued], failed=[], now=now)
        reservation.record(connection, [entry])
    return issued
