"""Fixtures shared by every test folder: a fixed-seed key, a fixed clock, the vectors."""

from __future__ import annotations

from datetime import datetime

import pytest
from support import FIXED_NOW

from keys.ed25519 import SigningKey


@pytest.fixture
def now() -> datetime:
    """The fixed 'now' of every test that issues or verifies."""
    return FIXED_NOW


@pytest.fixture
def signing_key() -> SigningKey:
    """A deterministic issuer key (seed 0x01..0x20); never used outside tests."""
    return SigningKey.from_seed(bytes(range(1, 33)))


@pytest.fixture
def other_key() -> SigningKey:
    return SigningKey.from_seed(bytes(range(101, 133)))
