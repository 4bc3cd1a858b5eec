"""Fixtures, sample credential and helpers shared by the VC-JWT test modules.

Fixtures are registered in a test module by importing their ``*_fixture`` function.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from caiep.errors import ProofInvalid
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.proofs.jose import (
    decode_unverified,
    sign_credential_jwt,
    verify_credential_jwt,
)

KID = "https://credentials.example.org/issuers/caiep#key-1"
HEADER = {"alg": "EdDSA", "kid": KID, "typ": "JWT"}
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external"


def load_vector(*parts: str) -> Any:
    return json.loads(VECTORS.joinpath(*parts).read_text(encoding="utf-8"))


@pytest.fixture(name="rfc8037_signing_key")
def rfc8037_signing_key_fixture() -> SigningKey:
    """The RFC 8037 §A.1 private key."""
    d = load_vector("rfc8037", "A.1-private-key.jwk.json")["d"]
    return SigningKey.from_seed(base64.urlsafe_b64decode(d + "="))


@pytest.fixture(name="rfc8037_public_key")
def rfc8037_public_key_fixture() -> PublicKey:
    """The RFC 8037 §A.2 public key."""
    return PublicKey.from_jwk(load_vector("rfc8037", "A.2-public-key.jwk.json"))


@pytest.fixture(name="signing_key")
def signing_key_fixture() -> SigningKey:
    """A fixed-seed issuer key, so tokens are identical from run to run."""
    return SigningKey.from_seed(bytes(range(32)))


@pytest.fixture(name="other_signing_key")
def other_signing_key_fixture() -> SigningKey:
    """A second fixed-seed key that is not the issuer's."""
    return SigningKey.from_seed(bytes(range(1, 33)))


@pytest.fixture(name="now")
def now_fixture() -> datetime:
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


@pytest.fixture(name="credential")
def credential_fixture() -> dict[str, Any]:
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


def valid_token(signing_key: SigningKey, credential: Mapping[str, Any]) -> str:
    return sign_credential_jwt(credential, signing_key, kid=KID)
