"""Per-client rate limits of the web service, with Flask-Limiter, counted in memory or in Redis.

Three classes of request, each with two fixed windows per client address:

* ``verify``: ``POST /verify`` and ``POST /api/v1/verify`` (each costs a verification);
* ``register``: lookups in the public register (``/register``, ``/api/v1/register``), stricter:
  the register answers questions about a person, it does not publish a list;
* ``read``: everything else (pages, the status API, hosted credentials, the DID document).

Besides these, :meth:`RateLimiter.hit_per_minute` counts against a limit of the caller's own
(an API key's rate for bulk register checks, keyed by the key's id), in the same storage.

The app's :class:`flask_limiter.Limiter` is configured from the settings: its storage
(``memory://`` by default; ``redis://HOST:PORT/DB`` so that every worker and machine shares one
count), the ``fixed-window`` strategy (a window opens at a client's first request and lasts its
length; at most N requests are let through in it) and the key prefix. Each request is counted
once, from the app's one ``before_request`` hook, through the Limiter's own strategy object
(:attr:`flask_limiter.Limiter.limiter`) with limit items parsed at start-up ("60 per 10
seconds"); the keys are Flask-Limiter's (``LIMITER/<prefix>/<client>/<class>/60/10/second``).
The Limiter's per-request hooks (route limits resolved, parsed and checked on every request,
window statistics kept for headers) are detached: with no limit to apply they still cost about
70 µs a request, a quarter of a cached verification, where the strategy's two hits cost 5 µs.

A storage that fails at request time (Redis down, a timeout) never fails the request: the
count falls back to this process's memory with a logged warning, and the shared storage is
tried again after :data:`RETRY_SECONDS`. (Flask-Limiter's own in-memory fallback lives in the
hooks detached above, so the fallback is kept here.)
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from flask import Flask, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from limits.strategies import RateLimiter as Strategy

log = logging.getLogger("caiep.ratelimit")

#: How often the memory storage drops expired counts (inline, from a request).
SWEEP_SECONDS: Final = 10.0
#: How long a failed shared storage is left alone before it is tried again.
RETRY_SECONDS: Final = 30.0
#: A Redis server that does not answer within this many seconds counts as down.
STORAGE_TIMEOUT: Final = 0.5
VERIFY: Final = "verify"
READ: Final = "read"
REGISTER: Final = "register"
_Hook = TypeVar("_Hook")
#: The storage scheme of :class:`InlineMemoryStorage`, which ``memory://`` is handed to Flask-Limiter as.
INLINE_MEMORY: Final = "caiep+memory"


@dataclass(frozen=True)
class Window:
    """At most ``amount`` requests per ``seconds`` (a fixed window)."""

    amount: int
    seconds: int

    def item(self) -> RateLimitItem:
        """The window as a limit item, from Flask-Limiter's notation: "60 per 10 seconds"."""
        return parse(f"{self.amount} per {self.seconds} seconds")


@dataclass(frozen=True)
class RateLimitSettings:
    """The limits per class of request, where they are counted, and the keys' prefix."""

    verify: tuple[Window, ...] = (Window(60, 10), Window(600, 60))
    read: tuple[Window, ...] = (Window(300, 10), Window(3000, 60))
    register: tuple[Window, ...] = (Window(5, 10), Window(20, 60))
    storage: str = "memory://"
    key_prefix: str = "caiep"


class InlineMemoryStorage(MemoryStorage):
    """limits' memory storage, dropping expired counts inline every :data:`SWEEP_SECONDS`.

    The parent starts a timer thread 10 ms after each hit that finds none running, to drop
    expired counts; under load that is a hundred thread starts a second in every worker, which
    cost more CPU than the counting. Here the same sweep runs from a request, at most once per
    :data:`SWEEP_SECONDS`; a count read after its window is dropped on the spot as before.
    Registered with limits as ``caiep+memory://``, so Flask-Limiter builds it from its URL.
    """

    STORAGE_SCHEME = [INLINE_MEMORY]  # noqa: RUF012 - read by limits' registry as the class is made

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self._sweep_at = time.monotonic() + SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the parent's private hook
        now = time.monotonic()
        if now >= self._sweep_at:
            self._sweep_at = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def client_address() -> str:
    """The client's address as the trusted proxies report it (after ProxyFix); the Limiter's key."""
    return request.remote_addr or "-"


def _storage_url(storage: str) -> str:
    return f"{INLINE_MEMORY}://" if storage.startswith("memory://") else storage


class RateLimiter:
    """Counts requests per client and class; :meth:`hit` says whether one may go ahead.

    :attr:`extension` is the app's Flask-Limiter, configured at construction and attached by
    :meth:`init_app`.
    """

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self._items = {
            VERIFY: tuple(w.item() for w in settings.verify),
            READ: tuple(w.item() for w in settings.read),
            REGISTER: tuple(w.item() for w in settings.register),
        }
        self._is_memory = settings.storage.startswith("memory://")
        # Passed to the storage's constructor (Flask-Limiter's annotation says str | int only).
        options: dict[str, Any] = {}
        if not self._is_memory:
            options = {
                "wrap_exceptions": True,  # any Redis error raised as limits' StorageError
                "socket_timeout": STORAGE_TIMEOUT,
                "socket_connect_timeout": STORAGE_TIMEOUT,
            }
        self.extension = Limiter(
            key_func=client_address,
            storage_uri=_storage_url(settings.storage),
            storage_options=options,
            strategy="fixed-window",
            key_prefix=settings.key_prefix,
            headers_enabled=False,
        )
        self._memory: Strategy = FixedWindowRateLimiter(InlineMemoryStorage())
        self._shared: Strategy | None = None
        self._strategy: Strategy = self._memory
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        """Attach the Limiter to ``app`` (storage connected, strategy built), minus its hooks."""
        self.extension.init_app(app)
        _detach_hooks(app, self.extension)
        strategy = self.extension.limiter  # bound to the storage built from the settings
        if self._is_memory:
            self._memory = self._strategy = strategy
        else:
            self._shared = self._strategy = strategy

    @property
    def shared(self) -> bool:
        """True while the count is kept in the shared storage (not fallen back to memory)."""
        return self._shared is not None and self._strategy is self._shared

    def hit(self, kind: str, client: str) -> int | None:
        """Count one request of ``kind`` from ``client``: None when it may go ahead, else the
        whole seconds until the fullest window reopens (for ``Retry-After``)."""
        return self._count(self._items[kind], kind, client)

    def hit_per_minute(self, scope: str, client: str, amount: int) -> int | None:
        """Count one request of ``client`` against its own limit of ``amount`` a minute (an API
        key's rate, from its record), in the same storage as the classes: None when it may go
        ahead, else the whole seconds until the window reopens."""
        return self._count((_per_minute(amount),), scope, client)

    def _count(self, items: tuple[RateLimitItem, ...], scope: str, client: str) -> int | None:
        if self._shared is not None and self._strategy is not self._shared:
            self._maybe_recover()
        try:
            return self._hit(self._strategy, items, scope, client)
        except StorageError as exc:
            if self._strategy is self._memory:
                raise  # pragma: no cover - the memory storage does not fail
            self._fall_back(exc)
            return self._hit(self._memory, items, scope, client)

    def _hit(
        self, strategy: Strategy, items: tuple[RateLimitItem, ...], scope: str, client: str
    ) -> int | None:
        wait = 0.0
        prefix = self.settings.key_prefix
        for item in items:
            # Flask-Limiter's key arguments: its prefix, the client's key, the scope.
            if not strategy.hit(item, prefix, client, scope):
                reset_at = strategy.get_window_stats(item, prefix, client, scope).reset_time
                wait = max(wait, reset_at - time.time())
        return None if wait == 0.0 else max(1, int(wait + 0.999))

    def _fall_back(self, exc: StorageError) -> None:
        with self._lock:
            if self._strategy is self._memory:
                return
            self._strategy = self._memory
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
                healthy = self.extension.storage.check()
            except StorageError:
                healthy = False
            if healthy:
                self._strategy = self._shared
                log.warning("rate limit storage %s answers again", describe_storage(self.settings.storage))
        finally:
            self._lock.release()


@functools.lru_cache(maxsize=256)
def _per_minute(amount: int) -> RateLimitItem:
    return Window(amount, 60).item()


def _detach_hooks(app: Flask, extension: Limiter) -> None:
    """Take the Limiter's own before/after/teardown request hooks off ``app`` (see the module's text)."""
    _drop_hooks(app.before_request_funcs.get(None), extension)
    _drop_hooks(app.after_request_funcs.get(None), extension)
    _drop_hooks(app.teardown_request_funcs.get(None), extension)


def _drop_hooks(hooks: list[_Hook] | None, extension: Limiter) -> None:
    if hooks:
        hooks[:] = [hook for hook in hooks if not _belongs_to(hook, extension)]


def _belongs_to(hook: object, extension: Limiter) -> bool:
    """A bound method of ``extension`` or a partial over it (Flask-Limiter's header hook)."""
    if isinstance(hook, functools.partial):
        return any(arg is extension for arg in hook.args)
    return getattr(hook, "__self__", None) is extension


def describe_storage(uri: str) -> str:
    """A storage URL for the log, without any password: ``redis://127.0.0.1:6379/0``."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
