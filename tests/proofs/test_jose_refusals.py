"""VC-JWT (OB 3.0 §8.2): one failing case per rule — algorithm, header, key and claims."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from jose_support import (
    HEADER,
    KID,
    VECTORS,
    b64,
    credential_fixture,  # noqa: F401 - registers the credential fixture
    key_is,
    never_called,
    now_fixture,  # noqa: F401 - registers the now fixture
    other_signing_key_fixture,  # noqa: F401 - registers the other_signing_key fixture
    payload_of,
    rfc8037_public_key_fixture,  # noqa: F401 - registers the rfc8037_public_key fixture
    rfc8037_signing_key_fixture,  # noqa: F401 - registers the rfc8037_signing_key fixture
    signing_key_fixture,  # noqa: F401 - registers the signing_key fixture
    to_json,
    unsigned_token,
    valid_token,
    verify_fails,
)
from jwcrypto import jwk, jws

from caiep.keys.ed25519 import SigningKey
from caiep.proofs.jose import (
    sign_jws,
    verify_credential_jwt,
)

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
