"""The tokens of holders' private pages (``/h/<token>``): minted, resolved and revoked.

A token is 256 random bits, written base64url (43 characters). The registry keeps only its
SHA-256 (hex) with the holder and the message that carried it, so a copy of the database does
not open anyone's page. A token stays valid until it is revoked (``caiep holder link --rotate``
revokes every other live token of the holder).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from caiep.issuer.tables import holder_tokens

#: What a token looks like: 43 base64url characters (32 bytes). Anything else is not looked up.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}\Z")


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


#: The hash a malformed token is looked up under: the empty text's, which no minted token has.
_NEVER_MINTED = hashlib.sha256(b"").hexdigest()


def mint(
    connection: Connection,
    holder_id: int,
    *,
    now: datetime,
    outbox_id: int | None = None,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> str:
    """A new token for ``holder_id`` (its hash stored in the caller's transaction); the token."""
    token = base64.urlsafe_b64encode(random_bytes(32)).rstrip(b"=").decode("ascii")
    connection.execute(
        insert(holder_tokens).values(
            token_hash=token_hash(token), holder_id=holder_id, outbox_id=outbox_id, created_at=now
        )
    )
    return token


def resolve(connection: Connection, token: str) -> int | None:
    """The holder whose live token this is, or None (malformed, unknown or revoked: alike).

    A malformed token is looked up too, under a hash no minted token has (that of the empty
    text), so that the three answers take the same one query and cannot be told apart by time.
    """
    wanted = token_hash(token) if TOKEN_PATTERN.match(token) else _NEVER_MINTED
    found = connection.execute(
        select(holder_tokens.c.holder_id).where(
            holder_tokens.c.token_hash == wanted, holder_tokens.c.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    return None if found is None or wanted == _NEVER_MINTED else int(found)


def revoke_others(connection: Connection, holder_id: int, keep: str, *, now: datetime) -> int:
    """Revoke every live token of ``holder_id`` except ``keep``; how many were revoked."""
    done = connection.execute(
        update(holder_tokens)
        .where(
            holder_tokens.c.holder_id == holder_id,
            holder_tokens.c.revoked_at.is_(None),
            holder_tokens.c.token_hash != token_hash(keep),
        )
        .values(revoked_at=now)
    )
    return int(done.rowcount or 0)
