"""base58btc: known values, round trips and refusals (draft-msporny-base58)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caiep.errors import EncodingError
from caiep.keys.base58 import ALPHABET, MAX_DECODE_LENGTH, b58decode, b58encode


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"\0", "1"),
        (b"\0\0\0", "111"),
        (b"\x01", "2"),
        (b"\x39", "z"),
        (b"\x3a", "21"),
        (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
        (
            b"The quick brown fox jumps over the lazy dog.",
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
        ),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
    ],
)
def test_known_values(data: bytes, text: str) -> None:
    assert b58encode(data) == text
    assert b58decode(text) == data


@given(st.integers(min_value=0, max_value=8), st.binary(max_size=128))
def test_round_trip_keeps_leading_zeros(zeros: int, payload: bytes) -> None:
    data = b"\0" * zeros + payload
    text = b58encode(data)
    assert set(text) <= set(ALPHABET)
    assert text.startswith("1" * (len(data) - len(data.lstrip(b"\0"))))
    assert b58decode(text) == data


@given(st.text(alphabet=ALPHABET, max_size=120))
def test_every_alphabet_text_has_one_spelling(text: str) -> None:
    assert b58encode(b58decode(text)) == text


@pytest.mark.parametrize("bad", ["0", "O", "I", "l", "abc def", "abc\n", "+", "é", "z6Mk0"])
def test_characters_outside_the_alphabet_are_refused(bad: str) -> None:
    with pytest.raises(EncodingError) as info:
        b58decode(bad)
    assert info.value.value == bad
    assert "not a base58btc character" in info.value.message


def test_overlong_text_is_refused_before_decoding() -> None:
    b58decode("2" * MAX_DECODE_LENGTH)
    with pytest.raises(EncodingError, match="at most"):
        b58decode("2" * (MAX_DECODE_LENGTH + 1))
