"""verify(): revocation and suspension through status lists, and attacks on VC-JWTs."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from caiep.errors import InputError
from caiep.keys.base64url import b64url_decode, b64url_encode
from caiep.keys.did import did_key_for
from caiep.keys.ed25519 import SigningKey
from caiep.statuslist import encode_status_list
from caiep.verifier.bitstring import MIN_ENTRIES
from caiep.verifier.result import Outcome, Verdict
from caiep.verifier.verify import verify

if TYPE_CHECKING:
    from conftest import Issuer


from verifying import (
    BASE_URL,
    END,
    LIST_URL,
    NOW,
    STATUS_INDEX,
    assert_invalid,
    assert_undecided,
    code_of,
    outcome_of,
    summary,
)

# --- status ----------------------------------------------------------------------------------


def _bits(*set_indexes: int) -> bytearray:
    bits = bytearray(MIN_ENTRIES // 8)
    for index in set_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bits


def _status_list(signer: Issuer, purpose: str, *set_indexes: int) -> dict[str, Any]:
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": signer.did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_status_list(_bits(*set_indexes)),
        },
    }
    return signer.sign(unsigned)


def _with_status(
    issuer: Issuer, purpose: str = "revocation", kind: str = "BitstringStatusListEntry"
) -> dict[str, Any]:
    unsigned = issuer.unsigned()
    unsigned["credentialStatus"] = {
        "id": f"{LIST_URL}#{STATUS_INDEX}",
        "type": kind,
        "statusPurpose": purpose,
        "statusListIndex": str(STATUS_INDEX),
        "statusListCredential": LIST_URL,
    }
    return issuer.sign(unsigned)


@pytest.mark.parametrize("purpose", ["revocation", "suspension"])
def test_status_bit_clear_is_valid(issuer: Issuer, purpose: str) -> None:
    # neighbours set on both sides: only the credential's own bit may count
    status_list = _status_list(issuer, purpose, STATUS_INDEX - 1, STATUS_INDEX + 1)
    fetcher = issuer.fetcher({LIST_URL: status_list})

    result = verify(_with_status(issuer, purpose), now=NOW, fetcher=fetcher)

    expected = "not_revoked" if purpose == "revocation" else "not_suspended"
    assert summary(result)[-1] == ("status", Outcome.VALID, expected)
    assert result.verdict is Verdict.VALID
    assert LIST_URL in fetcher.requested


@pytest.mark.parametrize(
    ("purpose", "verdict"), [("revocation", Verdict.REVOKED), ("suspension", Verdict.SUSPENDED)]
)
def test_status_bit_set(issuer: Issuer, purpose: str, verdict: Verdict) -> None:
    fetcher = issuer.fetcher({LIST_URL: _status_list(issuer, purpose, STATUS_INDEX)})

    result = verify(_with_status(issuer, purpose), now=NOW, fetcher=fetcher)

    assert outcome_of(result, "proof") is Outcome.VALID
    assert summary(result)[-1] == (
        "status",
        Outcome.INVALID,
        "revoked" if purpose == "revocation" else "suspended",
    )
    assert result.verdict is verdict
    assert result.to_json()["status"] == verdict.value
    assert not result.verified


def test_revoked_dominates_expired(did_key_issuer: Issuer) -> None:
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(did_key_issuer, "revocation", STATUS_INDEX)})
    result = verify(_with_status(did_key_issuer), now=END + timedelta(days=1), fetcher=fetcher)
    assert code_of(result, "validity") == "expired"
    assert result.verdict is Verdict.REVOKED


def test_jwt_status_is_checked_too(did_key_issuer: Issuer) -> None:
    unsigned = _with_status(did_key_issuer)
    del unsigned["proof"]
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(did_key_issuer, "revocation", STATUS_INDEX)})

    result = verify(did_key_issuer.jwt(unsigned), now=NOW, fetcher=fetcher)

    assert outcome_of(result, "proof") is Outcome.VALID
    assert result.verdict is Verdict.REVOKED


def test_status_list_unreachable_cannot_be_verified(did_key_issuer: Issuer) -> None:
    credential = _with_status(did_key_issuer)
    result = verify(credential, now=NOW, fetcher=did_key_issuer.fetcher())
    assert code_of(result, "status") == "STATUS_RETRIEVAL_ERROR"
    assert_undecided(result, "status")


def test_status_entry_without_network_is_not_skipped(did_key_issuer: Issuer) -> None:
    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=None)
    assert_undecided(result, "status")


def test_status_list_of_another_issuer_cannot_be_verified(
    did_key_issuer: Issuer, key_b: SigningKey, make_issuer: type[Issuer]
) -> None:
    """A well-signed list, but of another issuer: it says nothing about our credential."""
    stranger = make_issuer(did_key_for(key_b.public_key), key_b)
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(stranger, "revocation", STATUS_INDEX)})

    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=fetcher)

    assert code_of(result, "status") == "STATUS_VERIFICATION_ERROR"
    assert_undecided(result, "status")


def test_status_list_naming_our_issuer_but_signed_by_another_key(
    did_key_issuer: Issuer, key_b: SigningKey, make_issuer: type[Issuer]
) -> None:
    stranger = make_issuer(did_key_for(key_b.public_key), key_b)
    genuine = _status_list(did_key_issuer, "revocation", STATUS_INDEX)
    forged = stranger.sign({k: v for k, v in genuine.items() if k != "proof"})
    assert forged["issuer"] == did_key_issuer.did
    fetcher = did_key_issuer.fetcher({LIST_URL: forged})

    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=fetcher)

    assert code_of(result, "status") == "STATUS_VERIFICATION_ERROR"
    assert_undecided(result, "status")


def test_status_list_with_a_broken_signature_cannot_be_verified(did_key_issuer: Issuer) -> None:
    """Someone flips the bit in a list they cannot re-sign: not "revoked", but undecided."""
    status_list = _status_list(did_key_issuer, "revocation")
    status_list["credentialSubject"]["encodedList"] = encode_status_list(_bits(STATUS_INDEX))
    fetcher = did_key_issuer.fetcher({LIST_URL: status_list})

    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=fetcher)

    assert code_of(result, "status") == "STATUS_VERIFICATION_ERROR"
    assert_undecided(result, "status")


def test_status_list_for_another_purpose_cannot_be_verified(did_key_issuer: Issuer) -> None:
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(did_key_issuer, "suspension", STATUS_INDEX)})
    result = verify(_with_status(did_key_issuer, "revocation"), now=NOW, fetcher=fetcher)
    assert code_of(result, "status") == "STATUS_VERIFICATION_ERROR"
    assert_undecided(result, "status")


def test_1edtech_revocation_list_is_unsupported(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    unsigned["credentialStatus"] = {"id": f"{BASE_URL}/revocations", "type": "1EdTechRevocationList"}
    fetcher = did_key_issuer.fetcher()

    result = verify(did_key_issuer.sign(unsigned), now=NOW, fetcher=fetcher)

    assert outcome_of(result, "proof") is Outcome.VALID
    assert code_of(result, "status") == "unsupported_status_method"
    assert_undecided(result, "status")


# --- VC-JWT attacks --------------------------------------------------------------------------


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def _encode(part: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(part).encode("utf-8"))


@pytest.mark.parametrize("signature", ["", "c2lnbmF0dXJl"], ids=["empty-signature", "junk-signature"])
def test_jwt_alg_none_is_invalid(did_key_issuer: Issuer, signature: str) -> None:
    header, payload, _ = _segments(did_key_issuer.jwt())
    token = f"{_encode({**header, 'alg': 'none'})}.{_encode(payload)}.{signature}"

    result = verify(token, now=NOW)

    assert code_of(result, "proof") == "jws_alg_not_allowed"
    assert_invalid(result)


def test_jwt_hs256_keyed_with_the_public_key_is_invalid(did_key_issuer: Issuer) -> None:
    """The algorithm-confusion attack: an HMAC keyed with the issuer's public key bytes."""
    import hashlib
    import hmac

    header, payload, _ = _segments(did_key_issuer.jwt())
    signing_input = f"{_encode({**header, 'alg': 'HS256'})}.{_encode(payload)}"
    mac = hmac.new(did_key_issuer.key.public_key.raw, signing_input.encode("ascii"), hashlib.sha256).digest()

    result = verify(f"{signing_input}.{b64url_encode(mac)}", now=NOW)

    assert code_of(result, "proof") == "jws_alg_not_allowed"
    assert_invalid(result)


def test_jwt_payload_tampered_is_invalid(did_key_issuer: Issuer) -> None:
    token = did_key_issuer.jwt()
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["credentialSubject"]["name"] = "Mallory"

    result = verify(f"{header}.{_encode(claims)}.{signature}", now=NOW)

    assert code_of(result, "proof") == "jws_signature_invalid"
    assert_invalid(result)


def test_jwt_header_swapped_to_an_inline_key_is_invalid(did_key_issuer: Issuer, key_b: SigningKey) -> None:
    header, payload, _ = _segments(did_key_issuer.jwt())
    del header["kid"]
    header["jwk"] = key_b.public_key.to_jwk()
    signing_input = f"{_encode(header)}.{_encode(payload)}"
    token = f"{signing_input}.{b64url_encode(key_b.sign(signing_input.encode('ascii')))}"

    result = verify(token, now=NOW)

    assert outcome_of(result, "proof") is Outcome.INVALID
    assert_invalid(result)


def test_truncated_jwt_is_never_valid_and_never_crashes(did_key_issuer: Issuer) -> None:
    """Every cut keeps the answer "invalid"; a cut that leaves no three segments is unreadable
    input (InputError), which is how verify() reports bytes that are not a credential."""
    token = did_key_issuer.jwt()
    header_end = token.index(".")
    signature_start = token.rindex(".") + 1
    cuts = sorted(
        {1, 2, 3, 10, 43, 86, len(token) - signature_start, len(token) - signature_start + 1}
        | set(range(1, len(token) - header_end, 97))
    )
    unreadable = 0
    for cut in cuts:
        truncated = token[:-cut]
        try:
            result = verify(truncated, now=NOW)
        except InputError:
            assert truncated.count(".") < 2, f"a three-segment token was called unreadable: cut {cut}"
            unreadable += 1
            continue
        assert_invalid(result)
    assert unreadable < len(cuts)  # most cuts produce a readable, invalid token
