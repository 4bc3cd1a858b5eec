"""Bitstring Status List 1.0: decoding, bit order and the Validate Algorithm (§3.2) outcomes."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caiep.errors import EncodingError
from caiep.statuslist import decode_status_list, encode_status_list
from caiep.verifier.bitstring import (
    ERROR_TYPE_BASE,
    MALFORMED_VALUE_ERROR,
    MIN_ENTRIES,
    RANGE_ERROR,
    STATUS_LIST_LENGTH_ERROR,
    STATUS_VERIFICATION_ERROR,
    UNSUPPORTED_STATUS_SIZE,
    StatusOutcome,
    check_entry,
    status_at,
    validate_entry,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external" / "1edtech"
LIST_URL = "https://status.example/lists/1"
# Bitstring Status List 1.0 §2.2, Example 3: a list of 131,072 unset entries.
W3C_EXAMPLE_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def onedtech_list() -> dict[str, Any]:
    return _load("1edtech-validator-bitstring-status-list-credential.json")


@pytest.fixture
def onedtech_entry() -> dict[str, Any]:
    entry: dict[str, Any] = _load("1edtech-validator-bitstring-revoked-credential.json")["credentialStatus"]
    return entry


def _bits(*set_indexes: int, size_bytes: int = MIN_ENTRIES // 8) -> bytes:
    bits = bytearray(size_bytes)
    for index in set_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)


def _list(bits: bytes, purpose: Any = "revocation", **subject: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:web:status.example",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": LIST_URL + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_status_list(bits),
            **subject,
        },
    }


def _entry(index: Any = "94567", purpose: str = "revocation", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{LIST_URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": index,
        "statusListCredential": LIST_URL,
        **extra,
    }


def _u(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- decoding the published vectors -------------------------------------------------------


def test_1edtech_list_holds_131072_entries_with_only_index_23_set(onedtech_list: dict[str, Any]) -> None:
    bits = decode_status_list(onedtech_list["credentialSubject"]["encodedList"])
    assert len(bits) * 8 == 131_072
    assert [i for i, byte in enumerate(bits) if byte] == [2]
    assert bits[2] == 0x01
    assert status_at(bits, 23) == 1
    assert status_at(bits, 22) == 0
    assert status_at(bits, 24) == 0


def test_w3c_example_list_is_16384_zero_bytes() -> None:
    assert decode_status_list(W3C_EXAMPLE_LIST) == bytes(16384)


# --- encoding ------------------------------------------------------------------------------


@given(st.binary(max_size=4096))
def test_encode_then_decode_round_trips(bits: bytes) -> None:
    encoded = encode_status_list(bits)
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert decode_status_list(encoded) == bits


@given(st.binary(max_size=512))
def test_encoding_is_deterministic(bits: bytes) -> None:
    assert encode_status_list(bits) == encode_status_list(bytearray(bits))


def test_several_gzip_members_are_one_bitstring() -> None:
    # RFC 1952 §2.2: a GZIP file is a series of members.
    data = gzip.compress(b"\x01\x02", mtime=0) + gzip.compress(b"\x03", mtime=0)
    assert decode_status_list(_u(data)) == b"\x01\x02\x03"


# --- bit order -----------------------------------------------------------------------------


def test_index_zero_is_the_most_significant_bit_of_byte_zero() -> None:
    assert status_at(b"\x80", 0) == 1
    assert [status_at(b"\x80", i) for i in range(1, 8)] == [0] * 7
    assert status_at(b"\x00\x01", 15) == 1


def test_multi_bit_entries_are_read_most_significant_bit_first() -> None:
    assert [status_at(bytes([0b10_01_11_00]), i, 2) for i in range(4)] == [2, 1, 3, 0]
    # A 3-bit entry spanning two bytes: bits 6..8 of 0b00000011 0b1xxxxxxx.
    assert status_at(bytes([0b0000_0011, 0b1000_0000]), 2, 3) == 0b111


@given(st.integers(min_value=0, max_value=8 * 64 - 1))
def test_setting_one_bit_changes_only_that_index(index: int) -> None:
    bits = _bits(index, size_bytes=64)
    assert [i for i in range(8 * 64) if status_at(bits, i)] == [index]


def test_positions_outside_the_bitstring_have_no_status() -> None:
    assert status_at(bytes(2), 16) is None
    assert status_at(bytes(2), -1) is None
    assert status_at(bytes(2), 8, 2) is None
    assert status_at(bytes(2), 7, 2) == 0


def test_status_size_below_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="status_size"):
        status_at(bytes(2), 0, 0)


# --- malformed encodedList -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("zH4sIAAAAAAAAA", "multibase prefix"),
        ("mH4sIAAAAAAAAA", "multibase prefix"),
        ("", "multibase prefix"),
        ("uH4sI+AAA/", "base64url"),
        ("uH4sIAA=", "base64url"),
        ("uH4sIA AA", "base64url"),
        ("uH4sIA\n", "base64url"),
        ("uH4sIAA", "truncated"),
        ("uH4sIA", "base64url"),
        ("uAB", "canonical"),
        ("u", "no GZIP"),
        (_u(b"not gzip at all"), "not valid GZIP"),
        (_u(gzip.compress(bytes(64), mtime=0)[:-4]), "truncated"),
        (_u(gzip.compress(bytes(64), mtime=0) + b"junk"), "not valid GZIP"),
    ],
)
def test_malformed_encoded_lists_are_encoding_errors(encoded: str, reason: str) -> None:
    with pytest.raises(EncodingError, match=reason):
        decode_status_list(encoded)


def test_a_corrupted_crc_is_refused() -> None:
    data = bytearray(gzip.compress(bytes(64), mtime=0))
    data[-8] ^= 0xFF
    with pytest.raises(EncodingError, match="GZIP"):
        decode_status_list(_u(bytes(data)))


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = encode_status_list(bytes(16 * 1024 * 1024 + 1))
    assert len(bomb) < 40_000
    with pytest.raises(EncodingError, match="limit"):
        decode_status_list(bomb)
    assert decode_status_list(encode_status_list(bytes(100)), max_bytes=100) == bytes(100)
    with pytest.raises(EncodingError, match="100-byte limit"):
        decode_status_list(encode_status_list(bytes(101)), max_bytes=100)


# --- check_entry: the Validate Algorithm -----------------------------------------------------


def test_1edtech_revoked_credential_is_set_when_numeric_indexes_are_accepted(
    onedtech_entry: dict[str, Any], onedtech_list: dict[str, Any]
) -> None:
    outcome = check_entry(onedtech_entry, onedtech_list, accept_numeric_index=True)
    assert outcome == StatusOutcome("revocation", 1, True, None, "Index 23 of the revocation list is set.")
    assert outcome.is_decided


def test_1edtech_numeric_index_is_malformed_by_default(
    onedtech_entry: dict[str, Any], onedtech_list: dict[str, Any]
) -> None:
    # §2.1: statusListIndex MUST be a string; the 1EdTech fixture writes the JSON number 23.
    assert onedtech_entry["statusListIndex"] == 23
    outcome = check_entry(onedtech_entry, onedtech_list)
    assert outcome.error_code == MALFORMED_VALUE_ERROR
    assert outcome.set is None
    assert outcome.status is None
    assert not outcome.is_decided


def test_1edtech_list_with_a_string_index(
    onedtech_entry: dict[str, Any], onedtech_list: dict[str, Any]
) -> None:
    assert check_entry({**onedtech_entry, "statusListIndex": "23"}, onedtech_list).set is True
    unset = check_entry({**onedtech_entry, "statusListIndex": "22"}, onedtech_list)
    assert (unset.status, unset.set, unset.error_code) == (0, False, None)


def test_w3c_example_list_reports_not_set() -> None:
    status_list = _list(b"")
    status_list["credentialSubject"]["encodedList"] = W3C_EXAMPLE_LIST
    outcome = check_entry(_entry("94567"), status_list)
    assert (outcome.purpose, outcome.status, outcome.set, outcome.error_code) == (
        "revocation",
        0,
        False,
        None,
    )


def test_purpose_mismatch_is_a_verification_error() -> None:
    outcome = check_entry(_entry("5", purpose="suspension"), _list(_bits(5)))
    assert outcome.error_code == STATUS_VERIFICATION_ERROR
    assert outcome.purpose == "suspension"
    assert outcome.set is None
    assert outcome.error_type == ERROR_TYPE_BASE + "STATUS_VERIFICATION_ERROR"


def test_a_list_may_serve_several_purposes() -> None:
    status_list = _list(_bits(5), purpose=["revocation", "suspension"])
    assert check_entry(_entry("5", purpose="suspension"), status_list).set is True
    assert check_entry(_entry("5", purpose="revocation"), status_list).set is True


def test_a_short_list_is_a_length_error() -> None:
    short = _list(bytes(MIN_ENTRIES // 8 - 1))
    outcome = check_entry(_entry("3"), short)
    assert outcome.error_code == STATUS_LIST_LENGTH_ERROR
    assert "131064" in outcome.message
    assert check_entry(_entry("3"), short, minimum_entries=1024).set is False


@pytest.mark.parametrize("index", ["131072", "999999999", "9" * 40, "9" * 5000])
def test_an_index_beyond_the_list_is_a_range_error(index: str) -> None:
    outcome = check_entry(_entry(index), _list(_bits()))
    assert outcome.error_code == RANGE_ERROR
    assert len(outcome.message) < 120


def test_the_last_index_is_in_range() -> None:
    assert check_entry(_entry(str(MIN_ENTRIES - 1)), _list(_bits(MIN_ENTRIES - 1))).set is True
    assert check_entry(_entry("0"), _list(_bits(0))).set is True


@pytest.mark.parametrize(
    "index",
    ["-1", "1.5", "abc", "01", "00", "", " 1", "1 ", "+1", "1_0", "١٢", "1e3", "0x10", "23\n"],
)
def test_bad_index_strings_are_malformed(index: str) -> None:
    outcome = check_entry(_entry(index), _list(_bits(1, 10, 23)))
    assert outcome.error_code == MALFORMED_VALUE_ERROR
    assert outcome.set is None


@pytest.mark.parametrize("index", [None, 23, True, 23.0, -1, [23]])
def test_non_string_indexes_are_malformed(index: Any) -> None:
    assert check_entry(_entry(index), _list(_bits(23))).error_code == MALFORMED_VALUE_ERROR


@pytest.mark.parametrize("index", [True, 23.0, -1, "01"])
def test_numeric_leniency_still_refuses_non_integers(index: Any) -> None:
    outcome = check_entry(_entry(index), _list(_bits(23)), accept_numeric_index=True)
    assert outcome.error_code == MALFORMED_VALUE_ERROR


def test_wrong_prefix_on_the_list_is_malformed() -> None:
    status_list = _list(_bits())
    status_list["credentialSubject"]["encodedList"] = (
        "z" + status_list["credentialSubject"]["encodedList"][1:]
    )
    outcome = check_entry(_entry("1"), status_list)
    assert outcome.error_code == MALFORMED_VALUE_ERROR
    assert "multibase prefix" in outcome.message


def test_a_gzip_bomb_list_is_malformed() -> None:
    outcome = check_entry(_entry("1"), _list(bytes(16 * 1024 * 1024 + 1)))
    assert outcome.error_code == MALFORMED_VALUE_ERROR
    assert "limit" in outcome.message


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"type": ["VerifiableCredential"]}, "BitstringStatusListCredential"),
        ({"type": "BitstringStatusListCredential"}, None),
        ({"credentialSubject": None}, "subject"),
        (
            {"credentialSubject": [{"type": "BitstringStatusList"}, {"type": "BitstringStatusList"}]},
            "subject",
        ),
    ],
)
def test_list_credential_shape(change: dict[str, Any], where: str | None) -> None:
    status_list = {**_list(_bits(7)), **change}
    outcome = check_entry(_entry("7"), status_list)
    if where is None:
        assert outcome.set is True
    else:
        assert outcome.error_code == MALFORMED_VALUE_ERROR
        assert where in outcome.message


@pytest.mark.parametrize(
    "subject_change",
    [
        {"type": "StatusList2021"},
        {"statusPurpose": None},
        {"statusPurpose": []},
        {"statusPurpose": ["revocation", 3]},
        {"encodedList": None},
        {"encodedList": 42},
    ],
)
def test_list_subject_shape(subject_change: dict[str, Any]) -> None:
    status_list = _list(_bits(7))
    status_list["credentialSubject"].update(subject_change)
    assert check_entry(_entry("7"), status_list).error_code == MALFORMED_VALUE_ERROR


def test_a_single_subject_in_a_list_is_accepted() -> None:
    status_list = _list(_bits(7))
    status_list["credentialSubject"] = [status_list["credentialSubject"]]
    assert check_entry(_entry("7"), status_list).set is True


@pytest.mark.parametrize(
    "entry_change",
    [
        {"type": "StatusList2021Entry"},
        {"type": ["BitstringStatusListEntry"]},
        {"statusPurpose": ""},
        {"statusPurpose": None},
        {"statusListCredential": None},
        {"statusListCredential": "not a url"},
        {"statusListCredential": "/relative/path"},
        {"id": LIST_URL},
        {"statusSize": 0},
        {"statusSize": -1},
        {"statusSize": "1"},
        {"statusSize": True},
        {"statusSize": 1.5},
        {"statusSize": 2},
        {"statusMessage": [{"status": "0x0", "message": "unset"}]},
        {"statusMessage": "set"},
        {"statusMessage": [{"status": "0", "message": "a"}, {"status": "0x1", "message": "b"}]},
        {"statusMessage": [{"status": "0x0"}, {"status": "0x1", "message": "b"}]},
    ],
)
def test_malformed_entries(entry_change: dict[str, Any]) -> None:
    entry = {**_entry("7"), **entry_change}
    outcome = check_entry(entry, _list(_bits(7)))
    assert outcome.error_code == MALFORMED_VALUE_ERROR
    assert validate_entry(entry) == outcome


def test_a_well_formed_entry_validates() -> None:
    assert validate_entry(_entry("7")) is None
    two_messages = [{"status": "0x0", "message": "valid"}, {"status": "0x1", "message": "revoked"}]
    assert validate_entry(_entry("7", statusSize=1.0, statusMessage=two_messages)) is None
    assert check_entry(_entry("7", statusSize=1, statusMessage=two_messages), _list(_bits(7))).set is True


def test_a_malformed_entry_is_reported_before_the_list_is_looked_at() -> None:
    assert check_entry(_entry("01"), {}).error_code == MALFORMED_VALUE_ERROR
    assert check_entry({"type": "BitstringStatusListEntry"}, {}).purpose is None


def test_multi_bit_entries_are_reported_unsupported_not_guessed() -> None:
    messages = [{"status": hex(value), "message": f"m{value}"} for value in range(4)]
    entry = _entry("3", purpose="message", statusSize=2, statusMessage=messages)
    status_list = _list(_bits(7), purpose="message")
    outcome = check_entry(entry, status_list)
    assert outcome.error_code == UNSUPPORTED_STATUS_SIZE
    assert (outcome.status, outcome.set) == (None, None)
    assert outcome.error_type is None


def test_status_size_beyond_any_message_list_is_malformed() -> None:
    entry = _entry("3", statusSize=10**6, statusMessage=[])
    assert check_entry(entry, _list(_bits())).error_code == MALFORMED_VALUE_ERROR
