"""The service served for real: one issuer instance per session, gunicorn on 127.0.0.1.

``issued`` is a did:web instance (``caiep init`` run as a subprocess, as an operator would)
holding four credentials signed in process with explicit ``now`` values: a valid one, an
expired one (signed six years ago), a tampered one (its holder's name changed in the stored
document after signing) and a VC-JWT. ``live_server`` serves it with gunicorn's two workers
and the default rate limit; ``fuzz_server`` serves the same instance with a rate limit no
fuzz run can reach. Both are stopped at the end of the session, and their logs are printed
if they fail to start.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS
from sqlalchemy import text

from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import issue_one
from caiep.issuer.registry import open_registry
from caiep.wiring import Instance
from support import UNLIMITED_ENVIRONMENT

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ISSUER_URL = "https://credentials.caiep.example"
ISSUER_NAME = "CAiEP Certification Board"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
SCREENSHOTS = REPO / "test-output" / "screenshots"
TAMPERED_NAME = "Jane Impostor"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's headless Chromium against the live server")


@dataclass(frozen=True)
class Issued:
    """An instance and the ids (uuids) of its credentials, with their stored documents."""

    home: Path
    database_url: str
    passphrase: str = field(repr=False)
    now: datetime
    valid: str
    expired: str
    tampered: str
    jwt: str
    documents: Mapping[str, str] = field(repr=False)
    issuer_url: str = ISSUER_URL
    tampered_name: str = TAMPERED_NAME
    unknown: str = UNKNOWN_ID  # a well-formed uuid no credential has

    def page_url(self, credential_id: str) -> str:
        """The public URL the QR code of a credential must encode."""
        return f"{self.issuer_url}/c/{credential_id}"

    def valid_until(self, credential_id: str) -> date:
        document = json.loads(self.documents[credential_id])
        return datetime.fromisoformat(document["validUntil"].replace("Z", "+00:00")).date()


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(issued: Issued, **variables: str) -> dict[str, str]:
    """The server's environment: the instance and database, never the key passphrase."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment.update(CAIEP_HOME=str(issued.home), CAIEP_DATABASE_URL=issued.database_url, **variables)
    return environment


def start_gunicorn(issued: Issued, log: Path, *, workers: int = 2, **variables: str) -> LiveServer:
    """``gunicorn -w 2 -b 127.0.0.1:PORT 'caiep.app:create_app()'``, answering before it returns."""
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "caiep.app:create_app()",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=server_environment(issued, **variables), stdout=output, stderr=output
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_answering(server, timeout=30)
    except BaseException:
        stop(server)
        raise
    return server


def wait_until_answering(server: LiveServer, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.process.returncode}:\n{server.log.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/openapi.json", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"gunicorn did not answer within {timeout} s:\n{server.log.read_text(errors='replace')}"
            )
        time.sleep(0.1)


def stop(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def create_instance(home: Path, passphrase: str) -> None:
    """``caiep --home HOME init`` (did:web) as a subprocess, the passphrase in its environment."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment["CAIEP_KEY_PASSPHRASE"] = passphrase
    completed = subprocess.run(
        [
            str(BIN / "caiep"),
            "--home",
            str(home),
            "init",
            "--issuer-name",
            ISSUER_NAME,
            "--issuer-url",
            ISSUER_URL,
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def issue(registry_url: str, instance: Instance, passphrase: str, now: datetime) -> dict[str, str]:
    """The four credentials, by role; returns role -> uuid."""
    registry = open_registry(registry_url)
    try:
        ldp = instance.signer(passphrase)
        jwt = instance.signer(passphrase, format="jwt")
        six_years_ago = now - timedelta(days=6 * 365 + 2)

        def award(name: str, email: str, when: datetime) -> CharterAward:
            return CharterAward(
                name=name,
                email=email,
                exam_date=(when - timedelta(days=30)).date(),
                charter_number="",
                score="82",
                exam_version="2026.1",
                pathway="experience",
            )

        ids = {
            "valid": issue_one(registry, ldp, award("Jane Doe", "jane@example.org", now), now=now),
            "expired": issue_one(
                registry, ldp, award("Eve Expired", "eve@example.org", six_years_ago), now=six_years_ago
            ),
            "tampered": issue_one(registry, ldp, award("Tom Tamper", "tom@example.org", now), now=now),
            "jwt": issue_one(registry, jwt, award("Jane Roe", "roe@example.org", now), now=now),
        }
        tampered = ids["tampered"].credential_id
        with registry.write() as connection:
            changed = connection.execute(
                text(
                    "UPDATE credential_copies SET document = replace(document, :old, :new)"
                    " WHERE credential_id = :id AND served"
                ),
                {"old": '"name":"Tom Tamper"', "new": f'"name":"{TAMPERED_NAME}"', "id": tampered},
            )
            assert changed.rowcount == 1
        _, document = registry.credential(tampered)
        assert TAMPERED_NAME in document
        assert "Tom Tamper" not in document
        return {role: issued.credential_id for role, issued in ids.items()}
    finally:
        registry.dispose()


@pytest.fixture(scope="session")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    home = tmp_path_factory.mktemp("web") / "caiep-home"
    passphrase = secrets.token_urlsafe(24)
    create_instance(home, passphrase)
    database_url = f"sqlite:///{home / 'registry.sqlite3'}"
    now = datetime.now(UTC)
    ids = issue(database_url, Instance(home), passphrase, now)
    registry = open_registry(database_url)
    try:
        documents = {uuid: registry.credential(uuid)[1] for uuid in ids.values()}
    finally:
        registry.dispose()
    return Issued(
        home=home, database_url=database_url, passphrase=passphrase, now=now, documents=documents, **ids
    )


@pytest.fixture(scope="session")
def live_server(issued: Issued) -> Iterator[LiveServer]:
    """The instance under gunicorn with two workers and the default rate limit."""
    server = start_gunicorn(issued, issued.home.parent / "gunicorn.log")
    yield server
    stop(server)


@pytest.fixture(scope="session")
def fuzz_server(issued: Issued) -> Iterator[LiveServer]:
    """The same instance with a rate limit the fuzz run never reaches."""
    server = start_gunicorn(
        issued,
        issued.home.parent / "gunicorn-fuzz.log",
        **UNLIMITED_ENVIRONMENT,
    )
    yield server
    stop(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, one for every browser test of the session."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: make test installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``test-output/screenshots/`` in the repository (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def serve_instance(issued: Issued, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start gunicorn (two workers) on the instance with extra environment variables; stopped after."""
    started: list[LiveServer] = []

    def serve(name: str, **variables: str) -> LiveServer:
        server = start_gunicorn(issued, tmp_path / f"gunicorn-{name}.log", **variables)
        started.append(server)
        return server

    yield serve
    for server in started:
        stop(server)


@pytest.fixture(scope="session")
def holder_link(issued: Issued) -> Callable[..., str]:
    """``caiep holder link ID [FLAGS]`` run as the operator runs it (a subprocess on the served
    instance); returns the token of the link it printed."""

    def link(wanted: str, *flags: str) -> str:
        completed = subprocess.run(
            [str(BIN / "caiep"), "--home", str(issued.home), "holder", "link", wanted, *flags],
            env=server_environment(issued),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        printed = completed.stdout.strip()
        assert printed.startswith(f"{issued.issuer_url}/h/"), printed
        return printed.rsplit("/", 1)[1]

    return link
