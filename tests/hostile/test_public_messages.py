"""The public service never tells what a fetch found: no DNS results, no internal addresses.

A credential can name any issuer host. The real guarded fetcher refuses a host that resolves
to a loopback address and cannot resolve a host that does not exist; both end "cannot be
verified". From a public service those two answers must read alike (else the page is an
oracle for probing DNS behind it), while the server log keeps the detail. ``caiep verify``,
run by the issuer itself, still says what happened.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask

from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.keys.did import verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.verifier.fetch import HttpFetcher
from caiep.verifier.verify import verify
from caiep.verifier.web import VerifierServices, create_blueprint

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = SigningKey.from_seed(bytes(range(32)))
# One resolves to 127.0.0.1 (refused as loopback); ".invalid" never resolves (RFC 6761).
HOSTS = ("localhost", "no-such-issuer.invalid")


def _signed_by(host: str) -> dict[str, Any]:
    issuer = f"did:web:{host}"
    base = f"https://{host}"
    profile = IssuerProfile(id=issuer, name="Some Board", url=base, base_url=base)
    award = CharterAward("Jane Doe", "jane@example.org", date(2025, 2, 14), "CAIEP-000001")
    unsigned = build_charter_credential(
        profile, award, credential_uuid="0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b", now=NOW, salt="ab" * 16
    )
    return sign(
        unsigned, KEY, verification_method=verification_method_id(issuer, KEY.public_key), created=NOW
    )


def _proof_check(answer: dict[str, Any]) -> dict[str, Any]:
    return next(check for check in answer["checks"] if check["name"] == "proof")


def test_the_api_says_one_sentence_whatever_the_fetch_found(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    app.register_blueprint(
        create_blueprint(
            VerifierServices(
                find_document=lambda _: None,
                fetcher=HttpFetcher(failure_ttl=0),
                issuer_id="did:web:credentials.caiep.example",
                clock=lambda: NOW,
            )
        )
    )
    client = app.test_client()
    checks = []
    with caplog.at_level(logging.WARNING, logger="caiep.verifier"):
        for host in HOSTS:
            answer = client.post("/api/v1/verify", json=_signed_by(host))
            assert answer.status_code == 200
            body = answer.get_json()
            assert body["status"] == "cannot_be_verified"
            checks.append(_proof_check(body))
            page = client.post("/verify", data={"credential": json.dumps(_signed_by(host))})
            text = page.get_data(as_text=True)
            assert "127.0.0.1" not in text
            assert "resolve" not in text
    assert checks[0] == checks[1]  # nothing tells the refused address from the missing name
    assert checks[0]["message"] == "the issuer's key could not be fetched"
    assert "127.0.0.1" not in str(checks)
    assert "resolve" not in str(checks)
    logged = caplog.text
    assert "127.0.0.1" in logged  # the operator still sees why
    assert "no-such-issuer.invalid" in logged


def test_the_command_line_still_says_what_the_fetch_found() -> None:
    result = verify(_signed_by("localhost"), now=NOW, fetcher=HttpFetcher(failure_ttl=0))
    proof = result.check("proof")
    assert proof is not None
    assert "127.0.0.1" in proof.message
