"""Session fixtures of the interop tests: each expensive batch is built once per run."""

from __future__ import annotations

from typing import Any

import pytest
from peers import DbSigned, Issued, issue_ours, sign_with_digital_bazaar

from node import pinned_contexts


@pytest.fixture(scope="session")
def contexts() -> dict[str, Any]:
    return pinned_contexts()


@pytest.fixture(scope="session")
def ours() -> list[Issued]:
    """40 charter credentials: even indexes did:key (4 keys), odd ones did:web (2 keys)."""
    return issue_ours()


@pytest.fixture(scope="session")
def db_signed(contexts: dict[str, Any]) -> list[DbSigned]:
    """Charter credentials built by us, signed by Digital Bazaar: one did:key, one did:web run."""
    return sign_with_digital_bazaar(contexts)
