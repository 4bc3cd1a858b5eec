"""Fixtures for the registry, audit and signing-job tests: an opened registry with raw-SQL
helpers, the issuer's did:key signer, and further fresh databases of the same kind.

Every registry fixture rides on ``database_url`` (tests/conftest.py), so each test that uses
one runs on a fresh SQLite file and on a fresh PostgreSQL database.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from caiep.issuer.charter import IssuerProfile
from caiep.issuer.jobs import Signer
from caiep.issuer.registry import ImportSummary, Registry
from caiep.issuer.results import ExamResult, iter_results
from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey
from support import create_registry

EXAMPLE_RESULTS = Path(__file__).parents[2] / "examples" / "results.csv"
READ_ON = date(2026, 11, 26)  # the day results files are read on: FIXED_NOW's date
BASE_URL = "https://credentials.caiep.example"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Db:
    """Raw access to a registry's tables, beside the product API (queries and tampering)."""

    registry: Registry

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.registry.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params).all()]

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.registry.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar_one()

    def execute(self, sql: str, **params: Any) -> int:
        """One statement in its own committed transaction; the number of rows it touched."""
        with self.registry.engine.begin() as connection:
            return int(connection.execute(text(sql), params).rowcount)

    def import_file(self, path: Path, *, now: datetime) -> ImportSummary:
        """Import the valid rows of a results file, as ``caiep results import`` does."""
        items = list(iter_results(path, today=READ_ON))
        bad = [item for item in items if not isinstance(item, ExamResult)]
        assert not bad, bad
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return self.registry.import_results(items, source=path.name, source_sha256=digest, now=now)

    def import_examples(self, *, now: datetime) -> ImportSummary:
        return self.import_file(EXAMPLE_RESULTS, now=now)


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    """The registry on a fresh database (SQLite, then PostgreSQL), migrated as ``caiep init`` does."""
    with create_registry(database_url) as opened:
        yield opened


@pytest.fixture
def db(registry: Registry) -> Db:
    return Db(registry)


@pytest.fixture
def db_of() -> Callable[[Registry], Db]:
    """Wrap a registry opened by the test itself."""
    return Db


@pytest.fixture
def profile(signing_key: SigningKey) -> IssuerProfile:
    """The issuer as a did:key: its credentials verify offline."""
    return IssuerProfile(
        id=did_key_for(signing_key.public_key),
        name="CAiEP Certification Board",
        url=BASE_URL,
        base_url=BASE_URL,
    )


@pytest.fixture
def make_signer(profile: IssuerProfile, signing_key: SigningKey) -> Callable[..., Signer]:
    def make(*, format: str = "ldp") -> Signer:
        return Signer(
            profile=profile,
            key=signing_key,
            verification_method=verification_method_id(profile.id, signing_key.public_key),
            key_id=signing_key.public_key.multibase,
            format=format,
        )

    return make


@pytest.fixture
def signer(make_signer: Callable[..., Signer]) -> Signer:
    return make_signer()


@pytest.fixture
def new_database_url(database_url: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Make further fresh, empty databases of the same kind as ``database_url`` (not migrated)."""
    created: list[str] = []

    def make() -> str:
        if database_url.startswith("sqlite"):
            path = tmp_path / f"extra-{len(created)}.sqlite3"
            created.append(str(path))
            return f"sqlite:///{path}"
        import psycopg

        name = f"caiep_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield make
    if created and not database_url.startswith("sqlite"):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in created:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
