"""The integrity cache reuses signature and key checks, never time, status or undecided answers."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from caiep.errors import ResolutionError
from caiep.issuer.charter import CharterAward, IssuerProfile
from caiep.issuer.issuance import issue_charter
from caiep.keys.did import build_controller_document, did_web_document_url, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.verifier.cache import IntegrityCache
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify

ISSUER = "did:web:credentials.caiep.example"


class CountingFetcher:
    """Serves the issuer's DID document and counts requests; can be told to fail."""

    def __init__(self, key: SigningKey) -> None:
        self.documents = {did_web_document_url(ISSUER): build_controller_document(ISSUER, [key.public_key])}
        self.requests = 0
        self.failing = False

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        self.requests += 1
        if self.failing:
            raise ResolutionError("down for the test", url=url)
        return self.documents[url]


def _signed(key: SigningKey, now, fmt: str = "ldp"):
    profile = IssuerProfile(
        id=ISSUER,
        name="Board",
        url="https://credentials.caiep.example",
        base_url="https://credentials.caiep.example",
    )
    signed = issue_charter(
        profile,
        CharterAward("Jane Doe", "jane@example.org", date(2026, 6, 1), "CAIEP-000001"),
        key,
        verification_method=verification_method_id(ISSUER, key.public_key),
        now=now,
        format=fmt,
    )
    return signed.token or signed.credential


def test_identical_bytes_reuse_the_integrity_checks(signing_key, now):
    fetcher, cache = CountingFetcher(signing_key), IntegrityCache()
    for fmt in ("ldp", "jwt"):
        credential = _signed(signing_key, now, fmt)
        first = verify(credential, now=now, fetcher=fetcher, cache=cache)
        requests = fetcher.requests
        second = verify(credential, now=now, fetcher=fetcher, cache=cache)
        assert first.to_json() == second.to_json()
        assert second.outcome is Outcome.VALID
        assert fetcher.requests == requests  # no key fetched the second time


def test_validity_is_always_checked_afresh(signing_key, now):
    cache = IntegrityCache()
    credential = _signed(signing_key, now)
    assert (
        verify(credential, now=now, fetcher=CountingFetcher(signing_key), cache=cache).verdict.value
        == "valid"
    )
    later = verify(
        credential, now=now + timedelta(days=6 * 366), fetcher=CountingFetcher(signing_key), cache=cache
    )
    assert later.verdict.value == "expired"


def test_undecided_answers_are_not_remembered(signing_key, now):
    fetcher, cache = CountingFetcher(signing_key), IntegrityCache()
    credential = _signed(signing_key, now)
    fetcher.failing = True
    assert verify(credential, now=now, fetcher=fetcher, cache=cache).outcome is Outcome.UNKNOWN
    fetcher.failing = False
    assert verify(credential, now=now, fetcher=fetcher, cache=cache).outcome is Outcome.VALID


def test_a_changed_credential_is_not_served_from_the_cache(signing_key, now):
    cache = IntegrityCache()
    credential = _signed(signing_key, now)
    verify(credential, now=now, fetcher=CountingFetcher(signing_key), cache=cache)
    changed = {**credential, "name": "Something else"}
    assert (
        verify(changed, now=now, fetcher=CountingFetcher(signing_key), cache=cache).outcome is Outcome.INVALID
    )


def test_entries_expire_after_their_time_to_live(signing_key, now):
    ticks = [0.0]
    fetcher, cache = CountingFetcher(signing_key), IntegrityCache(ttl=300, clock=lambda: ticks[0])
    credential = _signed(signing_key, now)
    verify(credential, now=now, fetcher=fetcher, cache=cache)
    fetched = fetcher.requests
    ticks[0] = 301.0
    verify(credential, now=now, fetcher=fetcher, cache=cache)
    assert fetcher.requests > fetched


def test_an_equal_credential_in_another_object_and_key_order_shares_the_entry(signing_key, now):
    fetcher, cache = CountingFetcher(signing_key), IntegrityCache()
    credential = _signed(signing_key, now)
    verify(credential, now=now, fetcher=fetcher, cache=cache)
    requests = fetcher.requests
    reordered = dict(reversed(list(copy.deepcopy(credential).items())))
    assert reordered is not credential
    assert verify(reordered, now=now, fetcher=fetcher, cache=cache).outcome is Outcome.VALID
    assert fetcher.requests == requests


def test_the_cache_keeps_verdicts_never_documents(signing_key, now):
    from caiep.verifier.inputs import Presented
    from caiep.verifier.result import Check
    from caiep.verifier.verify import _cache_key

    fetcher, cache = CountingFetcher(signing_key), IntegrityCache()
    for fmt in ("ldp", "jwt"):
        signed = _signed(signing_key, now, fmt)
        first = verify(signed, now=now, fetcher=fetcher, cache=cache)
        again = verify(signed, now=now, fetcher=fetcher, cache=cache)
        assert again.credential == first.credential
        assert again.outcome is Outcome.VALID
        item = Presented("jwt", None, signed) if fmt == "jwt" else Presented("ldp", signed)
        entry = cache.get(_cache_key(item))
        assert entry is not None
        assert all(isinstance(check, Check) for check in entry)  # the verdicts only, no document
