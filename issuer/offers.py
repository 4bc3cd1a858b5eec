"""OpenID4VCI pre-authorized offers: created, fetched once, redeemed once, served once.

An offer is for one charter credential and hands out one wallet-bound copy. Its life, each step
single use and atomic (a conditional UPDATE that one request alone can win):

1. :func:`create_offer` (``caiep offer``, the holder page): a random offer token whose URI
   (``<issuer>/oid4vci/offers/<token>``) lives at most 7 days, and perhaps a 6-digit PIN
   (``tx_code``) that the holder gets beside the QR code, never inside the offer.
2. :func:`fetch_offer` (the wallet's GET of that URI, once): mints the pre-authorized code,
   valid :data:`CODE_LIFETIME`, once.
3. :func:`redeem_code` (the token endpoint): code and PIN for an access token; a wrong PIN is
   counted, and the code dies at :data:`PIN_ATTEMPTS` wrong ones.
4. :func:`claim_token` / :func:`release_claim` / :func:`mark_issued` (the credential endpoint):
   the token is claimed while the signer works, released if it fails, spent once it answered.

Nonces (:func:`new_nonce`, :func:`take_nonce`) are short-lived and used once. The registry keeps
every secret as its SHA-256 only (the PIN as salted scrypt), so a copy of the database opens no
offer. Errors are :class:`Refusal` values with the specification's error codes, returned (not
raised) so that a counted wrong PIN is committed with the answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

from sqlalchemy import Connection, delete, insert, select, update

from caiep.errors import InputError
from caiep.issuer import audit
from caiep.issuer.lifecycle import find_charter
from caiep.issuer.records import charter_number
from caiep.issuer.tables import wallet_nonces, wallet_offers

#: The path under the issuer's URL at which an offer is fetched (``/oid4vci/offers/<token>``).
OFFER_PATH: Final = "/oid4vci/offers/"
#: The longest an offer URI lives.
MAX_OFFER_LIFETIME: Final = timedelta(days=7)
#: How long a pre-authorized code, once minted, may be redeemed (once).
CODE_LIFETIME: Final = timedelta(minutes=10)
#: How long an access token may be used (once).
TOKEN_LIFETIME: Final = timedelta(minutes=10)
#: How long a c_nonce may be used (once).
NONCE_LIFETIME: Final = timedelta(minutes=5)
#: Wrong PINs after which the pre-authorized code is dead.
PIN_ATTEMPTS: Final = 5
#: Digits of a PIN.
PIN_LENGTH: Final = 6
#: A claim older than this is from a request that died: the token may be claimed again.
STALE_CLAIM: Final = timedelta(minutes=2)
#: The longest secret looked up (offer token, code, access token, nonce); longer is refused unread.
MAX_SECRET_LENGTH: Final = 64
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class Offer:
    """A new offer: the ``openid-credential-offer://`` URI, the PIN (None without) and its end."""

    offer_uri: str
    tx_code: str | None
    expires_at: datetime
    credential_id: str
    charter_number: str


@dataclass(frozen=True)
class Refusal:
    """A request refused with an OAuth/OpenID4VCI error code and a description for the wallet."""

    error: str
    description: str


@dataclass(frozen=True)
class FetchedOffer:
    """What the wallet's GET of an offer URI returns: the new pre-authorized code, and whether a
    PIN is needed."""

    credential_id: str
    code: str
    needs_pin: bool


@dataclass(frozen=True)
class Claim:
    """An access token claimed by one credential request: the offer row and its credential."""

    offer_id: int
    credential_id: str


def secret_hash(secret: str) -> str:
    """The stored form of a random secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _random_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def _pin_hash(pin: str, salt: bytes) -> str:
    return f"{salt.hex()}${hashlib.scrypt(pin.encode('ascii'), salt=salt, **_SCRYPT).hex()}"


def _pin_matches(pin: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_pin_hash(pin, bytes.fromhex(salt)), stored)


def offer_uri(issuer_url: str, token: str) -> str:
    """The ``openid-credential-offer://`` URI of an offer, by reference (OpenID4VCI 1.0 §4.1)."""
    return "openid-credential-offer://?credential_offer_uri=" + quote(
        f"{issuer_url.rstrip('/')}{OFFER_PATH}{token}", safe=""
    )


def is_current(state: str, valid_from: datetime, valid_until: datetime, now: datetime) -> bool:
    """Whether a charter in ``state`` with this current version may be handed to a wallet now."""
    return state == "current" and valid_from <= now < valid_until


def create_offer(
    connection: Connection,
    credential_id: str,
    *,
    pin: bool,
    expires_in: timedelta,
    now: datetime,
    issuer_url: str,
    actor: str = "caiep",
) -> Offer:
    """A single-use offer of a wallet-bound copy of the current charter ``credential_id`` (its
    URL, uuid or charter number), in the caller's transaction, with an audit entry.

    :class:`InputError` for an unknown or non-current charter, or a lifetime outside (0, 7 days].
    """
    if not timedelta(0) < expires_in <= MAX_OFFER_LIFETIME:
        raise InputError("an offer lives more than 0 seconds and at most 7 days", location="--expires-in")
    charter = find_charter(connection, credential_id)
    if not is_current(charter.state, charter.valid_from, charter.valid_until, now):
        raise InputError(f"charter {charter.charter_number} is not current: it cannot be offered to a wallet")
    token = _random_secret()
    code = f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}" if pin else None
    expires_at = now + expires_in
    connection.execute(
        insert(wallet_offers).values(
            offer_hash=secret_hash(token),
            credential_id=charter.credential_id,
            pin_hash=_pin_hash(code, secrets.token_bytes(16)) if code else None,
            pin_failures=0,
            created_at=now,
            expires_at=expires_at,
        )
    )
    details = {
        "offer_sha256_prefix": secret_hash(token)[:12],
        "pin": pin,
        "expires_at": expires_at.isoformat(),
    }
    audit.append(
        connection,
        [audit.AuditEntry("wallet.offer_created", charter.charter_number, details, actor=actor)],
        now=now,
    )
    return Offer(
        offer_uri(issuer_url, token), code, expires_at, charter.credential_id, charter.charter_number
    )


def fetch_offer(connection: Connection, token: str, *, now: datetime) -> FetchedOffer | None:
    """The wallet's one GET of an offer URI: a new pre-authorized code, or None for a token that
    is unknown, expired or already fetched (alike)."""
    if len(token) > MAX_SECRET_LENGTH:
        return None
    row = connection.execute(
        select(wallet_offers.c.id, wallet_offers.c.credential_id, wallet_offers.c.pin_hash).where(
            wallet_offers.c.offer_hash == secret_hash(token),
            wallet_offers.c.fetched_at.is_(None),
            wallet_offers.c.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    code = _random_secret()
    done = connection.execute(
        update(wallet_offers)
        .where(wallet_offers.c.id == row.id, wallet_offers.c.fetched_at.is_(None))
        .values(fetched_at=now, code_hash=secret_hash(code), code_expires_at=now + CODE_LIFETIME)
    )
    if done.rowcount != 1:
        return None
    return FetchedOffer(str(row.credential_id), code, row.pin_hash is not None)


def redeem_code(
    connection: Connection, code: str, tx_code: str | None, *, now: datetime
) -> tuple[str, str] | Refusal:
    """The token endpoint's pre-authorized grant: ``(access token, credential id)``, or a
    :class:`Refusal` (``invalid_grant``: unknown, expired or used code, wrong PIN, too many
    attempts; ``invalid_request``: a PIN missing where one is needed, or given where none is).
    A wrong PIN is counted in the caller's transaction, which commits it with the answer."""
    if len(code) > MAX_SECRET_LENGTH:
        return Refusal("invalid_grant", "the pre-authorized code is not valid")
    query = select(
        wallet_offers.c.id,
        wallet_offers.c.credential_id,
        wallet_offers.c.pin_hash,
        wallet_offers.c.pin_failures,
        wallet_offers.c.code_expires_at,
    ).where(wallet_offers.c.code_hash == secret_hash(code), wallet_offers.c.code_used_at.is_(None))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None or _utc(row.code_expires_at) <= now:
        return Refusal("invalid_grant", "the pre-authorized code is unknown, expired or already used")
    if row.pin_hash is None and tx_code is not None:
        return Refusal("invalid_request", "this offer has no tx_code: send none")
    if row.pin_hash is not None:
        if tx_code is None:
            return Refusal("invalid_request", "this offer needs its tx_code (the PIN given with the offer)")
        if len(tx_code) > 2 * PIN_LENGTH or not _pin_matches(tx_code, row.pin_hash):
            failures = int(row.pin_failures) + 1
            values: dict[str, object] = {"pin_failures": failures}
            if failures >= PIN_ATTEMPTS:
                values["code_used_at"] = now  # the code is dead: the holder makes a new offer
            connection.execute(update(wallet_offers).where(wallet_offers.c.id == row.id).values(**values))
            left = max(0, PIN_ATTEMPTS - failures)
            return Refusal("invalid_grant", f"wrong tx_code ({left} attempts left)")
    token = _random_secret()
    done = connection.execute(
        update(wallet_offers)
        .where(wallet_offers.c.id == row.id, wallet_offers.c.code_used_at.is_(None))
        .values(code_used_at=now, token_hash=secret_hash(token), token_expires_at=now + TOKEN_LIFETIME)
    )
    if done.rowcount != 1:
        return Refusal("invalid_grant", "the pre-authorized code was already used")
    return token, str(row.credential_id)


def token_credential(connection: Connection, token: str, *, now: datetime) -> str | None:
    """The credential a live, unspent access token is for, or None."""
    if len(token) > MAX_SECRET_LENGTH:
        return None
    found = connection.execute(
        select(wallet_offers.c.credential_id).where(
            wallet_offers.c.token_hash == secret_hash(token),
            wallet_offers.c.token_expires_at > now,
            wallet_offers.c.issued_at.is_(None),
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def claim_token(connection: Connection, token: str, *, now: datetime) -> Claim | None:
    """Claim a live, unspent access token for one credential request (None: another request
    holds it, or it is spent or expired)."""
    if len(token) > MAX_SECRET_LENGTH:
        return None
    row = connection.execute(
        select(wallet_offers.c.id, wallet_offers.c.credential_id).where(
            wallet_offers.c.token_hash == secret_hash(token),
            wallet_offers.c.token_expires_at > now,
            wallet_offers.c.issued_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    free = wallet_offers.c.claimed_at.is_(None) | (wallet_offers.c.claimed_at < now - STALE_CLAIM)
    done = connection.execute(
        update(wallet_offers)
        .where(wallet_offers.c.id == row.id, wallet_offers.c.issued_at.is_(None), free)
        .values(claimed_at=now)
    )
    return Claim(int(row.id), str(row.credential_id)) if done.rowcount == 1 else None


def release_claim(connection: Connection, claim: Claim) -> None:
    """Give the token back after a request that issued nothing (the signer was down)."""
    connection.execute(
        update(wallet_offers).where(wallet_offers.c.id == claim.offer_id).values(claimed_at=None)
    )


def mark_issued(connection: Connection, claim: Claim, *, now: datetime) -> None:
    """The credential was handed out: the token is spent."""
    connection.execute(
        update(wallet_offers).where(wallet_offers.c.id == claim.offer_id).values(issued_at=now)
    )


def new_nonce(connection: Connection, *, now: datetime) -> str:
    """A fresh c_nonce (stored hashed); expired ones are deleted first, so the table stays small."""
    connection.execute(delete(wallet_nonces).where(wallet_nonces.c.expires_at <= now))
    nonce = _random_secret()
    connection.execute(
        insert(wallet_nonces).values(nonce_hash=secret_hash(nonce), expires_at=now + NONCE_LIFETIME)
    )
    return nonce


def take_nonce(connection: Connection, nonce: str, *, now: datetime) -> bool:
    """Use a c_nonce: True once for a live nonce we issued, False for any other."""
    if len(nonce) > MAX_SECRET_LENGTH:
        return False
    done = connection.execute(
        delete(wallet_nonces).where(
            wallet_nonces.c.nonce_hash == secret_hash(nonce), wallet_nonces.c.expires_at > now
        )
    )
    return done.rowcount == 1


def charter_standing(connection: Connection, credential_id: str, *, now: datetime) -> tuple[bool, str]:
    """Whether the charter may be handed to a wallet now, and its charter number."""
    charter = find_charter(connection, credential_id)
    current = is_current(charter.state, charter.valid_from, charter.valid_until, now)
    return current, charter_number(charter.holder_id)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
