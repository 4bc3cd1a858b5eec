"""The verifier's only way to the network: a ``Fetcher`` returns the JSON document at a URL.

The verifier dereferences three kinds of URL while checking a credential: did:web documents
(did:web method §"Read (Resolve)"), https controller documents for the Retrieve Verification
Method algorithm (Controlled Identifiers 1.0 §3.3) and status list credentials (Bitstring
Status List 1.0 §3.2 step 4). Every one of those URLs comes from the credential under test,
so from whoever wrote it: :class:`HttpFetcher` treats them as hostile (HTTPS only, no
redirects, no private or loopback addresses, size and time limits).

* :class:`HttpFetcher` – the network, guarded as above.
* :class:`MappingFetcher` – a fixed set of documents, for offline verification and tests.
* :class:`CachingFetcher` – wraps either with a bounded TTL cache (Bitstring Status List 1.0
  §3.2 and §6.3 ask verifiers to cache lists, which also hides retrieval from the issuer).

Every failure is a :class:`caiep.errors.ResolutionError` carrying the URL asked for.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit

from caiep.errors import ConfigurationError, ResolutionError

#: Media types a DID document, controller document or status list credential is served as.
ACCEPT = "application/did+ld+json, application/ld+json, application/json"
DEFAULT_USER_AGENT = "caiep-credentials-verifier"
DEFAULT_MAX_BYTES = 1_048_576

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# An ASCII DNS name; underscores appear in real host names, so they are let through.
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?")
# IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")


class Fetcher(Protocol):
    """What the verifier needs from the network: the parsed JSON at a URL.

    Use it for did:web documents, https controller documents and status list credentials.
    ``get_json`` returns the parsed document or raises :class:`ResolutionError`.
    """

    def get_json(self, url: str) -> Any:
        """The JSON document at ``url``; :class:`ResolutionError` when it cannot be had."""
        ...


@dataclass(frozen=True)
class _Target:
    """Where one request really goes once the URL is checked (and mapped, for a test base)."""

    scheme: str  # "https", or "http" for the allow_http_base mapping
    host: str  # ASCII host name or IP literal: resolution, TLS SNI, Host header
    port: int
    request_target: str  # path and query, as sent on the request line
    loopback_allowed: bool


def address_refusal(
    address: IPAddress, *, allow_loopback: bool = False, allow_private: bool = False
) -> str | None:
    """Why a fetch must not connect to ``address`` (a short phrase), or None when it may.

    Refused: unspecified, multicast, loopback, link-local, reserved, private and any other
    address that is not globally reachable. IPv6 addresses that carry an IPv4 address
    (IPv4-mapped, NAT64 64:ff9b::/96, 6to4, Teredo) are judged by that IPv4 address too.
    ``allow_loopback`` lets loopback through; ``allow_private`` every unicast address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = address_refusal(embedded, allow_loopback=allow_loopback, allow_private=allow_private)
            if reason is not None or address.ipv4_mapped is not None or address in _NAT64_WELL_KNOWN:
                # Mapped and NAT64 addresses are only a spelling of the IPv4 address.
                return reason
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        return None if allow_loopback or allow_private else "a loopback address"
    if allow_private:
        return None
    if address.is_link_local:
        return "a link-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the embedding forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _ascii_host(hostname: str) -> str | None:
    """``hostname`` as sent on the wire (IP literal or ASCII name), None if unusable.

    Internationalised names must arrive in their "xn--" form: Python's IDNA codec follows
    IDNA 2003, which maps some names (e.g. "ß" to "ss") to a different domain than IDNA 2008
    does, so converting here could fetch from a host the credential never named.
    """
    try:
        return str(ipaddress.ip_address(hostname))
    except ValueError:
        pass
    name = hostname.lower()
    return name if name.isascii() and _HOST_NAME.fullmatch(name) else None


def _split(url: str) -> SplitResult | None:
    """``urlsplit`` that answers None instead of raising on a malformed URL or port."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return None
    return parts


def _request_target(parts: SplitResult) -> str:
    """Path and query of a URL for the request line; the fragment never leaves the client."""
    target = parts.path or "/"
    return f"{target}?{parts.query}" if parts.query else target


class _Connector:
    """Opens the TCP connection to one of the vetted addresses, never to a fresh lookup.

    Resolving the name again at connect time would let a DNS answer change between the
    check and the connection (DNS rebinding); the TLS layer still sees the host name.
    """

    def __init__(self, addresses: Sequence[str]) -> None:
        self._addresses = tuple(addresses)

    def __call__(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        last_error: OSError | None = None
        for vetted in self._addresses:
            try:
                return socket.create_connection((vetted, address[1]), timeout, source_address)
            except OSError as exc:
                last_error = exc
        raise last_error or OSError("no address to connect to")


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a vetted address, with SNI, certificate check and Host header for the name."""

    def __init__(
        self, host: str, port: int, *, addresses: Sequence[str], timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._create_connection = _Connector(addresses)
        self.live_socket: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.live_socket = self.sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a vetted address; used only for the ``allow_http_base`` test mapping."""

    def __init__(self, host: str, port: int, *, addresses: Sequence[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._create_connection = _Connector(addresses)
        self.live_socket: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.live_socket = self.sock


def _describe(exc: BaseException) -> str:
    """A short human sentence for a network failure (the exception itself is chained)."""
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "the server's TLS certificate is not valid for this host"
    if isinstance(exc, ssl.SSLError):
        return "the TLS connection failed"
    if isinstance(exc, ConnectionRefusedError):
        return "the server refused the connection"
    if isinstance(exc, http.client.HTTPException):
        return "the server's HTTP response is malformed"
    return "the server could not be reached"


def _reject_constant(name: str) -> Any:
    """``json.loads`` hook: NaN and Infinity are not JSON (RFC 8259 §6)."""
    raise ValueError(f"{name} is not a JSON value")


def _parse_json_body(body: bytes, url: str) -> Any:
    """Parse a fetched body as JSON (RFC 8259); :class:`ResolutionError` when it is not."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ResolutionError("the document is not JSON", url=url) from exc


class HttpFetcher(Fetcher):
    """Fetch JSON over HTTPS from public addresses only; the network fetcher of the verifier.

    Use one per process (it holds a TLS context). Guards, all checked before connecting:

    * HTTPS only; user information in the URL is refused; the fragment is not sent.
    * The host is resolved once and every address it resolves to must be public (see
      :func:`address_refusal`); the connection then goes to a checked address, with the host
      name kept for TLS (SNI, certificate) and the Host header.
    * No redirect is followed (a 3xx is an error); only 200 is accepted; the body is capped
      at ``max_bytes`` and must be JSON; the whole exchange (connect, headers, body) must
      finish within ``timeout`` seconds. Name resolution is outside that bound.
    * No proxy is used and nothing is read from the environment.

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
    ) -> None:
        if not timeout > 0:
            raise ConfigurationError("the fetch timeout must be a positive number of seconds")
        if max_bytes < 1:
            raise ConfigurationError("the fetch size limit must be at least one byte")
        self._timeout = float(timeout)
        self._max_bytes = max_bytes
        self._allow_private = allow_private
        self._user_agent = user_agent
        self._base = _parse_http_base(allow_http_base) if allow_http_base is not None else None
        self._ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()

    def get_json(self, url: str) -> Any:
        """The JSON document at ``url`` (https only); :class:`ResolutionError` otherwise."""
        target = self._target(url)
        addresses = self._vetted_addresses(target, url)
        return _parse_json_body(self._fetch(target, addresses, url), url)

    def _target(self, url: str) -> _Target:
        """Check the URL's form and work out where the request goes."""
        parts = _split(url)
        if parts is None:
            raise ResolutionError("the URL is malformed", url=url)
        if parts.scheme.lower() != "https":
            raise ResolutionError("only https URLs are fetched", url=url)
        if parts.username is not None or parts.password is not None:
            raise ResolutionError("URLs carrying a user name or password are refused", url=url)
        host = _ascii_host(parts.hostname or "")
        if host is None:
            raise ResolutionError("the URL has no usable host name", url=url)
        if self._base is not None:
            base_host, base_port = self._base
            return _Target("http", base_host, base_port, _request_target(parts), loopback_allowed=True)
        port = 443 if parts.port is None else parts.port
        return _Target("https", host, port, _request_target(parts), loopback_allowed=False)

    def _vetted_addresses(self, target: _Target, url: str) -> list[str]:
        """Resolve the host once; refuse if any address is not one we may connect to."""
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise ResolutionError(f"the host {target.host} cannot be resolved", url=url) from exc
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
        self, target: _Target, addresses: Sequence[str]
    ) -> _PinnedHTTPSConnection | _PinnedHTTPConnection:
        if target.scheme == "https":
            return _PinnedHTTPSConnection(
                target.host,
                target.port,
                addresses=addresses,
                timeout=self._timeout,
                context=self._ssl_context,
            )
        return _PinnedHTTPConnection(target.host, target.port, addresses=addresses, timeout=self._timeout)

    def _fetch(self, target: _Target, addresses: Sequence[str], url: str) -> bytes:
        """GET the target and return the body, enforcing status, size and the overall deadline."""
        connection = self._connection(target, addresses)
        # Socket timeouts bound each read, not the exchange: a server that drips one byte at a
        # time would never trip them. A watchdog shuts the socket down at the deadline instead.
        lock = threading.Lock()
        finished = False
        expired = threading.Event()

        def abort() -> None:
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

        watchdog = threading.Timer(self._timeout, abort)
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
                raise ResolutionError(f"no complete answer within {self._timeout:g} s", url=url) from None
            raise
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise ResolutionError(f"no complete answer within {self._timeout:g} s", url=url) from exc
            raise ResolutionError(_describe(exc), url=url) from exc
        finally:
            with lock:
                finished = True
            watchdog.cancel()
            connection.close()
        if expired.is_set():
            raise ResolutionError(f"no complete answer within {self._timeout:g} s", url=url)
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


def _parse_http_base(base: str) -> tuple[str, int]:
    """Check an ``allow_http_base`` value: ``http://host:port`` with nothing after but '/'."""
    parts = _split(base)
    if (
        parts is None
        or parts.scheme != "http"
        or parts.username is not None
        or parts.password is not None
        or not parts.hostname
        or parts.port is None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or base.endswith(("?", "#"))
    ):
        raise ConfigurationError(
            f"allow_http_base must look like http://127.0.0.1:8000 (got {base!r}): "
            "http, a host and a port, and no path, query or fragment"
        )
    host = _ascii_host(parts.hostname)
    if host is None:
        raise ConfigurationError(f"allow_http_base has an unusable host name: {base!r}")
    return host, parts.port


class MappingFetcher(Fetcher):
    """Serve a fixed set of documents by exact URL: offline verification and tests.

    A URL not in the set is a :class:`ResolutionError`, never a network request. Each call
    returns a fresh copy, so callers may modify what they get.
    """

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._documents = dict(documents)

    def get_json(self, url: str) -> Any:
        """The document stored for ``url``; :class:`ResolutionError` if there is none."""
        try:
            document = self._documents[url]
        except KeyError:
            raise ResolutionError("the document is not in the offline set", url=url) from None
        return copy.deepcopy(document)


class CachingFetcher(Fetcher):
    """Remember what another fetcher returned for ``ttl`` seconds; failures are not cached.

    Bitstring Status List 1.0 §3.2 asks verifiers to cache status lists (fewer requests, and
    the issuer learns less about who verifies what). The cache is bounded: past
    ``max_entries`` the least recently used document goes. ``clock`` is injectable for tests.
    Safe to share between threads; two threads missing the same URL may both fetch it.
    """

    def __init__(
        self,
        inner: Fetcher,
        *,
        ttl: float = 300.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not ttl > 0:
            raise ConfigurationError("the cache lifetime must be a positive number of seconds")
        if max_entries < 1:
            raise ConfigurationError("the cache must hold at least one document")
        self._inner = inner
        self._ttl = float(ttl)
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_json(self, url: str) -> Any:
        """The cached document for ``url`` while fresh, otherwise the inner fetcher's answer."""
        with self._lock:
            entry = self._entries.get(url)
            if entry is not None:
                expires_at, document = entry
                if self._clock() < expires_at:
                    self._entries.move_to_end(url)
                    return copy.deepcopy(document)
                del self._entries[url]
        fetched = self._inner.get_json(url)
        with self._lock:
            self._entries[url] = (self._clock() + self._ttl, copy.deepcopy(fetched))
            self._entries.move_to_end(url)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return fetched

    def clear(self) -> None:
        """Forget every cached document (e.g. after an issuer says a list changed)."""
        with self._lock:
            self._entries.clear()


class LocalFirstFetcher(Fetcher):
    """Serve some URLs from local documents and fetch every other one through ``fallback``.

    The verification service answers for its own issuer's DID document from memory instead
    of fetching itself over the network; everything else goes through the guarded fetcher.
    """

    def __init__(self, local: Callable[[], Mapping[str, Any]], fallback: Fetcher) -> None:
        self._local = local
        self._fallback = fallback

    def get_json(self, url: str) -> Any:
        """The local document for ``url`` if there is one, else what ``fallback`` fetches."""
        documents = self._local()
        if url in documents:
            return copy.deepcopy(documents[url])
        return self._fallback.get_json(url)
