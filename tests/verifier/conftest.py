"""Fixtures for the verifier tests: fixed-seed issuers (did:key and did:web) signing at a fixed time.

Every credential here is built by the real issuer code and signed by the real proof code with
a fixed seed, fixed time, fixed uuid and fixed salt, so the same bytes come out on every run.
A did:web issuer's DID document is served by a MappingFetcher under the URL did:web maps its
DID to; a did:key issuer needs no fetcher at all.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from caiep.issuer.charter import IssuerProfile
from caiep.keys.did import (
    build_controller_document,
    did_key_for,
    did_web_document_url,
    verification_method_id,
)
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.proofs.jose import sign_credential_jwt
from caiep.verifier.fetch import MappingFetcher
from support import unsigned_charter

# RFC 8032 §7.1 TEST 1 and TEST 2 secret keys: public, fixed, and unrelated to each other.
SEED_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
VALID_FROM = "2025-03-01T12:00:00Z"
VALID_UNTIL = "2030-03-01T12:00:00Z"
BASE_URL = "https://credentials.caiep.example"
WEB_DID = "did:web:credentials.caiep.example"
CREDENTIAL_UUID = "6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b"
SALT = "5c0ffee5" * 4


class RecordingFetcher(MappingFetcher):
    """A MappingFetcher that remembers every URL asked for, served or not."""

    def __init__(self, documents: Mapping[str, Any]) -> None:
        super().__init__(documents)
        self.requested: list[str] = []

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        self.requested.append(url)
        return super().get_json(url)


@dataclass
class Issuer:
    """One signing identity: its DID, key, and the documents a verifier would fetch for it."""

    did: str
    key: SigningKey
    documents: dict[str, Any] = field(default_factory=dict)

    @property
    def vm(self) -> str:
        """The verification method id its proofs name: ``<did>#<publicKeyMultibase>``."""
        return verification_method_id(self.did, self.key.public_key)

    @property
    def profile(self) -> IssuerProfile:
        return IssuerProfile(id=self.did, name="CAiEP Certification Board", url=BASE_URL, base_url=BASE_URL)

    def unsigned(self) -> dict[str, Any]:
        """The charter credential for Jane Doe, valid from NOW for five years, not yet signed."""
        return unsigned_charter(self.did, now=NOW, base_url=BASE_URL)

    def sign(
        self, unsigned: Mapping[str, Any], *, key: SigningKey | None = None, vm: str | None = None
    ) -> dict[str, Any]:
        """``unsigned`` with an eddsa-rdfc-2022 proof by ``key`` (default: ours) naming ``vm``."""
        return sign(unsigned, key or self.key, verification_method=vm or self.vm, created=NOW)

    def issue(self) -> dict[str, Any]:
        return self.sign(self.unsigned())

    def jwt(
        self,
        unsigned: Mapping[str, Any] | None = None,
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
    ) -> str:
        return sign_credential_jwt(unsigned or self.unsigned(), key or self.key, kid=kid or self.vm)

    def fetcher(self, extra: Mapping[str, Any] | None = None) -> RecordingFetcher:
        """A fetcher serving this issuer's documents plus ``extra`` (copies: tests may edit them)."""
        return RecordingFetcher({**copy.deepcopy(self.documents), **dict(extra or {})})


@pytest.fixture(scope="session")
def key_a() -> SigningKey:
    return SigningKey.from_seed(SEED_A)


@pytest.fixture(scope="session")
def key_b() -> SigningKey:
    return SigningKey.from_seed(SEED_B)


@pytest.fixture(scope="session")
def did_key_issuer(key_a: SigningKey) -> Issuer:
    """An issuer whose id is the did:key of key A (resolved locally, no fetcher needed)."""
    return Issuer(did_key_for(key_a.public_key), key_a)


@pytest.fixture(scope="session")
def did_web_issuer(key_a: SigningKey) -> Issuer:
    """did:web:credentials.caiep.example with key A; its DID document at the did:web URL."""
    document = build_controller_document(WEB_DID, [key_a.public_key])
    return Issuer(WEB_DID, key_a, {did_web_document_url(WEB_DID): document})


@pytest.fixture(scope="session")
def make_issuer() -> type[Issuer]:
    """The Issuer class, for tests that need an identity of their own (another key or document)."""
    return Issuer


@pytest.fixture(params=["did:key", "did:web"])
def issuer(request: pytest.FixtureRequest) -> Issuer:
    name = "did_key_issuer" if request.param == "did:key" else "did_web_issuer"
    fixture: Issuer = request.getfixturevalue(name)
    return fixture
