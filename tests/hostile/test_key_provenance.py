"""Key provenance before any fetch, fetch order, and the fetcher's memory of failed URLs.

A credential naming our issuer but a key under someone else's DID is invalid at once: the
attacker's host is never asked (Controlled Identifiers 1.0 §3.3, OB 3.0 key provenance). Status
lists are fetched only once the proof verified, and a URL that just failed is not asked again
within the fetcher's failure lifetime.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from caiep.errors import ResolutionError
from caiep.keys.did import build_controller_document, did_web_document_url, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.proofs.jose import sign_credential_jwt
from caiep.verifier.fetch import HttpFetcher, MappingFetcher
from caiep.verifier.result import Outcome, Verdict, VerificationResult
from caiep.verifier.verify import verify
from support import unsigned_charter

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
BASE = "https://credentials.caiep.example"
ISSUER_DID = "did:web:credentials.caiep.example"
ATTACKER_VM = "did:web:attacker.invalid#key-1"
LIST_URL = f"{BASE}/status/1"
ISSUER_KEY = SigningKey.from_seed(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
ATTACKER_KEY = SigningKey.from_seed(
    bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
)
ISSUER_VM = verification_method_id(ISSUER_DID, ISSUER_KEY.public_key)
DID_DOCUMENT_URL = did_web_document_url(ISSUER_DID)


class Recording(MappingFetcher):
    """Serves the issuer's DID document (and ``extra``) and records every URL asked for."""

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        document = build_controller_document(ISSUER_DID, [ISSUER_KEY.public_key])
        super().__init__({DID_DOCUMENT_URL: document, **dict(extra or {})})
        self.requested: list[str] = []

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        self.requested.append(url)
        return super().get_json(url)


def _check(result: VerificationResult, name: str) -> tuple[Outcome, str, str]:
    check = result.check(name)
    assert check is not None
    return check.outcome, check.code, check.message


# --- the key must be the issuer's, decided before any fetch ----------------------------------


def test_our_credential_is_valid_with_our_key() -> None:
    fetcher = Recording()
    assert verify(
        sign(
            unsigned_charter(ISSUER_DID, now=NOW, base_url=BASE),
            ISSUER_KEY,
            verification_method=ISSUER_VM,
            created=NOW,
        ),
        now=NOW,
        fetcher=fetcher,
    ).verified
    assert fetcher.requested == [DID_DOCUMENT_URL]


def test_an_attackers_did_key_on_our_credential_is_invalid_without_a_fetch() -> None:
    forged = sign(
        unsigned_charter(ISSUER_DID, now=NOW, holder="Mallory Doe", base_url=BASE),
        ATTACKER_KEY,
        verification_method=ATTACKER_VM,
        created=NOW,
    )
    fetcher = Recording()

    result = verify(forged, now=NOW, fetcher=fetcher)

    outcome, code, message = _check(result, "proof")
    assert (outcome, code) == (Outcome.INVALID, "key_not_issuers")
    assert "did:web:attacker.invalid" in message
    assert ISSUER_DID in message
    assert result.verdict is Verdict.INVALID
    assert fetcher.requested == []


def test_a_vc_jwt_whose_kid_is_another_did_is_invalid_without_a_fetch() -> None:
    token = sign_credential_jwt(
        unsigned_charter(ISSUER_DID, now=NOW, holder="Mallory Doe", base_url=BASE),
        ATTACKER_KEY,
        kid=ATTACKER_VM,
    )
    fetcher = Recording()

    result = verify(token, now=NOW, fetcher=fetcher)

    assert _check(result, "proof")[:2] == (Outcome.INVALID, "key_not_issuers")
    assert result.verdict is Verdict.INVALID
    assert fetcher.requested == []


def test_a_did_url_with_a_query_is_not_the_issuers_did() -> None:
    forged = sign(
        unsigned_charter(ISSUER_DID, now=NOW, base_url=BASE),
        ISSUER_KEY,
        verification_method=f"{ISSUER_DID}?versionId=9#key-1",
        created=NOW,
    )
    fetcher = Recording()

    assert _check(verify(forged, now=NOW, fetcher=fetcher), "proof")[:2] == (
        Outcome.INVALID,
        "key_not_issuers",
    )
    assert fetcher.requested == []


def test_nothing_is_fetched_for_a_credential_whose_structure_failed() -> None:
    unsigned = unsigned_charter(ISSUER_DID, now=NOW, base_url=BASE)
    del unsigned["validFrom"]  # required by the OB 3.0 schema
    credential = sign(unsigned, ISSUER_KEY, verification_method=ISSUER_VM, created=NOW)
    fetcher = Recording()

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert _check(result, "structure")[0] is Outcome.INVALID
    assert _check(result, "proof")[:2] == (Outcome.UNKNOWN, "not_fetched")
    assert result.verdict is Verdict.INVALID
    assert fetcher.requested == []


# --- status lists only after the proof -------------------------------------------------------


def _with_status(unsigned: dict[str, Any]) -> dict[str, Any]:
    unsigned["credentialStatus"] = {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    return unsigned


def test_no_status_list_is_fetched_when_the_proof_is_invalid() -> None:
    credential = sign(
        _with_status(unsigned_charter(ISSUER_DID, now=NOW, base_url=BASE)),
        ISSUER_KEY,
        verification_method=ISSUER_VM,
        created=NOW,
    )
    credential["credentialSubject"]["name"] = "Mallory Doe"  # tampered after signing
    fetcher = Recording()

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert _check(result, "proof")[:2] == (Outcome.INVALID, "signature_invalid")
    assert _check(result, "status")[:2] == (Outcome.UNKNOWN, "status_not_checked")
    assert fetcher.requested == [DID_DOCUMENT_URL]


def test_status_lists_are_fetched_once_the_proof_verified() -> None:
    credential = sign(
        _with_status(unsigned_charter(ISSUER_DID, now=NOW, base_url=BASE)),
        ISSUER_KEY,
        verification_method=ISSUER_VM,
        created=NOW,
    )
    fetcher = Recording()

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert _check(result, "proof")[0] is Outcome.VALID
    assert fetcher.requested == [DID_DOCUMENT_URL, LIST_URL]


# --- the fetcher remembers failures ----------------------------------------------------------


class _Dead(BaseHTTPRequestHandler):
    """Answers every request with 503 and counts them."""

    asked: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.asked.append(self.path)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def dead_server() -> Iterator[tuple[str, list[str]]]:
    handler = type("Dead", (_Dead,), {"asked": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.asked
    finally:
        server.shutdown()
        server.server_close()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _message(fetcher: HttpFetcher, url: str) -> str:
    with pytest.raises(ResolutionError) as caught:
        fetcher.get_json(url)
    assert caught.value.url == url
    return str(caught.value.message)


def test_a_dead_url_is_asked_once_within_the_failure_lifetime(dead_server: tuple[str, list[str]]) -> None:
    base, asked = dead_server
    clock = _Clock()
    fetcher = HttpFetcher(allow_http_base=base, timeout=2.0, clock=clock)
    url = f"{BASE}/status/dead"

    first = _message(fetcher, url)
    clock.now += 29.0
    again = _message(fetcher, url)

    assert asked == ["/status/dead"]
    assert again == first == "the server answered HTTP 503"
    # another URL on the same host is its own entry
    _message(fetcher, f"{BASE}/status/other")
    assert asked == ["/status/dead", "/status/other"]
    clock.now += 1.5  # past 30 s since the first failure
    _message(fetcher, url)
    assert asked == ["/status/dead", "/status/other", "/status/dead"]


def test_no_failure_memory_when_its_lifetime_is_zero(dead_server: tuple[str, list[str]]) -> None:
    base, asked = dead_server
    fetcher = HttpFetcher(allow_http_base=base, timeout=2.0, failure_ttl=0)

    for _ in range(3):
        _message(fetcher, f"{BASE}/status/dead")

    assert asked == ["/status/dead"] * 3


def test_a_remembered_failure_is_reported_as_unknown_like_the_first(
    dead_server: tuple[str, list[str]],
) -> None:
    base, asked = dead_server
    fetcher = HttpFetcher(allow_http_base=base, timeout=2.0)
    credential = sign(
        unsigned_charter(ISSUER_DID, now=NOW, base_url=BASE),
        ISSUER_KEY,
        verification_method=ISSUER_VM,
        created=NOW,
    )

    first, second = (verify(credential, now=NOW, fetcher=fetcher) for _ in range(2))

    assert _check(first, "proof") == _check(second, "proof")
    assert _check(first, "proof")[0] is Outcome.UNKNOWN
    assert first.verdict is Verdict.UNVERIFIABLE
    assert asked == ["/.well-known/did.json"]


# --- what the page and the API show ----------------------------------------------------------


def test_the_api_and_the_page_show_a_foreign_key_as_invalid_without_a_fetch() -> None:
    from flask import Flask

    from caiep.verifier.web import VerifierServices, create_blueprint

    fetcher = Recording()
    app = Flask(__name__)
    app.register_blueprint(
        create_blueprint(
            VerifierServices(
                find_document=lambda _: None, fetcher=fetcher, issuer_id=ISSUER_DID, clock=lambda: NOW
            )
        )
    )
    forged = sign(
        unsigned_charter(ISSUER_DID, now=NOW, holder="Mallory Doe", base_url=BASE),
        ATTACKER_KEY,
        verification_method=ATTACKER_VM,
        created=NOW,
    )
    client = app.test_client()

    answer = client.post("/api/v1/verify", json=forged)
    page = client.post("/verify", data={"credential": json.dumps(forged)})

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "invalid"
    proof = next(check for check in body["checks"] if check["name"] == "proof")
    assert (proof["outcome"], proof["code"]) == ("invalid", "key_not_issuers")
    assert page.status_code == 200
    assert "did:web:attacker.invalid" in page.get_data(as_text=True)
    assert fetcher.requested == []
