"""API keys: what an employer's HR system sends to re-check charters in bulk.

A key is ``caiep_`` and 32 random bytes in base64url (43 characters): shown once, by
:func:`create`, and stored only as its SHA-256. A key that random cannot be guessed, so a hash
without salt or stretching is enough; the lookup is by that hash (an index probe, which reveals
nothing of the secret), and :func:`authenticate` compares the stored hash with the presented
key's in constant time all the same.

Each key has a name (the employer it was given to), its own rate per minute (or none: the
service's default applies), and the times it was created, last used and revoked. Creating and
revoking a key, and every bulk check made with one (:func:`record_check`), are audit entries;
a check's entry says who and how many numbers, never which.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, insert, select, update

from caiep.errors import InputError
from caiep.issuer import audit
from caiep.issuer.tables import api_keys

#: Every key begins so: a secret scanner (or a person) recognises one in a leaked file.
PREFIX: Final = "caiep_"
#: The random bytes in a key (256 bits).
SECRET_BYTES: Final = 32
#: A key's length: the prefix and 43 base64url characters.
KEY_LENGTH: Final = len(PREFIX) + 43
MAX_NAME: Final = 128
#: The highest rate a key may be given (checks per minute).
MAX_RATE: Final = 100_000


@dataclass(frozen=True)
class ApiKey:
    """A key's record, never its secret."""

    id: int
    name: str
    rate_per_minute: int | None  # None: the service's default
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedKey:
    """A new key: its id and its secret, which is shown this once and stored nowhere."""

    id: int
    key: str


def key_hash(key: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """A key's name, trimmed: 1-128 printable characters (else :class:`InputError`)."""
    trimmed = name.strip()
    if not trimmed or len(trimmed) > MAX_NAME or not trimmed.isprintable():
        raise InputError(f"name: 1-{MAX_NAME} printable characters, such as the employer's name")
    return trimmed


def check_rate(rate: int | None) -> int | None:
    """A key's rate per minute: None (the default) or 1 to :data:`MAX_RATE`."""
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise InputError(f"rate: 1 to {MAX_RATE} checks a minute")
    return rate


def create(
    connection: Connection, name: str, rate_per_minute: int | None, *, actor: str, now: datetime
) -> CreatedKey:
    """A new key named ``name``, with its audit entry; the secret is in the answer only."""
    name = check_name(name)
    rate = check_rate(rate_per_minute)
    key = PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")
    inserted = connection.execute(
        insert(api_keys).values(key_hash=key_hash(key), name=name, rate_per_minute=rate, created_at=now)
    )
    assert inserted.inserted_primary_key is not None
    new_id = inserted.inserted_primary_key[0]
    audit.append(
        connection,
        [
            audit.AuditEntry(
                "apikey.created", f"apikey:{new_id}", {"name": name, "ratePerMinute": rate}, actor
            )
        ],
        now=now,
    )
    return CreatedKey(int(new_id), key)


def list_keys(connection: Connection) -> list[ApiKey]:
    """Every key's record, oldest first (revoked ones too)."""
    rows = connection.execute(select(*_COLUMNS).order_by(api_keys.c.id)).all()
    return [ApiKey(*row) for row in rows]


def revoke(connection: Connection, key_id: int, *, actor: str, now: datetime) -> ApiKey:
    """Revoke key ``key_id`` (its checks are refused from now on), with its audit entry.

    An unknown id is an :class:`InputError`; a key already revoked stays as it was (no entry).
    """
    row = connection.execute(select(*_COLUMNS).where(api_keys.c.id == key_id).with_for_update()).one_or_none()
    if row is None:
        raise InputError(f"no API key has the id {key_id} (see 'caiep apikey list')")
    found = ApiKey(*row)
    if found.revoked_at is not None:
        return found
    connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
    audit.append(
        connection,
        [audit.AuditEntry("apikey.revoked", f"apikey:{key_id}", {"name": found.name}, actor)],
        now=now,
    )
    return ApiKey(found.id, found.name, found.rate_per_minute, found.created_at, found.last_used_at, now)


def authenticate(connection: Connection, presented: str) -> ApiKey | None:
    """The key ``presented`` is, if it is a key of ours and not revoked; else None."""
    if len(presented) != KEY_LENGTH or not presented.startswith(PREFIX):
        return None
    digest = key_hash(presented)
    row = connection.execute(
        select(api_keys.c.key_hash, *_COLUMNS).where(api_keys.c.key_hash == digest)
    ).one_or_none()
    if row is None or not hmac.compare_digest(str(row[0]), digest):
        return None
    found = ApiKey(*row[1:])
    return None if found.revoked_at is not None else found


def record_check(connection: Connection, key: ApiKey, count: int, *, now: datetime) -> None:
    """Record a bulk check made with ``key``: its last use, and an audit entry saying who and
    how many numbers were checked (never which)."""
    connection.execute(update(api_keys).where(api_keys.c.id == key.id).values(last_used_at=now))
    audit.append(
        connection,
        [
            audit.AuditEntry(
                "register.bulk_check",
                f"apikey:{key.id}",
                {"key": key.id, "name": key.name, "numbers": count},
                actor=f"apikey:{key.id}",
            )
        ],
        now=now,
    )


_COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.rate_per_minute,
    api_keys.c.created_at,
    api_keys.c.last_used_at,
    api_keys.c.revoked_at,
)
