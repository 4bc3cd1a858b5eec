"""The time budget of one verification: a deadline, and a fetcher that works within it.

Everything in a verification that can wait is bounded by one :class:`Deadline`: each fetch is
given the time that is left (``Fetcher.get_json(url, timeout=...)``), the documents a step
needs are fetched at once (:meth:`BudgetFetcher.fetch_all`, a few threads), and our RDFC
canonicaliser stops when the deadline passes (:func:`caiep.proofs.rdfc.canonicalize`). When the
budget runs out, :class:`caiep.errors.TimeBudgetExceeded` is raised and the check that was
running says "cannot be verified: took too long" (outcome ``unknown``, code ``took_too_long``):
a slow or silent host can delay an answer by the budget at most, never hold a worker until
its server kills it.

Nothing here reads settings: the budget in seconds arrives from the entry points (the
``verify_time_budget`` setting).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from caiep.errors import ResolutionError, TimeBudgetExceeded
from caiep.verifier.fetch import Fetcher
from caiep.verifier.result import Check, Outcome

if TYPE_CHECKING:
    from concurrent.futures import Future

#: Most threads one verification fetches with at once (a credential names at most four status
#: lists and four proofs, see :mod:`caiep.verifier.limits`).
MAX_FETCH_THREADS = 4
TOOK_TOO_LONG = TimeBudgetExceeded.code


class Deadline:
    """The moment a verification must stop waiting: ``seconds`` from now on ``clock``.

    Use one per verification, made where the request arrives. ``clock`` (monotonic seconds) is
    injectable for tests.
    """

    __slots__ = ("_clock", "_end", "seconds")

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not seconds > 0:
            raise ValueError("a time budget must be a positive number of seconds")
        self.seconds = float(seconds)
        self._clock = clock
        self._end = clock() + self.seconds

    def remaining(self) -> float:
        """Seconds left, 0 once the deadline has passed."""
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self._clock() >= self._end

    def check(self) -> None:
        """Raise :class:`TimeBudgetExceeded` once the deadline has passed."""
        if self.expired():
            raise TimeBudgetExceeded(self.seconds)


def fetch_all(fetcher: Fetcher | None, urls: Iterable[object]) -> None:
    """Start fetching the documents at ``urls`` at once when ``fetcher`` is a :class:`BudgetFetcher`.

    Items that are not URLs (None, a malformed entry's value) are skipped: the step that
    needs them says what is wrong with them.
    """
    if isinstance(fetcher, BudgetFetcher):
        fetcher.fetch_all(url for url in urls if isinstance(url, str) and url)


def took_too_long(name: str) -> Check:
    """The ``unknown`` check of a verification step that ran out of time."""
    return Check(name, Outcome.UNKNOWN, TOOK_TOO_LONG, TimeBudgetExceeded(0).message)


class BudgetFetcher(Fetcher):
    """One verification's fetcher: every fetch within ``deadline``, several documents at once.

    ``get_json`` gives ``inner`` the time that is left (or its own ``timeout`` when that is
    shorter); a fetch that fails once the deadline has passed, or is not even started before
    it, raises :class:`TimeBudgetExceeded` rather than the fetch's own error. ``fetch_all``
    fetches the documents one step needs in up to :data:`MAX_FETCH_THREADS` threads (threads
    only when there are two or more: one document is fetched in the caller's thread) and
    keeps each answer for the next ``get_json`` of its URL. With ``deadline`` None only the
    inner fetcher's own time limits apply.
    """

    def __init__(self, inner: Fetcher, deadline: Deadline | None) -> None:
        self.inner = inner
        self.deadline = deadline
        self._ready: dict[str, Future[Any]] = {}

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The document at ``url``: the answer ``fetch_all`` has for it, else fetched now."""
        ready = self._ready.pop(url, None)
        if ready is not None:
            return self._outcome(ready)
        return self._fetch(url, timeout)

    def fetch_all(self, urls: Iterable[str]) -> None:
        """Start fetching ``urls`` at once; ``get_json`` of each then waits for its answer.

        ``get_json`` waits at most until the deadline; a fetch still running then ends on its
        own timeout (the time that was left when it started), in its own thread.
        """
        pending = [url for url in dict.fromkeys(urls) if url not in self._ready]
        if len(pending) < 2:
            return  # one document is fetched by get_json itself, with no thread
        from concurrent.futures import ThreadPoolExecutor  # loaded only when there is work for it

        executor = ThreadPoolExecutor(max_workers=min(MAX_FETCH_THREADS, len(pending)))
        try:
            futures = {url: executor.submit(self._fetch, url, None) for url in pending}
        finally:
            executor.shutdown(wait=False)
        self._ready.update(futures)

    def _left(self) -> float | None:
        return None if self.deadline is None else self.deadline.remaining()

    def _outcome(self, future: Future[Any]) -> Any:
        """The result of a fetch started by ``fetch_all``, waiting at most until the deadline."""
        try:
            return future.result(timeout=self._left())
        except TimeoutError:
            if future.done() or self.deadline is None:
                raise  # the fetch's own error, not the wait's
            raise TimeBudgetExceeded(self.deadline.seconds) from None

    def _fetch(self, url: str, timeout: float | None) -> Any:
        deadline = self.deadline
        if deadline is None:
            return self.inner.get_json(url, timeout=timeout)
        deadline.check()
        left = deadline.remaining()
        try:
            return self.inner.get_json(url, timeout=left if timeout is None else min(timeout, left))
        except ResolutionError:
            deadline.check()  # cut short by the budget: say so, not "no answer within 0.3 s"
            raise
