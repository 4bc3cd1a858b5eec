"""Per-client rate limits of the web service, counted in memory or in Redis.

Two classes of request, each with two fixed windows per client address:

* ``verify``: ``POST /verify`` and ``POST /api/v1/verify`` (each costs a verification);
* ``read``: everything else (pages, the status API, hosted credentials, the DID document).

The counting is Flask-Limiter's engine, the :mod:`limits` library: its storages (``memory://``
by default; ``redis://HOST:PORT/DB`` so that every worker and machine shares one count) and its
fixed-window semantics (a window opens at a client's first request and lasts its length; at
most N requests are let through in it). The check is made once per request from one
``before_request`` hook with limits parsed at start-up and keys built by one f-string:
Flask-Limiter's per-route decorators resolve and parse limits on every request, which cost
more CPU than a cached verification itself.

A storage that fails at request time (Redis down, a timeout) never fails the request: the
count falls back to this process's memory with a logged warning, and the shared storage is
tried again after :data:`RETRY_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string

log = logging.getLogger("caiep.ratelimit")

#: How often the memory storage drops expired counts (inline, from a request).
SWEEP_SECONDS: Final = 10.0
#: How long a failed shared storage is left alone before it is tried again.
RETRY_SECONDS: Final = 30.0
#: A Redis server that does not answer within this many seconds counts as down.
STORAGE_TIMEOUT: Final = 0.5
VERIFY: Final = "verify"
READ: Final = "read"


@dataclass(frozen=True)
class Window:
    """At most ``amount`` requests per ``seconds`` (a fixed window)."""

    amount: int
    seconds: int


@dataclass(frozen=True)
class RateLimitSettings:
    """The limits per class of request, where they are counted, and the keys' prefix."""

    verify: tuple[Window, ...] = (Window(60, 10), Window(600, 60))
    read: tuple[Window, ...] = (Window(300, 10), Window(3000, 60))
    storage: str = "memory://"
    key_prefix: str = "caiep"


class InlineMemoryStorage(MemoryStorage):
    """limits' memory storage, dropping expired counts inline every :data:`SWEEP_SECONDS`.

    The parent starts a timer thread 10 ms after each hit that finds none running, to drop
    expired counts; under load that is a hundred thread starts a second in every worker, which
    cost more CPU than the counting. Here the same sweep runs from a request, at most once per
    :data:`SWEEP_SECONDS`; a count read after its window is dropped on the spot as before.
    """

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()
        self._sweep_at = time.monotonic() + SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the parent's private hook
        now = time.monotonic()
        if now >= self._sweep_at:
            self._sweep_at = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class RateLimiter:
    """Counts requests per client and class; :meth:`hit` says whether one may go ahead."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self._windows = {VERIFY: settings.verify, READ: settings.read}
        self._memory: Storage = InlineMemoryStorage()
        self._shared: Storage | None = None
        if not settings.storage.startswith("memory://"):
            shared = storage_from_string(
                settings.storage,
                wrap_exceptions=True,
                socket_timeout=STORAGE_TIMEOUT,
                socket_connect_timeout=STORAGE_TIMEOUT,
            )
            assert isinstance(shared, Storage), "a synchronous storage for a synchronous server"
            self._shared = shared
        self._storage: Storage = self._shared or self._memory
        self._retry_at = 0.0
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """True while the count is kept in the shared storage (not fallen back to memory)."""
        return self._shared is not None and self._storage is self._shared

    def hit(self, kind: str, client: str) -> int | None:
        """Count one request of ``kind`` from ``client``: None when it may go ahead, else the
        whole seconds until the fullest window reopens (for ``Retry-After``)."""
        if self._shared is not None and self._storage is not self._shared:
            self._maybe_recover()
        try:
            return self._hit(self._storage, kind, client)
        except StorageError as exc:
            if self._storage is self._memory:
                raise  # pragma: no cover - the memory storage does not fail
            self._fall_back(exc)
            return self._hit(self._memory, kind, client)

    def _hit(self, storage: Storage, kind: str, client: str) -> int | None:
        wait = 0.0
        prefix = self.settings.key_prefix
        for window in self._windows[kind]:
            key = f"{prefix}/{kind}/{client}/{window.amount}/{window.seconds}"
            # limits' fixed window: the count after this hit, the window opened by the first.
            if storage.incr(key, window.seconds) > window.amount:
                wait = max(wait, storage.get_expiry(key) - time.time())
        return None if wait == 0.0 else max(1, int(wait + 0.999))

    def _fall_back(self, exc: StorageError) -> None:
        with self._lock:
            if self._storage is self._memory:
                return
            self._storage = self._memory
            self._retry_at = time.monotonic() + RETRY_SECONDS
        log.warning(
            "rate limit storage %s failed (%s); counting in this process's memory, trying again in %d s",
            describe_storage(self.settings.storage),
            type(exc.storage_error).__name__,
            RETRY_SECONDS,
        )

    def _maybe_recover(self) -> None:
        if time.monotonic() < self._retry_at or not self._lock.acquire(blocking=False):
            return
        try:
            assert self._shared is not None
            self._retry_at = time.monotonic() + RETRY_SECONDS
            try:
                healthy = self._shared.check()
            except StorageError:
                healthy = False
            if healthy:
                self._storage = self._shared
                log.warning("rate limit storage %s answers again", describe_storage(self.settings.storage))
        finally:
            self._lock.release()


def describe_storage(uri: str) -> str:
    """A storage URL for the log, without any password: ``redis://127.0.0.1:6379/0``."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
