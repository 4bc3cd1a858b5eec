"""The README's nginx site, run by Debian's nginx in front of gunicorn: its access log keeps a
holder's page as ``/h/<token>``, never the token, and every other path as it was asked for.

The site is taken from the README as written; only what a test cannot have is changed (the
port and TLS, the log's file, the address of the service), each replacement checked to apply.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"
NGINX = Path("/usr/sbin/nginx")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def readme_site() -> str:
    """The nginx block that follows "A minimal nginx site:" in the README."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"A minimal nginx site:\n\n```nginx\n(.*?)\n```", text, flags=re.S)
    assert found, "the README has no nginx site after 'A minimal nginx site:'"
    return found.group(1)


def substituted(site: str, replacements: list[tuple[str, str]]) -> str:
    for pattern, replacement in replacements:
        site, count = re.subn(pattern, replacement, site, flags=re.M)
        assert count == 1, f"the README's nginx site no longer has {pattern!r}"
    return site


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, live_server: LiveServer) -> Iterator[tuple[str, Path]]:
    """nginx with the README's site on a loopback port, proxying to the live server."""
    if not NGINX.exists():
        pytest.fail("Debian's nginx is not installed: make test installs it (apt-get install nginx-light)")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    log = folder / "access.log"
    upstream = live_server.base_url.removeprefix("http://")
    site = substituted(
        readme_site(),
        [
            (r"^\s*listen 443 ssl;.*$", f"    listen 127.0.0.1:{port};"),
            (r"^\s*ssl_certificate .*$", ""),
            (r"^\s*ssl_certificate_key .*$", ""),
            (r"access_log /var/log/nginx/caiep\.access\.log caiep;", f"access_log {log} caiep;"),
            (r"proxy_pass http://127\.0\.0\.1:8000;", f"proxy_pass http://{upstream};"),
        ],
    )
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = folder / "nginx.conf"
    config.write_text(
        f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        f"events {{}}\nhttp {{\n{temp}\n    access_log off;\n{site}\n}}\n",
        encoding="utf-8",
    )
    checked = subprocess.run(
        [str(NGINX), "-t", "-c", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([str(NGINX), "-c", str(config)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{base}/openapi.json", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=15)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_proxy_log_masks_holder_links_and_keeps_other_paths(
    proxy: tuple[str, Path], issued: Issued, holder_link: Callable[..., str]
) -> None:
    base, log = proxy
    token = holder_link(issued.valid)
    assert status_of(f"{base}/h/{token}") == 200
    assert status_of(f"{base}/h/{token}?utm_source={token}") == 200
    assert status_of(f"{base}/h/{token[::-1]}") == 404
    assert status_of(f"{base}/c/{issued.valid}") == 200
    deadline = time.monotonic() + 10
    while log.read_text().count("\n") < 5 and time.monotonic() < deadline:
        time.sleep(0.05)  # nginx writes each line as the request ends
    lines = log.read_text().splitlines()
    assert token not in "\n".join(lines)
    assert token[::-1] not in "\n".join(lines)
    holder = [line for line in lines if '"GET /h/' in line]
    assert [line.split('"')[1] for line in holder] == ["GET /h/<token> HTTP/1.1"] * 3
    assert [line.split('"')[2].split()[0] for line in holder] == ["200", "200", "404"]
    assert any(f'"GET /c/{issued.valid} HTTP/1.1" 200 ' in line for line in lines)


def test_the_proxy_log_masks_wallet_offers(proxy: tuple[str, Path], issued: Issued) -> None:
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs, urlsplit

    from caiep.issuer.offers import create_offer
    from caiep.issuer.registry import open_registry

    base, log = proxy
    with open_registry(issued.database_url) as registry, registry.write() as connection:
        made = create_offer(
            connection, issued.valid, pin=True, expires_in=timedelta(days=1), now=datetime.now(UTC),
            issuer_url=issued.issuer_url,
        )  # fmt: skip
    [url] = parse_qs(urlsplit(made.offer_uri).query)["credential_offer_uri"]
    token = url.rsplit("/", 1)[1]
    before = log.read_text().count("\n")
    assert status_of(f"{base}/oid4vci/offers/{token}") == 200
    assert status_of(f"{base}/oid4vci/offers/{token}") == 404  # once
    deadline = time.monotonic() + 10
    while log.read_text().count("\n") < before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = log.read_text().splitlines()[before:]
    assert token not in "\n".join(lines)
    assert [line.split('"')[1] for line in lines] == ["GET /oid4vci/offers/<token> HTTP/1.1"] * 2
