"""The guarded HTTPS fetcher: the verifier's one way to the network.

:class:`HttpFetcher` fetches the JSON documents a credential points at (did:web documents,
controller documents, status list credentials) and treats every URL as hostile: HTTPS only,
no redirects, no private or loopback addresses (:mod:`caiep.verifier.netguard`), a size cap,
an overall deadline, and a strict JSON reader. Every failure is a
:class:`caiep.errors.ResolutionError` carrying the URL asked for.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from caiep.caches import NamedCache
from caiep.errors import ConfigurationError, InputError, ResolutionError
from caiep.strictjson import loads_strict
from caiep.verifier.netguard import (
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    address_refusal,
    ascii_host,
    describe_failure,
    parse_http_base,
    request_target,
    split_url,
)

#: Media types a DID document, controller document or status list credential is served as.
ACCEPT = "application/did+ld+json, application/ld+json, application/json"
DEFAULT_USER_AGENT = "caiep-credentials-verifier"
DEFAULT_MAX_BYTES = 1_048_576


@dataclass(frozen=True)
class _Target:
    """Where one request really goes once the URL is checked (and mapped, for a test base)."""

    scheme: str  # "https", or "http" for the allow_http_base mapping
    host: str  # ASCII host name or IP literal: resolution, TLS SNI, Host header
    port: int
    request_target: str  # path and query, as sent on the request line
    loopback_allowed: bool


class _TimedOut(ResolutionError):
    """The exchange did not finish within its time limit."""


def _resolve(target: _Target, url: str, timeout: float) -> list[Any]:
    """``getaddrinfo`` of the target within ``timeout`` seconds.

    The system resolver takes no deadline (a slow name server can hold it for many seconds),
    so it runs in a daemon thread that is left behind if it is late.
    """
    found: list[Any] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            found.extend(socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            failure.append(exc)

    resolver = threading.Thread(target=work, name="caiep-resolve", daemon=True)
    resolver.start()
    resolver.join(timeout)
    if resolver.is_alive():
        raise _TimedOut(f"the host {target.host} was not resolved within {timeout:g} s", url=url)
    if failure:
        raise ResolutionError(f"the host {target.host} cannot be resolved", url=url) from failure[0]
    return found


def _parse_json_body(body: bytes, url: str) -> Any:
    """Parse a fetched body as JSON (RFC 8259); :class:`ResolutionError` when it is not."""
    try:
        return loads_strict(body)
    except InputError as exc:
        raise ResolutionError(f"the document is not JSON ({exc.message})", url=url) from exc


class HttpFetcher:
    """Fetch JSON over HTTPS from public addresses only; the network fetcher of the verifier.

    Use one per process (it holds a TLS context). Guards, all checked before connecting:

    * HTTPS only; user information in the URL is refused; the fragment is not sent.
    * The host is resolved once and every address it resolves to must be public (see
      :func:`address_refusal`); the connection then goes to a checked address, with the host
      name kept for TLS (SNI, certificate) and the Host header.
    * No redirect is followed (a 3xx is an error); only 200 is accepted; the body is capped
      at ``max_bytes`` and must be JSON; the whole exchange (connect, headers, body) must
      finish within ``timeout`` seconds, name resolution included (it runs in a helper
      thread, since the resolver itself cannot be given a deadline).
    * No proxy is used and nothing is read from the environment.

    A failed fetch is remembered by URL for ``failure_ttl`` seconds (the ``fetch_failures``
    cache of :mod:`caiep.caches`; 0 turns it off): within that time the same URL is not asked
    again and the same :class:`ResolutionError` (same message, same URL) is raised at once, so
    a dead host costs one timeout per lifetime, not one per credential or per status entry.
    ``clock`` (monotonic seconds) is injectable for tests.

    ``allow_http_base="http://127.0.0.1:PORT"`` serves a local copy of the web for tests and
    the CLI's ``--allow-http-base``: ``https://<any host>/<path>?<query>`` is fetched from
    ``http://127.0.0.1:PORT/<path>?<query>``, and loopback is allowed for that base only.
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_http_base: str | None = None,
        allow_private: bool = False,
        user_agent: str = DEFAULT_USER_AGENT,
        ssl_context: ssl.SSLContext | None = None,
        failure_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not timeout > 0:
            raise ConfigurationError("the fetch timeout must be a positive number of seconds")
        if max_bytes < 1:
            raise ConfigurationError("the fetch size limit must be at least one byte")
        self._timeout = float(timeout)
        self._max_bytes = max_bytes
        self._allow_private = allow_private
        self._user_agent = user_agent
        self._base = parse_http_base(allow_http_base) if allow_http_base is not None else None
        self._ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()
        if failure_ttl < 0:
            raise ConfigurationError("the failure memory of the fetcher cannot be negative")
        self._failures: NamedCache[str, str] | None = (
            NamedCache("fetch_failures", ttl=failure_ttl, clock=clock) if failure_ttl > 0 else None
        )

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The JSON document at ``url`` (https only); :class:`ResolutionError` otherwise.

        A URL that failed within ``failure_ttl`` seconds fails again at once, with the same
        message, without a request. ``timeout`` shortens this fetcher's own time limit for
        one call (a verification's remaining time budget); a fetch that runs out of such a
        shortened time is not remembered as a failure of the URL.
        """
        if self._failures is not None:
            remembered = self._failures.get(url)
            if remembered is not None:
                raise ResolutionError(remembered, url=url)
        limit = self._timeout if timeout is None else min(self._timeout, timeout)
        started = time.monotonic()
        try:
            if not limit > 0:
                raise _TimedOut(f"no complete answer within {limit:g} s", url=url)
            target = self._target(url)
            addresses = self._vetted_addresses(target, url, limit)
            left = limit - (time.monotonic() - started)
            if not left > 0:
                raise _TimedOut(f"no complete answer within {limit:g} s", url=url)
            return _parse_json_body(self._fetch(target, addresses, url, left, limit), url)
        except ResolutionError as exc:
            cut_short = isinstance(exc, _TimedOut) and limit < self._timeout
            if self._failures is not None and not cut_short:
                self._failures.put(url, exc.message)
            raise

    def _target(self, url: str) -> _Target:
        """Check the URL's form and work out where the request goes."""
        parts = split_url(url)
        if parts is None:
            raise ResolutionError("the URL is malformed", url=url)
        if parts.scheme.lower() != "https":
            raise ResolutionError("only https URLs are fetched", url=url)
        if parts.username is not None or parts.password is not None:
            raise ResolutionError("URLs carrying a user name or password are refused", url=url)
        host = ascii_host(parts.hostname or "")
        if host is None:
            raise ResolutionError("the URL has no usable host name", url=url)
        if self._base is not None:
            base_host, base_port = self._base
            return _Target("http", base_host, base_port, request_target(parts), loopback_allowed=True)
        port = 443 if parts.port is None else parts.port
        return _Target("https", host, port, request_target(parts), loopback_allowed=False)

    def _vetted_addresses(self, target: _Target, url: str, timeout: float) -> list[str]:
        """Resolve the host once, within ``timeout``; refuse if any address is not one we may connect to."""
        infos = _resolve(target, url, timeout)
        addresses: list[str] = []
        for family, _kind, _proto, _canonical, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            text = str(sockaddr[0])
            try:
                address = ipaddress.ip_address(text)
            except ValueError as exc:
                raise ResolutionError(
                    f"the host {target.host} resolves to an unusable address", url=url
                ) from exc
            reason = address_refusal(
                address, allow_loopback=target.loopback_allowed, allow_private=self._allow_private
            )
            if reason is not None:
                raise ResolutionError(f"refused: {target.host} resolves to {address}, {reason}", url=url)
            if text not in addresses:
                addresses.append(text)
        if not addresses:
            raise ResolutionError(f"the host {target.host} has no IPv4 or IPv6 address", url=url)
        return addresses

    def _connection(
        self, target: _Target, addresses: Sequence[str], timeout: float
    ) -> PinnedHTTPSConnection | PinnedHTTPConnection:
        if target.scheme == "https":
            return PinnedHTTPSConnection(
                target.host,
                target.port,
                addresses=addresses,
                timeout=timeout,
                context=self._ssl_context,
            )
        return PinnedHTTPConnection(target.host, target.port, addresses=addresses, timeout=timeout)

    def _fetch(
        self, target: _Target, addresses: Sequence[str], url: str, timeout: float, limit: float
    ) -> bytes:
        """GET the target and return the body, enforcing status, size and ``timeout`` for it all
        (what is left of the fetch's time ``limit``, which messages name)."""
        connection = self._connection(target, addresses, timeout)
        # Socket timeouts bound each read, not the exchange: a server that drips one byte at a
        # time would never trip them. A watchdog shuts the socket down at the deadline instead.
        lock = threading.Lock()
        finished = False
        expired = threading.Event()

        def abort() -> None:
            """At the deadline: shut the socket so the reading thread stops (once, unless finished)."""
            with lock:
                if finished:
                    return
                expired.set()
                sock = connection.live_socket
                if sock is not None:
                    with contextlib.suppress(OSError):
                        # The plain socket method: SSLSocket.shutdown would tear down TLS state
                        # under the reading thread's feet.
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)

        watchdog = threading.Timer(timeout, abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(
                "GET",
                target.request_target,
                headers={"Accept": ACCEPT, "User-Agent": self._user_agent, "Connection": "close"},
            )
            if expired.is_set():
                # The deadline passed while connecting, before the watchdog had a socket to close.
                raise TimeoutError
            response = connection.getresponse()
            try:
                body = self._read_body(response, url)
            finally:
                response.close()
        except ResolutionError:
            if expired.is_set():
                raise _TimedOut(f"no complete answer within {limit:g} s", url=url) from None
            raise
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise _TimedOut(f"no complete answer within {limit:g} s", url=url) from exc
            raise ResolutionError(describe_failure(exc), url=url) from exc
        finally:
            with lock:
                finished = True
            watchdog.cancel()
            connection.close()
        if expired.is_set():
            raise _TimedOut(f"no complete answer within {limit:g} s", url=url)
        return body

    def _read_body(self, response: http.client.HTTPResponse, url: str) -> bytes:
        """Check status and declared length, then read at most ``max_bytes`` (+1 to detect more)."""
        if 300 <= response.status < 400:
            raise ResolutionError(
                f"the server answered with a redirect (HTTP {response.status}), which is not followed",
                url=url,
            )
        if response.status != 200:
            raise ResolutionError(f"the server answered HTTP {response.status}", url=url)
        too_large = f"the document is larger than the {self._max_bytes}-byte limit"
        if response.length is not None and response.length > self._max_bytes:
            raise ResolutionError(too_large, url=url)
        declared = response.length
        body = response.read(self._max_bytes + 1)
        if len(body) > self._max_bytes:
            raise ResolutionError(too_large, url=url)
        if declared is not None and len(body) < declared:
            # read(amt) returns what arrived before the connection closed; a cut-off document
            # can still parse as JSON (a long number loses its last digits).
            raise ResolutionError("the server closed the connection before the whole document", url=url)
        return body
