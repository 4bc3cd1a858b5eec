"""Interoperability: our credentials verified by independent Node.js implementations, theirs by us.

* Ours → Digital Bazaar (`@digitalbazaar/vc`) and → `jose`;
* Digital Bazaar and `jose` → ours, the W3C vector included.

Every Node call is batched; the batches are session fixtures (conftest.py).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from peers import (
    DB_CREATED,
    DB_SIGNED_PER_CONTROLLER,
    DID_KEY_SIGNERS,
    DID_WEB,
    DID_WEB_SIGNERS,
    JWT_CLAIMS,
    NAMES,
    NODE_DOCUMENTS,
    NOW,
    NOW_ISO,
    OURS_COUNT,
    VERIFIED,
    W3C,
    DbSigned,
    Issued,
    _unsigned_batch,
    b64url_decode,
    epoch,
    fetcher,
)

from caiep.errors import ProofInvalid
from caiep.keys.did import verification_method_id
from caiep.keys.ed25519 import PublicKey
from caiep.proofs.dataintegrity import verify_proof
from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.result import Outcome, VerificationResult
from caiep.verifier.verify import verify
from node import run_node

pytestmark = pytest.mark.interop


def test_digital_bazaar_verifies_our_data_integrity_credentials(
    ours: list[Issued], contexts: dict[str, Any]
) -> None:
    assert sum(item.issuer_id.startswith("did:key:") for item in ours) == OURS_COUNT // 2
    assert sum(item.issuer_id == DID_WEB for item in ours) == OURS_COUNT // 2
    assert {item.ldp["credentialSubject"]["name"] for item in ours} == {name.strip() for name in NAMES}
    assert all(isinstance(item.ldp["proof"], list) for item in ours)  # our form: a proof array
    answer = run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "documents": NODE_DOCUMENTS,
            "credentials": [i.ldp for i in ours],
            "now": NOW_ISO,
        },
    )
    results = answer["results"]
    assert len(results) == OURS_COUNT
    refused = {
        f"#{item.index} {item.issuer_id[:12]} {item.ldp['credentialSubject']['name']!r}": result
        for item, result in zip(ours, results, strict=True)
        if result != VERIFIED
    }
    assert not refused, f"Digital Bazaar refused {len(refused)} of our credentials: {refused}"


def test_jose_verifies_our_vc_jwts(ours: list[Issued]) -> None:
    keys = {item.verification_method: item.key.public_key for item in ours}
    assert len(keys) == len(DID_KEY_SIGNERS) + len(DID_WEB_SIGNERS)
    jwks = [{**public_key.to_jwk(), "kid": kid} for kid, public_key in keys.items()]
    answer = run_node(
        "jose.mjs",
        {
            "op": "verify",
            "tokens": [item.jwt for item in ours],
            "jwks": jwks,
            "algorithms": ["EdDSA"],
            "now": NOW_ISO,
            "typ": "JWT",
        },
    )
    results = answer["results"]
    assert len(results) == OURS_COUNT
    for item, result in zip(ours, results, strict=True):
        assert result["verified"] is True, (item.index, result["error"])
        assert result["protectedHeader"] == {"alg": "EdDSA", "kid": item.verification_method, "typ": "JWT"}
        payload = result["payload"]
        credential = item.unsigned
        assert payload["iss"] == credential["issuer"]["id"] == item.issuer_id
        assert payload["jti"] == credential["id"]
        assert payload["nbf"] == epoch(credential["validFrom"])
        assert payload["exp"] == epoch(credential["validUntil"])
        # the rest of the payload is the credential itself (no subject id, so no `sub`)
        assert {k: v for k, v in payload.items() if k not in JWT_CLAIMS} == credential


def _non_structure_checks_pass(result: VerificationResult) -> None:
    proof = result.check("proof")
    assert proof is not None
    assert (proof.outcome, proof.code) == (Outcome.VALID, "signature_valid"), proof
    for name, outcome in (
        ("contexts", Outcome.VALID),
        ("validity", Outcome.VALID),
        ("status", Outcome.NOT_APPLICABLE),
    ):
        check = result.check(name)
        assert check is not None
        assert check.outcome is outcome, check


def test_our_verifier_checks_digital_bazaar_proofs(db_signed: list[DbSigned]) -> None:
    assert len(db_signed) == 2
    for run in db_signed:
        answer = run.answer
        assert answer["publicKeyMultibase"] == run.public_key.multibase
        assert answer["verificationMethod"] == verification_method_id(run.controller, run.public_key)
        assert len(answer["credentials"]) == DB_SIGNED_PER_CONTROLLER
        for unsigned, credential in zip(run.unsigned, answer["credentials"], strict=True):
            assert "error" not in credential, credential
            proof = credential["proof"]
            assert isinstance(proof, dict)  # Digital Bazaar emits one proof object, not an array
            assert proof["verificationMethod"] == answer["verificationMethod"]
            assert proof["created"] == DB_CREATED
            assert {k: v for k, v in credential.items() if k != "proof"} == unsigned
            result = verify(credential, now=NOW, fetcher=fetcher())
            _non_structure_checks_pass(result)
            # the same proof inside an array (the 1EdTech schema's form) is accepted outright
            as_array = verify({**credential, "proof": [proof]}, now=NOW, fetcher=fetcher())
            assert as_array.outcome is Outcome.VALID, as_array.to_json()
            assert as_array.verified


def test_our_verifier_accepts_digital_bazaar_single_proof_object(db_signed: list[DbSigned]) -> None:
    for run in db_signed:
        for credential in run.answer["credentials"]:
            result = verify(credential, now=NOW, fetcher=fetcher())
            assert result.outcome is Outcome.VALID, result.to_json()
            assert result.verified


def test_w3c_vector_signed_with_digital_bazaar_libraries() -> None:
    """The W3C eddsa-rdfc-2022 vector (reproduced by sign-di in test_harness.py).

    Its issuer (https://vc.example/issuers/5678) does not control its did:key verification
    method: our verifier refuses that by design (key provenance), while the proof alone holds.
    """
    credential = json.loads((W3C / "eddsa-rdfc-2022" / "signedDataInt.json").read_text(encoding="utf-8"))
    public_key_multibase = json.loads((W3C / "keyPair.json").read_text(encoding="utf-8"))[
        "publicKeyMultibase"
    ]
    assert credential["issuer"] != credential["proof"]["verificationMethod"].split("#")[0]

    result = verify(credential, now=NOW, fetcher=MappingFetcher({}))
    proof_check = result.check("proof")
    assert proof_check is not None
    assert proof_check.outcome is Outcome.INVALID
    assert proof_check.code == "key_not_issuers"
    assert "https://vc.example/issuers/5678" in proof_check.message
    assert result.outcome is Outcome.INVALID

    public_key = PublicKey.from_multibase(public_key_multibase)
    verify_proof(credential, credential["proof"], public_key)  # raises if the signature fails
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["alumniOf"] += "!"
    with pytest.raises(ProofInvalid) as caught:
        verify_proof(tampered, tampered["proof"], public_key)
    assert caught.value.code == "signature_invalid"


def _jwt_payload(credential: dict[str, Any]) -> dict[str, Any]:
    return {
        **credential,
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": epoch(credential["validFrom"]),
        "exp": epoch(credential["validUntil"]),
    }


def test_our_verifier_accepts_vc_jwts_signed_by_jose() -> None:
    key = DID_WEB_SIGNERS[1]  # the newer did:web key
    kid = verification_method_id(DID_WEB, key.public_key)
    unsigned = _unsigned_batch(DID_WEB, 30)
    payloads = [_jwt_payload(credential) for credential in unsigned]
    # a control the signature cannot rescue: a claim that contradicts the credential
    wrong_nbf = {**payloads[0], "nbf": payloads[0]["nbf"] + 3600}
    answer = run_node(
        "jose.mjs",
        {
            "op": "sign",
            "payloads": [*payloads, wrong_nbf],
            "privateJwk": key.private_jwk(),
            "kid": kid,
            "typ": "JWT",
        },
    )
    *tokens, wrong_token = answer["tokens"]
    assert len(tokens) == len(unsigned)
    for credential, token in zip(unsigned, tokens, strict=True):
        header = json.loads(b64url_decode(token.split(".")[0]))
        assert header == {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
        result = verify(token, now=NOW, fetcher=fetcher())
        assert result.format == "jwt"
        assert result.outcome is Outcome.VALID, result.to_json()
        assert result.verified
        proof_check = result.check("proof")
        assert proof_check is not None
        assert proof_check.code == "signature_valid"
        assert result.credential == credential

    refused = verify(wrong_token, now=NOW, fetcher=fetcher())
    proof_check = refused.check("proof")
    assert proof_check is not None
    assert (proof_check.outcome, proof_check.code) == (Outcome.INVALID, "jwt_claim_mismatch")
