"""Tests of the Node.js interop harness itself, against external vectors only.

Before the harness can be trusted to judge our credentials it must reproduce published
results: the W3C vc-di-eddsa vectors (signature, canonical document, proof configuration),
the charter credential vector, a 1EdTech bitstring status list vector, and a JOSE round trip.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from node import NodeHarnessError, pinned_contexts, run_node

pytestmark = pytest.mark.interop

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external"
W3C = VECTORS / "vc-di-eddsa" / "TestVectors"
W3C_RDFC = W3C / "eddsa-rdfc-2022"
CHARTER = VECTORS / "charter-credential"
ONE_EDTECH = VECTORS / "1edtech"

#: A moment inside the validity period of every credential verified here.
NOW = "2026-11-26T12:00:00Z"

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

#: The Ed25519 example key of RFC 8037 Appendix A.1.
RFC8037_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + BASE58_ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body


def w3c_seed() -> bytes:
    """The 32-byte seed of the W3C key pair: privateKeyMultibase = 'z' + base58btc(0x80 0x26 ‖ seed)."""
    secret = load_json(W3C / "keyPair.json")["privateKeyMultibase"]
    assert secret.startswith("z")
    raw = base58btc_decode(secret[1:])
    assert raw[:2] == b"\x80\x26"
    assert len(raw) == 34
    return raw[2:]


def tamper_subject(credential: dict[str, Any], key: str) -> dict[str, Any]:
    """A copy with one character of a string in ``credentialSubject`` changed."""
    changed = copy.deepcopy(credential)
    value = changed["credentialSubject"][key]
    last = value[-1]
    changed["credentialSubject"][key] = value[:-1] + ("x" if last != "x" else "y")
    return changed


def public_jwk(jwk: dict[str, str], kid: str | None = None) -> dict[str, str]:
    public = {name: value for name, value in jwk.items() if name != "d"}
    if kid is not None:
        public["kid"] = kid
    return public


def controller_document(controller: str, public_key_multibase: str) -> dict[str, Any]:
    """A controller document listing one Multikey under assertionMethod.

    Its context names the Multikey context: Digital Bazaar's verifier refuses a Multikey
    verification method whose document lacks it.
    """
    method_id = f"{controller}#{public_key_multibase}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": controller,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": controller,
                "publicKeyMultibase": public_key_multibase,
            }
        ],
        "assertionMethod": [method_id],
    }


@pytest.fixture(scope="module")
def contexts() -> dict[str, Any]:
    return pinned_contexts()


@pytest.fixture(scope="module")
def external_results(contexts: dict[str, Any]) -> list[dict[str, Any]]:
    """verify-di over the external credentials and their tampered copies, in one Node run."""
    w3c = load_json(W3C_RDFC / "signedDataInt.json")
    legacy = load_json(W3C / "Ed25519Signature2020" / "signedEdSig.json")
    charter = load_json(CHARTER / "signed.json")
    credentials = [
        w3c,
        tamper_subject(w3c, "alumniOf"),
        charter,
        tamper_subject(charter, "name"),
        legacy,
    ]
    answer = run_node("verify-di.mjs", {"contexts": contexts, "credentials": credentials, "now": NOW})
    results: list[dict[str, Any]] = answer["results"]
    assert len(results) == len(credentials)
    return results


def test_verify_accepts_w3c_eddsa_rdfc_2022_vector(external_results: list[dict[str, Any]]) -> None:
    result = external_results[0]
    assert result["proofVerified"] is True, result
    assert result["proofError"] is None
    assert result["statuses"] is None
    # The vector's issuer (https://vc.example/issuers/5678) is not the controller of its did:key
    # verification method, which the credential-issuance purpose requires: the signature is good
    # and the full check says exactly why it stops.
    assert result["verified"] is False
    assert result["error"] == "Credential issuer must match the verification method controller."


def test_verify_rejects_tampered_w3c_vector(external_results: list[dict[str, Any]]) -> None:
    result = external_results[1]
    assert result["proofVerified"] is False
    assert result["verified"] is False
    assert "Invalid signature" in result["proofError"]


def test_verify_charter_credential_proof_with_status_not_checkable(
    external_results: list[dict[str, Any]],
) -> None:
    result = external_results[2]
    assert result["proofVerified"] is True, result
    assert result["verified"] is False
    assert result["error"].startswith("status not checkable")
    [status] = result["statuses"]
    assert status["checked"] is False
    assert status["set"] is None
    assert status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == "https://credentials.example.org/status/revocation/1"


def test_verify_rejects_tampered_charter_credential(external_results: list[dict[str, Any]]) -> None:
    result = external_results[3]
    assert result["proofVerified"] is False
    assert result["verified"] is False
    assert "Invalid signature" in result["error"]
    [status] = result["statuses"]
    assert status["checked"] is False


def test_verify_checks_legacy_ed25519_signature_2020_vector(
    external_results: list[dict[str, Any]],
) -> None:
    result = external_results[4]
    assert result["proofVerified"] is True, result
    assert result["error"] == "Credential issuer must match the verification method controller."


def test_verify_reads_bitstring_status_list_from_documents(contexts: dict[str, Any]) -> None:
    credential = load_json(ONE_EDTECH / "1edtech-validator-bitstring-revoked-credential.json")
    status_list = load_json(ONE_EDTECH / "1edtech-validator-bitstring-status-list-credential.json")
    issuer = credential["issuer"] if isinstance(credential["issuer"], str) else credential["issuer"]["id"]
    method = (
        credential["proof"][0]["verificationMethod"]
        if isinstance(credential["proof"], list)
        else (credential["proof"]["verificationMethod"])
    )
    controller, _, public_key_multibase = method.partition("#")
    assert controller == issuer
    documents = {
        issuer: controller_document(issuer, public_key_multibase),
        credential["credentialStatus"]["statusListCredential"]: status_list,
    }
    answer = run_node(
        "verify-di.mjs",
        {"contexts": contexts, "documents": documents, "credentials": [credential], "now": NOW},
    )
    [result] = answer["results"]
    assert result["proofVerified"] is True, result
    # bit 23 of that list is set: revoked, so not verified (the library alone says verified)
    assert result["verified"] is False
    assert result["error"].startswith("status: revocation bit set at index 23")
    [status] = result["statuses"]
    assert status["checked"] is True
    assert status["set"] is True


def test_verify_refuses_unpinned_context(contexts: dict[str, Any]) -> None:
    credential = load_json(W3C_RDFC / "signedDataInt.json")
    credential["@context"] = [*credential["@context"], "https://example.org/not-pinned/v1"]
    answer = run_node("verify-di.mjs", {"contexts": contexts, "credentials": [credential], "now": NOW})
    [result] = answer["results"]
    assert result["verified"] is False
    assert result["proofVerified"] is False
    assert 'document loader refuses "https://example.org/not-pinned/v1"' in result["proofError"]


def test_sign_reproduces_w3c_eddsa_rdfc_2022_proof_value(contexts: dict[str, Any]) -> None:
    signed_vector = load_json(W3C_RDFC / "signedDataInt.json")
    key_pair = load_json(W3C / "keyPair.json")
    answer = run_node(
        "sign-di.mjs",
        {
            "contexts": contexts,
            "seedHex": w3c_seed().hex(),
            "controller": "did:key:" + key_pair["publicKeyMultibase"],
            "credentials": [load_json(W3C / "unsigned.json")],
            "created": signed_vector["proof"]["created"],
        },
    )
    assert answer["publicKeyMultibase"] == key_pair["publicKeyMultibase"]
    assert answer["verificationMethod"] == signed_vector["proof"]["verificationMethod"]
    [signed] = answer["credentials"]
    assert signed["proof"]["proofValue"] == signed_vector["proof"]["proofValue"]
    assert signed == signed_vector


def test_sign_then_verify_with_did_web_controller(contexts: dict[str, Any]) -> None:
    """A did:web issuer: the DID document comes from the payload, never from the network."""
    did = "did:web:credentials.example.org"
    credential = load_json(W3C / "unsigned.json")
    credential["issuer"] = did
    signed = run_node(
        "sign-di.mjs",
        {"contexts": contexts, "seedHex": w3c_seed().hex(), "controller": did, "credentials": [credential]},
    )
    [signed_credential] = signed["credentials"]
    assert signed_credential["proof"]["verificationMethod"] == f"{did}#{signed['publicKeyMultibase']}"
    documents = {did: controller_document(did, signed["publicKeyMultibase"])}
    answer = run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "documents": documents,
            "credentials": [signed_credential, signed_credential],
            "now": NOW,
        },
    )
    assert answer["results"][0] == {
        "verified": True,
        "error": None,
        "proofVerified": True,
        "proofError": None,
        "statuses": None,
    }
    unresolved = run_node(
        "verify-di.mjs", {"contexts": contexts, "credentials": [signed_credential], "now": NOW}
    )
    [result] = unresolved["results"]
    assert result["verified"] is False
    assert f'document loader refuses "{did}#' in result["error"]


def test_canonize_reproduces_w3c_canonical_document_and_proof_config(contexts: dict[str, Any]) -> None:
    answer = run_node(
        "canonize.mjs",
        {
            "contexts": contexts,
            "documents": [load_json(W3C / "unsigned.json"), load_json(W3C_RDFC / "proofConfigDataInt.json")],
        },
    )
    document, proof_config = answer["results"]
    assert document["error"] is None
    assert document["nquads"].encode("utf-8") == (W3C_RDFC / "canonDocDataInt.txt").read_bytes()
    assert proof_config["error"] is None
    assert proof_config["nquads"].encode("utf-8") == (W3C_RDFC / "proofCanonDataInt.txt").read_bytes()


def test_canonize_safe_mode_reports_undefined_terms(contexts: dict[str, Any]) -> None:
    document = load_json(W3C / "unsigned.json")
    document["@context"] = ["https://www.w3.org/ns/credentials/v2"]  # alumniOf is now undefined
    safe = run_node("canonize.mjs", {"contexts": contexts, "documents": [document]})
    unsafe = run_node("canonize.mjs", {"contexts": contexts, "documents": [document], "safe": False})
    [safe_result] = safe["results"]
    assert safe_result["nquads"] is None
    assert "alumniOf" in safe_result["error"]
    [unsafe_result] = unsafe["results"]
    assert unsafe_result["error"] is None
    assert "alumniOf" not in unsafe_result["nquads"]


def test_jose_sign_then_verify_round_trip() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other_seed = bytes(range(32))
    other_public = (
        Ed25519PrivateKey.from_private_bytes(other_seed)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    other_jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(other_public), "d": b64url(other_seed)}
    kid = "did:web:credentials.example.org#key-1"
    payloads = [
        {"iss": "did:web:credentials.example.org", "nbf": 1795651200, "vc": {"name": "CAiEP® Charter"}},
        {"iss": "did:web:credentials.example.org", "jti": "urn:uuid:1", "exp": 1795651200},
    ]
    ours = run_node(
        "jose.mjs", {"op": "sign", "payloads": payloads, "privateJwk": RFC8037_JWK, "kid": kid, "typ": "JWT"}
    )
    theirs = run_node(
        "jose.mjs", {"op": "sign", "payloads": payloads[:1], "privateJwk": other_jwk, "kid": kid}
    )
    tokens = [*ours["tokens"], *theirs["tokens"]]
    assert len(tokens) == 3

    answer = run_node(
        "jose.mjs",
        {
            "op": "verify",
            "tokens": tokens,
            "jwks": [public_jwk(RFC8037_JWK, kid)],
            "algorithms": ["EdDSA"],
            "now": "2026-11-26T12:00:00Z",
        },
    )
    good, expired, wrong_key = answer["results"]
    assert good["verified"] is True, good
    assert good["payload"] == payloads[0]
    assert good["protectedHeader"] == {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
    assert good["error"] is None
    assert expired["verified"] is False
    assert expired["error"].startswith("ERR_JWT_EXPIRED")
    assert wrong_key["verified"] is False
    assert wrong_key["payload"] == payloads[0]
    assert wrong_key["protectedHeader"] == {"alg": "EdDSA", "kid": kid}
    assert wrong_key["error"].startswith("ERR_JWS_SIGNATURE_VERIFICATION_FAILED")

    # an algorithm outside the allow-list is refused even with the right key
    refused = run_node(
        "jose.mjs",
        {
            "op": "verify",
            "tokens": ours["tokens"][:1],
            "jwks": [public_jwk(RFC8037_JWK)],
            "algorithms": ["ES256"],
        },
    )
    [result] = refused["results"]
    assert result["verified"] is False
    assert result["error"].startswith("ERR_JOSE_ALG_NOT_ALLOWED")


def test_harness_bug_raises() -> None:
    with pytest.raises(NodeHarnessError, match="exited with 2"):
        run_node("jose.mjs", {"op": "neither"})
    with pytest.raises(ValueError, match="unknown interop script"):
        run_node("nope.mjs", {})


def test_missing_node_modules_raises_with_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import node

    monkeypatch.setattr(node, "INTEROP_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="npm ci"):
        run_node("verify-di.mjs", {"contexts": {}, "credentials": []})


def test_stale_node_modules_raises_with_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import node

    lock = json.loads((node.INTEROP_DIR / "package-lock.json").read_text(encoding="utf-8"))
    (tmp_path / "package-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    stale = copy.deepcopy(lock)
    stale["packages"]["node_modules/jsonld"]["version"] = "0.0.0"
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / ".package-lock.json").write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(node, "INTEROP_DIR", tmp_path)
    with pytest.raises(RuntimeError, match=r"differ from package-lock\.json: run `npm ci`"):
        run_node("canonize.mjs", {"contexts": {}, "documents": []})
