"""OpenID4VCI offers in the registry (SQLite and PostgreSQL, through ``database_url``): only
hashes of their secrets are stored, and each step (fetch, redeem, claim) is won once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from caiep.issuer import offers
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import IssuedCredential, Signer, issue_one
from caiep.issuer.registry import Registry

if TYPE_CHECKING:
    from conftest import Db

ISSUER = "https://credentials.caiep.example"


def charter(registry: Registry, signer: Signer, now: datetime) -> IssuedCredential:
    award = CharterAward("Ada Lovelace", "ada@example.org", (now - timedelta(days=30)).date(), "")
    return issue_one(registry, signer, award, now=now - timedelta(days=3))


def make(registry: Registry, credential_id: str, now: datetime, *, pin: bool = True) -> offers.Offer:
    with registry.write() as connection:
        return offers.create_offer(
            connection, credential_id, pin=pin, expires_in=timedelta(days=7), now=now, issuer_url=ISSUER
        )


def token_of(made: offers.Offer) -> str:
    [url] = parse_qs(urlsplit(made.offer_uri).query)["credential_offer_uri"]
    return url.rsplit("/", 1)[1]


def test_secrets_are_stored_as_hashes_and_each_step_is_won_once(
    registry: Registry, signer: Signer, db: Db, now: datetime
) -> None:
    issued = charter(registry, signer, now)
    made = make(registry, issued.credential_id, now)
    assert made.tx_code is not None
    offer_token = token_of(made)
    with registry.write() as connection:
        fetched = offers.fetch_offer(connection, offer_token, now=now)
        assert fetched is not None
        assert fetched.needs_pin
        assert offers.fetch_offer(connection, offer_token, now=now) is None
    with registry.write() as connection:
        redeemed = offers.redeem_code(connection, fetched.code, made.tx_code, now=now)
    assert isinstance(redeemed, tuple)
    access, credential_id = redeemed
    assert credential_id == issued.credential_id
    everything = repr(db.rows("SELECT * FROM wallet_offers"))
    for secret in (offer_token, fetched.code, access, made.tx_code):
        assert secret not in everything
    [(offer_hash, code_hash, token_hash)] = db.rows(
        "SELECT offer_hash, code_hash, token_hash FROM wallet_offers"
    )
    assert offer_hash == hashlib.sha256(offer_token.encode()).hexdigest()
    assert (code_hash, token_hash) == (offers.secret_hash(fetched.code), offers.secret_hash(access))
    with registry.write() as connection:
        claim = offers.claim_token(connection, access, now=now)
        assert claim is not None
        assert offers.claim_token(connection, access, now=now) is None  # held by the first request
        offers.release_claim(connection, claim)
        again = offers.claim_token(connection, access, now=now)
        assert again is not None
        offers.mark_issued(connection, again, now=now)
        assert offers.claim_token(connection, access, now=now) is None
        assert offers.token_credential(connection, access, now=now) is None


def test_a_nonce_is_used_once_and_expires(registry: Registry, now: datetime) -> None:
    with registry.write() as connection:
        first, second = offers.new_nonce(connection, now=now), offers.new_nonce(connection, now=now)
        assert offers.take_nonce(connection, first, now=now)
        assert not offers.take_nonce(connection, first, now=now)
        assert not offers.take_nonce(connection, second, now=now + offers.NONCE_LIFETIME)
        assert not offers.take_nonce(connection, "x" * 500, now=now)


def test_the_pin_is_counted_and_the_code_dies_at_the_limit(
    registry: Registry, signer: Signer, db: Db, now: datetime
) -> None:
    issued = charter(registry, signer, now)
    made = make(registry, issued.credential_id, now)
    with registry.write() as connection:
        fetched = offers.fetch_offer(connection, token_of(made), now=now)
    assert fetched is not None
    for attempt in range(1, offers.PIN_ATTEMPTS + 1):
        with registry.write() as connection:
            refused = offers.redeem_code(connection, fetched.code, "abc", now=now)
        assert refused == offers.Refusal(
            "invalid_grant", f"wrong tx_code ({offers.PIN_ATTEMPTS - attempt} attempts left)"
        )
        assert db.rows("SELECT pin_failures FROM wallet_offers") == [(attempt,)]
    with registry.write() as connection:
        late = offers.redeem_code(connection, fetched.code, made.tx_code, now=now)
    assert isinstance(late, offers.Refusal)
    assert late.error == "invalid_grant"
