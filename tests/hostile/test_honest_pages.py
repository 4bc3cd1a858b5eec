"""A document that fails is shown as its own claims, never as facts, and never as ours.

Finding: a credential naming our issuer, with the holder's name changed and its key pointed
somewhere that cannot be reached, was answered "Cannot be verified" on a page that showed the
forged name as the holder's, post-nominal included. Now such a page says plainly that it is not
a valid credential of our issuer and lists the document's statements as unverified claims; the
API marks its credential section ``"standing": "claimed"``. Names are isolated with ``<bdi>``
so right-to-left text cannot reorder the sentence around them.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask

from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.keys.did import build_controller_document, did_web_document_url, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.web import VerifierServices, create_blueprint

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OURS = "did:web:credentials.caiep.example"
BASE = "https://credentials.caiep.example"
KEY = SigningKey.from_seed(bytes(range(1, 33)))
RTL_NAME = "\u202eJane Doe"  # a right-to-left override at the start of the name


def _credential(holder: str) -> dict[str, Any]:
    profile = IssuerProfile(id=OURS, name="CAiEP Certification Board", url=BASE, base_url=BASE)
    award = CharterAward(holder, "jane@example.org", date(2025, 2, 14), "CAIEP-000042")
    unsigned = build_charter_credential(
        profile, award, credential_uuid="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", now=NOW, salt="cd" * 16
    )
    return sign(unsigned, KEY, verification_method=verification_method_id(OURS, KEY.public_key), created=NOW)


def _client(documents: dict[str, Any]) -> Any:
    app = Flask(__name__)
    app.register_blueprint(
        create_blueprint(
            VerifierServices(
                find_document=lambda _: None,
                fetcher=MappingFetcher(documents),
                issuer_id=OURS,
                issuer_name="CAiEP Certification Board",
                clock=lambda: NOW,
            )
        )
    )
    return app.test_client()


def test_an_unverifiable_document_naming_us_is_shown_as_claims_only() -> None:
    client = _client({})  # our key cannot be reached: the proof is undecided
    forged = _credential("Mallory Doe")
    answer = client.post("/api/v1/verify", json=forged).get_json()
    assert answer["status"] == "cannot_be_verified"
    assert answer["credential"]["standing"] == "claimed"

    page = client.post("/verify", data={"credential": json.dumps(forged)}).get_data(as_text=True)
    assert "This is not a valid credential of <bdi>CAiEP Certification Board</bdi>" in page
    assert "What this credential claims (not verified)" in page
    assert 'class="facts unverified"' in page
    assert "<dt>Claimed holder</dt><dd><bdi>Mallory Doe</bdi></dd>" in page
    assert "Mallory Doe</bdi>, CAiEP" not in page  # never presented as the holder of the charter


def test_a_verified_credential_is_marked_so_and_its_names_are_isolated() -> None:
    client = _client({did_web_document_url(OURS): build_controller_document(OURS, [KEY.public_key])})
    answer = client.post("/api/v1/verify", json=_credential(RTL_NAME)).get_json()
    assert answer["status"] == "valid"
    assert answer["credential"]["standing"] == "verified"

    page = client.post("/verify", data={"credential": json.dumps(_credential(RTL_NAME))}).get_data(
        as_text=True
    )
    assert f"<bdi>{RTL_NAME}</bdi>, CAiEP" in page
    assert f"<bdi>{RTL_NAME}</bdi> holds the" in page
