"""Remembered integrity checks: what depends only on a credential's bytes and its issuer's keys.

Structure, contexts and proof (with key provenance) give the same answer for the same bytes
as long as the issuer's DID document does not change, so a service that sees the same
credential again (the page behind a QR code is opened many times) may reuse them for a
while. Validity and status depend on the time and on the status list: they are always
checked afresh. Only verdicts are kept, never a parsed document (a few hundred bytes an
entry, whatever the credential's size): the credential comes from the bytes presented again.
Undecided answers (a key that could not be fetched) are never remembered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from caiep.caches import NamedCache
from caiep.verifier.result import Check, Outcome

Entry = tuple[Check, ...]


class IntegrityCache:
    """Integrity checks by credential digest: the ``integrity_checks`` cache (LRU with a lifetime).

    The lifetime is the same as cached DID documents' by default. ``ttl``, ``max_entries`` and
    ``max_bytes`` override the defaults of :data:`caiep.caches.CACHE_LIMITS`; ``clock`` is for
    tests.
    Keys are digests of the presented bytes (see ``verify``), so equal credentials share one
    entry. Safe to share between threads.
    """

    def __init__(
        self,
        *,
        ttl: float | None = None,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: NamedCache[str, Entry] = NamedCache(
            "integrity_checks", max_entries=max_entries, ttl=ttl, max_bytes=max_bytes, clock=clock
        )

    @property
    def ttl(self) -> float | None:
        """How long an entry is reused, in seconds."""
        return self._entries.ttl

    @property
    def max_entries(self) -> int:
        """How many credentials' checks are kept at most."""
        return self._entries.max_entries

    @property
    def max_bytes(self) -> int | None:
        """How many bytes of checks are kept at most."""
        return self._entries.max_bytes

    def get(self, key: str) -> Entry | None:
        """The integrity checks remembered for ``key`` while fresh, else None."""
        return self._entries.get(key)

    def put(self, key: str, checks: tuple[Check, ...]) -> None:
        """Remember decided checks for ``key``; a set with any undecided check is not kept."""
        if any(check.outcome is Outcome.UNKNOWN for check in checks):
            return
        self._entries.put(key, checks)
