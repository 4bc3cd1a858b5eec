"""The tokens of holders' private pages: only their hash is stored, and a token that is unknown,
malformed or revoked opens nothing (SQLite and PostgreSQL, through ``database_url``)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from caiep.issuer import holdertokens
from caiep.issuer.registry import Registry

if TYPE_CHECKING:
    from conftest import Db

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def holder(registry: Registry, email: str = "jane@example.org") -> int:
    with registry.write() as connection:
        return registry.holder_ids(connection, [(email, "Jane Doe")], now=NOW)[email]


def mint(registry: Registry, holder_id: int, now: datetime = NOW) -> str:
    with registry.write() as connection:
        return holdertokens.mint(connection, holder_id, now=now)


def resolve(registry: Registry, token: str) -> int | None:
    with registry.read() as connection:
        return holdertokens.resolve(connection, token)


def test_a_token_is_256_random_bits_and_only_its_hash_is_stored(registry: Registry, db: Db) -> None:
    jane = holder(registry)
    token = mint(registry, jane)
    assert holdertokens.TOKEN_PATTERN.match(token)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    rows = db.rows("SELECT token_hash, holder_id, outbox_id, created_at, revoked_at FROM holder_tokens")
    assert len(rows) == 1
    stored, holder_id, outbox_id, _, revoked_at = rows[0]
    assert stored == hashlib.sha256(token.encode("ascii")).hexdigest()
    assert (holder_id, outbox_id, revoked_at) == (jane, None, None)
    everything = repr(db.rows("SELECT * FROM holder_tokens"))
    assert token not in everything
    assert resolve(registry, token) == jane


def test_two_tokens_differ_and_both_open_the_page(registry: Registry) -> None:
    jane = holder(registry)
    first, second = mint(registry, jane), mint(registry, jane)
    assert first != second
    assert resolve(registry, first) == resolve(registry, second) == jane


def test_the_random_bytes_are_the_token(registry: Registry) -> None:
    jane = holder(registry)
    with registry.write() as connection:
        token = holdertokens.mint(connection, jane, now=NOW, random_bytes=lambda n: bytes(range(n)))
    assert token == base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
    assert resolve(registry, token) == jane


@pytest.mark.parametrize(
    "token",
    [
        "",
        "short",
        "A" * 42,
        "A" * 44,
        "A" * 42 + "=",  # padded
        "A" * 42 + "+",  # base64, not base64url
        "A" * 42 + "\n",
        "Ä" * 43,
        "../" * 15,
    ],
)
def test_a_malformed_token_resolves_to_none(registry: Registry, token: str) -> None:
    mint(registry, holder(registry))
    assert resolve(registry, token) is None


def test_an_unknown_token_resolves_to_none(registry: Registry) -> None:
    jane = holder(registry)
    token = mint(registry, jane)
    other = ("B" if token[0] != "B" else "C") + token[1:]
    assert resolve(registry, other) is None


def test_the_hash_of_a_token_is_not_a_token(registry: Registry, db: Db) -> None:
    token = mint(registry, holder(registry))
    stored = db.scalar("SELECT token_hash FROM holder_tokens")
    assert resolve(registry, token) is not None
    assert resolve(registry, stored) is None
    assert resolve(registry, stored[:43]) is None


def test_revoke_others_keeps_the_given_token_and_revokes_the_rest(registry: Registry, db: Db) -> None:
    jane, john = holder(registry), holder(registry, "john@example.org")
    old = [mint(registry, jane, NOW - timedelta(days=d)) for d in (30, 20, 10)]
    johns = mint(registry, john)
    kept = mint(registry, jane)
    later = NOW + timedelta(hours=1)
    with registry.write() as connection:
        assert holdertokens.revoke_others(connection, jane, kept, now=later) == 3
    assert [resolve(registry, token) for token in old] == [None, None, None]
    assert resolve(registry, kept) == jane
    assert resolve(registry, johns) == john  # another holder's links are not touched
    revoked = db.rows("SELECT revoked_at FROM holder_tokens WHERE revoked_at IS NOT NULL")
    assert len(revoked) == 3
    assert all(_utc(value) == later for (value,) in revoked)
    with registry.write() as connection:  # nothing left to revoke; a revoked token stays revoked
        assert holdertokens.revoke_others(connection, jane, kept, now=later) == 0
    assert db.scalar("SELECT count(*) FROM holder_tokens WHERE revoked_at IS NULL") == 2


def test_revoke_others_in_a_rolled_back_transaction_revokes_nothing(registry: Registry) -> None:
    jane = holder(registry)
    old, kept = mint(registry, jane), mint(registry, jane)

    def abandoned() -> None:
        with registry.write() as connection:
            assert holdertokens.revoke_others(connection, jane, kept, now=NOW) == 1
            raise RuntimeError("the change is abandoned")

    with pytest.raises(RuntimeError):
        abandoned()
    assert resolve(registry, old) == jane


def _utc(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
