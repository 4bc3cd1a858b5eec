"""Learner Credential Wallet exchanges: single-use VC-API exchanges for one current charter.

A holder opens one from their private page (:func:`open_for_holder`): the registry keeps the
SHA-256 of the exchange id (256 random bits, the last segment of the exchange URL, so a copy
of the database opens no exchange), the challenge the wallet must sign, and an expiry. The
wallet then POSTs to the exchange twice (VCALM / VC-API, LCW ``exchanges.ts``): once empty, to
read the DID Authentication request, once with its signed presentation.

An exchange moves ``open`` → ``claimed`` (a presentation was accepted and a copy is being
signed; :func:`claim` is one conditional UPDATE, so two wallets racing on one exchange cannot
both win) → ``used``, or back to ``open`` when the signer could not be reached
(:func:`release`). A claim older than :data:`CLAIM_TIMEOUT` (a web worker that died while
waiting for the signer) may be taken again. Refused presentations count in ``failures``; after
:data:`MAX_FAILURES` the exchange is ``closed``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, func, insert, or_, select, update

from caiep.errors import InputError
from caiep.issuer import holdertokens
from caiep.issuer.lifecycle import find_charter
from caiep.issuer.records import charter_state
from caiep.issuer.tables import wallet_exchanges

#: What an exchange id looks like: 43 base64url characters (32 bytes). Nothing else is looked up.
EXCHANGE_ID: Final = re.compile(r"[A-Za-z0-9_-]{43}\Z")
#: Refused presentations an exchange takes before it is closed.
MAX_FAILURES: Final = 5
#: How long a claim holds before another request may take the exchange again.
CLAIM_TIMEOUT: Final = timedelta(seconds=60)
#: Open, unexpired exchanges one charter may have at once (a page reloaded many times).
MAX_OPEN: Final = 10
#: The longest an exchange may live (the setting is checked against it).
MAX_LIFETIME: Final = timedelta(hours=24)


class ExchangeRefused(InputError):
    """A holder's request for an exchange that cannot be made (``code`` says why)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class NewExchange:
    """An exchange just opened: its id (the URL's secret; stored only hashed), challenge, expiry."""

    exchange_id: str
    credential_id: str
    challenge: str
    expires_at: datetime


@dataclass(frozen=True)
class Exchange:
    """A stored exchange: ``state`` is ``open``, ``claimed``, ``used`` or ``closed``; ``expired``
    is read from ``expires_at`` at the ``now`` it was looked up at."""

    credential_id: str
    challenge: str
    state: str
    expires_at: datetime
    failures: int
    expired: bool


def _hash(exchange_id: str) -> str:
    return hashlib.sha256(exchange_id.encode("ascii")).hexdigest()


def _random_text(random_bytes: Callable[[int], bytes]) -> str:
    return base64.urlsafe_b64encode(random_bytes(32)).rstrip(b"=").decode("ascii")


def open_for_holder(
    connection: Connection,
    token: str,
    credential_id: str,
    *,
    lifetime: timedelta,
    now: datetime,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> NewExchange:
    """A new exchange for the charter ``credential_id`` of the holder whose page ``token`` opens.

    Raises :class:`ExchangeRefused`: ``unknown_page`` (the token opens no page, or the charter
    is not that holder's: alike), ``not_current`` (lapsed, suspended or revoked),
    ``too_many_open`` (:data:`MAX_OPEN` of its exchanges are open and unexpired).
    """
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError(f"an exchange lives more than 0 and at most {MAX_LIFETIME}, not {lifetime}")
    holder_id = holdertokens.resolve(connection, token)
    try:
        charter = find_charter(connection, credential_id) if holder_id is not None else None
    except InputError:
        charter = None
    if charter is None or charter.holder_id != holder_id or charter.credential_id != credential_id:
        raise ExchangeRefused("unknown_page", "this page has no such charter")
    if charter_state(charter.state, charter.valid_until, now) != "current":
        raise ExchangeRefused("not_current", "only a current charter can be put into a wallet")
    still_open = connection.execute(
        select(func.count())
        .select_from(wallet_exchanges)
        .where(
            wallet_exchanges.c.credential_id == charter.credential_id,
            wallet_exchanges.c.state == "open",
            wallet_exchanges.c.expires_at > now,
        )
    ).scalar_one()
    if still_open >= MAX_OPEN:
        raise ExchangeRefused("too_many_open", "too many wallet exchanges of this charter are open: use one")
    exchange_id = _random_text(random_bytes)
    challenge = _random_text(random_bytes)
    expires_at = now + lifetime
    connection.execute(
        insert(wallet_exchanges).values(
            id_hash=_hash(exchange_id),
            credential_id=charter.credential_id,
            challenge=challenge,
            state="open",
            failures=0,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return NewExchange(exchange_id, charter.credential_id, challenge, expires_at)


def find(connection: Connection, exchange_id: str, *, now: datetime) -> Exchange | None:
    """The exchange with this id, or None (malformed or unknown: alike)."""
    if not EXCHANGE_ID.match(exchange_id):
        return None
    row = connection.execute(
        select(
            wallet_exchanges.c.credential_id,
            wallet_exchanges.c.challenge,
            wallet_exchanges.c.state,
            wallet_exchanges.c.expires_at,
            wallet_exchanges.c.failures,
        ).where(wallet_exchanges.c.id_hash == _hash(exchange_id))
    ).first()
    if row is None:
        return None
    expires_at = _utc(row.expires_at)
    return Exchange(
        str(row.credential_id),
        str(row.challenge),
        str(row.state),
        expires_at,
        int(row.failures),
        now >= expires_at,
    )


def claim(connection: Connection, exchange_id: str, *, now: datetime) -> bool:
    """Take an open, unexpired exchange (or a stale claim) for signing; False when another has it."""
    done = connection.execute(
        update(wallet_exchanges)
        .where(
            wallet_exchanges.c.id_hash == _hash(exchange_id),
            wallet_exchanges.c.expires_at > now,
            or_(
                wallet_exchanges.c.state == "open",
                (wallet_exchanges.c.state == "claimed")
                & (wallet_exchanges.c.claimed_at < now - CLAIM_TIMEOUT),
            ),
        )
        .values(state="claimed", claimed_at=now)
    )
    return bool(done.rowcount == 1)


def release(connection: Connection, exchange_id: str) -> None:
    """Give a claimed exchange back (nothing was issued: the wallet may try again)."""
    connection.execute(
        update(wallet_exchanges)
        .where(wallet_exchanges.c.id_hash == _hash(exchange_id), wallet_exchanges.c.state == "claimed")
        .values(state="open", claimed_at=None)
    )


def complete(connection: Connection, exchange_id: str, subject: str, *, now: datetime) -> None:
    """Mark a claimed exchange used, naming the wallet DID its copy was bound to."""
    connection.execute(
        update(wallet_exchanges)
        .where(wallet_exchanges.c.id_hash == _hash(exchange_id), wallet_exchanges.c.state == "claimed")
        .values(state="used", subject=subject, completed_at=now)
    )


def close(connection: Connection, exchange_id: str, *, now: datetime) -> None:
    """Close an exchange for good (its charter is no longer current)."""
    connection.execute(
        update(wallet_exchanges)
        .where(
            wallet_exchanges.c.id_hash == _hash(exchange_id),
            wallet_exchanges.c.state.in_(("open", "claimed")),
        )
        .values(state="closed", completed_at=now)
    )


def record_failure(connection: Connection, exchange_id: str, *, now: datetime) -> int:
    """Count a refused presentation; the exchange closes at :data:`MAX_FAILURES`. The new count."""
    wanted = wallet_exchanges.c.id_hash == _hash(exchange_id)
    connection.execute(
        update(wallet_exchanges)
        .where(wanted, wallet_exchanges.c.state == "open")
        .values(failures=wallet_exchanges.c.failures + 1)
    )
    failures = int(connection.execute(select(wallet_exchanges.c.failures).where(wanted)).scalar_one())
    if failures >= MAX_FAILURES:
        close(connection, exchange_id, now=now)
    return failures


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
