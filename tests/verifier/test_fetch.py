"""The verifier's fetchers: a real HTTP(S) server on 127.0.0.1 and no traffic anywhere else."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from caiep.errors import ConfigurationError, InputError, ResolutionError
from caiep.verifier.fetch import (
    ACCEPT,
    CachingFetcher,
    Fetcher,
    HttpFetcher,
    MappingFetcher,
    address_refusal,
)

LIMIT = 1024
DOCUMENT = {"id": "did:web:issuer.example", "verificationMethod": []}


@dataclass
class LocalServer:
    base: str
    port: int
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


class _Handler(BaseHTTPRequestHandler):
    server_version = "test"
    requests: list[tuple[str, dict[str, str]]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        # The fetcher hangs up on purpose (limits, timeouts): not the server's error.
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        self.requests.append((self.path, dict(self.headers.items())))
        route = urlsplit(self.path).path
        body = json.dumps(DOCUMENT).encode()
        if route == "/big-declared":
            _send(self, 200, b" " * (LIMIT + 1), {"Content-Length": str(LIMIT + 1)})
        elif route == "/big-undeclared":
            # HTTP/1.0 without Content-Length: the body ends when the connection closes.
            _send(self, 200, b"[" + b"0," * LIMIT + b"0]", {})
        elif route == "/exact":
            padded = body + b" " * (LIMIT - len(body))
            _send(self, 200, padded, {"Content-Length": str(LIMIT)})
        elif route == "/redirect":
            _send(self, 302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
        elif route == "/not-json":
            _send(self, 200, b"<html>hello</html>", {"Content-Type": "text/html"})
        elif route == "/duplicate":
            _send(self, 200, b'{"id": "did:web:a.example", "id": "did:web:b.example"}', {})
        elif route == "/nan":
            _send(self, 200, b"[NaN]", {"Content-Type": "application/json"})
        elif route == "/slow":
            time.sleep(2)
            _send(self, 200, body, {"Content-Length": str(len(body))})
        elif route == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        elif route == "/short":
            # Declares more than it sends, then closes: the part sent is valid JSON.
            _send(self, 200, b"12345", {"Content-Length": "9"})
        elif route == "/missing":
            _send(self, 404, b"{}", {"Content-Length": "2"})
        else:
            _send(self, 200, body, {"Content-Type": "application/json", "Content-Length": str(len(body))})


def _handler_class() -> type[_Handler]:
    """A handler class with its own request log, so servers do not share one."""

    class Handler(_Handler):
        pass

    Handler.requests = []
    return Handler


@contextlib.contextmanager
def _serve(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def local() -> Iterator[LocalServer]:
    handler = _handler_class()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    state = LocalServer(f"http://127.0.0.1:{port}", port, handler.requests)
    with _serve(server):
        yield state


@pytest.fixture(autouse=True)
def only_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that would resolve a real name or connect beyond 127.0.0.1."""
    real_connect = socket.create_connection
    real_resolve = socket.getaddrinfo

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address[0] != "127.0.0.1":
            pytest.fail(f"connection attempted to {address}")
        return real_connect(address, *args, **kwargs)

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                pytest.fail(f"name lookup attempted for {host}")
        return real_resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        pytest.fail(f"connection attempted to {address}")

    monkeypatch.setattr(socket, "create_connection", connect)


def _public_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Make getaddrinfo answer from ``answers``; returns the list of names looked up."""
    looked_up: list[str] = []
    numeric = socket.getaddrinfo

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            looked_up.append(host)
        else:
            return numeric(host, port, *args, **kwargs)
        if host not in answers:
            pytest.fail(f"name lookup attempted for {host}")
        results: list[tuple[Any, ...]] = []
        for text in answers[host]:
            if ipaddress.ip_address(text).version == 4:
                results.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, port)))
            else:
                results.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, port, 0, 0)))
        return results

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return looked_up


def fetcher_for(local: LocalServer, **options: Any) -> HttpFetcher:
    return HttpFetcher(allow_http_base=local.base, max_bytes=LIMIT, timeout=2.0, **options)


# --- the allow_http_base mapping -------------------------------------------------------------


def test_https_url_is_fetched_from_the_http_base(local: LocalServer) -> None:
    fetcher = fetcher_for(local)
    got = fetcher.get_json("https://issuer.example:8443/users/alice/did.json?versionId=2#key-1")
    assert got == DOCUMENT
    path, headers = local.requests[-1]
    assert path == "/users/alice/did.json?versionId=2"
    assert headers["Accept"] == ACCEPT
    assert headers["Host"] == f"127.0.0.1:{local.port}"
    assert headers["User-Agent"] == "caiep-credentials-verifier"


def test_the_well_known_path_and_a_bare_host(local: LocalServer) -> None:
    fetcher = fetcher_for(local, user_agent="tester/1")
    assert fetcher.get_json("https://issuer.example") == DOCUMENT
    assert local.requests[-1][0] == "/"
    assert local.requests[-1][1]["User-Agent"] == "tester/1"


def test_a_body_of_exactly_the_limit_is_accepted(local: LocalServer) -> None:
    assert fetcher_for(local).get_json("https://issuer.example/exact") == DOCUMENT


@pytest.mark.parametrize(
    "base",
    [
        "https://127.0.0.1:8000",
        "http://127.0.0.1",
        "http://127.0.0.1:8000/prefix",
        "http://127.0.0.1:8000/prefix/",
        "http://127.0.0.1:8000/?q=1",
        "http://127.0.0.1:8000/#top",
        "http://127.0.0.1:8000?",
        "http://user@127.0.0.1:8000",
        "http://:8000",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
        "127.0.0.1:8000",
        "ftp://127.0.0.1:8000",
        "",
    ],
)
def test_malformed_http_bases_are_refused(base: str) -> None:
    with pytest.raises(ConfigurationError, match="allow_http_base"):
        HttpFetcher(allow_http_base=base)


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:{port}", "http://127.0.0.1:{port}/", "http://localhost:{port}"]
)
def test_well_formed_http_bases_are_accepted(base: str, local: LocalServer) -> None:
    # Accepted means used: an https URL is fetched from the base, path and query kept.
    fetcher = HttpFetcher(allow_http_base=base.format(port=local.port), max_bytes=LIMIT, timeout=2.0)
    assert fetcher.get_json("https://issuer.example/a/did.json?v=1") == DOCUMENT
    assert local.requests[-1][0] == "/a/did.json?v=1"


def test_a_base_on_a_private_address_is_still_refused(no_connect: None) -> None:
    fetcher = HttpFetcher(allow_http_base="http://10.0.0.1:8000")
    with pytest.raises(ResolutionError, match="private"):
        fetcher.get_json("https://issuer.example/did.json")


# --- refused before any connection --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/did.json", "loopback"),
        ("https://127.9.9.9/", "loopback"),
        ("https://localhost/.well-known/did.json", "loopback"),
        ("https://10.0.0.1/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://[::1]/", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[fd00::1]/", "private"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://[::ffff:10.1.2.3]/", "private"),
        ("https://[64:ff9b::a9fe:a9fe]/", "link-local"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::]/", "unspecified"),
        ("https://224.0.0.1/", "multicast"),
        ("https://100.64.0.1/", "not a public address"),
        ("https://240.0.0.1/", "reserved"),
    ],
)
def test_non_public_addresses_are_refused_before_connecting(url: str, reason: str, no_connect: None) -> None:
    with pytest.raises(ResolutionError) as caught:
        HttpFetcher().get_json(url)
    assert reason in caught.value.message
    assert caught.value.url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/did.json",
        "http://issuer.example/did.json",
        "file:///etc/passwd",
        "ftp://issuer.example/did.json",
        "did:web:issuer.example",
        "//issuer.example/did.json",
        "/did.json",
    ],
)
def test_only_https_is_fetched(url: str, local: LocalServer, no_connect: None) -> None:
    for fetcher in (HttpFetcher(), fetcher_for(local)):
        with pytest.raises(ResolutionError, match="only https") as caught:
            fetcher.get_json(url)
        assert caught.value.url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:secret@issuer.example/", "user name or password"),
        ("https://issuer.example@10.0.0.1/", "user name or password"),
        ("https:///did.json", "host name"),
        ("https://[::1/", "malformed"),
        ("https://issuer.example:99999/", "malformed"),
        ("https://iss uer.example/", "host name"),
    ],
)
def test_unusable_urls_are_refused(url: str, reason: str, no_connect: None) -> None:
    with pytest.raises(ResolutionError, match=reason):
        HttpFetcher().get_json(url)


def test_internationalised_names_must_be_in_their_ascii_form(local: LocalServer, no_connect: None) -> None:
    # IDNA 2003 (Python's codec) maps "ß" to "ss": another domain than IDNA 2008's xn-- form.
    with pytest.raises(ResolutionError, match="host name"):
        HttpFetcher().get_json("https://faß.example/did.json")


def test_an_ascii_internationalised_name_is_accepted(local: LocalServer) -> None:
    assert fetcher_for(local).get_json("https://xn--fa-hia.example/did.json") == DOCUMENT


def test_one_private_answer_among_public_ones_refuses_the_host(
    monkeypatch: pytest.MonkeyPatch, no_connect: None
) -> None:
    _public_dns(monkeypatch, {"issuer.example": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(ResolutionError, match=r"issuer\.example resolves to 10\.0\.0\.7, a private address"):
        HttpFetcher().get_json("https://issuer.example/did.json")


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up = _public_dns(monkeypatch, {"issuer.example": ["93.184.215.14"]})
    connected: list[tuple[str, int]] = []

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address)
        raise ConnectionRefusedError("test: no traffic leaves this machine")

    monkeypatch.setattr(socket, "create_connection", connect)
    with pytest.raises(ResolutionError, match="refused the connection") as caught:
        HttpFetcher().get_json("https://issuer.example/did.json")
    assert connected == [("93.184.215.14", 443)]
    assert looked_up == ["issuer.example"]
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_a_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch, no_connect: None) -> None:
    def resolve(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(ResolutionError, match="cannot be resolved") as caught:
        HttpFetcher().get_json("https://nowhere.example/did.json")
    assert isinstance(caught.value.__cause__, socket.gaierror)


def test_address_refusal_allows_public_and_configured_addresses() -> None:
    ip = ipaddress.ip_address
    assert address_refusal(ip("93.184.215.14")) is None
    assert address_refusal(ip("2606:4700::1")) is None
    assert address_refusal(ip("::ffff:93.184.215.14")) is None
    assert address_refusal(ip("127.0.0.1"), allow_loopback=True) is None
    assert address_refusal(ip("10.0.0.1"), allow_loopback=True) == "a private address"
    assert address_refusal(ip("10.0.0.1"), allow_private=True) is None
    assert address_refusal(ip("224.0.0.1"), allow_private=True) == "a multicast address"
    assert address_refusal(ip("2002:a00:1::1")) == "a private address"  # 6to4 around 10.0.0.1


# --- what the server answers ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big-declared", "/big-undeclared"])
def test_oversize_bodies_are_refused(path: str, local: LocalServer) -> None:
    with pytest.raises(ResolutionError, match=f"{LIMIT}-byte limit"):
        fetcher_for(local).get_json(f"https://issuer.example{path}")


def test_a_body_shorter_than_declared_is_refused(local: LocalServer) -> None:
    with pytest.raises(ResolutionError, match="before the whole document"):
        fetcher_for(local).get_json("https://issuer.example/short")


def test_redirects_are_not_followed(local: LocalServer) -> None:
    url = "https://issuer.example/redirect"
    with pytest.raises(ResolutionError, match=r"redirect \(HTTP 302\)") as caught:
        fetcher_for(local).get_json(url)
    assert caught.value.url == url


def test_not_found_is_an_error(local: LocalServer) -> None:
    with pytest.raises(ResolutionError, match="HTTP 404"):
        fetcher_for(local).get_json("https://issuer.example/missing")


@pytest.mark.parametrize("path", ["/not-json", "/nan", "/duplicate"])
def test_bodies_that_are_not_json_are_refused(path: str, local: LocalServer) -> None:
    with pytest.raises(ResolutionError, match="not JSON") as caught:
        fetcher_for(local).get_json(f"https://issuer.example{path}")
    assert isinstance(caught.value.__cause__, InputError)


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_server_times_out(path: str, local: LocalServer) -> None:
    # /slow sleeps before answering; /drip sends one byte every 0.1 s, so only the overall
    # deadline (not a per-read socket timeout) can stop it.
    fetcher = HttpFetcher(allow_http_base=local.base, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ResolutionError) as caught:
        fetcher.get_json(f"https://issuer.example{path}")
    assert time.monotonic() - started < 1.5
    assert "0.5 s" in caught.value.message or "in time" in caught.value.message


def test_a_closed_port_is_a_resolution_error(local: LocalServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fetcher = HttpFetcher(allow_http_base=f"http://127.0.0.1:{port}", timeout=2.0)
    with pytest.raises(ResolutionError, match="refused the connection") as caught:
        fetcher.get_json("https://issuer.example/did.json")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


@pytest.mark.parametrize(("options", "match"), [({"timeout": 0}, "timeout"), ({"max_bytes": 0}, "limit")])
def test_bad_limits_are_configuration_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        HttpFetcher(**options)


# --- TLS to the checked address, certificate checked for the name ---------------------------------


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    cert_path, key_path = _certificate(tmp_path, "issuer.example")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with _serve(server):
        yield server.server_address[1], cert_path


def _trusting(cert_path: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert_path))


def test_tls_uses_the_host_name_while_connecting_to_the_checked_address(
    tls_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert_path = tls_server
    _public_dns(monkeypatch, {"issuer.example": ["127.0.0.1"]})
    fetcher = HttpFetcher(allow_private=True, ssl_context=_trusting(cert_path), timeout=2.0)
    assert fetcher.get_json(f"https://issuer.example:{port}/did.json") == DOCUMENT


def test_a_certificate_for_another_name_is_refused(
    tls_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert_path = tls_server
    _public_dns(monkeypatch, {"other.example": ["127.0.0.1"]})
    fetcher = HttpFetcher(allow_private=True, ssl_context=_trusting(cert_path), timeout=2.0)
    with pytest.raises(ResolutionError, match="certificate") as caught:
        fetcher.get_json(f"https://other.example:{port}/did.json")
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)


def test_an_untrusted_certificate_is_refused(
    tls_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, _ = tls_server
    _public_dns(monkeypatch, {"issuer.example": ["127.0.0.1"]})
    with pytest.raises(ResolutionError, match="certificate"):
        HttpFetcher(allow_private=True, timeout=2.0).get_json(f"https://issuer.example:{port}/did.json")


# --- MappingFetcher -------------------------------------------------------------------------


def test_mapping_fetcher_serves_copies_and_refuses_unknown_urls(no_connect: None) -> None:
    url = "https://issuer.example/did.json"
    fetcher: Fetcher = MappingFetcher({url: DOCUMENT})
    first = fetcher.get_json(url)
    first["id"] = "changed"
    assert fetcher.get_json(url) == DOCUMENT
    with pytest.raises(ResolutionError, match="offline") as caught:
        fetcher.get_json(url + "?x")
    assert caught.value.url == url + "?x"


def test_cache_over_the_network_fetcher(local: LocalServer) -> None:
    cache = CachingFetcher(fetcher_for(local), ttl=60)
    before = len(local.requests)
    assert cache.get_json("https://issuer.example/cached.json") == DOCUMENT
    assert cache.get_json("https://issuer.example/cached.json") == DOCUMENT
    assert len(local.requests) == before + 1
