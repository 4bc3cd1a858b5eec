"""The named caches: bounded, locked, expiring where they must, and keyed by content."""

from __future__ import annotations

import copy
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from caiep.caches import (
    CACHE_LIMITS,
    MIB,
    CacheLimit,
    NamedCache,
    apply_cache_limits,
    content_digest,
    deep_size,
)
from caiep.errors import ConfigurationError
from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.proofs import dataintegrity, rdf
from caiep.proofs.shapes import BYTES_PER_SHAPE_TOKEN, ShapeCache
from caiep.schemas.loader import document_loader
from caiep.settings import read_configuration
from support import FIXED_NOW


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_every_named_limit_builds_a_cache_with_that_limit() -> None:
    for name, limit in CACHE_LIMITS.items():
        cache: NamedCache[str, int] = NamedCache(name)
        assert (cache.name, cache.max_entries, cache.ttl) == (name, limit.max_entries, limit.ttl)
    assert NamedCache("credential_shapes", max_entries=7).max_entries == 7
    assert NamedCache("fetched_documents", ttl=5).ttl == 5


@pytest.mark.parametrize(
    ("name", "options"),
    [("no_such_cache", {}), ("jsonld_iris", {"max_entries": 0}), ("integrity_checks", {"ttl": 0})],
)
def test_unknown_names_and_impossible_limits_are_configuration_errors(
    name: str, options: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        NamedCache(name, **options)


def test_inserting_past_the_limit_evicts_the_least_recently_used() -> None:
    cache: NamedCache[str, int] = NamedCache("credential_shapes", max_entries=3)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(key, value)
    assert cache.get("a") == 1  # now the most recently used
    cache.put("d", 4)
    assert len(cache) == 3
    assert cache.get("b") is None
    assert [cache.get(key) for key in ("a", "c", "d")] == [1, 3, 4]


def test_entries_with_a_lifetime_expire() -> None:
    clock = Clock()
    cache: NamedCache[str, str] = NamedCache("fetched_documents", ttl=60, clock=clock)
    cache.put("https://issuer.example/list", "list")
    clock.now += 59.9
    assert cache.get("https://issuer.example/list") == "list"
    clock.now += 0.1
    assert cache.get("https://issuer.example/list") is None


def test_get_or_compute_computes_once_per_key() -> None:
    cache: NamedCache[str, list[int]] = NamedCache("did_key_documents")
    calls: list[str] = []
    first = cache.get_or_compute("did:key:z1", lambda: calls.append("z1") or [1])
    again = cache.get_or_compute("did:key:z1", lambda: calls.append("again") or [2])
    assert first is again
    assert calls == ["z1"]


def test_threads_sharing_a_cache_never_break_it_or_its_bound() -> None:
    cache: NamedCache[int, int] = NamedCache("jsonld_iris", max_entries=50)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(3000):
                key = (seed * 7919 + i * 104729) % 200
                value = cache.get_or_compute(key, lambda key=key: key * key)
                assert value == key * key
                cache.put(key, key * key)
                if i % 500 == 0:
                    assert len(cache) <= 50
        except BaseException as exc:  # reported after the threads join
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 50
    assert all(value in {k * k for k in range(200)} for value in cache.values())


def test_threads_missing_the_same_key_at_once_share_one_value() -> None:
    cache: NamedCache[str, object] = NamedCache("proof_configurations")
    barrier = threading.Barrier(6)

    def compute() -> object:
        barrier.wait()  # every thread has missed before any stores
        return object()

    with ThreadPoolExecutor(max_workers=6) as pool:
        values = list(pool.map(lambda _: cache.get_or_compute("same", compute), range(6)))
    assert all(value is values[0] for value in values)


def test_the_digest_depends_on_content_only() -> None:
    one = {"type": ["VerifiableCredential"], "issuer": {"id": "did:web:a", "name": "A"}}
    reordered = {"issuer": {"name": "A", "id": "did:web:a"}, "type": ["VerifiableCredential"]}
    assert content_digest(one) == content_digest(reordered) == content_digest(copy.deepcopy(one))
    assert content_digest(one) != content_digest({**one, "issuer": "did:web:a"})


def _charter(number: int) -> dict[str, Any]:
    profile = IssuerProfile(
        "did:web:issuer.example", "Board", "https://issuer.example", "https://issuer.example"
    )
    award = CharterAward("Jane Doe", "jane@example.org", date(2026, 6, 1), f"CAIEP-{number:06d}")
    return build_charter_credential(
        profile, award, credential_uuid=f"{number:032x}", now=FIXED_NOW, salt=f"{number:016x}"
    )


def test_equal_documents_share_one_shape_whatever_the_object() -> None:
    cache = ShapeCache(document_loader)
    document = _charter(1)
    first = cache.to_quads(document)
    assert cache.to_quads(copy.deepcopy(document)) == first
    assert cache.to_quads(dict(reversed(list(document.items())))) == first
    assert cache.shape_count() == 1


def test_equal_proof_configurations_share_one_entry() -> None:
    config = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": datetime(2031, 1, 2, 3, 4, 5).isoformat() + "Z",
        "verificationMethod": "did:web:cache-test.example#key-1",
        "proofPurpose": "assertionMethod",
        "@context": ["https://www.w3.org/ns/credentials/v2"],
    }
    document = {k: v for k, v in _charter(2).items() if k != "proof"}
    dataintegrity.hash_data(document, config)
    held = len(dataintegrity._proof_hashes)
    for _ in range(3):
        dataintegrity.hash_data(document, copy.deepcopy(config))
    dataintegrity.hash_data(document, dict(reversed(list(config.items()))))
    assert len(dataintegrity._proof_hashes) == held


def test_inline_contexts_are_remembered_by_content_not_by_object() -> None:
    document = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            {"caiepNote": {"@id": "https://cache-test.example/vocab#note"}},
        ],
        "type": ["VerifiableCredential"],
        "issuer": "did:web:cache-test.example",
        "credentialSubject": {"caiepNote": "remembered by content"},
    }
    expected = rdf.to_quads(document)
    held = len(rdf._contexts)
    for _ in range(5):
        assert rdf.to_quads(copy.deepcopy(document)) == expected
    assert len(rdf._contexts) == held


def test_limits_from_settings_reach_caches_already_built() -> None:
    shapes = ShapeCache(document_loader, max_shapes=100)
    shapes.to_quads(_charter(3))
    built_here: NamedCache[str, int] = NamedCache("credential_shapes")
    apply_cache_limits({"credential_shapes": CacheLimit(max_entries=2)})
    try:
        assert shapes.shape_count() == 0  # entries dropped with the old limits
        for key in "abc":
            built_here.put(key, 1)
        assert len(built_here) == 2
        with pytest.raises(ConfigurationError):
            apply_cache_limits({"credential_shapes": CacheLimit(max_entries=0)})
        with pytest.raises(ConfigurationError):
            apply_cache_limits({"no_such_cache": CacheLimit(max_entries=5)})
        assert built_here.max_entries == 2
    finally:
        apply_cache_limits({"credential_shapes": CACHE_LIMITS["credential_shapes"]})


# --- byte bounds --------------------------------------------------------------------------------


def test_the_caches_that_hold_strangers_documents_or_many_verdicts_have_a_byte_bound() -> None:
    assert NamedCache("fetched_documents").max_bytes == CACHE_LIMITS["fetched_documents"].max_bytes == 8 * MIB
    assert NamedCache("integrity_checks").max_bytes == 8 * MIB
    assert NamedCache("jsonld_iris").max_bytes is None  # our own small values: entries bound it
    with pytest.raises(ConfigurationError):
        NamedCache("fetched_documents", max_bytes=0)


def test_inserting_past_the_byte_bound_evicts_the_least_recently_used() -> None:
    cache: NamedCache[str, str] = NamedCache("fetched_documents", max_bytes=10_000, size=len)
    for key in "abcd":
        cache.put(key, key * 3000)
    assert len(cache) == 3  # a 4th 3,000-byte value would make 12,000
    assert cache.get("a") is None
    assert cache.get("b") == "b" * 3000  # now the most recently used
    cache.put("e", "e" * 5000)  # 14,000: c, then d, go
    assert [key for key in "bcde" if cache.get(key) is not None] == ["b", "e"]
    assert cache.bytes_held == 8000 <= cache.max_bytes


def test_a_value_bigger_than_the_whole_bound_is_not_kept() -> None:
    cache: NamedCache[str, str] = NamedCache("fetched_documents", max_bytes=10_000, size=len)
    cache.put("small", "s" * 100)
    cache.put("huge", "h" * 10_001)
    assert cache.get("huge") is None
    assert cache.get("small") == "s" * 100  # nothing was evicted for it
    cache.put("small", "x" * 20_000)  # a new value too big for the bound: the old one goes too
    assert cache.get("small") is None
    assert len(cache) == 0
    assert cache.bytes_held == 0


def test_the_entry_bound_still_holds_under_a_byte_bound() -> None:
    cache: NamedCache[int, str] = NamedCache("fetched_documents", max_entries=3, max_bytes=1_000_000)
    for key in range(10):
        cache.put(key, "v")
    assert len(cache) == 3
    assert [cache.get(key) for key in (7, 8, 9)] == ["v", "v", "v"]


def test_deep_size_counts_what_a_document_holds() -> None:
    small = {"id": "did:web:issuer.example", "verificationMethod": [{"id": "#k"}]}
    big = {**small, "padding": ["x" * 100 for _ in range(1000)]}
    assert deep_size(small) > sys.getsizeof(small)
    assert deep_size(big) > 100 * 1000  # the thousand strings, not the outer dict's 200 bytes
    nested: list[Any] = []
    for _ in range(100_000):  # deeper than Python's recursion limit
        nested = [nested]
    assert deep_size(nested) >= 100_000 * sys.getsizeof([])


def test_threads_sharing_a_byte_bounded_cache_never_break_its_bounds() -> None:
    cache: NamedCache[int, str] = NamedCache("fetched_documents", max_entries=40, max_bytes=20_000, size=len)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(3000):
                key = (seed * 7919 + i * 104729) % 100
                cache.put(key, str(key) * (1 + key * 3))  # 1 to ~600 bytes, by key
                found = cache.get(key)
                assert found is None or found == str(key) * (1 + key * 3)
        except BaseException as exc:  # reported after the threads join
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    held = cache.values()
    assert len(held) <= 40
    assert cache.bytes_held == sum(len(value) for value in held) <= 20_000


def test_byte_limits_from_settings_reach_caches_already_built() -> None:
    built: NamedCache[str, str] = NamedCache("fetched_documents", size=len)
    limits = read_configuration(Path("/nonexistent"), environ={"CAIEP_CACHE_FETCHED_DOCUMENTS_BYTES": "5000"})
    apply_cache_limits({"fetched_documents": limits.cache_limits()["fetched_documents"]})
    try:
        assert built.max_bytes == 5000
        built.put("a", "a" * 4000)
        built.put("b", "b" * 4000)
        assert built.get("a") is None
        assert built.get("b") is not None
    finally:
        apply_cache_limits({"fetched_documents": CACHE_LIMITS["fetched_documents"]})


def test_compiled_shapes_are_bounded_in_bytes_by_their_length() -> None:
    documents = []
    for extra in range(4):  # four shapes: a charter with 0 to 3 more evidence items
        document = _charter(extra)
        document["evidence"] = [
            *document.get("evidence", []),
            *([{"type": ["Evidence"], "name": "e"}] * extra),
        ]
        documents.append(document)
    measure = ShapeCache(document_loader)
    for document in documents:
        measure.to_quads(document)
    sizes = [BYTES_PER_SHAPE_TOKEN * len(family.shape) for family in measure._families.values()]
    assert len(sizes) == 4
    room = sizes[-1] + sizes[-2]  # the two newest shapes fit, three never do
    apply_cache_limits({"credential_shapes": CacheLimit(max_entries=512, max_bytes=room)})
    try:
        cache = ShapeCache(document_loader)
        for document in documents:
            assert cache.to_quads(document) == measure.to_quads(document)
        assert cache.shape_count() == 2
        assert cache._families.bytes_held == room
    finally:
        apply_cache_limits({"credential_shapes": CACHE_LIMITS["credential_shapes"]})
