"""Our Bitstring Status Lists, served by our app under gunicorn, read by both verifiers.

A did:key instance signs a batch of passes with ``caiep sign`` (a real signing job), the app
serves its lists on loopback, and each credential is verified by our verifier (the app's API,
which reads the list from the registry, and ``caiep --home verify``) and by Digital Bazaar's
``@digitalbazaar/vc`` with ``@digitalbazaar/vc-bitstring-status-list``, whose document loader
maps the issuer's https origin to the loopback server. Then a revocation bit is set through
the model (and the list re-signed) while the app runs: both verifiers see it at the next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.make_results import write_results
from caiep.issuer import statuslists
from caiep.issuer.statuslists import StatusEntry
from caiep.statuslist import decode_status_list
from caiep.wiring import Instance
from node import run_node
from support import free_port

ISSUER_URL = "https://credentials.caiep.example"
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Served:
    home: Path
    base: str
    environment: dict[str, str] = field(repr=False)
    credentials: list[dict[str, Any]] = field(repr=False)


def _caiep(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "caiep"), *args], env=environment, capture_output=True, text=True, timeout=300, check=False
    )


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _post_json(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_instance(tmp_path_factory.mktemp("status"))


def serve_instance(folder: Path) -> Iterator[Served]:
    """A did:key instance with 40 signed charters in ``folder``, its app under gunicorn (2 workers)."""
    home = folder / "home"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    environment["CAIEP_KEY_PASSPHRASE"] = secrets.token_urlsafe(18)
    made = _caiep(environment, "--home", str(home), "init", "--issuer-name", "CAiEP Board", "--issuer-url",
                  ISSUER_URL, "--did", "key")  # fmt: skip
    assert made.returncode == 0, made.stderr
    results = folder / "results.csv"
    write_results(results, 40, seed=18)
    assert _caiep(environment, "--home", str(home), "results", "import", str(results)).returncode == 0
    signed = _caiep(environment, "--home", str(home), "sign", "--workers", "2")
    assert signed.returncode == 0, signed.stderr
    instance = Instance(home)
    with instance.registry() as registry:
        credentials = [json.loads(registry.credential(r.credential_id)[1]) for r in registry.credentials()]
    # The server never holds the key: no passphrase in its environment.
    server_environment = {k: v for k, v in environment.items() if k != "CAIEP_KEY_PASSPHRASE"}
    server_environment["CAIEP_HOME"] = str(home)
    port = free_port()
    log = folder / "gunicorn.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "caiep.app:create_app()"],
            cwd=REPO,
            env=server_environment,
            stdout=output,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _safe_status(f"{base}/openapi.json") != 200:
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        yield Served(home, base, environment, credentials)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _safe_status(url: str) -> int | None:
    try:
        return _get(url)[0]
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _digital_bazaar(served: Served, contexts: dict[str, Any], credentials: list[dict[str, Any]]) -> Any:
    return run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "origins": {ISSUER_URL: served.base},
            "credentials": credentials,
            "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )["results"]


def _status_check(result: Any) -> tuple[str, str]:
    [check] = [c for c in result["checks"] if c["name"] == "status"]
    return check["outcome"], check["code"]


def test_the_served_list_is_the_signed_list_with_its_cache_headers(served: Served) -> None:
    status, headers, body = _get(f"{served.base}/status/1")
    assert status == 200
    assert headers["Content-Type"] == "application/vc+ld+json"
    assert headers["Cache-Control"] == "max-age=3600"
    assert headers["Access-Control-Allow-Origin"] == "*"  # browser-based verifiers may read it
    assert headers["ETag"] == '"' + hashlib.sha256(body).hexdigest() + '"'
    document = json.loads(body)
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    subject = document["credentialSubject"]
    assert (subject["type"], subject["statusPurpose"], subject["ttl"]) == (
        "BitstringStatusList",
        "revocation",
        3600000,
    )
    assert len(decode_status_list(subject["encodedList"])) == 16384  # 131,072 entries
    valid_from = datetime.fromisoformat(document["validFrom"].replace("Z", "+00:00"))
    valid_until = datetime.fromisoformat(document["validUntil"].replace("Z", "+00:00"))
    assert (valid_until - valid_from).days == 30
    assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"

    again = _get(f"{served.base}/status/1", **{"If-None-Match": headers["ETag"]})
    assert (again[0], again[2]) == (304, b"")
    assert _get(f"{served.base}/status/2")[0] == 404


def test_job_credentials_verify_with_both_verifiers_reading_the_served_list(
    served: Served, contexts: dict[str, Any]
) -> None:
    chosen = served.credentials[:3]
    indexes = {c["credentialStatus"]["statusListIndex"] for c in served.credentials}
    assert len(indexes) == len(served.credentials)  # each its own index
    for credential in chosen:
        ours = _post_json(f"{served.base}/api/v1/verify", credential)
        assert ours["verified"] is True, ours
        assert _status_check(ours) == ("valid", "not_revoked")
    for result in _digital_bazaar(served, contexts, chosen):
        assert (result["verified"], result["error"]) == (True, None)
        [entry] = result["statuses"]
        assert (entry["checked"], entry["set"], entry["error"]) == (True, False, None)
    path = served.home / "one.json"
    path.write_text(json.dumps(chosen[0]), encoding="utf-8")
    checked = _caiep(served.environment, "--home", str(served.home), "verify", "--json", str(path))
    assert checked.returncode == 0, checked.stdout
    assert _status_check(json.loads(checked.stdout)) == ("valid", "not_revoked")


def test_a_bit_set_while_the_app_runs_shows_at_the_next_request(
    served: Served, contexts: dict[str, Any]
) -> None:
    target, bystander = served.credentials[-1], served.credentials[-2]
    before = _get(f"{served.base}/status/1")[1]["ETag"]
    entry = target["credentialStatus"]
    instance = Instance(served.home)
    signer = instance.signer(served.environment["CAIEP_KEY_PASSPHRASE"]).list_signer()
    with instance.registry() as registry, registry.write() as connection:
        changed = statuslists.set_bits(
            connection,
            [StatusEntry(1, int(entry["statusListIndex"]))],
            signer,
            now=datetime.now(UTC),
        )
    assert changed == [1]

    status, headers, _ = _get(f"{served.base}/status/1", **{"If-None-Match": before})
    assert status == 200
    assert headers["ETag"] != before  # re-signed, served at once
    for _ in range(6):  # both workers answer some of these
        ours = _post_json(f"{served.base}/api/v1/verify", target)
        assert ours["verified"] is False
        assert _status_check(ours) == ("invalid", "revoked")
        assert _post_json(f"{served.base}/api/v1/verify", bystander)["verified"] is True
    revoked, fine = _digital_bazaar(served, contexts, [target, bystander])
    # Digital Bazaar's library reports the set bit in its status results.
    assert (revoked["statuses"][0]["checked"], revoked["statuses"][0]["set"]) == (True, True)
    assert revoked["verified"] is False
    assert (fine["statuses"][0]["set"], fine["verified"]) == (False, True)
