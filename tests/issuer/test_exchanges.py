"""Learner Credential Wallet exchanges in the registry: opened only by the holder's page for their
own current charter, stored by hash, claimed once, expired, closed after refused attempts
(SQLite and PostgreSQL, through ``database_url``)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from caiep.issuer import changes, exchanges, holders
from caiep.issuer.changes import Wanted
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import Signer, issue_one
from caiep.issuer.records import IssuedCredential
from caiep.issuer.registry import Registry

if TYPE_CHECKING:
    from conftest import Db

LIFETIME = timedelta(minutes=15)


def _issue(
    registry: Registry, signer: Signer, when: datetime, email: str = "ada@example.org"
) -> IssuedCredential:
    return issue_one(
        registry, signer, CharterAward("Ada Lovelace", email, when.date(), "", score="88"), now=when
    )


def _token(registry: Registry, wanted: str, now: datetime) -> str:
    with registry.write() as connection:
        return holders.new_link(connection, wanted, rotate=False, actor="registrar", now=now).token


def _open(registry: Registry, token: str, credential_id: str, now: datetime) -> exchanges.NewExchange:
    with registry.write() as connection:
        return exchanges.open_for_holder(connection, token, credential_id, lifetime=LIFETIME, now=now)


def _find(registry: Registry, exchange_id: str, now: datetime) -> exchanges.Exchange | None:
    with registry.read() as connection:
        return exchanges.find(connection, exchange_id, now=now)


def test_an_exchange_is_stored_by_hash_with_its_challenge_and_expiry(
    registry: Registry, signer: Signer, db: Db, now: datetime
) -> None:
    issued = _issue(registry, signer, now - timedelta(days=3))
    opened = _open(registry, _token(registry, issued.credential_id, now), issued.credential_id, now)
    assert exchanges.EXCHANGE_ID.match(opened.exchange_id)
    assert opened.expires_at == now + LIFETIME
    [(stored, credential_id, state)] = db.rows("SELECT id_hash, credential_id, state FROM wallet_exchanges")
    assert stored == hashlib.sha256(opened.exchange_id.encode()).hexdigest()
    assert (credential_id, state) == (issued.credential_id, "open")
    assert opened.exchange_id not in repr(db.rows("SELECT * FROM wallet_exchanges"))
    found = _find(registry, opened.exchange_id, now)
    assert found is not None
    assert (found.challenge, found.state, found.expired) == (opened.challenge, "open", False)
    later = _find(registry, opened.exchange_id, now + LIFETIME)
    assert later is not None
    assert later.expired
    assert _find(registry, "A" * 43, now) is None
    assert _find(registry, opened.exchange_id + "x", now) is None


def test_only_the_holders_own_current_charter_opens_one(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    ada = _issue(registry, signer, now - timedelta(days=3))
    bob = _issue(registry, signer, now - timedelta(days=3), "bob@example.org")
    lapsed = _issue(registry, signer, now - timedelta(days=6 * 366), "cy@example.org")
    token = _token(registry, ada.credential_id, now)
    refusals = {
        "someone else's charter": (token, bob.credential_id),
        "an unknown token": ("B" * 43, ada.credential_id),
        "a malformed token": ("../x", ada.credential_id),
        "an unknown charter": (token, "00000000-0000-4000-8000-000000000000"),
    }
    for what, (given, credential_id) in refusals.items():
        with pytest.raises(exchanges.ExchangeRefused) as refused:
            _open(registry, given, credential_id, now)
        assert refused.value.code == "unknown_page", what
    with pytest.raises(exchanges.ExchangeRefused) as refused:
        _open(registry, _token(registry, lapsed.credential_id, now), lapsed.credential_id, now)
    assert refused.value.code == "not_current"
    with registry.write() as connection:
        changes.revoke(
            connection, [Wanted(ada.credential_id, "test")], signer, now=now,
            reason="Withdrawn", note=None, actor="registrar",
        )  # fmt: skip
    with pytest.raises(exchanges.ExchangeRefused) as refused:
        _open(registry, token, ada.credential_id, now)
    assert refused.value.code == "not_current"
    with registry.write() as connection, pytest.raises(ValueError, match="at most"):
        exchanges.open_for_holder(connection, token, ada.credential_id, lifetime=timedelta(days=2), now=now)


def test_an_exchange_is_claimed_once_released_when_nothing_was_issued_and_used_once(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    issued = _issue(registry, signer, now - timedelta(days=3))
    opened = _open(registry, _token(registry, issued.credential_id, now), issued.credential_id, now)
    key = opened.exchange_id
    with registry.write() as connection:
        assert exchanges.claim(connection, key, now=now)
        assert not exchanges.claim(connection, key, now=now)  # a second request loses
        exchanges.release(connection, key)  # the signer was down: the wallet may retry
        assert exchanges.claim(connection, key, now=now)
        exchanges.complete(
            connection, key, "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", now=now
        )
        assert not exchanges.claim(connection, key, now=now + timedelta(minutes=5))
    found = _find(registry, key, now)
    assert found is not None
    assert found.state == "used"


def test_a_stale_claim_may_be_taken_again_and_an_expired_exchange_never(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    issued = _issue(registry, signer, now - timedelta(days=3))
    token = _token(registry, issued.credential_id, now)
    stale = _open(registry, token, issued.credential_id, now).exchange_id
    expired = _open(registry, token, issued.credential_id, now).exchange_id
    with registry.write() as connection:
        assert exchanges.claim(connection, stale, now=now)
        assert not exchanges.claim(connection, stale, now=now + exchanges.CLAIM_TIMEOUT)
        assert exchanges.claim(connection, stale, now=now + exchanges.CLAIM_TIMEOUT + timedelta(seconds=1))
        assert not exchanges.claim(connection, expired, now=now + LIFETIME)


def test_refused_presentations_close_the_exchange(registry: Registry, signer: Signer, now: datetime) -> None:
    issued = _issue(registry, signer, now - timedelta(days=3))
    key = _open(registry, _token(registry, issued.credential_id, now), issued.credential_id, now).exchange_id
    with registry.write() as connection:
        counts = [exchanges.record_failure(connection, key, now=now) for _ in range(exchanges.MAX_FAILURES)]
        assert counts == list(range(1, exchanges.MAX_FAILURES + 1))
        assert not exchanges.claim(connection, key, now=now)
    found = _find(registry, key, now)
    assert found is not None
    assert found.state == "closed"


def test_a_charter_has_a_bounded_number_of_open_exchanges(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    issued = _issue(registry, signer, now - timedelta(days=3))
    token = _token(registry, issued.credential_id, now)
    for _ in range(exchanges.MAX_OPEN):
        _open(registry, token, issued.credential_id, now)
    with pytest.raises(exchanges.ExchangeRefused) as refused:
        _open(registry, token, issued.credential_id, now)
    assert refused.value.code == "too_many_open"
    assert _open(registry, token, issued.credential_id, now + LIFETIME).exchange_id  # once they expire
