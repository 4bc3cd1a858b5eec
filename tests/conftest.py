"""Fixtures shared by every test folder: a fixed-seed key, a fixed clock, the vectors."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import settings

from caiep.keys.ed25519 import SigningKey
from support import FIXED_NOW

# Property tests assert behaviour, not speed: a deadline only measures how busy the machine is
# (CI shares two cores with PostgreSQL and the Node peers), so no example may fail on time.
settings.register_profile("caiep", deadline=None)
settings.load_profile("caiep")


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


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _postgres_unavailable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as exc:
        return f"no PostgreSQL server answers at 127.0.0.1:5432 ({type(exc).__name__})"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty registry database: SQLite in tmp_path, or a new PostgreSQL database.

    PostgreSQL tests skip, saying why, only when no server answers at 127.0.0.1:5432.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        return
    reason = _postgres_unavailable()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"caiep_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
