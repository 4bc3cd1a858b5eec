"""Ed25519 keys: known signatures, sign/verify properties, JWK and PKCS#8 forms, no leaks."""

from __future__ import annotations

import base64
import pickle
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from caiep.errors import EncodingError, KeyMaterialError, PassphraseError, ProofInvalid
from caiep.keys.base58 import b58encode
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.keys.multikey import encode_secret_key

seeds = st.binary(min_size=32, max_size=32)

# vc-di-eddsa eddsa-rdfc-2022 vector: proof hash ‖ document hash, and its signature.
W3C_SIGNED_DATA = bytes.fromhex(
    "bea7b7acfbad0126b135104024a5f1733e705108f42d59668b05c0c50004c6b0"
    "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017"
)
W3C_SIGNATURE = bytes.fromhex(
    "4d8e53c2d5b3f2a7891753eb16ca993325bdb0d3cfc5be1093d0a18426f5ef85"
    "78cadc0fd4b5f4dd0d1ce0aefd15ab120b7a894d0eb094ffda4e6553cd1ed50d"
)
W3C_PROOF_VALUE = "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme"


def test_w3c_vector_signature_is_reproduced(w3c_signing_key: SigningKey) -> None:
    signature = w3c_signing_key.sign(W3C_SIGNED_DATA)
    assert signature == W3C_SIGNATURE
    assert "z" + b58encode(signature) == W3C_PROOF_VALUE
    w3c_signing_key.public_key.verify(signature, W3C_SIGNED_DATA)


def test_ob_implementation_guide_vector() -> None:
    key = SigningKey.from_seed(
        bytes.fromhex("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
    )
    assert key.public_key.raw.hex() == "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
    assert key.public_key.multibase == "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    data = bytes.fromhex(
        "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19"
        "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773"
    )
    signature = key.sign(data)
    assert signature.hex() == (
        "f7a017acf7d27983267ec362657c0fb08e955549f49dac5bf36a03c4f2c3a4f1"
        "e3738a6c5ecd7ffba7135cb9cd754e6196f4b73082ea8df8e703c8ecd4333503"
    )
    assert "z" + b58encode(signature) == (
        "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
    )


@given(seeds, st.binary(max_size=256))
def test_sign_then_verify_holds(seed: bytes, data: bytes) -> None:
    key = SigningKey.from_seed(seed)
    signature = key.sign(data)
    assert len(signature) == 64
    key.public_key.verify(signature, data)
    PublicKey.from_multibase(key.public_key.multibase).verify(signature, data)


@given(seeds, st.binary(max_size=64), st.data())
def test_flipping_any_signature_bit_fails(seed: bytes, data: bytes, draw: st.DataObject) -> None:
    key = SigningKey.from_seed(seed)
    signature = bytearray(key.sign(data))
    bit = draw.draw(st.integers(min_value=0, max_value=64 * 8 - 1))
    signature[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ProofInvalid, match="does not verify"):
        key.public_key.verify(bytes(signature), data)


@given(seeds, st.binary(min_size=1, max_size=64), st.data())
def test_flipping_any_data_bit_fails(seed: bytes, data: bytes, draw: st.DataObject) -> None:
    key = SigningKey.from_seed(seed)
    signature = key.sign(data)
    altered = bytearray(data)
    bit = draw.draw(st.integers(min_value=0, max_value=len(data) * 8 - 1))
    altered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ProofInvalid):
        key.public_key.verify(signature, bytes(altered))


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_signatures_of_the_wrong_length_are_invalid(w3c_signing_key: SigningKey, length: int) -> None:
    signature = (w3c_signing_key.sign(b"data") * 3)[:length]
    with pytest.raises(ProofInvalid, match="64 bytes"):
        w3c_signing_key.public_key.verify(signature, b"data")


def test_another_key_does_not_verify(w3c_signing_key: SigningKey) -> None:
    other = SigningKey.generate()
    with pytest.raises(ProofInvalid):
        other.public_key.verify(w3c_signing_key.sign(b"data"), b"data")


def test_small_order_key_with_trivial_signature_is_refused() -> None:
    identity = bytes([1]) + bytes(31)  # the neutral point: [h]A = 0 for every message
    with pytest.raises(ProofInvalid):
        PublicKey(identity).verify(identity + bytes(32), b"any message")


def test_generated_keys_differ_and_verify() -> None:
    first, second = SigningKey.generate(), SigningKey.generate()
    assert first.public_key != second.public_key
    first.public_key.verify(first.sign(b"x"), b"x")


@pytest.mark.parametrize("raw", [bytes(31), bytes(33), b""])
def test_public_key_length_is_validated(raw: bytes) -> None:
    with pytest.raises(EncodingError, match="32 bytes"):
        PublicKey(raw)


def test_public_key_must_be_bytes() -> None:
    with pytest.raises(EncodingError, match="bytes"):
        PublicKey(bytearray(32))  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_seed_length_is_validated(length: int) -> None:
    with pytest.raises(KeyMaterialError):
        SigningKey.from_seed(bytes(length))


def test_public_keys_compare_by_value(w3c_signing_key: SigningKey, w3c_key_pair: dict[str, str]) -> None:
    from_multibase = PublicKey.from_multibase(w3c_key_pair["publicKeyMultibase"])
    assert from_multibase == w3c_signing_key.public_key
    assert hash(from_multibase) == hash(w3c_signing_key.public_key)
    assert repr(from_multibase) == f"PublicKey({w3c_key_pair['publicKeyMultibase']!r})"


def test_jwk_vector_from_the_did_key_draft(did_key_vectors: dict[str, Any]) -> None:
    (vector,) = [v for v in did_key_vectors.values() if "publicKeyJwk" in v["verificationKeyPair"]]
    key = SigningKey.from_seed(bytes.fromhex(vector["seed"]))
    pair = vector["verificationKeyPair"]
    assert key.public_key.to_jwk() == pair["publicKeyJwk"]
    assert key.private_jwk() == pair["privateKeyJwk"]
    assert PublicKey.from_jwk(pair["publicKeyJwk"]) == key.public_key


@given(seeds)
def test_jwk_round_trip(seed: bytes) -> None:
    public_key = SigningKey.from_seed(seed).public_key
    assert PublicKey.from_jwk(public_key.to_jwk()) == public_key
    assert PublicKey.from_jwk({**public_key.to_jwk(), "kid": "k", "alg": "EdDSA"}) == public_key


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kty": "EC"}, "OKP / Ed25519"),
        ({"crv": "X25519"}, "OKP / Ed25519"),
        ({"crv": "Ed448"}, "OKP / Ed25519"),
        ({"x": None}, "no 'x'"),
        ({"x": base64.urlsafe_b64encode(bytes(32)).decode()}, "base64url"),
        ({"x": base64.urlsafe_b64encode(bytes(31)).decode().rstrip("=")}, "31 bytes"),
        ({"x": base64.urlsafe_b64encode(bytes(33)).decode().rstrip("=")}, "33 bytes"),
        ({"x": "AAAA+AAA"}, "base64url"),
        ({"alg": "ES256"}, "alg"),
        ({"d": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "private key material"),
    ],
)
def test_from_jwk_refuses(change: dict[str, Any], message: str) -> None:
    jwk = {**SigningKey.generate().public_key.to_jwk(), **change}
    jwk = {name: value for name, value in jwk.items() if value is not None}
    with pytest.raises(EncodingError, match=message):
        PublicKey.from_jwk(jwk)


def test_from_jwk_refuses_non_canonical_base64url() -> None:
    x = SigningKey.from_seed(bytes(32)).public_key.to_jwk()["x"]
    # The last character of 32 bytes in base64url carries 2 unused bits; set them.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twisted = x[:-1] + alphabet[alphabet.index(x[-1]) ^ 1]
    with pytest.raises(EncodingError, match="trailing bits"):
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": twisted})


def test_signing_key_repr_and_pickle_never_show_the_seed() -> None:
    seed = bytes(range(32))
    key = SigningKey.from_seed(seed)
    text = repr(key)
    assert key.public_key.multibase in text
    for encoded in (seed.hex(), b58encode(seed), base64.urlsafe_b64encode(seed).decode().rstrip("=")):
        assert encoded not in text
    assert encode_secret_key(seed) not in text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_export_seed_unsafe_returns_the_seed() -> None:
    seed = bytes(range(32))
    assert SigningKey.from_seed(seed).export_seed_unsafe() == seed


def test_encrypted_pkcs8_round_trip_and_wrong_password() -> None:
    key = SigningKey.generate()
    pem = key.to_encrypted_pkcs8(b"a password that is long")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = SigningKey.from_encrypted_pkcs8(pem, b"a password that is long")
    assert loaded.public_key == key.public_key
    with pytest.raises(PassphraseError):
        SigningKey.from_encrypted_pkcs8(pem, b"another password entirely")


def test_unencrypted_or_damaged_pkcs8_is_key_material_error() -> None:
    private = Ed25519PrivateKey.generate()
    plain = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyMaterialError, match="not an encrypted PKCS#8"):
        SigningKey.from_encrypted_pkcs8(plain, b"password")
    pem = SigningKey.generate().to_encrypted_pkcs8(b"password")
    lines = pem.splitlines()
    damaged = b"\n".join([lines[0], b"!!!" + lines[1][3:], *lines[2:]])
    with pytest.raises(KeyMaterialError, match="not base64"):
        SigningKey.from_encrypted_pkcs8(damaged, b"password")
    with pytest.raises(KeyMaterialError):
        SigningKey.from_encrypted_pkcs8(b"", b"password")
