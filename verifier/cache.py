"""Remembered integrity checks: what depends only on a credential's bytes and its issuer's keys.

Structure, contexts and proof (with key provenance) give the same answer for the same bytes
as long as the issuer's DID document does not change, so a service that sees the same
credential again (the page behind a QR code is opened many times) may reuse them for a
while. Validity and status depend on the time and on the status list: they are always
checked afresh. Undecided answers (a key that could not be fetched) are never remembered.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from caiep.verifier.result import Check, Outcome

Entry = tuple[tuple[Check, ...], dict[str, Any] | None]


class IntegrityCache:
    """An LRU of integrity checks with a time to live (the same TTL as cached DID documents)."""

    def __init__(
        self, *, ttl: float = 300.0, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Entry]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            stored_at, entry = found
            if self._clock() - stored_at > self.ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, checks: tuple[Check, ...], credential: dict[str, Any] | None) -> None:
        if any(check.outcome is Outcome.UNKNOWN for check in checks):
            return
        with self._lock:
            self._entries[key] = (self._clock(), (checks, credential))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
