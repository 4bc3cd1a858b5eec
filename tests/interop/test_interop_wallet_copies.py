"""Wallet-bound copies made by the real signer (``caiep signer``) beside the app under gunicorn,
which holds neither the passphrase nor any key file: Digital Bazaar's ``@digitalbazaar/vc``
verifies the JSON copy and ``jose`` the VC-JWT copy (reading the status list from the app on
loopback), both naming the wallet's DID; after ``caiep revoke`` the copy's own bit is set, as
both our API and Digital Bazaar's library read it from the served list."""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from signer_support import RunningSigner, running_signer
from test_interop_status import (  # the status tests' gunicorn set-up and helpers, reused
    Served,
    _caiep,
    _digital_bazaar,
    _post_json,
    _status_check,
    serve_instance,
)

from caiep.keys.did import did_key_for, resolve_did_key
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.signerclient import SignedCopy, request_wallet_copy
from node import run_node

WALLET = SigningKey.from_seed(bytes(range(40, 72)))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_instance(tmp_path_factory.mktemp("wallets"))


@pytest.fixture(scope="module")
def signer(served: Served) -> Iterator[RunningSigner]:
    with running_signer(
        served.home, {"CAIEP_KEY_PASSPHRASE": served.environment["CAIEP_KEY_PASSPHRASE"]}
    ) as s:
        yield s


def _copies(signer: RunningSigner, credential: dict[str, Any]) -> dict[str, SignedCopy]:
    uuid = str(credential["id"]).rsplit("/", 1)[1]
    return {
        form: request_wallet_copy(
            signer.socket, credential_id=uuid, subject=did_key_for(WALLET.public_key), form=form,
            channel="openid4vci", timeout=60,
        )
        for form in ("ldp", "jwt")
    }  # fmt: skip


def _jose(tokens: list[str]) -> list[dict[str, Any]]:
    header = json.loads(base64.urlsafe_b64decode(tokens[0].split(".")[0] + "=="))
    method = resolve_did_key(header["kid"])["verificationMethod"][0]
    jwk = {**PublicKey.from_multibase(method["publicKeyMultibase"]).to_jwk(), "kid": header["kid"]}
    request = {"op": "verify", "tokens": tokens, "jwks": [jwk], "algorithms": ["EdDSA"], "typ": "JWT"}
    return list(run_node("jose.mjs", request)["results"])


def _ours_on_jwt(served: Served, token: str) -> Any:
    request = urllib.request.Request(
        f"{served.base}/api/v1/verify", data=token.encode(), headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_the_peers_verify_wallet_copies_and_see_their_own_bit_after_revocation(
    served: Served, signer: RunningSigner, contexts: dict[str, Any]
) -> None:
    did = did_key_for(WALLET.public_key)
    credential = served.credentials[0]
    copies = _copies(signer, credential)
    document = json.loads(copies["ldp"].document)
    token = copies["jwt"].document.strip()
    assert (
        document["credentialStatus"]["statusListIndex"] != credential["credentialStatus"]["statusListIndex"]
    )
    [theirs] = _digital_bazaar(served, contexts, [document])
    assert (theirs["verified"], theirs["error"], theirs["proofVerified"]) == (True, None, True)
    assert [(e["checked"], e["set"]) for e in theirs["statuses"]] == [(True, False)]
    [by_jose] = _jose([token])
    assert (by_jose["verified"], by_jose["error"]) == (True, None)
    assert by_jose["payload"]["sub"] == by_jose["payload"]["credentialSubject"]["id"] == did
    assert _status_check(_post_json(f"{served.base}/api/v1/verify", document)) == ("valid", "not_revoked")
    assert _status_check(_ours_on_jwt(served, token)) == ("valid", "not_revoked")

    uuid = str(credential["id"]).rsplit("/", 1)[1]
    revoked = _caiep(served.environment, "--home", str(served.home), "revoke", uuid, "--reason", "Withdrawn")
    assert revoked.returncode == 0, revoked.stderr
    [theirs] = _digital_bazaar(served, contexts, [document])
    assert theirs["verified"] is False
    assert [(e["checked"], e["set"]) for e in theirs["statuses"]] == [(True, True)]
    assert _status_check(_post_json(f"{served.base}/api/v1/verify", document)) == ("invalid", "revoked")
    assert _status_check(_ours_on_jwt(served, token)) == ("invalid", "revoked")


def _gunicorn_processes(served: Served) -> list[int]:
    """The gunicorn master and workers serving ``served`` (their command line names its port)."""
    bind = served.base.removeprefix("http://").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"gunicorn") for part in command[:2]) and bind in command:
            found.append(int(entry.name))
    return found


def test_the_web_workers_hold_no_passphrase_and_no_key_file(served: Served, signer: RunningSigner) -> None:
    """The gunicorn processes (master and both workers) have no file of the key store open and no
    passphrase in their environment; the signer beside them makes the copies."""
    processes = _gunicorn_processes(served)
    assert len(processes) == 3, processes  # the master and two workers
    keys = (served.home / "keys").resolve()
    for pid in processes:
        opened = []
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            try:
                opened.append(Path(os.readlink(descriptor)))
            except OSError:
                continue
        assert not [path for path in opened if path.is_relative_to(keys)], (pid, opened)
        assert opened, pid  # the listing is real: a worker has its sockets and logs open
        environment = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"CAIEP_KEY_PASSPHRASE" not in environment
        assert served.environment["CAIEP_KEY_PASSPHRASE"].encode() not in environment
    # and it still serves: the signer's copies are the app's to hand out
    assert _copies(signer, served.credentials[1])["ldp"].format == "ldp"
