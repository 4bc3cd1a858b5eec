"""VC-JWT (OB 3.0 §8.2): RFC 8037 vectors, round trips, and one failing case per rule."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwcrypto import jwk, jws

from caiep.errors import EncodingError, InputError, ProofInvalid
from keys.ed25519 import PublicKey, SigningKey
from proofs.jose import (
    MAX_TOKEN_LENGTH,
    VerifiedJwt,
    decode_unverified,
    sign_credential_jwt,
    sign_jws,
    verify_credential_jwt,
)

KID = "https://credentials.example.org/issuers/caiep#key-1"
HEADER = {"alg": "EdDSA", "kid": KID, "typ": "JWT"}
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external"


def load_vector(*parts: str) -> Any:
    return json.loads(VECTORS.joinpath(*parts).read_text(encoding="utf-8"))


@pytest.fixture
def rfc8037_signing_key() -> SigningKey:
    """The RFC 8037 §A.1 private key."""
    d = load_vector("rfc8037", "A.1-private-key.jwk.json")["d"]
    return SigningKey.from_seed(base64.urlsafe_b64decode(d + "="))


@pytest.fixture
def rfc8037_public_key() -> PublicKey:
    """The RFC 8037 §A.2 public key."""
    return PublicKey.from_jwk(load_vector("rfc8037", "A.2-public-key.jwk.json"))


@pytest.fixture
def signing_key() -> SigningKey:
    """A fixed-seed issuer key, so tokens are identical from run to run."""
    return SigningKey.from_seed(bytes(range(32)))


@pytest.fixture
def other_signing_key() -> SigningKey:
    """A second fixed-seed key that is not the issuer's."""
    return SigningKey.from_seed(bytes(range(1, 33)))


@pytest.fixture
def now() -> datetime:
    """A fixed verification time inside the sample credential's validity window."""
    return datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


_CREDENTIAL: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "urn:uuid:0b7c2f0e-5d7a-4c1e-9a57-3e1f0c6d2b11",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "CAiEP® Charter",
    "issuer": {
        "id": "https://credentials.example.org/issuers/caiep",
        "type": ["Profile"],
        "name": "Example Certification Body",
    },
    "validFrom": "2026-11-26T00:00:00Z",
    "validUntil": "2031-11-26T00:00:00Z",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://credentials.example.org/achievements/caiep",
            "type": ["Achievement"],
            "name": "CAiEP® Charter",
            "criteria": {"narrative": "Passed the charter examination — ≥ 70 %."},
        },
    },
}


@pytest.fixture
def credential() -> dict[str, Any]:
    """A small OpenBadgeCredential (VCDM 2.0) with non-ASCII text, validUntil and a subject id."""
    return copy.deepcopy(_CREDENTIAL)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def to_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def key_is(key: Any) -> Callable[[Mapping[str, Any]], Any]:
    return lambda header: key


def never_called(header: Mapping[str, Any]) -> Any:
    raise AssertionError("the key was looked up before the header was accepted")


def unsigned_token(header: Mapping[str, Any], payload: Mapping[str, Any], signature: bytes = b"") -> str:
    return f"{b64(to_json(header))}.{b64(to_json(payload))}.{b64(signature)}"


def payload_of(credential: Mapping[str, Any], signing_key: SigningKey) -> dict[str, Any]:
    return decode_unverified(sign_credential_jwt(credential, signing_key, kid=KID))[1]


def verify_fails(
    token: str, public_key_for: Callable[[Mapping[str, Any]], Any], code: str, now: datetime, **options: Any
) -> ProofInvalid:
    with pytest.raises(ProofInvalid) as caught:
        verify_credential_jwt(token, public_key_for, now=now, **options)
    assert caught.value.code == code, caught.value.message
    return caught.value


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


def valid_token(signing_key: SigningKey, credential: Mapping[str, Any]) -> str:
    return sign_credential_jwt(credential, signing_key, kid=KID)


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


# --- algorithm and header -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithms", [("EdDSA", "RS256", "ES256"), ("none", "EdDSA")])
def test_alg_none_refused(
    algorithms: tuple[str, ...], signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    token = unsigned_token({"alg": "none", "kid": KID}, payload_of(credential, signing_key))
    verify_fails(token, never_called, "jws_alg_not_allowed", now, algorithms=algorithms)


@pytest.mark.parametrize("secret_form", ["raw", "x", "jwk-json"])
@pytest.mark.parametrize("algorithms", [("EdDSA", "RS256", "ES256"), ("HS256", "EdDSA")])
def test_hs256_with_public_key_as_secret_refused(
    secret_form: str,
    algorithms: tuple[str, ...],
    signing_key: SigningKey,
    credential: dict[str, Any],
    now: datetime,
) -> None:
    public = signing_key.public_key
    secret = {"raw": public.raw, "x": public.to_jwk()["x"].encode(), "jwk-json": to_json(public.to_jwk())}
    header = {"alg": "HS256", "kid": KID, "typ": "JWT"}
    signing_input = f"{b64(to_json(header))}.{b64(to_json(payload_of(credential, signing_key)))}"
    mac = hmac.new(secret[secret_form], signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"
    verify_fails(token, never_called, "jws_alg_not_allowed", now, algorithms=algorithms)


def test_alg_outside_allowlist_refused(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    token = valid_token(signing_key, credential)
    verify_fails(token, never_called, "jws_alg_not_allowed", now, algorithms=("RS256", "ES256"))


@pytest.mark.parametrize("alg", [None, 7, "HS512", "RSA-OAEP", "ES256K", "eddsa"])
def test_other_algs_refused(
    alg: Any, signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    token = unsigned_token({"alg": alg, "kid": KID}, payload_of(credential, signing_key), b"x" * 64)
    verify_fails(token, never_called, "jws_alg_not_allowed", now, algorithms=(alg, "EdDSA"))


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        pytest.param({"x5u": "https://example.org/cert.pem"}, "jws_header_invalid", id="extra-member"),
        pytest.param({"crit": ["exp"], "exp": 1}, "jws_header_invalid", id="crit"),
        pytest.param({"b64": False}, "jws_header_invalid", id="b64"),
        pytest.param({"typ": "JOSE"}, "jws_header_invalid", id="typ-JOSE"),
        pytest.param({"typ": None}, "jws_header_invalid", id="typ-null"),
        pytest.param({"cty": "json"}, "jws_header_invalid", id="cty-json"),
        pytest.param({"kid": ""}, "jws_header_invalid", id="empty-kid"),
        pytest.param({"kid": ["k"]}, "jws_header_invalid", id="kid-list"),
        pytest.param(
            {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}}, "jws_header_invalid", id="kid-and-jwk"
        ),
    ],
)
def test_header_rules(
    extra: dict[str, Any], code: str, signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    token = sign_jws({**HEADER, **extra}, to_json(payload_of(credential, signing_key)), signing_key)
    verify_fails(token, never_called, code, now)


def test_neither_kid_nor_jwk_refused(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    token = sign_jws({"alg": "EdDSA"}, to_json(payload_of(credential, signing_key)), signing_key)
    verify_fails(token, never_called, "jws_header_invalid", now)


def test_jwk_header_with_d_refused(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    header = {"alg": "EdDSA", "jwk": signing_key.private_jwk()}
    token = sign_jws(header, to_json(payload_of(credential, signing_key)), signing_key)
    verify_fails(token, never_called, "jws_private_key", now)


def test_jwk_header_not_an_object_refused(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    token = sign_jws({"alg": "EdDSA", "jwk": "x"}, to_json(payload_of(credential, signing_key)), signing_key)
    verify_fails(token, never_called, "jws_header_invalid", now)


@pytest.mark.parametrize("typ", [None, "JWT", "vc+jwt", "vc+ld+jwt"])
def test_accepted_typ_values(
    typ: str | None, signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    header: dict[str, Any] = {"alg": "EdDSA", "kid": KID} | ({} if typ is None else {"typ": typ})
    token = sign_jws(header, to_json(payload_of(credential, signing_key)), signing_key)
    assert verify_credential_jwt(token, key_is(signing_key.public_key), now=now).header == header


def test_vc_jose_cose_header_accepted(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    header = {"alg": "EdDSA", "kid": KID, "typ": "vc+jwt", "cty": "vc"}
    token = sign_jws(header, to_json(payload_of(credential, signing_key)), signing_key)
    assert verify_credential_jwt(token, key_is(signing_key.public_key), now=now).credential == credential


def test_jwk_header_key_accepted(signing_key: SigningKey, credential: dict[str, Any], now: datetime) -> None:
    header = {"alg": "EdDSA", "jwk": signing_key.public_key.to_jwk()}
    token = sign_jws(header, to_json(payload_of(credential, signing_key)), signing_key)
    result = verify_credential_jwt(token, lambda h: h["jwk"], now=now)
    assert result.header == header


def test_key_lookup_errors_propagate(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    from caiep.errors import VerificationMethodInvalid

    def not_the_issuers(header: Mapping[str, Any]) -> Any:
        raise VerificationMethodInvalid("not in the issuer's key set", verification_method=header["kid"])

    with pytest.raises(VerificationMethodInvalid):
        verify_credential_jwt(valid_token(signing_key, credential), not_the_issuers, now=now)


# --- keys and signatures --------------------------------------------------------------------------


def test_wrong_key_refused(
    signing_key: SigningKey, other_signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    verify_fails(
        valid_token(signing_key, credential),
        key_is(other_signing_key.public_key),
        "jws_signature_invalid",
        now,
    )


@pytest.mark.parametrize(
    ("key", "code"),
    [
        pytest.param({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "jws_key_unusable", id="rsa-for-eddsa"),
        pytest.param({"kty": "OKP", "crv": "Ed448", "x": "AAAA"}, "jws_key_unusable", id="ed448"),
        pytest.param({"kty": "oct", "k": "c2VjcmV0"}, "jws_private_key", id="symmetric"),
        pytest.param(b"raw bytes", "jws_key_unusable", id="bytes"),
        pytest.param(None, "jws_key_unusable", id="none"),
    ],
)
def test_unusable_keys_refused(
    key: Any, code: str, signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    verify_fails(valid_token(signing_key, credential), key_is(key), code, now)


@pytest.mark.parametrize(
    "restriction", [{"use": "enc"}, {"key_ops": ["encrypt"]}, {"key_ops": "verify"}, {"alg": "ES256"}]
)
def test_keys_restricted_to_another_use_refused(
    restriction: dict[str, Any], signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    key = {**signing_key.public_key.to_jwk(), **restriction}
    verify_fails(valid_token(signing_key, credential), key_is(key), "jws_key_unusable", now)


def test_private_jwk_from_lookup_refused(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    verify_fails(
        valid_token(signing_key, credential), key_is(signing_key.private_jwk()), "jws_private_key", now
    )


def test_public_jwk_dict_accepted(signing_key: SigningKey, credential: dict[str, Any], now: datetime) -> None:
    key = {**signing_key.public_key.to_jwk(), "use": "sig", "alg": "EdDSA", "kid": KID}
    assert (
        verify_credential_jwt(valid_token(signing_key, credential), key_is(key), now=now).credential
        == credential
    )


def test_altered_payload_byte_refused(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    header_segment, payload_segment, signature_segment = valid_token(signing_key, credential).split(".")
    payload = base64.urlsafe_b64decode(payload_segment + "==")
    altered = payload.replace(b"2031-11-26", b"2041-11-26")
    assert altered != payload
    token = f"{header_segment}.{b64(altered)}.{signature_segment}"
    verify_fails(token, key_is(signing_key.public_key), "jws_signature_invalid", now)


def test_es256_credential_of_another_issuer(credential: dict[str, Any], now: datetime) -> None:
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    token = jws.JWS(to_json(payload_of_claims(credential)))
    token.add_signature(key, alg="ES256", protected=to_json({"alg": "ES256", "kid": KID}).decode())
    result = verify_credential_jwt(
        token.serialize(compact=True), key_is(key.export_public(as_dict=True)), now=now
    )
    assert result.credential == credential
    verify_fails(
        token.serialize(compact=True),
        key_is(jwk.JWK.generate(kty="EC", crv="P-384").export_public(as_dict=True)),
        "jws_key_unusable",
        now,
    )


def test_short_rsa_key_refused(credential: dict[str, Any], now: datetime) -> None:
    key = jwk.JWK.generate(kty="RSA", size=1024)
    token = jws.JWS(to_json(payload_of_claims(credential)))
    token.add_signature(key, alg="RS256", protected=to_json({"alg": "RS256", "kid": KID}).decode())
    verify_fails(
        token.serialize(compact=True), key_is(key.export_public(as_dict=True)), "jws_key_unusable", now
    )


def payload_of_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **credential,
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": 1795651200,
        "exp": 1953417600,
        "sub": credential["credentialSubject"]["id"],
    }


def test_1edtech_rs256_fixture_verifies_without_sub(now: datetime) -> None:
    svg = (VECTORS / "1edtech" / "1edtech-validator-baked-vcjwt-RS256.svg").read_text(encoding="utf-8")
    match = re.search(r'<openbadges:credential verify="([^"]+)"', svg)
    assert match is not None
    result = verify_credential_jwt(match.group(1), lambda header: header["jwk"], now=now)
    assert result.header["alg"] == "RS256"
    assert "sub" not in result.claims
    assert {"iat", "aud"} <= result.claims.keys()
    assert result.credential["id"] == "http://example.com/credentials/3527"
    assert not result.credential.keys() & {"iss", "jti", "nbf", "iat", "aud"}
    assert result.not_before == datetime(2010, 1, 1, tzinfo=UTC)


# --- claims ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"iss": "https://elsewhere.example/issuer"}, "jwt_claim_mismatch", id="iss"),
        pytest.param(
            {"jti": "urn:uuid:00000000-0000-4000-8000-000000000000"}, "jwt_claim_mismatch", id="jti"
        ),
        pytest.param({"nbf": 1795651200 + 1}, "jwt_claim_mismatch", id="nbf"),
        pytest.param({"exp": 1953417600 - 86400}, "jwt_claim_mismatch", id="exp"),
        pytest.param({"sub": "did:example:someone-else"}, "jwt_claim_mismatch", id="sub"),
        pytest.param({"iss": None}, "jwt_claim_missing", id="no-iss"),
        pytest.param({"jti": None}, "jwt_claim_missing", id="no-jti"),
        pytest.param({"nbf": None}, "jwt_claim_missing", id="no-nbf"),
        pytest.param({"exp": None}, "jwt_claim_missing", id="no-exp-with-validUntil"),
        pytest.param({"nbf": "1795651200"}, "jwt_claim_invalid", id="nbf-string"),
        pytest.param({"nbf": True}, "jwt_claim_invalid", id="nbf-bool"),
        pytest.param({"exp": "1e400"}, "jwt_claim_invalid", id="exp-overflows-to-infinity"),
        pytest.param({"validFrom": "yesterday"}, "jwt_claim_mismatch", id="validFrom-unparseable"),
        pytest.param({"issuer": {"type": ["Profile"]}}, "jwt_claim_mismatch", id="issuer-without-id"),
        pytest.param({"vc": []}, "jwt_payload_invalid", id="vc-not-object"),
    ],
)
def test_claim_rules(
    change: dict[str, Any], code: str, signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    payload = {**payload_of(credential, signing_key), **change}
    payload = {name: value for name, value in payload.items() if value is not None}
    # json.dumps cannot write 1e400 (it parses as infinity), so put the literal in by hand.
    token = sign_jws(HEADER, to_json(payload).replace(b'"1e400"', b"1e400"), signing_key)
    verify_fails(token, key_is(signing_key.public_key), code, now)


def test_exp_sets_absent_valid_until(
    signing_key: SigningKey, credential: dict[str, Any], now: datetime
) -> None:
    # OB 3.0 §8.2 "Verify a Credential VC-JWT Signature": exp "MUST be used to set" validUntil.
    payload = payload_of(credential, signing_key)
    del payload["validUntil"]
    token = sign_jws(HEADER, to_json(payload), signing_key)
    result = verify_credential_jwt(token, key_is(signing_key.public_key), now=now)
    assert result.credential["validUntil"] == credential["validUntil"]
    assert result.expires == datetime(2031, 11, 26, tzinfo=UTC)


def test_missing_sub_tolerated(signing_key: SigningKey, credential: dict[str, Any], now: datetime) -> None:
    payload = payload_of(credential, signing_key)
    del payload["sub"]
    token = sign_jws(HEADER, to_json(payload), signing_key)
    assert verify_credential_jwt(token, key_is(signing_key.public_key), now=now).credential == credential


def test_time_is_not_checked_here(signing_key: SigningKey, credential: dict[str, Any]) -> None:
    token = valid_token(signing_key, credential)
    long_after = datetime(2099, 1, 1, tzinfo=UTC)
    result = verify_credential_jwt(token, key_is(signing_key.public_key), now=long_after)
    assert result.expires is not None
    assert result.expires < long_after


VCDM11_CREDENTIAL: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/2018/credentials/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "CAiEP® Charter",
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "achievement": {"id": "https://credentials.example.org/a"},
    },
}
VCDM11_CLAIMS: dict[str, Any] = {
    "iss": "https://credentials.example.org/issuers/caiep",
    "jti": "urn:uuid:0b7c2f0e-5d7a-4c1e-9a57-3e1f0c6d2b11",
    "nbf": 1262304000,
    "exp": 1893456000,
    "sub": "did:example:ebfeb1f712ebc6f1c276e12ec21",
    "iat": 1262304000,
}


def test_vcdm11_vc_claim_accepted(signing_key: SigningKey, now: datetime) -> None:
    token = sign_jws(HEADER, to_json({"vc": VCDM11_CREDENTIAL, **VCDM11_CLAIMS}), signing_key)
    result = verify_credential_jwt(token, key_is(signing_key.public_key), now=now)
    assert result.credential == {
        **VCDM11_CREDENTIAL,
        "issuer": VCDM11_CLAIMS["iss"],
        "id": VCDM11_CLAIMS["jti"],
        "issuanceDate": "2010-01-01T00:00:00Z",
        "expirationDate": "2030-01-01T00:00:00Z",
        "credentialSubject": {**VCDM11_CREDENTIAL["credentialSubject"], "id": VCDM11_CLAIMS["sub"]},
    }
    assert result.claims == VCDM11_CLAIMS


def test_vcdm11_vc_claim_with_own_members(signing_key: SigningKey, now: datetime) -> None:
    vc = {
        **VCDM11_CREDENTIAL,
        "issuer": {"id": VCDM11_CLAIMS["iss"]},
        "id": VCDM11_CLAIMS["jti"],
        "issuanceDate": "2010-01-01T00:00:00",
    }
    token = sign_jws(HEADER, to_json({"vc": vc, **VCDM11_CLAIMS}), signing_key)
    assert (
        verify_credential_jwt(token, key_is(signing_key.public_key), now=now).credential["issuer"]
        == vc["issuer"]
    )
    vc["issuer"] = "https://elsewhere.example/issuer"
    token = sign_jws(HEADER, to_json({"vc": vc, **VCDM11_CLAIMS}), signing_key)
    verify_fails(token, key_is(signing_key.public_key), "jwt_claim_mismatch", now)


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
