"""VC-JWT (OB 3.0 §8.2): RFC 8037 vectors, signing, decoding and round-trip properties."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jose_support import (
    B64URL_ALPHABET,
    HEADER,
    KID,
    b64,
    credential_fixture,  # noqa: F401 - registers the credential fixture
    key_is,
    load_vector,
    never_called,
    now_fixture,  # noqa: F401 - registers the now fixture
    other_signing_key_fixture,  # noqa: F401 - registers the other_signing_key fixture
    payload_of,
    rfc8037_public_key_fixture,  # noqa: F401 - registers the rfc8037_public_key fixture
    rfc8037_signing_key_fixture,  # noqa: F401 - registers the rfc8037_signing_key fixture
    signing_key_fixture,  # noqa: F401 - registers the signing_key fixture
    to_json,
    valid_token,
    verify_fails,
)
from jwcrypto import jwk, jws

from caiep.errors import EncodingError, InputError, ProofInvalid
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.proofs.jose import (
    MAX_TOKEN_LENGTH,
    VerifiedJwt,
    decode_unverified,
    sign_credential_jwt,
    sign_jws,
    verify_credential_jwt,
)

# --- RFC 8037 Appendix A -------------------------------------------------------------------------


def test_rfc8037_a1_private_key_gives_a2_public_key(rfc8037_signing_key: SigningKey) -> None:
    assert rfc8037_signing_key.public_key.to_jwk() == load_vector("rfc8037", "A.2-public-key.jwk.json")


def test_rfc8037_a3_thumbprint() -> None:
    vector = load_vector("rfc8037", "A.3-thumbprint.json")
    public = jwk.JWK(**load_vector("rfc8037", "A.2-public-key.jwk.json"))
    assert hashlib.sha256(vector["canonical_jwk"].encode()).hexdigest() == vector["sha256_hex"]
    assert public.thumbprint() == vector["thumbprint"]


def test_rfc8037_a4_reproduced_byte_for_byte(rfc8037_signing_key: SigningKey) -> None:
    vector = load_vector("rfc8037", "A.4-signing.json")
    header = json.loads(vector["protected_header"])
    token = sign_jws(header, vector["payload"].encode(), rfc8037_signing_key)
    assert token.rsplit(".", 1)[0] == vector["signing_input"]
    assert token == vector["compact"]


def test_rfc8037_a5_validation(rfc8037_public_key: PublicKey) -> None:
    vector = load_vector("rfc8037", "A.4-signing.json")
    signature = base64.urlsafe_b64decode(vector["signature_b64"] + "==")
    rfc8037_public_key.verify(signature, vector["signing_input"].encode())
    checked = jws.JWS()
    checked.deserialize(vector["compact"])
    checked.verify(jwk.JWK(**load_vector("rfc8037", "A.2-public-key.jwk.json")), alg="EdDSA")
    assert checked.payload == vector["payload"].encode()
    # The RFC's payload is plain text; a VC-JWT payload must be a JSON object.
    with pytest.raises(EncodingError):
        decode_unverified(vector["compact"])


def test_rfc8037_key_signs_and_verifies_a_credential(
    rfc8037_signing_key: SigningKey, rfc8037_public_key: PublicKey, credential: dict[str, Any], now: datetime
) -> None:
    token = sign_credential_jwt(credential, rfc8037_signing_key, kid=KID)
    assert verify_credential_jwt(token, key_is(rfc8037_public_key), now=now).credential == credential


# --- signing --------------------------------------------------------------------------------------


def test_round_trip(signing_key: SigningKey, credential: dict[str, Any], now: datetime) -> None:
    token = sign_credential_jwt(credential, signing_key, kid=KID)
    seen: list[Mapping[str, Any]] = []

    def public_key_for(header: Mapping[str, Any]) -> PublicKey:
        seen.append(header)
        return signing_key.public_key

    result = verify_credential_jwt(token, public_key_for, now=now)
    assert isinstance(result, VerifiedJwt)
    assert result.credential == credential
    assert result.header == HEADER
    assert seen == [HEADER]
    assert result.claims == {
        "iss": "https://credentials.example.org/issuers/caiep",
        "jti": "urn:uuid:0b7c2f0e-5d7a-4c1e-9a57-3e1f0c6d2b11",
        "nbf": 1795651200,
        "exp": 1953417600,
        "sub": "did:example:ebfeb1f712ebc6f1c276e12ec21",
    }
    assert result.not_before == datetime(2026, 11, 26, tzinfo=UTC)
    assert result.expires == datetime(2031, 11, 26, tzinfo=UTC)


def test_token_is_deterministic_with_exact_header(
    signing_key: SigningKey, credential: dict[str, Any]
) -> None:
    token = sign_credential_jwt(credential, signing_key, kid=KID)
    assert token == sign_credential_jwt(dict(reversed(list(credential.items()))), signing_key, kid=KID)
    header_segment, payload_segment, _ = token.split(".")
    assert base64.urlsafe_b64decode(header_segment + "==") == to_json(HEADER)
    payload = base64.urlsafe_b64decode(payload_segment + "==")
    assert "CAiEP® Charter".encode() in payload  # UTF-8, not \u escapes
    assert (
        payload
        == json.dumps(json.loads(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_charter_credential_round_trip_without_subject_id(signing_key: SigningKey, now: datetime) -> None:
    charter = load_vector("charter-credential", "unsigned.json")
    token = sign_credential_jwt(charter, signing_key, kid=KID)
    assert "sub" not in decode_unverified(token)[1]
    assert verify_credential_jwt(token, key_is(signing_key.public_key), now=now).credential == charter


def test_string_issuer_and_no_valid_until(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    credential["issuer"] = "https://credentials.example.org/issuers/caiep"
    del credential["validUntil"]
    payload = payload_of(credential, signing_key)
    assert payload["iss"] == credential["issuer"]
    assert "exp" not in payload
    result = verify_credential_jwt(
        sign_credential_jwt(credential, signing_key, kid=KID), key_is(signing_key.public_key), now=now
    )
    assert result.expires is None
    assert result.credential == credential


def test_embedded_proof_stays_in_payload(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    # OB 3.0 §8.2 "Create the JWT Payload": embedded proofs are added before the JWT is made.
    credential["proof"] = [
        {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1"}
    ]
    token = sign_credential_jwt(credential, signing_key, kid=KID)
    assert decode_unverified(token)[1]["proof"] == credential["proof"]
    assert verify_credential_jwt(token, key_is(signing_key.public_key), now=now).credential == credential


def test_fractional_valid_from(signing_key: SigningKey, credential: dict[str, Any], now: datetime) -> None:
    credential["validFrom"] = "2026-11-26T01:00:00.250+01:00"
    assert payload_of(credential, signing_key)["nbf"] == 1795651200.25
    token = sign_credential_jwt(credential, signing_key, kid=KID)
    assert verify_credential_jwt(token, key_is(signing_key.public_key), now=now).credential == credential


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda c: c.pop("validFrom"), "/validFrom"),
        (lambda c: c.update(validFrom="2026-11-26T00:00:00"), "/validFrom"),
        (lambda c: c.update(validUntil="soon"), "/validUntil"),
        (lambda c: c.pop("id"), "/id"),
        (lambda c: c.update(issuer={"type": ["Profile"]}), "/issuer/id"),
        (lambda c: c.update(iss="https://elsewhere.example"), None),
        (lambda c: c.update(vc={}), None),
    ],
)
def test_sign_refuses_unusable_credentials(
    signing_key: SigningKey,
    credential: dict[str, Any],
    change: Callable[[dict[str, Any]], Any],
    location: str | None,
) -> None:
    change(credential)
    with pytest.raises(InputError) as caught:
        sign_credential_jwt(credential, signing_key, kid=KID)
    assert caught.value.location == location


def test_sign_refuses_empty_kid_and_other_algs(signing_key: SigningKey, credential: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        sign_credential_jwt(credential, signing_key, kid="")
    with pytest.raises(InputError):
        sign_jws({"alg": "ES256"}, b"{}", signing_key)


# --- decoding -------------------------------------------------------------------------------------


def with_payload(token: str, payload: bytes) -> str:
    header_segment, _, signature_segment = token.split(".")
    return f"{header_segment}.{b64(payload)}.{signature_segment}"


def with_header(token: str, header: bytes) -> str:
    return f"{b64(header)}.{token.split('.', 1)[1]}"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[: len(t) // 2], id="truncated"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="two-segments"),
        pytest.param(lambda t: "..", id="two-dots-only"),
        pytest.param(lambda t: t + ".", id="four-segments"),
        pytest.param(lambda t: t.replace(".", "=.", 1), id="padding"),
        pytest.param(lambda t: "+" + t[1:], id="not-base64url-alphabet"),
        pytest.param(lambda t: t[:1] + " " + t[1:], id="space"),
        pytest.param(lambda t: with_payload(t, b"not json"), id="payload-not-json"),
        pytest.param(lambda t: with_payload(t, b"[1,2]"), id="payload-array"),
        pytest.param(lambda t: with_payload(t, b'{"a":NaN}'), id="payload-nan"),
        pytest.param(lambda t: with_payload(t, b"\xff\xfe"), id="payload-not-utf8"),
        pytest.param(lambda t: with_payload(t, b'{"a":1,"a":2}'), id="payload-duplicate-member"),
        pytest.param(lambda t: with_header(t, b'{"alg":"EdDSA","alg":"none"}'), id="header-duplicate-member"),
        pytest.param(lambda t: with_header(t, b'"EdDSA"'), id="header-not-object"),
        pytest.param(lambda t: t.split(".")[0] + ".e30." + "A" * MAX_TOKEN_LENGTH, id="over-1MiB"),
    ],
)
def test_malformed_tokens(
    mangle: Callable[[str], str], signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    token = mangle(valid_token(signing_key, credential))
    with pytest.raises(EncodingError):
        decode_unverified(token)
    error = verify_fails(token, never_called, "jws_malformed", now)
    assert isinstance(error.__cause__, EncodingError)


def test_non_canonical_base64url_refused(signing_key: SigningKey, credential: dict[str, Any]) -> None:
    header_segment, payload_segment, signature_segment = valid_token(signing_key, credential).split(".")
    assert len(signature_segment) % 4 == 2  # 64 bytes: the last character carries 4 unused bits
    twin = B64URL_ALPHABET[B64URL_ALPHABET.index(signature_segment[-1]) + 1]
    assert base64.urlsafe_b64decode(signature_segment[:-1] + twin + "==") == base64.urlsafe_b64decode(
        signature_segment + "=="
    )
    with pytest.raises(EncodingError):
        decode_unverified(f"{header_segment}.{payload_segment}.{signature_segment[:-1]}{twin}")


def test_decode_unverified_returns_header_and_payload(
    signing_key: SigningKey, credential: dict[str, Any]
) -> None:
    header, payload = decode_unverified(valid_token(signing_key, credential))
    assert header == HEADER
    assert payload["jti"] == credential["id"]


# --- property -------------------------------------------------------------------------------------


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_any_single_character_change_in_payload_fails(
    data: st.DataObject, signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    header_segment, payload_segment, signature_segment = valid_token(signing_key, credential).split(".")
    index = data.draw(st.integers(0, len(payload_segment) - 1), label="index")
    replacement = data.draw(
        st.sampled_from(B64URL_ALPHABET.replace(payload_segment[index], "")), label="char"
    )
    changed = payload_segment[:index] + replacement + payload_segment[index + 1 :]
    with pytest.raises(ProofInvalid) as caught:
        verify_credential_jwt(
            f"{header_segment}.{changed}.{signature_segment}", key_is(signing_key.public_key), now=now
        )
    assert caught.value.code in {"jws_malformed", "jws_signature_invalid"}


UNICODE = st.text(st.characters(exclude_categories=["Cs"]))  # lone surrogates are not UTF-8
JSON_LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | UNICODE
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(UNICODE, children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(extra=st.dictionaries(UNICODE, JSON_VALUES, max_size=4))
def test_sign_then_verify_holds_for_any_subject_data(
    extra: dict[str, Any], signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    credential["credentialSubject"] = {**extra, **credential["credentialSubject"]}
    token = sign_credential_jwt(credential, signing_key, kid=KID)
    assert verify_credential_jwt(token, key_is(signing_key.public_key), now=now).credential == credential


def test_lone_surrogate_refused_as_input(signing_key: SigningKey, credential: dict[str, Any]) -> None:
    credential["name"] = "\ud800"
    with pytest.raises(InputError):
        sign_credential_jwt(credential, signing_key, kid=KID)
