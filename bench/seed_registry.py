"""Fill a registry with many credentials quickly, without signing: input for listing benchmarks.

Signing 200,000 credentials takes the better part of an hour on two cores; listing them does not
look inside the documents, so rows written directly serve as well. Each credential has its own
holder, a document of about ``document_bytes`` of JSON, and an ``issued_at`` shared by batches of
1,000 (as a signing job's batches share one), so listings meet many ties.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from caiep.issuer.database import insert_rows
from caiep.issuer.registry import Registry
from caiep.issuer.tables import charter_credentials, credential_copies, credential_versions, holders

BASE_URL = "https://bench.caiep.example/credentials/"
_ROUND = 1_000  # credentials per issuing round: they share one issued_at


def seed_credentials(
    registry: Registry, count: int, *, document_bytes: int = 2_900, seed: int = 0, chunk: int = 2_000
) -> None:
    """Add ``count`` credentials (and their holders) in one transaction per ``chunk``."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with registry.read() as connection:
        first = int(connection.execute(select(func.count()).select_from(holders)).scalar_one()) + 1
    for offset in range(0, count, chunk):
        numbers = range(first + offset, first + min(offset + chunk, count))
        with registry.write() as connection:
            people = [(f"seed.{n}@example.org", f"Given{n} Seed{n}") for n in numbers]
            ids = registry.holder_ids(connection, people, now=start)
            rows = [
                _credential(n, ids[email], _issued_at(start, n - first), document_bytes, rng)
                for n, (email, _) in zip(numbers, people, strict=True)
            ]
            _store(connection, rows)


def _issued_at(start: datetime, index: int) -> datetime:
    return start + timedelta(minutes=index // _ROUND)


def _credential(
    number: int, holder_id: int, issued_at: datetime, size: int, rng: random.Random
) -> dict[str, Any]:
    credential_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    body = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": BASE_URL + credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "credentialSubject": {"name": f"Given{number} Seed{number}", "identifier": f"CAIEP-{number:06d}"},
    }
    text = json.dumps(body)
    padding = max(0, size - len(text) - 20)
    proof = {"proofValue": "z" + "".join(rng.choices("123456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=padding))}
    document = json.dumps({**body, "proof": proof})
    valid_until = issued_at + timedelta(days=5 * 365)
    return {
        "id": credential_id,
        "url": BASE_URL + credential_id,
        "holder_id": holder_id,
        "result_id": None,
        "job_id": None,
        "format": "ldp",
        "document": document,
        "sha256": hashlib.sha256(document.encode("utf-8")).hexdigest(),
        "valid_from": issued_at,
        "valid_until": valid_until,
        "key_id": "z6MkBench",
        "issued_at": issued_at,
    }


def _store(connection: Any, rows: list[dict[str, Any]]) -> None:
    """Each row as a charter credential with one current version and its served copy."""
    insert_rows(
        connection,
        charter_credentials,
        [
            {
                "id": r["id"],
                "url": r["url"],
                "holder_id": r["holder_id"],
                "result_id": None,
                "state": "current",
                "state_since": r["issued_at"],
                "awarded_at": r["valid_from"],
                "issued_at": r["issued_at"],
            }
            for r in rows
        ],
    )
    insert_rows(
        connection,
        credential_versions,
        [
            {
                "credential_id": r["id"],
                "version": 1,
                "kind": "award",
                "version_state": "current",
                "valid_from": r["valid_from"],
                "valid_until": r["valid_until"],
                "result_id": None,
                "job_id": None,
                "issued_at": r["issued_at"],
            }
            for r in rows
        ],
    )
    insert_rows(
        connection,
        credential_copies,
        [
            {
                "credential_id": r["id"],
                "version": 1,
                "format": r["format"],
                "document": r["document"],
                "sha256": r["sha256"],
                "key_id": r["key_id"],
                "status_list": None,
                "status_index": None,
                "served": True,
                "job_id": None,
                "issued_at": r["issued_at"],
            }
            for r in rows
        ],
    )
