"""``caiep publish``: a static copy of the issuer's published files, served by ``python -m
http.server`` on loopback (no caiep code answering), read by our verifier and by Digital Bazaar's
``@digitalbazaar/vc`` with ``@digitalbazaar/vc-bitstring-status-list``; then a revocation made
through the lifecycle building blocks and a re-publish: both see the bit set; then each of ``caiep
revoke|suspend|reinstate|renew`` run as a user runs it, and a re-publish: both agree on every copy."""

from __future__ import annotations

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
from caiep.issuer import lifecycle, statuslists
from caiep.wiring import Instance
from node import run_node
from support import free_port

ISSUER_URL = "https://credentials.caiep.example"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Site:
    home: Path
    out: Path
    base: str
    environment: dict[str, str] = field(repr=False)
    credentials: list[dict[str, Any]] = field(repr=False)


def _caiep(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "caiep"), *args], env=environment, capture_output=True, text=True, timeout=300, check=False
    )


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("publish")
    home, out = folder / "home", folder / "site"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    environment["CAIEP_KEY_PASSPHRASE"] = secrets.token_urlsafe(18)
    made = _caiep(environment, "--home", str(home), "init", "--issuer-name", "CAiEP Board", "--issuer-url",
                  ISSUER_URL, "--did", "key")  # fmt: skip
    assert made.returncode == 0, made.stderr
    results = folder / "results.csv"
    write_results(results, 6, seed=5)
    assert _caiep(environment, "--home", str(home), "results", "import", str(results)).returncode == 0
    signed = _caiep(environment, "--home", str(home), "sign", "--workers", "1")
    assert signed.returncode == 0, signed.stderr
    with Instance(home).registry() as registry:
        credentials = [json.loads(registry.credential(r.credential_id)[1]) for r in registry.credentials()]
    published = _caiep(environment, "--home", str(home), "publish", "--out", str(out))
    assert published.returncode == 0, published.stderr
    assert "published 6 credentials, 1 status list" in published.stdout
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(out), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while _fetch(f"{base}/achievements/caiep")[0] != 200:
            assert server.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield Site(home, out, base, environment, credentials)
    finally:
        server.terminate()
        server.wait(timeout=15)


def _ours(site: Site, credential: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    """``caiep verify`` with no instance: every fetch goes to the static copy over HTTP."""
    path = site.out.parent / f"{name}.json"
    path.write_text(json.dumps(credential), encoding="utf-8")
    environment = {k: v for k, v in site.environment.items() if k != "CAIEP_KEY_PASSPHRASE"}
    run = subprocess.run(
        [str(BIN / "caiep"), "verify", "--json", "--allow-http-base", site.base, str(path)],
        env=environment,
        cwd=site.out.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return run.returncode, json.loads(run.stdout)


def _status(body: dict[str, Any]) -> tuple[str, str]:
    [check] = [c for c in body["checks"] if c["name"] == "status"]
    return check["outcome"], check["code"]


def _digital_bazaar(site: Site, contexts: dict[str, Any], credentials: list[dict[str, Any]]) -> Any:
    return run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "origins": {ISSUER_URL: site.base},
            "credentials": credentials,
            "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )["results"]


def test_the_static_copy_is_laid_out_as_the_urls_in_the_credentials(site: Site) -> None:
    with Instance(site.home).registry() as registry:
        for credential in site.credentials:
            uuid = credential["id"].rsplit("/", 1)[1]
            status, body = _fetch(f"{site.base}/credentials/{uuid}")
            assert (status, body.decode("utf-8")) == (200, registry.credential(uuid)[1])
        status, body = _fetch(f"{site.base}/status/1")
        assert (status, body.decode("utf-8")) == (200, registry.status_list(1))
    lists = {c["credentialStatus"]["statusListCredential"] for c in site.credentials}
    assert lists == {f"{ISSUER_URL}/status/1"}
    achievement = json.loads(_fetch(f"{site.base}/achievements/caiep")[1])
    assert achievement["id"] == site.credentials[0]["credentialSubject"]["achievement"]["id"]
    assert not (site.out / ".well-known").exists()  # did:key: no DID document to host


def test_both_verifiers_read_the_static_copy_and_see_a_revocation_after_a_re_publish(
    site: Site, contexts: dict[str, Any]
) -> None:
    target, bystander = site.credentials[0], site.credentials[1]
    code, body = _ours(site, target, "before")
    assert (code, body["verified"], _status(body)) == (0, True, ("valid", "not_revoked"))
    for result in _digital_bazaar(site, contexts, [target, bystander]):
        assert (result["verified"], result["error"]) == (True, None)
        [entry] = result["statuses"]
        assert (entry["checked"], entry["set"], entry["error"]) == (True, False, None)

    instance = Instance(site.home)
    signer = instance.signer(site.environment["CAIEP_KEY_PASSPHRASE"]).list_signer()
    now = datetime.now(UTC)
    with instance.registry() as registry, registry.write() as connection:
        charter = lifecycle.find_charter(connection, target["id"], lock=True)
        entries = lifecycle.copies_in_circulation(connection, charter.credential_id, unexpired_at=now)
        assert statuslists.set_bits(connection, entries, signer, now=now) == [1]
        lifecycle.set_state(connection, charter.credential_id, "revoked", now=now, public_reason="withdrawn")
    again = _caiep(site.environment, "--home", str(site.home), "publish", "--out", str(site.out))
    assert again.returncode == 0, again.stderr

    code, body = _ours(site, target, "after")
    assert (code, body["status"], _status(body)) == (1, "revoked", ("invalid", "revoked"))
    assert _ours(site, bystander, "bystander")[0] == 0
    revoked, fine = _digital_bazaar(site, contexts, [target, bystander])
    # Digital Bazaar's library reports the set bit in its status results.
    assert (revoked["statuses"][0]["checked"], revoked["statuses"][0]["set"]) == (True, True)
    assert (fine["statuses"][0]["set"], fine["verified"]) == (False, True)


def test_publish_refuses_a_directory_it_did_not_write_unless_forced(site: Site, tmp_path: Path) -> None:
    foreign = tmp_path / "www"
    foreign.mkdir()
    (foreign / "index.html").write_text("<p>someone else's site</p>", encoding="utf-8")
    refused = _caiep(site.environment, "--home", str(site.home), "publish", "--out", str(foreign))
    assert refused.returncode == 2  # unusable input, as every caiep command reports it
    assert "not written by 'caiep publish'" in refused.stderr
    assert "--force" in refused.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["index.html"]  # nothing written
    forced = _caiep(site.environment, "--home", str(site.home), "publish", "--out", str(foreign), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (foreign / "index.html").is_file()
    assert (foreign / "status" / "1").is_file()
    a_file = tmp_path / "plain"
    a_file.write_text("x", encoding="utf-8")
    not_a_dir = _caiep(site.environment, "--home", str(site.home), "publish", "--out", str(a_file))
    assert not_a_dir.returncode == 2
    assert "not a directory" in not_a_dir.stderr


# One charter per change, none of those the tests above use; each case re-publishes the whole copy.
CHANGES = {"revoke": 2, "suspend": 3, "reinstate": 4, "renew": 5}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_made_with_the_cli_reaches_both_verifiers_through_a_re_published_copy(
    site: Site, contexts: dict[str, Any], change: str, tmp_path: Path
) -> None:
    """``caiep revoke|suspend|reinstate|renew`` then ``caiep publish``: the old copy's bit is set
    (revoked, suspended; after a reinstatement the suspended copy stays set), and the new version a
    reinstatement or renewal writes verifies with its bit unset, read from the static copy only."""
    target = site.credentials[CHANGES[change]]
    out = tmp_path / "new.json"

    def cli(*args: str, **settings: str) -> None:
        run = _caiep({**site.environment, **settings}, "--home", str(site.home), *args)
        assert run.returncode == 0, run.stderr

    if change in ("revoke", "suspend", "reinstate"):
        cli("revoke" if change == "revoke" else "suspend", target["id"], "--reason", "under review")
    if change == "reinstate":
        cli("reinstate", target["id"], "--out", str(out))
    if change == "renew":  # a charter issued today is years from its window: open it wide
        cli("renew", target["id"], "--out", str(out), CAIEP_RENEWAL_WINDOW_MONTHS="60")
    cli("publish", "--out", str(site.out))

    old_set = change != "renew"  # a renewal leaves the older version in good standing
    code, body = _ours(site, target, f"{change}-old")
    verdict = (1, False, ("invalid", "revoked")) if old_set else (0, True, ("valid", "not_revoked"))
    assert (code, body["verified"], _status(body)) == verdict
    presented = [target]
    if change in ("reinstate", "renew"):
        new = json.loads(out.read_text(encoding="utf-8"))
        assert (new["id"], new["awardedDate"]) == (target["id"], target["awardedDate"])
        assert new["validFrom"] > target["validFrom"]
        hosted = site.out / "credentials" / target["id"].rsplit("/", 1)[1]
        assert json.loads(hosted.read_text(encoding="utf-8")) == new  # the copy hosts the new version
        code, body = _ours(site, new, f"{change}-new")
        assert (code, body["verified"], _status(body)) == (0, True, ("valid", "not_revoked"))
        presented.append(new)
    found = []
    for result in _digital_bazaar(site, contexts, presented):
        [entry] = result["statuses"]
        assert (entry["checked"], entry["error"]) == (True, None), entry
        assert result["verified"] is (not entry["set"]), result
        found.append(entry["set"])
    assert found == [old_set, False][: len(presented)]
