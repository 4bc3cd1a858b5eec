"""Proof sets and chains (VC Data Integrity 1.0 §4.6): every proof must hold, chains in order.

A set is only as strong as its weakest proof: one valid issuer proof beside a tampered one, an
unknown cryptosuite, or another party's proof makes the credential invalid. ``previousProof``
must name a proof of the set, which is checked first and covered by the chained signature.
All issuers here are did:key identities with fixed RFC 8032 test keys: nothing is fetched.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from caiep.errors import InputError
from caiep.keys.base58 import b58encode
from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import create_proof, hash_data, sign, unsecured
from caiep.verifier.inputs import read_presented
from caiep.verifier.result import Outcome, Verdict, VerificationResult
from caiep.verifier.verify import verify
from support import unsigned_charter

SEED_ISSUER = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_OTHER = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
LATER = datetime(2025, 3, 2, 12, 0, 0, tzinfo=UTC)

ISSUER_KEY = SigningKey.from_seed(SEED_ISSUER)
OTHER_KEY = SigningKey.from_seed(SEED_OTHER)
ISSUER_DID = did_key_for(ISSUER_KEY.public_key)
OTHER_DID = did_key_for(OTHER_KEY.public_key)
ISSUER_VM = verification_method_id(ISSUER_DID, ISSUER_KEY.public_key)
OTHER_VM = verification_method_id(OTHER_DID, OTHER_KEY.public_key)


def _issued() -> dict[str, Any]:
    """The credential with one valid proof by the issuer's key."""
    return sign(unsigned_charter(ISSUER_DID, now=NOW), ISSUER_KEY, verification_method=ISSUER_VM, created=NOW)


def _with_proofs(document: dict[str, Any], *proofs: dict[str, Any]) -> dict[str, Any]:
    return {**unsecured(document), "proof": [*document["proof"], *proofs]}


def _signed_ignoring_chain(
    document: dict[str, Any], options: dict[str, Any], key: SigningKey
) -> dict[str, Any]:
    """A proof whose options name a ``previousProof`` but whose signature covers no proofs."""
    body = unsecured(document)
    signature = key.sign(hash_data(body, {**options, "@context": body["@context"]}))
    return {**options, "proofValue": "z" + b58encode(signature)}


def _proof_check(result: VerificationResult) -> tuple[Outcome, str, str]:
    check = result.check("proof")
    assert check is not None
    return check.outcome, check.code, check.message


def _assert_invalid(result: VerificationResult, code: str) -> str:
    outcome, got, message = _proof_check(result)
    assert (outcome, got) == (Outcome.INVALID, code), message
    assert result.verdict is Verdict.INVALID
    assert not result.verified
    return message


# --- sets: every proof must verify ------------------------------------------------------------


def test_a_single_issuer_proof_is_valid() -> None:
    assert verify(_issued(), now=NOW).verified


def test_two_valid_issuer_proofs_are_valid() -> None:
    credential = sign(_issued(), ISSUER_KEY, verification_method=ISSUER_VM, created=LATER)
    assert len(credential["proof"]) == 2

    result = verify(credential, now=LATER)

    assert result.verified, _proof_check(result)
    assert "all 2 proofs verify" in _proof_check(result)[2]


def test_a_tampered_proof_beside_a_valid_one_is_invalid() -> None:
    credential = sign(_issued(), ISSUER_KEY, verification_method=ISSUER_VM, created=LATER)
    # the second proof's signature replaced by a signature of other bytes (still 64 bytes)
    credential["proof"][1]["proofValue"] = "z" + b58encode(ISSUER_KEY.sign(b"other bytes"))

    message = _assert_invalid(verify(credential, now=LATER), "proof_set_member_invalid")

    assert "proof 2 of 2" in message
    assert "signature does not match" in message


def test_an_unknown_cryptosuite_beside_a_valid_proof_is_invalid() -> None:
    credential = _issued()
    unknown = {**copy.deepcopy(credential["proof"][0]), "cryptosuite": "ecdsa-rdfc-2019"}

    message = _assert_invalid(verify(_with_proofs(credential, unknown), now=NOW), "proof_set_member_invalid")

    assert "unsupported cryptosuite 'ecdsa-rdfc-2019'" in message


def test_a_broken_third_party_proof_beside_the_issuers_is_invalid() -> None:
    credential = sign(_issued(), OTHER_KEY, verification_method=OTHER_VM, created=LATER)
    credential["proof"][1]["proofValue"] = "z" + b58encode(OTHER_KEY.sign(b"other bytes"))

    message = _assert_invalid(verify(credential, now=LATER), "key_not_issuers")

    assert OTHER_DID in message
    assert ISSUER_DID in message


def test_a_valid_third_party_proof_beside_a_broken_issuer_proof_is_invalid() -> None:
    credential = sign(_issued(), OTHER_KEY, verification_method=OTHER_VM, created=LATER)
    credential["proof"][0]["proofValue"] = "z" + b58encode(ISSUER_KEY.sign(b"other bytes"))

    result = verify(credential, now=LATER)

    assert _proof_check(result)[0] is Outcome.INVALID
    assert result.verdict is Verdict.INVALID


def test_a_valid_third_party_proof_is_not_the_issuers_either() -> None:
    """OB 3.0 key provenance holds for every proof of the set, not only for one of them."""
    credential = sign(_issued(), OTHER_KEY, verification_method=OTHER_VM, created=LATER)

    _assert_invalid(verify(credential, now=LATER), "key_not_issuers")


def test_a_proof_without_verification_method_says_so() -> None:
    credential = _issued()
    del credential["proof"][0]["verificationMethod"]

    message = _assert_invalid(verify(credential, now=NOW), "proof_malformed")

    assert message == "the proof has no verificationMethod"


# --- chains: previousProof -------------------------------------------------------------------


def _first() -> dict[str, Any]:
    """The credential with the issuer's proof ``urn:uuid:p1``."""
    return sign(
        unsigned_charter(ISSUER_DID, now=NOW),
        ISSUER_KEY,
        verification_method=ISSUER_VM,
        created=NOW,
        proof_id="urn:uuid:p1",
    )


def _chain() -> dict[str, Any]:
    """p1 by the issuer, then p2 by the issuer chained to p1 (signed over the document and p1)."""
    return sign(
        _first(),
        ISSUER_KEY,
        verification_method=ISSUER_VM,
        created=LATER,
        proof_id="urn:uuid:p2",
        previous_proof="urn:uuid:p1",
    )


def test_a_valid_chain_is_valid() -> None:
    credential = _chain()
    assert credential["proof"][1]["previousProof"] == "urn:uuid:p1"

    result = verify(credential, now=LATER)

    assert result.verified, _proof_check(result)
    assert "1 of them chained" in _proof_check(result)[2]


def test_a_chained_proof_listed_first_is_still_checked_after_its_predecessor() -> None:
    credential = _chain()
    credential["proof"].reverse()

    assert verify(credential, now=LATER).verified


def test_a_chained_proof_covers_the_proof_it_follows() -> None:
    """Changing p1 (here its created time) breaks p1 and the chained p2 alike."""
    credential = _chain()
    credential["proof"][0]["created"] = "2025-03-01T12:00:01Z"

    _assert_invalid(verify(credential, now=LATER), "proof_set_member_invalid")


def test_a_chained_proof_signed_as_if_unchained_is_invalid() -> None:
    credential = _first()
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "id": "urn:uuid:p2",
        "verificationMethod": ISSUER_VM,
        "proofPurpose": "assertionMethod",
        "previousProof": "urn:uuid:p1",
    }

    message = _assert_invalid(
        verify(_with_proofs(credential, _signed_ignoring_chain(credential, options, ISSUER_KEY)), now=NOW),
        "proof_set_member_invalid",
    )

    assert "proof 2 of 2" in message


def test_previous_proof_naming_a_missing_id_in_a_single_proof_is_invalid() -> None:
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": ISSUER_VM,
        "proofPurpose": "assertionMethod",
        "previousProof": "urn:uuid:gone",
    }
    unsigned = unsigned_charter(ISSUER_DID, now=NOW)
    credential = {**unsigned, "proof": [_signed_ignoring_chain(unsigned, options, ISSUER_KEY)]}

    message = _assert_invalid(verify(credential, now=NOW), "previous_proof_missing")

    assert "'urn:uuid:gone'" in message


def test_previous_proof_naming_a_missing_id_in_a_chain_is_invalid() -> None:
    credential = _issued()
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "id": "urn:uuid:p2",
        "verificationMethod": ISSUER_VM,
        "proofPurpose": "assertionMethod",
        "previousProof": "urn:uuid:p9",
    }

    message = _assert_invalid(
        verify(_with_proofs(credential, _signed_ignoring_chain(credential, options, ISSUER_KEY)), now=NOW),
        "previous_proof_missing",
    )

    assert "'urn:uuid:p9'" in message


def test_a_chain_whose_first_proof_was_removed_is_invalid() -> None:
    credential = _chain()
    credential["proof"] = credential["proof"][1:]

    _assert_invalid(verify(credential, now=LATER), "previous_proof_missing")


def test_proofs_naming_each_other_are_invalid() -> None:
    credential = _chain()
    credential["proof"][0]["previousProof"] = "urn:uuid:p2"

    _assert_invalid(verify(credential, now=LATER), "previous_proof_cycle")


@pytest.mark.parametrize("value", [42, [], ["urn:uuid:p1", 7], ""])
def test_a_malformed_previous_proof_is_invalid(value: Any) -> None:
    credential = _chain()
    credential["proof"][1]["previousProof"] = value

    message = _assert_invalid(verify(credential, now=LATER), "proof_set_member_invalid")

    assert "previousProof must name a proof id or a list of proof ids" in message


def test_two_proofs_with_one_id_are_invalid() -> None:
    credential = sign(
        _first(), ISSUER_KEY, verification_method=ISSUER_VM, created=LATER, proof_id="urn:uuid:p1"
    )

    message = _assert_invalid(verify(credential, now=LATER), "proof_malformed")

    assert "'urn:uuid:p1'" in message


def test_signing_a_chain_to_a_missing_proof_is_refused() -> None:
    with pytest.raises(Exception, match="no proof of the set has that id"):
        create_proof(
            _issued(), ISSUER_KEY, verification_method=ISSUER_VM, created=NOW, previous_proof="urn:uuid:p9"
        )


# --- what is read as a credential -----------------------------------------------------------


def test_a_json_string_holding_json_is_not_read_again() -> None:
    layered = json.dumps(json.dumps(_issued()))

    with pytest.raises(InputError, match="a JSON string may hold only a JWS"):
        read_presented(layered)


def test_a_json_string_holding_a_compact_jws_is_read_as_a_vc_jwt() -> None:
    token = "eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln"

    presented = read_presented(f'"{token}"')

    assert (presented.format, presented.token) == ("jwt", token)
