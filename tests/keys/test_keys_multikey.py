"""Multikey encodings (CID 1.0 §2.2.2) against the W3C vector, round trips and refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caiep.errors import EncodingError
from caiep.keys.base58 import b58encode
from caiep.keys.ed25519 import SigningKey
from caiep.keys.multikey import (
    decode_p256_public_key,
    decode_public_key,
    decode_secret_key,
    encode_public_key,
    encode_secret_key,
)

W3C_PUBLIC_HEX = "b00d8d938e7f773d51565aad36a623f5344f7f5d1960f9cf3e8e12620ea2810f"


def test_w3c_vector_public_key(w3c_key_pair: dict[str, str]) -> None:
    multibase = w3c_key_pair["publicKeyMultibase"]
    assert decode_public_key(multibase).hex() == W3C_PUBLIC_HEX
    assert encode_public_key(bytes.fromhex(W3C_PUBLIC_HEX)) == multibase


def test_w3c_vector_secret_key_matches_public_key(w3c_key_pair: dict[str, str]) -> None:
    seed = decode_secret_key(w3c_key_pair["privateKeyMultibase"])
    assert encode_secret_key(seed) == w3c_key_pair["privateKeyMultibase"]
    assert SigningKey.from_seed(seed).public_key.multibase == w3c_key_pair["publicKeyMultibase"]


@given(st.binary(min_size=32, max_size=32))
def test_public_key_round_trip(raw: bytes) -> None:
    text = encode_public_key(raw)
    assert text.startswith("z6Mk")
    assert len(text) == 48
    assert decode_public_key(text) == raw


@given(st.binary(min_size=32, max_size=32))
def test_secret_key_round_trip(seed: bytes) -> None:
    text = encode_secret_key(seed)
    assert text.startswith("z3u2")
    assert decode_secret_key(text) == seed


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_encoders_refuse_wrong_lengths(length: int) -> None:
    with pytest.raises(EncodingError, match="32 bytes"):
        encode_public_key(bytes(length))
    with pytest.raises(EncodingError, match="32 bytes"):
        encode_secret_key(bytes(length))


@pytest.mark.parametrize("length", [31, 33])
def test_decoder_refuses_wrong_key_length(length: int) -> None:
    text = "z" + b58encode(b"\xed\x01" + bytes(range(length)))
    with pytest.raises(EncodingError, match=f"not {length}") as info:
        decode_public_key(text)
    assert info.value.value == text


def test_decoder_refuses_missing_multibase_prefix(w3c_key_pair: dict[str, str]) -> None:
    multibase = w3c_key_pair["publicKeyMultibase"]
    for text in (multibase[1:], "u" + multibase[1:], "", "Z" + multibase[1:]):
        with pytest.raises(EncodingError, match="prefix 'z'"):
            decode_public_key(text)


def test_decoder_refuses_bad_base58() -> None:
    with pytest.raises(EncodingError, match="not valid base58btc") as info:
        decode_public_key("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0")
    assert info.value.value == "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0"


@pytest.mark.parametrize(
    ("header", "named"),
    [
        (b"\xec\x01", "x25519-pub"),
        (b"\xe7\x01", "secp256k1-pub"),
        (b"\x80\x24", "p256-pub"),
        (b"\x01", "0x1"),
    ],
)
def test_decoder_names_the_foreign_multicodec(header: bytes, named: str) -> None:
    with pytest.raises(EncodingError, match=f"expected multicodec ed25519-pub, found {named}"):
        decode_public_key("z" + b58encode(header + bytes(32)))


def test_secret_and_public_keys_are_not_interchangeable(w3c_key_pair: dict[str, str]) -> None:
    with pytest.raises(EncodingError, match="found ed25519-priv"):
        decode_public_key(w3c_key_pair["privateKeyMultibase"])
    with pytest.raises(EncodingError, match="expected multicodec ed25519-priv"):
        decode_secret_key(w3c_key_pair["publicKeyMultibase"])


def test_secret_key_errors_never_quote_the_secret(w3c_key_pair: dict[str, str]) -> None:
    damaged = w3c_key_pair["privateKeyMultibase"][:-1] + "0"
    with pytest.raises(EncodingError) as info:
        decode_secret_key(damaged)
    assert info.value.value is None
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert damaged[1:] not in repr(info.value)


@given(st.integers(min_value=1, max_value=2**255))
def test_p256_public_key_decompresses_as_cryptography_does(secret: int) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = ec.derive_private_key(secret, ec.SECP256R1()).public_key()
    compressed = public.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    x, y = decode_p256_public_key("z" + b58encode(b"\x80\x24" + compressed))
    numbers = public.public_numbers()
    assert (x, y) == (numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big"))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xed\x01" + b"\x02" + bytes(32), "found ed25519-pub"),  # an Ed25519 header
        (b"\x80\x24" + b"\x04" + bytes(32), "compressed point"),  # not 02/03
        (b"\x80\x24" + b"\x02" + bytes(31), "compressed point"),  # short
        (b"\x80\x24" + b"\x02" + b"\xff" * 32, "not a field element"),
        (b"\x80\x24" + b"\x02" + (1).to_bytes(32, "big"), "not on the curve"),
    ],
)
def test_p256_public_key_refusals(payload: bytes, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        decode_p256_public_key("z" + b58encode(payload))
