"""Signed verification receipts through the web app: made by the verification service's own key
(never the issuer's), for a stored credential's page, for ``POST /api/v1/verify?receipt=true`` and
for register answers; each verifies against the verifier's DID document as served, names the
exact bytes checked by their SHA-256, and fails once any field is changed."""

from __future__ import annotations

import copy
import hashlib
import json
import stat
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from charter_site import NOW, Charters, change_state, issue_at, open_site

from caiep.errors import CaiepError
from caiep.issuer.jobs import IssuedCredential
from caiep.issuer.records import charter_number
from caiep.schemas.loader import receipt_context_bytes
from caiep.verifier.receipts import ReceiptInvalid, verifier_did, verify_receipt
from caiep.verifierkey import PASSPHRASE_FILE, VERIFIER_KEYS_DIR

ISSUER_URL = "https://credentials.caiep.example"
VERIFIER = "did:web:credentials.caiep.example:verifier"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("receipts") / "home")


@pytest.fixture(scope="module")
def jane(site: Charters) -> IssuedCredential:
    return issue_at(site, "Jane Receipt", NOW - timedelta(days=40))


def did_document(site: Charters) -> dict[str, Any]:
    response = site.client.get("/verifier/did.json")
    assert response.status_code == 200
    assert response.mimetype == "application/did+ld+json"
    return dict(json.loads(response.get_data()))


def test_the_verifier_has_its_own_did_key_and_context(site: Charters) -> None:
    assert verifier_did(ISSUER_URL) == VERIFIER
    document = did_document(site)
    assert document["id"] == VERIFIER
    issuer = json.loads(site.client.get("/.well-known/did.json").get_data())
    ours = {m["publicKeyMultibase"] for m in document["verificationMethod"]}
    theirs = {m["publicKeyMultibase"] for m in issuer["verificationMethod"]}
    assert ours
    assert not ours & theirs  # never the issuer's key
    context = site.client.get("/contexts/receipt/v1")
    assert context.status_code == 200
    assert context.mimetype == "application/ld+json"
    assert context.get_data() == receipt_context_bytes()  # the pinned bytes, as the loader serves them
    for path in (site.home / PASSPHRASE_FILE, *(site.home / VERIFIER_KEYS_DIR).glob("*.pem")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_page_offers_a_signed_record_of_its_check(
    site: Charters, jane: IssuedCredential, tmp_path: Path
) -> None:
    page = site.client.get(f"/c/{jane.credential_id}").get_data(as_text=True)
    assert "Download a signed record of this check" in page
    assert f'href="/c/{jane.credential_id}/receipt.json"' in page
    response = site.client.get(f"/c/{jane.credential_id}/receipt.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="caiep-check-')
    receipt = json.loads(response.get_data())
    verified = verify_receipt(receipt, did_document(site))
    assert verified.kind == "credential"
    assert verified.signer == VERIFIER
    subject = receipt["credentialSubject"]
    stored = site.registry.document(jane.credential_id)
    assert stored is not None
    assert subject["checkedDigest"] == "sha256:" + hashlib.sha256(stored.encode("utf-8")).hexdigest()
    assert subject["checkedCredential"] == f"{ISSUER_URL}/credentials/{jane.credential_id}"
    assert subject["verdict"] == "valid"
    assert [c["check"] for c in subject["checks"]] == ["structure", "contexts", "proof", "validity", "status"]
    assert "credentialSubject" not in json.dumps(subject["checks"])  # never the credential itself
    assert receipt["proof"][0]["verificationMethod"].startswith(VERIFIER + "#")
    pdf = site.client.get(f"/c/{jane.credential_id}/receipt.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.get_data().startswith(b"%PDF-")
    # The PDF carries its own signed record: taken out with poppler's pdfdetach, it verifies.
    (tmp_path / "receipt.pdf").write_bytes(pdf.get_data())
    detached = subprocess.run(
        ["pdfdetach", "-saveall", "-o", str(tmp_path), str(tmp_path / "receipt.pdf")],
        capture_output=True,
        check=True,
    )
    assert detached.returncode == 0
    embedded = json.loads((tmp_path / "receipt.json").read_bytes())
    assert verify_receipt(embedded, did_document(site)).subject["checkedDigest"] == subject["checkedDigest"]
    assert site.client.get("/c/00000000-0000-4000-8000-000000000000/receipt.json").status_code == 404


def test_the_api_adds_a_receipt_when_asked(site: Charters, jane: IssuedCredential) -> None:
    stored = site.registry.document(jane.credential_id)
    assert stored is not None
    body = stored.encode("utf-8")
    plain = site.client.post("/api/v1/verify", data=body, content_type="application/json")
    assert "receipt" not in json.loads(plain.get_data())
    asked = site.client.post("/api/v1/verify?receipt=true", data=body, content_type="application/json")
    answer = json.loads(asked.get_data())
    assert answer["status"] == "valid"
    receipt = answer["receipt"]
    verify_receipt(receipt, did_document(site))
    assert receipt["credentialSubject"]["checkedDigest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert (
        site.client.post("/api/v1/verify?receipt=yes", data=body, content_type="application/json").status_code
        == 400
    )


def test_a_receipt_records_a_failed_check_as_failed(site: Charters, jane: IssuedCredential) -> None:
    stored = site.registry.document(jane.credential_id)
    assert stored is not None
    forged = json.loads(stored)
    forged["credentialSubject"]["name"] = "Someone Else"
    body = json.dumps(forged).encode("utf-8")
    answer = json.loads(
        site.client.post("/api/v1/verify?receipt=true", data=body, content_type="application/json").get_data()
    )
    subject = answer["receipt"]["credentialSubject"]
    assert subject["verdict"] == "invalid"
    assert {"check": "proof", "outcome": "invalid"} in subject["checks"]
    assert subject["checkedDigest"] == "sha256:" + hashlib.sha256(body).hexdigest()


def test_register_answers_come_with_receipts(site: Charters) -> None:
    rita = issue_at(site, "Rita Registered", NOW - timedelta(days=100))
    ruth = issue_at(site, "Ruth Revoked", NOW - timedelta(days=200))
    change_state(site, ruth, "revoked", "Exam result annulled")
    response = site.client.get(
        "/api/v1/register", query_string={"name": "rita registered", "receipt": "true"}
    )
    answer = json.loads(response.get_data())
    receipt = answer["receipt"]
    verify_receipt(receipt, did_document(site))
    subject = receipt["credentialSubject"]
    assert subject["type"] == "RegisterLookup"
    assert subject["query"] == {"fullName": "rita registered"}
    [given] = subject["answers"]
    assert given["charterNumber"] == charter_number(rita.holder_id) == answer["matches"][0]["charterNumber"]
    assert given["state"] == "current"
    revoked = site.client.get("/api/v1/register", query_string={"name": "Ruth Revoked", "receipt": "true"})
    [told] = json.loads(revoked.get_data())["receipt"]["credentialSubject"]["answers"]
    assert (told["state"], told["reason"]) == ("revoked", "Exam result annulled")
    nobody = json.loads(
        site.client.get(
            "/api/v1/register", query_string={"name": "No Such Person", "receipt": "true"}
        ).get_data()
    )
    assert nobody["receipt"]["credentialSubject"]["answers"] == []
    verify_receipt(nobody["receipt"], did_document(site))
    page = site.client.get("/register", query_string={"name": "Rita Registered"}).get_data(as_text=True)
    assert 'href="/register/receipt.json?name=Rita+Registered"' in page
    download = site.client.get("/register/receipt.json", query_string={"name": "Rita Registered"})
    assert download.headers["Cache-Control"] == "no-store"
    verify_receipt(json.loads(download.get_data()), did_document(site))
    pdf = site.client.get("/register/receipt.pdf", query_string={"name": "Rita Registered"})
    assert pdf.get_data().startswith(b"%PDF-")
    assert (
        site.client.get("/register/receipt.json", query_string={"number": "CAIEP-000001"}).status_code == 400
    )


def _tampered(receipt: dict[str, Any], change: Any) -> dict[str, Any]:
    changed = copy.deepcopy(receipt)
    change(changed)
    return changed


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set(("credentialSubject", "checkedAt"), "2020-01-01T00:00:00Z"),
        _set(("credentialSubject", "verdict"), "invalid"),
        _set(("credentialSubject", "checkedDigest"), "sha256:" + "0" * 64),
        _set(("credentialSubject", "checkedCredential"), "https://credentials.caiep.example/credentials/x"),
        _set(("credentialSubject", "checks", 4, "outcome"), "unknown"),
        _set(("validFrom",), "2020-01-01T00:00:00Z"),
        _set(("issuer", "name"), "Another service"),
        _set(("issuer", "id"), "did:web:elsewhere.example:verifier"),
        _set(("id",), "urn:uuid:00000000-0000-4000-8000-000000000000"),
        _set(("credentialSubject", "extra"), "an undefined member"),
        _set(
            ("@context",),
            ["https://www.w3.org/ns/credentials/v2", "https://elsewhere.example/contexts/receipt/v1"],
        ),
        _set(("proof", 0, "created"), "2020-01-01T00:00:00Z"),
    ],
    ids=lambda _: "",
)
def test_tampering_with_any_field_invalidates_a_credential_receipt(
    site: Charters, jane: IssuedCredential, change: Any
) -> None:
    receipt = json.loads(site.client.get(f"/c/{jane.credential_id}/receipt.json").get_data())
    verify_receipt(receipt, did_document(site))
    with pytest.raises(ReceiptInvalid):
        verify_receipt(_tampered(receipt, change), did_document(site))


@pytest.mark.parametrize(
    "change",
    [
        _set(("credentialSubject", "answers", 0, "state"), "current"),
        _set(("credentialSubject", "answers", 0, "reason"), "No reason"),
        _set(("credentialSubject", "answers", 0, "currentUntil"), "2099-01-01"),
        _set(("credentialSubject", "query", "fullName"), "someone else"),
        _set(("credentialSubject", "more"), True),
    ],
    ids=lambda _: "",
)
def test_tampering_with_a_register_receipt_invalidates_it(site: Charters, change: Any) -> None:
    ruth = issue_at(site, "Rosa Tamper", NOW - timedelta(days=300))
    change_state(site, ruth, "suspended", "Under review")
    answer = json.loads(
        site.client.get(
            "/api/v1/register", query_string={"name": "Rosa Tamper", "receipt": "true"}
        ).get_data()
    )
    receipt = answer["receipt"]
    verify_receipt(receipt, did_document(site))
    with pytest.raises(CaiepError):
        verify_receipt(_tampered(receipt, change), did_document(site))
