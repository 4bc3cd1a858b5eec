"""The verifier's only way to the network: a ``Fetcher`` returns the JSON document at a URL.

The verifier dereferences three kinds of URL while checking a credential: did:web documents
(did:web method §"Read (Resolve)"), https controller documents for the Retrieve Verification
Method algorithm (Controlled Identifiers 1.0 §3.3) and status list credentials (Bitstring
Status List 1.0 §3.2 step 4). Every one of those URLs comes from the credential under test,
so from whoever wrote it: :class:`HttpFetcher` treats them as hostile (HTTPS only, no
redirects, no private or loopback addresses, size and time limits).

* :class:`HttpFetcher` – the network, guarded as above (:mod:`caiep.verifier.httpfetch`, with
  address vetting in :mod:`caiep.verifier.netguard`; both names are importable from here).
* :class:`MappingFetcher` – a fixed set of documents, for offline verification and tests.
* :class:`CachingFetcher` – wraps either with a bounded TTL cache (Bitstring Status List 1.0
  §3.2 and §6.3 ask verifiers to cache lists, which also hides retrieval from the issuer).

Every failure is a :class:`caiep.errors.ResolutionError` carrying the URL asked for.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from caiep.caches import NamedCache
from caiep.errors import ResolutionError
from caiep.verifier.httpfetch import ACCEPT, DEFAULT_MAX_BYTES, DEFAULT_USER_AGENT, HttpFetcher
from caiep.verifier.netguard import address_refusal

__all__ = [
    "ACCEPT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_USER_AGENT",
    "CachingFetcher",
    "Fetcher",
    "HttpFetcher",
    "LocalFirstFetcher",
    "MappingFetcher",
    "address_refusal",
]


class Fetcher(Protocol):
    """What the verifier needs from the network: the parsed JSON at a URL.

    Use it for did:web documents, https controller documents and status list credentials.
    ``get_json`` returns the parsed document or raises :class:`ResolutionError`; a
    ``timeout`` (seconds) asks it to give up sooner than its own limit, as a verification's
    time budget does (:mod:`caiep.verifier.budget`). A fetcher that never waits ignores it.
    """

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The JSON document at ``url``; :class:`ResolutionError` when it cannot be had."""
        ...


class MappingFetcher(Fetcher):
    """Serve a fixed set of documents by exact URL: offline verification and tests.

    A URL not in the set is a :class:`ResolutionError`, never a network request. Each call
    returns a fresh copy, so callers may modify what they get.
    """

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._documents = dict(documents)

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The document stored for ``url``; :class:`ResolutionError` if there is none."""
        try:
            document = self._documents[url]
        except KeyError:
            raise ResolutionError("the document is not in the offline set", url=url) from None
        return copy.deepcopy(document)


class CachingFetcher(Fetcher):
    """Remember what another fetcher returned for ``ttl`` seconds; failures are not cached.

    Bitstring Status List 1.0 §3.2 asks verifiers to cache status lists (fewer requests, and
    the issuer learns less about who verifies what). The documents live in the
    ``fetched_documents`` cache (:mod:`caiep.caches`): past ``max_entries`` documents or
    ``max_bytes`` bytes (measured in memory) the least recently used documents go, and a
    document bigger than the whole byte bound is not kept; ``ttl``, ``max_entries`` and
    ``max_bytes`` default to that cache's limits, and a limit below one entry, one byte or
    zero seconds is a :class:`ConfigurationError`. ``clock`` is injectable for tests.
    Safe to share between threads; two threads missing the same URL may both fetch it.
    """

    def __init__(
        self,
        inner: Fetcher,
        *,
        ttl: float | None = None,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._entries: NamedCache[str, Any] = NamedCache(
            "fetched_documents", max_entries=max_entries, ttl=ttl, max_bytes=max_bytes, clock=clock
        )

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The cached document for ``url`` while fresh, otherwise the inner fetcher's answer."""
        document = self._entries.get(url)
        if document is not None:
            return copy.deepcopy(document)
        fetched = self._inner.get_json(url, timeout=timeout)
        self._entries.put(url, copy.deepcopy(fetched))
        return fetched

    def clear(self) -> None:
        """Forget every cached document (e.g. after an issuer says a list changed)."""
        self._entries.clear()


class LocalFirstFetcher(Fetcher):
    """Serve some URLs from local documents and fetch every other one through ``fallback``.

    The verification service answers for its own issuer's DID document from memory instead
    of fetching itself over the network; everything else goes through the guarded fetcher.
    """

    def __init__(self, local: Callable[[], Mapping[str, Any]], fallback: Fetcher) -> None:
        self._local = local
        self._fallback = fallback

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The local document for ``url`` if there is one, else what ``fallback`` fetches."""
        documents = self._local()
        if url in documents:
            return copy.deepcopy(documents[url])
        return self._fallback.get_json(url, timeout=timeout)
