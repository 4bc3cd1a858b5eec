"""Hostile documents for the input limits, and what the hostile-input tests share.

``Site`` and ``Live`` describe the fixtures of this folder's conftest (an instance with its
test client, and the same instance under gunicorn).

The costliest shape for RDF canonicalization is many identical blank nodes under one predicate
(RDFC-1.0 §4.8 must tell them apart by n-degree hashing), so :func:`worst_inside_limits` fills
every array it can with identical typed one-member objects, as many as the ``values`` limit allows,
and signs the result with a did:key so that verification runs every check to the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.verifier.limits import LIMITS

EXTERNAL = Path(__file__).resolve().parents[1] / "vectors" / "external"
UNSIGNED = EXTERNAL / "charter-credential" / "unsigned.json"
SIGNED_AT = datetime(2025, 3, 1, tzinfo=UTC)
VERIFY_AT = datetime(2025, 3, 2, tzinfo=UTC)
# RFC 8032 §7.1 TEST 1 secret key: public and fixed.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
# (path of the object, member, member of each item): arrays of blank nodes the OB 3.0 context defines.
_ARRAYS = (
    ((), "evidence", "Evidence", "name"),
    (("credentialSubject", "achievement"), "alignment", "Alignment", "targetName"),
    (("credentialSubject",), "result", "Result", "value"),
    (("credentialSubject", "achievement"), "resultDescription", "ResultDescription", "name"),
    (("credentialSubject", "achievement"), "otherIdentifier", "IdentifierEntry", "identifier"),
    (("credentialSubject",), "identifier", "IdentityObject", "identityHash"),
    (("credentialSubject", "achievement"), "related", "Related", "version"),
    (("credentialSubject", "achievement", "creator"), "otherIdentifier", "IdentifierEntry", "identifier"),
)


@dataclass(frozen=True)
class Site:
    """An instance, the test client of its app, and the exact bytes of its valid credential."""

    client: FlaskClient
    home: Path
    credential: bytes


@dataclass(frozen=True)
class Live:
    host: str
    port: int


def count_values(document: Any) -> int:
    """How many JSON values ``document`` holds, itself included (what the ``values`` limit counts)."""
    if isinstance(document, dict):
        return 1 + sum(count_values(item) for item in document.values())
    if isinstance(document, list):
        return 1 + sum(count_values(item) for item in document)
    return 1


def signing_key() -> SigningKey:
    return SigningKey.from_seed(SEED)


def unsigned_credential() -> dict[str, Any]:
    """The charter credential of tests/vectors/external, issued by the did:key of :func:`signing_key`."""
    document: dict[str, Any] = json.loads(UNSIGNED.read_text(encoding="utf-8"))
    document["issuer"]["id"] = did_key_for(signing_key().public_key)
    return document


def sign_did_key(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with an eddsa-rdfc-2022 proof by the did:key of :func:`signing_key`."""
    key = signing_key()
    method = verification_method_id(did_key_for(key.public_key), key.public_key)
    return sign(document, key, verification_method=method, created=SIGNED_AT)


def worst_inside_limits(*, signed: bool = True) -> dict[str, Any]:
    """The costliest credential this module knows that stays inside every default limit."""
    document = unsigned_credential()
    room = LIMITS["values"] - count_values(document) - 40  # the proof's own values
    for path, member, kind, inner in _ARRAYS:
        parent = document
        for step in path:
            parent = parent.setdefault(step, {})
        cap = LIMITS.get(member, LIMITS["array_items"])
        items = min(cap, (room - 1) // 3)
        if items <= 0:
            break
        parent[member] = [{"type": kind, inner: "same"} for _ in range(items)]
        room -= 1 + 3 * items
    return sign_did_key(document) if signed else document
