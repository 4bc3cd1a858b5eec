"""Where the verifier may connect: address vetting and connections pinned to vetted addresses.

Every URL the verifier fetches comes from the credential under test, so from whoever wrote
it. This module decides which hosts and addresses a fetch may reach (public unicast only,
with IPv6 spellings of IPv4 addresses judged as the IPv4 address), and opens HTTP(S)
connections that go to the addresses that were checked, never to a fresh DNS answer (DNS
rebinding). :class:`caiep.verifier.httpfetch.HttpFetcher` puts these pieces together.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

from caiep.errors import ConfigurationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# An ASCII DNS name; underscores appear in real host names, so they are let through.
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?")
# IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")


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


def ascii_host(hostname: str) -> str | None:
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


def split_url(url: str) -> SplitResult | None:
    """``urlsplit`` that answers None instead of raising on a malformed URL or port."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return None
    return parts


def request_target(parts: SplitResult) -> str:
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


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a vetted address, with SNI, certificate check and Host header for the name."""

    def __init__(
        self, host: str, port: int, *, addresses: Sequence[str], timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._create_connection = _Connector(addresses)
        self.live_socket: socket.socket | None = None

    def connect(self) -> None:
        """Connect, and keep the socket so the deadline watchdog can shut it."""
        super().connect()
        self.live_socket = self.sock


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a vetted address; used only for the ``allow_http_base`` test mapping."""

    def __init__(self, host: str, port: int, *, addresses: Sequence[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._create_connection = _Connector(addresses)
        self.live_socket: socket.socket | None = None

    def connect(self) -> None:
        """Connect, and keep the socket so the deadline watchdog can shut it."""
        super().connect()
        self.live_socket = self.sock


def describe_failure(exc: BaseException) -> str:
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


def parse_http_base(base: str) -> tuple[str, int]:
    """Check an ``allow_http_base`` value: ``http://host:port`` with nothing after but '/'."""
    parts = split_url(base)
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
    host = ascii_host(parts.hostname)
    if host is None:
        raise ConfigurationError(f"allow_http_base has an unusable host name: {base!r}")
    return host, parts.port
