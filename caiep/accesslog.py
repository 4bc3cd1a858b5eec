"""The access log: one line per request with the route template, method, status and duration.

Logger ``caiep.access``. A line never holds the path, a credential id, a query or the client's
address: ``GET /c/<uuid:credential_id> 200 14.21 ms`` says what the service did without saying
whose credential was looked at, or by whom. When the service runs (gunicorn's
``create_app()``, ``caiep serve``) :func:`log_to_stderr` gives the logger a handler on standard
error, where gunicorn and systemd collect it; Werkzeug's own request log, which has both the
path and the address, is turned off in ``caiep serve``.

The line is cheap on purpose: nothing is built unless the logger is enabled for INFO, and
while :func:`log_to_stderr`'s handler is the only one that would see the line, the line is
written by it directly, without a ``LogRecord`` (which costs a web request ~5 % of its CPU).
Any other handler, one of the application's or a test's, gets the ordinary record.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Final

access_log: Final = logging.getLogger("caiep.access")
#: Methods named as they are; anything else a client sends is logged as OTHER.
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
FORMAT: Final = "%(asctime)s [%(process)d] %(name)s %(message)s"


def log_request(method: str, route: str | None, status: int, milliseconds: float) -> None:
    """Log one answered request (``route`` is the rule template, None when no route matched)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    method = method if method in METHODS else "OTHER"
    route = route or "(no route)"
    handlers = access_log.handlers
    if len(handlers) == 1 and not logging.root.handlers and isinstance(handlers[0], _StandardError):
        handlers[0].write_line(f"{method} {route} {status} {milliseconds:.2f} ms")
    else:
        access_log.info("%s %s %d %.2f ms", method, route, status, milliseconds)


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self._second = -1
        self._stamp = ""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass

    def write_line(self, message: str) -> None:
        """The access line as :data:`FORMAT` would make it, without a LogRecord."""
        now = time.time()
        second = int(now)
        if second != self._second:  # the date and time text changes once a second
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        line = f"{self._stamp},{int(now % 1 * 1000):03d} [{os.getpid()}] caiep.access {message}\n"
        stream = sys.stderr
        try:
            stream.write(line)
            stream.flush()
        except (OSError, ValueError):  # a closed or broken standard error loses the line, not the request
            pass


def log_to_stderr() -> None:
    """Send the access log (and the service's warnings) to standard error, once per process."""
    for name in ("caiep.access", "caiep.ratelimit"):
        logger = logging.getLogger(name)
        if not any(isinstance(handler, _StandardError) for handler in logger.handlers):
            handler = _StandardError()
            handler.setFormatter(logging.Formatter(FORMAT))
            logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)


def silence_werkzeug_requests() -> None:
    """Turn off the development server's request log, which names paths and client addresses."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
