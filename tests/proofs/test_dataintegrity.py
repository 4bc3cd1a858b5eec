"""eddsa-rdfc-2022: W3C and 1EdTech vectors reproduced, and every way a proof can be wrong."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caiep.errors import ProofInvalid
from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.keys.base58 import b58encode
from caiep.keys.ed25519 import SigningKey
from caiep.keys.multikey import decode_secret_key
from caiep.proofs.dataintegrity import (
    canonical_nquads,
    create_proof,
    proofs_of,
    sign,
    unsecured,
    verify_proof,
)
from caiep.verifier.verify import verify
from support import EXTERNAL, load_json

W3C = EXTERNAL / "vc-di-eddsa" / "TestVectors"
OB_GUIDE = EXTERNAL / "ob-v3p0-impl-guide"


def _w3c_key() -> SigningKey:
    return SigningKey.from_seed(decode_secret_key(load_json(W3C / "keyPair.json")["privateKeyMultibase"]))


def _created(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_w3c_eddsa_rdfc_2022_vector_is_reproduced():
    signed = load_json(W3C / "eddsa-rdfc-2022" / "signedDataInt.json")
    config = load_json(W3C / "eddsa-rdfc-2022" / "proofConfigDataInt.json")
    proof = create_proof(
        load_json(W3C / "unsigned.json"),
        _w3c_key(),
        verification_method=config["verificationMethod"],
        created=_created(config["created"]),
    )
    assert proof == signed["proof"]
    assert proof["proofValue"] == (W3C / "eddsa-rdfc-2022" / "sigBTC58DataInt.txt").read_text().strip()
    verify_proof(signed, signed["proof"], _w3c_key().public_key)


def test_w3c_ed25519signature2020_vector_verifies():
    signed = load_json(W3C / "Ed25519Signature2020" / "signedEdSig.json")
    verify_proof(signed, signed["proof"], _w3c_key().public_key)


def test_ob_implementation_guide_vector_is_reproduced():
    vector = load_json(OB_GUIDE / "vector.json")
    key = SigningKey.from_seed(bytes.fromhex(vector["privateKeyHex_seed_plus_pub"])[:32])
    options = vector["proofOptions"]
    proof = create_proof(
        load_json(OB_GUIDE / "unsigned-credential.json"),
        key,
        verification_method=options["verificationMethod"],
        created=_created(options["created"]),
    )
    assert proof["proofValue"] == vector["proofValue"]
    signed = load_json(EXTERNAL / "1edtech" / "ob3-impl-guide-signed.eddsa-rdfc-2022.json")
    verify_proof(signed, proofs_of(signed)[0], key.public_key)


def _charter_document(**award: Any) -> dict[str, Any]:
    profile = IssuerProfile(
        id="did:web:credentials.example.org",
        name="Example Body",
        url="https://credentials.example.org",
        base_url="https://credentials.example.org",
    )
    return build_charter_credential(
        profile,
        CharterAward("Jane Doe", "jane@example.org", date(2026, 6, 1), "CAIEP-1", score="82", **award),
        credential_uuid="6f1d2c3e-8a4b-4f5e-9c7d-0b1a2c3d4e5f",
        now=datetime(2026, 11, 26, tzinfo=UTC),
        salt="ab12",
    )


@pytest.fixture
def charter() -> dict[str, Any]:
    return _charter_document()


VM = "did:web:credentials.example.org#key-1"


def test_proof_is_an_array_and_a_second_proof_makes_a_set(charter, signing_key, other_key, now):
    once = sign(charter, signing_key, verification_method=VM, created=now)
    assert isinstance(once["proof"], list)
    assert len(once["proof"]) == 1
    twice = sign(once, other_key, verification_method=VM + "b", created=now)
    assert len(twice["proof"]) == 2
    verify_proof(twice, twice["proof"][0], signing_key.public_key)
    verify_proof(twice, twice["proof"][1], other_key.public_key)


def test_signing_is_deterministic(charter, signing_key, now):
    assert sign(charter, signing_key, verification_method=VM, created=now) == sign(
        charter, signing_key, verification_method=VM, created=now
    )


def _proof_error(signed, key, **changes) -> ProofInvalid:
    proof = {**signed["proof"][0], **changes}
    proof = {k: v for k, v in proof.items() if v is not None}
    with pytest.raises(ProofInvalid) as caught:
        verify_proof(signed, proof, key)
    return caught.value


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"type": "Ed25519Signature2018"}, "unsupported_proof_type"),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "unsupported_cryptosuite"),
        ({"proofPurpose": "authentication"}, "proof_purpose_mismatch"),
        ({"verificationMethod": None}, "proof_malformed"),
        ({"proofValue": "u" + "A" * 86}, "proof_value_malformed"),
        ({"proofValue": "z0OIl"}, "proof_value_malformed"),
        ({"proofValue": "z" + b58encode(bytes(63))}, "proof_value_malformed"),
        ({"created": "yesterday"}, "proof_malformed"),
        ({"created": "2026-11-26T09:30:01Z"}, "signature_invalid"),
        ({"@context": ["https://www.w3.org/ns/did/v1"]}, "proof_context_mismatch"),
    ],
)
def test_malformed_or_altered_proofs_are_refused_with_a_code(charter, signing_key, now, changes, code):
    signed = sign(charter, signing_key, verification_method=VM, created=now)
    assert _proof_error(signed, signing_key.public_key, **changes).code == code


def test_another_key_does_not_verify(charter, signing_key, other_key, now):
    signed = sign(charter, signing_key, verification_method=VM, created=now)
    assert _proof_error(signed, other_key.public_key).code == "signature_invalid"


def _leaves(node: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [
            leaf for key, value in node.items() if key != "proof" for leaf in _leaves(value, (*path, key))
        ]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, (*path, i))]
    return [path]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return value + "x" if value else "x"


@pytest.fixture(scope="module")
def signed_charter() -> dict[str, Any]:
    doc = _charter_document(pathway="aie")
    return sign(
        doc,
        SigningKey.from_seed(bytes(range(1, 33))),
        verification_method=VM,
        created=datetime(2026, 11, 26, tzinfo=UTC),
    )


def test_every_leaf_is_covered_by_the_signature(signed_charter):
    key = SigningKey.from_seed(bytes(range(1, 33))).public_key
    leaves = _leaves(signed_charter)
    assert len(leaves) > 40
    survived = []
    for path in leaves:
        tampered = copy.deepcopy(signed_charter)
        node = tampered
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = _changed(node[path[-1]])
        try:
            verify_proof(tampered, tampered["proof"][0], key)
        except Exception:
            continue
        survived.append(path)
    assert survived == []


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_changing_any_leaf_to_any_other_value_breaks_the_proof_or_keeps_its_meaning(signed_charter, data):
    """eddsa-rdfc-2022 signs the RDF meaning, not the JSON bytes.

    A change either breaks the proof, or leaves the canonical N-Quads identical (for example
    ``"hashed": "true"`` for ``true``: the context types it xsd:boolean, so both are the same
    literal). In that case the full verifier still refuses it through the 1EdTech schema.
    """
    key = SigningKey.from_seed(bytes(range(1, 33))).public_key
    path = data.draw(st.sampled_from(_leaves(signed_charter)))
    tampered = copy.deepcopy(signed_charter)
    node = tampered
    for step in path[:-1]:
        node = node[step]
    original = node[path[-1]]
    node[path[-1]] = data.draw(st.text(max_size=20).filter(lambda v: v != original))
    try:
        verify_proof(tampered, tampered["proof"][0], key)
    except Exception:
        return
    assert canonical_nquads(unsecured(tampered)) == canonical_nquads(unsecured(signed_charter))
    assert (
        verify(tampered, now=datetime(2026, 11, 27, tzinfo=UTC)).check("structure").outcome.value == "invalid"
    )


def test_a_boolean_spelled_as_a_string_is_the_same_rdf_but_not_a_valid_credential(signed_charter):
    key = SigningKey.from_seed(bytes(range(1, 33))).public_key
    tampered = copy.deepcopy(signed_charter)
    tampered["credentialSubject"]["identifier"][0]["hashed"] = "true"
    verify_proof(tampered, tampered["proof"][0], key)  # same canonical form: the proof holds
    structure = verify(tampered, now=datetime(2026, 11, 27, tzinfo=UTC)).check("structure")
    assert structure.outcome.value == "invalid"
    assert "/credentialSubject/identifier/0/hashed" in structure.message
