"""A live instance for the Learner Credential Wallet tests: charters signed by the CLI, the real
``caiep signer`` holding the passphrase, gunicorn without it, and the holder page's exchange.

``with lcw_site(folder) as site:`` gives the instance; :func:`holder_token` runs
``caiep holder link``; :func:`open_exchange` presses the holder page's button (a form POST) and
:func:`vcapi_url` reads the exchange URL out of the page's deep link, as LCW reads it.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signer_support import running_signer

from bench.make_results import write_results
from caiep.wiring import Instance
from support import free_port

ISSUER_URL = "https://credentials.caiep.example"
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
_DEEP_LINK = re.compile(r'href="(https://lcw\.app/request\?request=[^"]+)"')


@dataclass(frozen=True)
class LcwSite:
    """The instance (``environment`` holds the passphrase: for the CLI and the signer only),
    the loopback base of its gunicorn, and its charter credentials' uuids."""

    home: Path
    base: str
    environment: dict[str, str] = field(repr=False)
    credential_ids: list[str]
    log: Path

    @property
    def origins(self) -> dict[str, str]:
        """What the Node scripts map: our public origin to the loopback server."""
        return {ISSUER_URL: self.base}


def caiep(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``caiep ARGS`` as the operator runs it."""
    return subprocess.run(
        [str(BIN / "caiep"), *args], env=environment, capture_output=True, text=True, timeout=300, check=False
    )


def start_gunicorn(home: Path, environment: dict[str, str], log: Path, **variables: str) -> tuple[Any, str]:
    """gunicorn (two workers) on the instance, never given the passphrase; (process, base URL)."""
    server_environment = {k: v for k, v in environment.items() if k != "CAIEP_KEY_PASSPHRASE"}
    server_environment.update(CAIEP_HOME=str(home), **variables)
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "caiep.app:create_app()"],
            cwd=REPO,
            env=server_environment,
            stdout=output,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while fetch(f"{base}/openapi.json")[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"gunicorn did not answer:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return process, base


def stop(process: Any) -> None:
    """Terminate a server process and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def lcw_site(folder: Path, *, results: int = 12) -> Iterator[LcwSite]:
    """A did:key instance with the charters of ``results`` exam results (the passes), its signer
    and its gunicorn."""
    home = folder / "home"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    environment["CAIEP_KEY_PASSPHRASE"] = secrets.token_urlsafe(18)
    made = caiep(environment, "--home", str(home), "init", "--issuer-name", "CAiEP Board",
                 "--issuer-url", ISSUER_URL, "--did", "key")  # fmt: skip
    assert made.returncode == 0, made.stderr
    results_file = folder / "results.csv"
    write_results(results_file, results, seed=21)
    assert caiep(environment, "--home", str(home), "results", "import", str(results_file)).returncode == 0
    signed = caiep(environment, "--home", str(home), "sign", "--workers", "1")
    assert signed.returncode == 0, signed.stderr
    with Instance(home).registry() as registry:
        ids = [record.credential_id for record in registry.credentials()]
    log = folder / "gunicorn.log"
    with running_signer(home, {"CAIEP_KEY_PASSPHRASE": environment["CAIEP_KEY_PASSPHRASE"]}):
        process, base = start_gunicorn(home, environment, log)
        try:
            yield LcwSite(home, base, environment, ids, log)
        finally:
            stop(process)


def fetch(url: str, data: bytes | None = None, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET (or POST ``data``) ``url``: status, headers, body; an HTTP error is an answer too."""
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}, b""


def holder_token(site: LcwSite, credential_id: str) -> str:
    """``caiep holder link ID``: the token of the printed link."""
    completed = caiep(site.environment, "--home", str(site.home), "holder", "link", credential_id)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().rsplit("/", 1)[1]


def open_exchange(site: LcwSite, token: str, credential_id: str) -> tuple[int, str]:
    """The holder page's "Add to the Learner Credential Wallet" button: status and the page."""
    form = urllib.parse.urlencode({"credential": credential_id}).encode("ascii")
    status, _, body = fetch(
        f"{site.base}/h/{token}/lcw", form, **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    return status, body.decode("utf-8")


def deep_link(page: str) -> str:
    """The page's ``https://lcw.app/request?request=…`` link."""
    found = _DEEP_LINK.search(page)
    assert found is not None, "the page shows no Learner Credential Wallet link"
    return html.unescape(found.group(1))


def vcapi_url(link: str) -> str:
    """The exchange URL in a deep link's request JSON (as LCW reads it)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    request = json.loads(query["request"][0])
    assert request["credentialRequestOrigin"] == ISSUER_URL, request
    return str(request["protocols"]["vcapi"])
