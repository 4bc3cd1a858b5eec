"""Fixtures for hostile input: one issuer instance with a valid credential, its app, and gunicorn.

``site`` is a did:web instance holding one credential signed now, served in process by Flask's
test client with a rate limit no test reaches. ``live`` serves the same instance with the
README's production command, ``gunicorn -c python:caiep.gunicorn_config 'caiep.app:create_app()'``
(two threaded workers) on ``127.0.0.1:PORT``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hostile_documents import Live, Site

from caiep.app import AppConfig, create_app
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import issue_one
from caiep.settings import database_url
from caiep.wiring import Instance, init_instance, upgrade_configured_database
from support import UNLIMITED_ENVIRONMENT, unlimited_rates

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSPHRASE = "a throwaway test passphrase"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    now = datetime.now(UTC)
    init_instance(
        home,
        issuer_name="CAiEP Certification Board",
        issuer_url="https://credentials.caiep.example",
        did_method="web",
        passphrase=PASSPHRASE,
        now=now,
    )
    instance = Instance(home)
    upgrade_configured_database(instance.configuration)
    registry = instance.registry()
    award = CharterAward(
        name="Jane Doe",
        email="jane@example.org",
        exam_date=date(2026, 1, 6),
        charter_number="",
        score="82",
        exam_version="2026.1",
        pathway="experience",
    )
    issued = issue_one(registry, instance.signer(PASSPHRASE), award, now=now)
    registry.dispose()
    app = create_app(AppConfig(home=home, database_url=database_url(home), rate_limits=unlimited_rates()))
    yield Site(app.test_client(), home, issued.document.encode("utf-8"))
    app.extensions["caiep.registry"].dispose()


@pytest.fixture(scope="session")
def live(site: Site) -> Iterator[Live]:
    """The instance under the production command (two threaded workers), answering before it returns."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment.update(CAIEP_HOME=str(site.home), **UNLIMITED_ENVIRONMENT)
    log = site.home.parent / "gunicorn.log"
    command = [
        str(BIN / "gunicorn"),
        *("-c", "python:caiep.gunicorn_config", "-b", f"127.0.0.1:{port}"),
        "caiep.app:create_app()",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=output, stderr=output)
    try:
        _wait_until_answering(process, port, log)
        yield Live("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within 30 s:\n{log.read_text(errors='replace')}")
