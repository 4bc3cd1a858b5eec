"""Receipts checked by an independent implementation: Digital Bazaar's ``@digitalbazaar/vc``
(``verifyCredential``, the eddsa-rdfc-2022 cryptosuite over jsonld.js) verifies the receipts our
web app signs, for a credential's page, a register lookup and a bulk check of 500 numbers, with
the receipt context given from the package's pinned bytes (no network) and the verifier's DID
document as the app serves it; a changed receipt fails there too."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from charter_site import NOW, Charters, change_state, issue_at, open_site

from caiep.schemas.loader import receipt_context_bytes, receipt_context_url
from caiep.settings import read_configuration
from caiep.verifierkey import load_receipt_issuer
from node import pinned_contexts, run_node

ISSUER_URL = "https://credentials.caiep.example"
VERIFIER = "did:web:credentials.caiep.example:verifier"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("receipt-peers") / "home")


def peer_verify(site: Charters, receipts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    contexts = {**pinned_contexts(), receipt_context_url(ISSUER_URL): json.loads(receipt_context_bytes())}
    did_document = json.loads(site.client.get("/verifier/did.json").get_data())
    answer = run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "documents": {VERIFIER: did_document},
            "credentials": receipts,
            "now": (datetime.now(UTC) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        },
    )
    return list(answer["results"])


def _answer(index: int, number: str) -> dict[str, Any]:
    if index % 3 == 0:
        return {"charterNumber": number, "found": False}
    return {
        "charterNumber": number,
        "found": True,
        "name": f"Holder {index}",
        "state": "current",
        "firstAwarded": "2026-01-02",
        "currentUntil": "2031-01-02",
    }


def test_digital_bazaar_verifies_our_receipts(site: Charters) -> None:
    jane = issue_at(site, "Jane Peer", NOW - timedelta(days=30))
    rex = issue_at(site, "Rex Revoked", NOW - timedelta(days=60))
    change_state(site, rex, "revoked", "Misconduct found by the disciplinary panel")
    page = json.loads(site.client.get(f"/c/{jane.credential_id}/receipt.json").get_data())
    lookup = json.loads(
        site.client.get(
            "/api/v1/register", query_string={"name": "Rex Revoked", "receipt": "true"}
        ).get_data()
    )["receipt"]
    issuer = load_receipt_issuer(read_configuration(site.home))
    numbers = [f"CAIEP-{n:06d}" for n in range(1, 501)]
    bulk = issuer.for_register(
        kind="bulk",
        query={"charterNumbers": numbers},
        answers=[_answer(i, n) for i, n in enumerate(numbers)],
        checked_at=datetime.now(UTC),
    )
    results = peer_verify(site, [page, lookup, bulk])
    for kind, result in zip(("page", "lookup", "bulk"), results, strict=True):
        assert result["verified"] is True, (kind, result)
        assert result["proofVerified"] is True, (kind, result)
    assert lookup["credentialSubject"]["answers"][0]["state"] == "revoked"


def test_a_changed_receipt_fails_with_digital_bazaar(site: Charters) -> None:
    jane = issue_at(site, "Jane Changed", NOW - timedelta(days=30))
    receipt = json.loads(site.client.get(f"/c/{jane.credential_id}/receipt.json").get_data())
    changed = []
    for path, value in (
        (("credentialSubject", "verdict"), "invalid"),
        (("credentialSubject", "checkedDigest"), "sha256:" + "0" * 64),
        (("credentialSubject", "checkedAt"), "2020-01-01T00:00:00Z"),
    ):
        document = copy.deepcopy(receipt)
        document[path[0]][path[1]] = value
        changed.append(document)
    for result in peer_verify(site, changed):
        assert result["verified"] is False, result
        assert result["proofVerified"] is False, result


def test_digital_bazaar_verifies_the_receipt_of_a_bulk_check(site: Charters) -> None:
    """The receipt ``POST /api/v1/register/check`` gives, for 500 numbers, as an employer gets it."""
    from caiep.issuer.apikeys import create
    from caiep.issuer.records import charter_number

    rex = issue_at(site, "Rex Bulk", NOW - timedelta(days=60))
    change_state(site, rex, "revoked", "Exam result annulled")
    with site.registry.write() as connection:
        made = create(connection, "Peer HR", None, actor="test", now=datetime.now(UTC))
    numbers = [charter_number(rex.holder_id) if n % 7 == 0 else f"CAIEP-{900000 + n:06d}" for n in range(500)]
    response = site.client.post(
        "/api/v1/register/check",
        json={"charterNumbers": numbers},
        headers={"Authorization": f"Bearer {made.key}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    receipt = response.get_json()["receipt"]
    changed = copy.deepcopy(receipt)
    changed["credentialSubject"]["answers"][0]["reason"] = "No reason"
    verified, tampered = peer_verify(site, [receipt, changed])
    assert verified["verified"] is True, verified
    assert tampered["verified"] is False, tampered
    assert receipt["credentialSubject"]["answers"][0]["state"] == "revoked"
