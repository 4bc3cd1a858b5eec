"""The product's in-memory caches: each named, bounded, locked, and keyed by content or URL.

Every cache of the product is a :class:`NamedCache`. Its name picks its default limits from
:data:`CACHE_LIMITS` (the one table to read or to turn into settings), and each limit can be
overridden when the cache is built. A cache:

* holds at most ``max_entries`` entries; past that the least recently used one goes;
* where it holds values whose size the sender chooses (fetched documents) or many values of
  some size (integrity verdicts), holds at most ``max_bytes`` bytes as well, measured by
  :func:`deep_size` (or the cache's own size function): past that the least recently used
  entries go, and a value larger than the whole bound is not kept at all;
* forgets an entry ``ttl`` seconds after it was stored, when it has a lifetime (the integrity
  checks and fetched documents do: what they remember can change at its source);
* is safe to share between threads: one lock guards every read and write, and a value is
  computed outside the lock (two threads missing the same key may both compute it; the
  first one stored wins);
* is keyed by what the value depends on, never by the identity of an object: a URL, a
  digest of canonical JSON (:func:`content_digest`), a shape description, or an identifier
  that its producer never reuses. Two equal documents therefore share one entry.

``cachetools`` does the bookkeeping (``LRUCache``, ``TTLCache``); this module adds the names,
the limits table and the lock.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar

from cachetools import Cache, LRUCache, TTLCache

from caiep.errors import ConfigurationError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class CacheLimit:
    """The default limits of one named cache: entries, a lifetime in seconds (or None), what it
    holds, and bytes (or None where the entry count alone bounds it: small values of our own)."""

    max_entries: int
    ttl: float | None = None
    holds: str = ""
    max_bytes: int | None = None


MIB = 1_048_576


#: Default limits, by cache name. Each is a constructor parameter of the cache that uses it.
CACHE_LIMITS: Final[Mapping[str, CacheLimit]] = MappingProxyType(
    {
        "integrity_checks": CacheLimit(
            max_entries=10_000,
            ttl=300.0,
            holds="verifier: structure, context and proof checks of identical credential bytes",
            max_bytes=8 * MIB,
        ),
        "fetched_documents": CacheLimit(
            max_entries=1024,
            ttl=300.0,
            holds="verifier: DID documents, controller documents and status lists, by URL",
            max_bytes=8 * MIB,
        ),
        "fetch_failures": CacheLimit(
            max_entries=1024,
            ttl=30.0,
            holds="verifier: failed fetches, by URL, so a dead host is not asked again at once",
        ),
        "did_key_documents": CacheLimit(
            max_entries=4096, holds="verifier: did:key DID documents, by DID (a pure function of the DID)"
        ),
        "credential_shapes": CacheLimit(
            max_entries=512,
            holds="proofs: compiled credential shapes (JSON-LD expansion templates), per document loader",
            max_bytes=16 * MIB,
        ),
        "proof_configurations": CacheLimit(
            max_entries=256,
            holds="proofs: SHA-256 of canonical proof configurations, by canonical JSON digest",
        ),
        "shape_caches": CacheLimit(max_entries=16, holds="proofs: one shape cache per document loader"),
        "context_resolvers": CacheLimit(
            max_entries=16, holds="proofs: one pyld context resolver per document loader"
        ),
        "resolved_contexts": CacheLimit(
            max_entries=256, holds="proofs: resolved JSON-LD context documents, by URL, per document loader"
        ),
        "jsonld_contexts": CacheLimit(
            max_entries=4096, holds="proofs: processed JSON-LD contexts, by active context and local context"
        ),
        "rendered_certificates": CacheLimit(
            max_entries=256,
            holds="web: printable certificates (PDF) of current charters, by version and paper size",
            max_bytes=16 * MIB,
        ),
        "jsonld_iris": CacheLimit(
            max_entries=65_536, holds="proofs: expanded IRIs, by active context and term"
        ),
    }
)


class NamedCache(Generic[K, V]):
    """A bounded, thread-safe cache with a name; limits default to :data:`CACHE_LIMITS`.

    ``max_entries``, ``ttl`` and ``max_bytes`` override the table's defaults (``ttl`` in
    seconds; the table says which caches have a lifetime and which a byte bound). ``size``
    measures a value in bytes for the byte bound (default :func:`deep_size`). ``clock``
    (seconds, monotonic) is injectable for tests of lifetimes. Raises
    :class:`ConfigurationError` for an unknown name or a limit below 1 entry, 1 byte or 0
    seconds.
    """

    def __init__(
        self,
        name: str,
        *,
        max_entries: int | None = None,
        ttl: float | None = None,
        max_bytes: int | None = None,
        size: Callable[[V], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if name not in CACHE_LIMITS:
            raise ConfigurationError(f"there is no cache named {name!r}")
        limit = _configured.get(name) or CACHE_LIMITS[name]
        self.name = name
        self.max_entries = limit.max_entries if max_entries is None else max_entries
        self.ttl = limit.ttl if ttl is None else ttl
        self.max_bytes = limit.max_bytes if max_bytes is None else max_bytes
        _check(name, self.max_entries, self.ttl, self.max_bytes)
        self._size: Callable[[V], int] = size or deep_size
        self._clock = clock
        self._data: Cache[K, V] = self._storage()
        self._lock = threading.Lock()
        _live.add(self)

    def _storage(self) -> Cache[K, V]:
        """Empty cachetools storage with this cache's limits.

        With a byte bound, cachetools counts bytes (its ``maxsize`` is ``max_bytes`` and each
        value weighs its size) and :meth:`put` keeps the entry count; without, it counts entries.
        """
        if self.max_bytes is None:
            if self.ttl is None:
                return LRUCache(maxsize=self.max_entries)
            return TTLCache(maxsize=self.max_entries, ttl=self.ttl, timer=self._clock)
        if self.ttl is None:
            return LRUCache(maxsize=self.max_bytes, getsizeof=self._size)
        return TTLCache(maxsize=self.max_bytes, ttl=self.ttl, timer=self._clock, getsizeof=self._size)

    @property
    def bytes_held(self) -> int:
        """The size of the values held, in bytes (a byte-bounded cache), else the entry count."""
        with self._lock:
            return int(self._data.currsize)

    def set_limits(self, limit: CacheLimit) -> None:
        """Apply new limits (a lifetime of None keeps none); the entries held are dropped.

        A ``max_bytes`` of None keeps this cache's byte bound. Raises
        :class:`ConfigurationError` for a limit below 1 entry, 1 byte or 0 seconds.
        """
        max_bytes = self.max_bytes if limit.max_bytes is None else limit.max_bytes
        _check(self.name, limit.max_entries, limit.ttl, max_bytes)
        with self._lock:
            self.max_entries, self.ttl, self.max_bytes = limit.max_entries, limit.ttl, max_bytes
            self._data = self._storage()

    def get(self, key: K) -> V | None:
        """The value stored for ``key`` (now the most recently used), or None on a miss."""
        with self._lock:
            try:
                return self._data[key]
            except KeyError:
                return None

    def put(self, key: K, value: V) -> None:
        """Store ``value`` for ``key``, evicting the least recently used entries when full.

        A value larger than the whole byte bound is not kept (and an older value for ``key``
        is forgotten).
        """
        with self._lock:
            self._store(key, value)

    def _store(self, key: K, value: V) -> None:
        """Store under the lock: cachetools evicts by bytes (or entries), this by entries too."""
        try:
            self._data[key] = value
        except ValueError:  # cachetools: "value too large" for the whole cache
            self._data.pop(key, None)
            return
        if self.max_bytes is not None:
            while len(self._data) > self.max_entries:
                self._data.popitem()

    def __setitem__(self, key: K, value: V) -> None:
        """Mapping-style :meth:`put`, for libraries that take a cache object (pyld's resolver)."""
        self.put(key, value)

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The value for ``key``, computed by ``compute()`` (outside the lock) on a miss.

        When two threads miss at once both compute; the value stored first is kept and
        returned to both, so callers always share one value per key.
        """
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        with self._lock:
            try:
                return self._data[key]
            except KeyError:
                self._store(key, value)
                return value

    def values(self) -> list[V]:
        """A snapshot of the values held, least recently used first (for diagnostics and tests)."""
        with self._lock:
            return list(self._data.values())

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        """How many entries are held (expired ones may still count until next touched)."""
        with self._lock:
            return len(self._data)


# Every cache alive, so that limits read from settings reach the module-level ones too.
_live: weakref.WeakSet[NamedCache[Any, Any]] = weakref.WeakSet()
# Limits read from settings, by name: the defaults of caches built after they were applied.
_configured: dict[str, CacheLimit] = {}


def _check(name: str, max_entries: int, ttl: float | None, max_bytes: int | None = None) -> None:
    if max_entries < 1:
        raise ConfigurationError(f"the {name} cache must hold at least one entry")
    if ttl is not None and not ttl > 0:
        raise ConfigurationError(f"the {name} cache lifetime must be a positive number of seconds")
    if max_bytes is not None and max_bytes < 1:
        raise ConfigurationError(f"the {name} cache must hold at least one byte")


def apply_cache_limits(limits: Mapping[str, CacheLimit]) -> None:
    """Give every live cache of each named kind new limits, e.g. from settings at start-up.

    Names are those of :data:`CACHE_LIMITS`; an unknown name, or a limit below 1 entry, 1 byte
    or 0 seconds, is a :class:`ConfigurationError` and nothing is changed. Entries already held by
    the caches concerned are dropped. Caches built later take these limits too, unless their
    constructor is given others.
    """
    for name, limit in limits.items():
        if name not in CACHE_LIMITS:
            raise ConfigurationError(f"there is no cache named {name!r}")
        _check(name, limit.max_entries, limit.ttl, limit.max_bytes)
    _configured.update(limits)
    for cache in list(_live):
        if cache.name in limits:
            cache.set_limits(limits[cache.name])


def content_digest(value: Any) -> bytes:
    """SHA-256 of a JSON value's canonical form: sorted keys, no whitespace, UTF-8.

    Use it as a cache key for a document or any JSON-like value: equal values give equal
    digests whatever their key order or object identity. Compute it once per value on a hot
    path. NaN and infinities are spelled as Python's ``json`` spells them (a key needs only to
    be deterministic); raises TypeError for values JSON cannot hold.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).digest()


def deep_size(value: object) -> int:
    """Bytes a value takes in memory, its contents included: ``sys.getsizeof`` of every object
    reached through dicts, lists, tuples, sets and plain objects' attributes.

    The measure of byte-bounded caches. An object reached twice counts twice (the bound errs on
    the safe side); classes and enumeration members are shared by everyone, so they count
    nothing. Linear in the number of objects, with no recursion (any depth).
    """
    total = 0
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, type | Enum):
            continue
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.append(vars(item))
    return total
