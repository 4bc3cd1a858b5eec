"""The time budget of a verification, against a real slow server on loopback.

A did:web issuer's DID document and status lists are served by an HTTP server on 127.0.0.1
that sleeps before answering the paths it is told to; the verifier reaches it through the
``allow_http_base`` mapping, as ``caiep verify --allow-http-base`` and the service's
``CAIEP_ALLOW_HTTP_BASE`` do. A verification that runs out of time answers "cannot be verified:
took too long" when its budget ends, not when the slow server finally answers; the documents
one step needs are fetched at once, so two slow status lists cost one wait, not two.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hostile_documents import Site

from caiep.app import AppConfig, create_app
from caiep.errors import TimeBudgetExceeded
from caiep.keys.did import build_controller_document, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.proofs.rdfc import canonicalize
from caiep.settings import database_url
from caiep.statuslist import encode_status_list
from caiep.verifier.budget import BudgetFetcher, Deadline
from caiep.verifier.fetch import HttpFetcher
from caiep.verifier.result import Outcome, Verdict, VerificationResult
from caiep.verifier.verify import verify
from support import unsigned_charter

BIN = Path(sys.executable).parent
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
BASE = "https://slow-issuer.example"
DID = "did:web:slow-issuer.example"
KEY = SigningKey.from_seed(bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"))
VM = verification_method_id(DID, KEY.public_key)
DID_PATH = "/.well-known/did.json"
LISTS = ("/status/1", "/status/2")
MESSAGE = "cannot be verified: took too long"


class _Slow(BaseHTTPRequestHandler):
    """Serves ``documents`` by path, sleeping ``delays[path]`` seconds before answering."""

    documents: ClassVar[dict[str, bytes]] = {}
    delays: ClassVar[dict[str, float]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(self.delays.get(self.path, 0.0))
        body = self.documents.get(self.path)
        try:
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the verifier stopped waiting and closed the connection


def _status_list(path: str) -> dict[str, Any]:
    url = BASE + path
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": DID,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(bytearray(16_384)),
        },
    }
    return sign(unsigned, KEY, verification_method=VM, created=NOW)


def _credential(*lists: str) -> dict[str, Any]:
    """The charter credential of the slow issuer, with one status entry per list path.

    With status lists it takes the VCDM 1.1 form of OB 3.0, where ``credentialStatus`` may be
    an array (the OB 3.0 JSON Schema of the VCDM 2.0 form allows one entry).
    """
    unsigned = unsigned_charter(DID, now=NOW, base_url=BASE)
    if lists:
        contexts = unsigned["@context"]
        unsigned["@context"] = [
            "https://www.w3.org/2018/credentials/v1",
            *contexts[1:],
            "https://www.w3.org/ns/credentials/status/v1",
            "https://w3id.org/security/data-integrity/v2",
        ]
        unsigned["issuanceDate"] = unsigned.pop("validFrom")
        unsigned["expirationDate"] = unsigned.pop("validUntil")
        unsigned["credentialStatus"] = [
            {
                "id": f"{BASE}{path}#7",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "7",
                "statusListCredential": BASE + path,
            }
            for path in lists
        ]
    return sign(unsigned, KEY, verification_method=VM, created=NOW)


@pytest.fixture
def slow_server() -> Iterator[tuple[str, dict[str, float]]]:
    """The issuer's documents on 127.0.0.1; the test sets each path's delay in the dict returned."""
    documents = {DID_PATH: build_controller_document(DID, [KEY.public_key])}
    documents.update({path: _status_list(path) for path in LISTS})
    handler = type(
        "Slow",
        (_Slow,),
        {"documents": {path: json.dumps(doc).encode() for path, doc in documents.items()}, "delays": {}},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.delays
    finally:
        server.shutdown()
        server.server_close()


def _timed(credential: Mapping[str, Any], base: str, seconds: float) -> tuple[VerificationResult, float]:
    fetcher = HttpFetcher(allow_http_base=base, timeout=5.0)
    started = time.monotonic()
    result = verify(credential, now=NOW, fetcher=fetcher, deadline=Deadline(seconds))
    return result, time.monotonic() - started


def _outcome(result: VerificationResult, name: str) -> tuple[Outcome, str, str]:
    check = result.check(name)
    assert check is not None
    return check.outcome, check.code, check.message


def test_a_key_that_takes_longer_than_the_budget_is_answered_when_the_budget_ends(
    slow_server: tuple[str, dict[str, float]],
) -> None:
    base, delays = slow_server
    delays[DID_PATH] = 3.0

    result, elapsed = _timed(_credential(), base, 1.0)

    assert _outcome(result, "proof") == (Outcome.UNKNOWN, "took_too_long", MESSAGE)
    assert result.verdict is Verdict.UNVERIFIABLE
    assert 0.9 < elapsed < 1.8  # the budget, not the server's 3 s


def test_two_slow_status_lists_are_fetched_at_once(slow_server: tuple[str, dict[str, float]]) -> None:
    base, delays = slow_server
    delays.update({path: 1.5 for path in LISTS})

    result, elapsed = _timed(_credential(*LISTS), base, 5.0)

    assert _outcome(result, "status")[:2] == (Outcome.VALID, "not_revoked")
    assert result.verdict is Verdict.VALID
    assert elapsed < 2.6  # one wait of 1.5 s; one after the other would take 3 s


def test_status_lists_slower_than_what_is_left_of_the_budget(
    slow_server: tuple[str, dict[str, float]],
) -> None:
    base, delays = slow_server
    delays.update({path: 3.0 for path in LISTS})

    result, elapsed = _timed(_credential(*LISTS), base, 1.0)

    assert _outcome(result, "proof")[0] is Outcome.VALID  # the fast key came within the budget
    assert _outcome(result, "status") == (Outcome.UNKNOWN, "took_too_long", MESSAGE)
    assert 0.9 < elapsed < 1.8


def test_a_fetch_cut_short_by_the_budget_is_not_remembered_as_a_dead_url(
    slow_server: tuple[str, dict[str, float]],
) -> None:
    base, delays = slow_server
    fetcher = HttpFetcher(allow_http_base=base, timeout=5.0, failure_ttl=30.0)
    delays[DID_PATH] = 1.0
    first = verify(_credential(), now=NOW, fetcher=fetcher, deadline=Deadline(0.3))
    assert _outcome(first, "proof")[1] == "took_too_long"
    delays[DID_PATH] = 0.0

    second = verify(_credential(), now=NOW, fetcher=fetcher, deadline=Deadline(5.0))

    assert second.verdict is Verdict.VALID


def test_the_service_answers_cannot_be_verified_within_its_budget(
    site: Site, slow_server: tuple[str, dict[str, float]]
) -> None:
    base, delays = slow_server
    delays[DID_PATH] = 3.0
    app = create_app(
        AppConfig(
            home=site.home,
            database_url=database_url(site.home),
            allow_http_base=base,
            verify_time_budget=1.0,
        )
    )
    try:
        started = time.monotonic()
        response = app.test_client().post("/api/v1/verify", json=_credential())
        elapsed = time.monotonic() - started
    finally:
        app.extensions["caiep.registry"].dispose()

    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "cannot_be_verified"
    proof = next(check for check in answer["checks"] if check["name"] == "proof")
    assert (proof["outcome"], proof["code"], proof["message"]) == ("unknown", "took_too_long", MESSAGE)
    assert answer["credential"]["standing"] == "claimed"
    assert elapsed < 1.8


def test_caiep_verify_exits_2_when_the_budget_runs_out(
    slow_server: tuple[str, dict[str, float]], tmp_path: Path
) -> None:
    base, delays = slow_server
    delays[DID_PATH] = 3.0
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(_credential()), encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment["CAIEP_VERIFY_TIME_BUDGET"] = "1"

    started = time.monotonic()
    completed = subprocess.run(
        [str(BIN / "caiep"), "verify", str(path), "--allow-http-base", base],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert completed.returncode == 2, completed.stderr
    assert MESSAGE in completed.stdout
    assert elapsed < 2.9  # start-up and the 1 s budget, not the server's 3 s


def test_canonicalisation_stops_at_the_deadline() -> None:
    now = [100.0]
    deadline = Deadline(1.0, clock=lambda: now[0])
    # A ring of blank nodes that only n-degree hashing tells apart (RDFC-1.0 §4.8).
    ring = [(f"_:n{i}", "<https://example.org/next>", f"_:n{(i + 1) % 12}", "") for i in range(12)]
    assert canonicalize(ring, max_work_factor=3, deadline=deadline)  # in time: the canonical form
    now[0] += 1.0

    with pytest.raises(TimeBudgetExceeded) as caught:
        canonicalize(ring, max_work_factor=3, deadline=deadline)

    assert caught.value.code == "took_too_long"
    assert caught.value.message == MESSAGE


def test_a_fetch_is_not_started_once_the_deadline_has_passed(
    slow_server: tuple[str, dict[str, float]],
) -> None:
    base, _ = slow_server
    now = [100.0]
    fetcher = BudgetFetcher(HttpFetcher(allow_http_base=base), Deadline(1.0, clock=lambda: now[0]))
    assert fetcher.get_json(BASE + DID_PATH)["id"] == DID
    now[0] += 1.0

    with pytest.raises(TimeBudgetExceeded):
        fetcher.get_json(BASE + DID_PATH)


def test_a_name_server_that_never_answers_costs_no_more_than_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def silent_name_server(*args: Any, **kwargs: Any) -> Any:
        time.sleep(3)  # as a resolver waiting on a name server that drops queries
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", silent_name_server)
    started = time.monotonic()

    result = verify(_credential(), now=NOW, fetcher=HttpFetcher(timeout=5.0), deadline=Deadline(1.0))

    assert _outcome(result, "proof") == (Outcome.UNKNOWN, "took_too_long", MESSAGE)
    assert time.monotonic() - started < 1.8
