"""Fixtures for the keys tests: the external key vectors, a fixed-seed key and a fixed time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from caiep.keys.ed25519 import SigningKey
from caiep.keys.multikey import decode_secret_key

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external"


@pytest.fixture(scope="session")
def did_key_vectors() -> dict[str, Any]:
    """The did:key draft's Ed25519 vectors, keyed by DID (did-key/ed25519-x25519.json)."""
    data: dict[str, Any] = json.loads((VECTORS / "did-key" / "ed25519-x25519.json").read_text())
    return data


@pytest.fixture(scope="session")
def w3c_key_pair() -> dict[str, str]:
    """The vc-di-eddsa test vector key pair (TestVectors/keyPair.json)."""
    data: dict[str, str] = json.loads((VECTORS / "vc-di-eddsa" / "TestVectors" / "keyPair.json").read_text())
    return data


@pytest.fixture
def w3c_signing_key(w3c_key_pair: dict[str, str]) -> SigningKey:
    """The vc-di-eddsa vector key, whose signatures the vectors fix byte for byte."""
    return SigningKey.from_seed(decode_secret_key(w3c_key_pair["privateKeyMultibase"]))


@pytest.fixture
def now() -> datetime:
    """A fixed instant, so stored times are predictable."""
    return datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
