"""CachingFetcher and LocalFirstFetcher: what the verifier remembers and what it answers locally."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caiep.errors import ConfigurationError, ResolutionError
from caiep.verifier.fetch import CachingFetcher, Fetcher, LocalFirstFetcher, MappingFetcher

# --- CachingFetcher -------------------------------------------------------------------------


class CountingFetcher:
    """Answers every URL with a small document; fails URLs listed in ``failing`` once each."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.calls: list[str] = []
        self.failing = set(failing or ())

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        self.calls.append(url)
        if url in self.failing:
            self.failing.discard(url)
            raise ResolutionError("unreachable", url=url)
        return {"url": url, "n": len(self.calls)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(inner: Fetcher, clock: Callable[[], float], **options: Any) -> CachingFetcher:
    return CachingFetcher(inner, clock=clock, **options)


def test_cache_hits_until_the_entry_expires() -> None:
    inner, clock = CountingFetcher(), Clock()
    cache = _cache(inner, clock, ttl=60)
    first = cache.get_json("https://a.example/list")
    clock.now += 59.9
    assert cache.get_json("https://a.example/list") == first
    assert len(inner.calls) == 1
    clock.now += 0.1
    assert cache.get_json("https://a.example/list")["n"] == 2
    assert len(inner.calls) == 2


def test_cache_keeps_successes_only() -> None:
    inner = CountingFetcher(failing={"https://a.example/list"})
    cache = _cache(inner, Clock())
    with pytest.raises(ResolutionError):
        cache.get_json("https://a.example/list")
    assert cache.get_json("https://a.example/list")["n"] == 2
    assert cache.get_json("https://a.example/list")["n"] == 2
    assert len(inner.calls) == 2


def test_cache_evicts_the_least_recently_used() -> None:
    inner = CountingFetcher()
    cache = _cache(inner, Clock(), max_entries=2)
    for url in ("https://a.example/", "https://b.example/", "https://a.example/", "https://c.example/"):
        cache.get_json(url)
    assert len(inner.calls) == 3
    cache.get_json("https://a.example/")
    assert len(inner.calls) == 3
    cache.get_json("https://b.example/")
    assert inner.calls[-1] == "https://b.example/"
    assert len(inner.calls) == 4


def test_cached_documents_cannot_be_changed_by_callers() -> None:
    cache = _cache(CountingFetcher(), Clock())
    cache.get_json("https://a.example/")["url"] = "changed"
    cache.get_json("https://a.example/")["url"] = "changed again"
    assert cache.get_json("https://a.example/")["url"] == "https://a.example/"


def test_cache_clear_forgets_everything() -> None:
    inner = CountingFetcher()
    cache = _cache(inner, Clock())
    cache.get_json("https://a.example/")
    cache.clear()
    cache.get_json("https://a.example/")
    assert len(inner.calls) == 2


@pytest.mark.parametrize("options", [{"ttl": 0}, {"ttl": -1}, {"max_entries": 0}])
def test_bad_cache_settings_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CachingFetcher(CountingFetcher(), **options)


# --- LocalFirstFetcher -----------------------------------------------------------------------


def test_local_documents_are_answered_without_asking_the_network() -> None:
    network = CountingFetcher()
    own = {
        "https://credentials.caiep.example/.well-known/did.json": {"id": "did:web:credentials.caiep.example"}
    }
    fetcher = LocalFirstFetcher(lambda: own, network)
    document = fetcher.get_json("https://credentials.caiep.example/.well-known/did.json")
    assert document == {"id": "did:web:credentials.caiep.example"}
    assert network.calls == []
    document["id"] = "changed"  # callers get copies
    assert (
        own["https://credentials.caiep.example/.well-known/did.json"]["id"]
        == "did:web:credentials.caiep.example"
    )


def test_every_other_url_goes_through_the_fallback() -> None:
    network = CountingFetcher()
    fetcher = LocalFirstFetcher(lambda: {}, network)
    assert (
        fetcher.get_json("https://other.example/.well-known/did.json")["url"]
        == "https://other.example/.well-known/did.json"
    )
    assert network.calls == ["https://other.example/.well-known/did.json"]
    with pytest.raises(ResolutionError):
        LocalFirstFetcher(lambda: {}, MappingFetcher({})).get_json("https://nowhere.example/x")


def test_a_document_bigger_than_the_byte_bound_is_fetched_each_time_never_kept() -> None:
    class Sized(CountingFetcher):
        def get_json(self, url: str, timeout: float | None = None) -> Any:
            document = super().get_json(url)
            return {**document, "padding": "x" * 50_000} if url.endswith("/big") else document

    inner = Sized()
    cache = _cache(inner, Clock(), max_bytes=20_000)
    for _ in range(3):
        assert cache.get_json("https://issuer.example/big")["padding"] == "x" * 50_000
        assert cache.get_json("https://issuer.example/small")["url"] == "https://issuer.example/small"
    assert inner.calls.count("https://issuer.example/big") == 3
    assert inner.calls.count("https://issuer.example/small") == 1
