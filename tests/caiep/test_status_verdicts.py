"""What our verifier and ``caiep verify`` say of one of our credentials when its status list is
wrong: unreachable, tampered, signed by another key, issued by someone else, too short, expired
("cannot be verified", exit 2, with the reason), or when the credential's index lies outside its
list ("invalid", exit 1: the issuer signed an impossible entry).

The list is served as a static file by ``python -m http.server`` on loopback, the way a
``caiep publish`` copy is, and ``caiep verify --allow-http-base`` fetches it from there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from caiep.issuer.charter import CharterAward
from caiep.issuer.issuance import serialize_json
from caiep.issuer.jobs import Signer, issue_one
from caiep.issuer.records import PendingResult
from caiep.issuer.statuslists import LIST_SIZE, ListSigner, unsigned_list_credential
from caiep.statuslist import decode_status_list, encode_status_list
from caiep.wiring import Instance, init_instance, upgrade_configured_database

BIN = Path(sys.executable).parent
ISSUER_URL = "https://credentials.caiep.example"
PASSPHRASE = "a throwaway passphrase for status verdicts"
NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Setup:
    folder: Path
    base: str
    ours: Signer
    other: Signer
    credential: dict[str, Any]
    index: int
    out_of_range: dict[str, Any]


def _instance(home: Path, did: str = "key") -> Signer:
    init_instance(home, issuer_name="CAiEP Board", issuer_url=ISSUER_URL, did_method=did,
                  passphrase=PASSPHRASE, now=NOW)  # fmt: skip
    instance = Instance(home)
    upgrade_configured_database(instance.configuration)
    return instance.signer(PASSPHRASE)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("verdicts")
    ours, other = _instance(folder / "ours"), _instance(folder / "other")
    award = CharterAward("Vera Verdict", "vera@example.org", date(2025, 3, 3), "", score="80")
    registry = Instance(folder / "ours").registry()
    issued = issue_one(registry, ours, award, now=NOW)
    registry.dispose()
    credential = json.loads(issued.document)
    assert issued.status_index is not None
    pending = PendingResult(0, issued.holder_id, award.name, award.email, award.exam_date, "80", "", "")
    # An entry the issuer signed at a place no list has: beyond the 131,072 entries of list 1.
    impossible = ours.make(
        (pending, "0b5f2f2e-6a55-4c39-9a43-3f9c2b0e7d11", "ef" * 16, NOW, (1, LIST_SIZE + 5))
    )
    (folder / "site" / "status").mkdir(parents=True)
    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(folder / "site"),
         str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _answers(base + "/"):
            assert server.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield Setup(
            folder, base, ours, other, credential, issued.status_index, json.loads(impossible.document)
        )
    finally:
        server.terminate()
        server.wait(timeout=15)


def _signed_list(signer: ListSigner, *, bits: bytes | None = None, now: datetime = NOW) -> dict[str, Any]:
    unsigned = unsigned_list_credential(signer, 1, bytes(LIST_SIZE // 8) if bits is None else bits, now=now)
    return signer.sign(unsigned, now)


def _serve(setup: Setup, document: dict[str, Any] | None) -> None:
    path = setup.folder / "site" / "status" / "1"
    if document is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(serialize_json(document), encoding="utf-8")


def _verify(setup: Setup, credential: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    path = setup.folder / "credential.json"
    path.write_text(json.dumps(credential), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    run = subprocess.run(
        [str(BIN / "caiep"), "verify", "--json", "--allow-http-base", setup.base, str(path)],
        env=environment, cwd=setup.folder, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return run.returncode, json.loads(run.stdout)


def _status(body: dict[str, Any]) -> tuple[str, str, str]:
    [check] = [c for c in body["checks"] if c["name"] == "status"]
    return check["outcome"], check["code"], check["message"]


def _tampered(signer: ListSigner, index: int) -> dict[str, Any]:
    """Our signed list with the credential's bit flipped afterwards, not re-signed."""
    document = _signed_list(signer)
    bits = bytearray(decode_status_list(document["credentialSubject"]["encodedList"]))
    bits[index // 8] |= 0x80 >> (index % 8)
    document["credentialSubject"]["encodedList"] = encode_status_list(bytes(bits))
    return document


def test_a_good_list_verifies(setup: Setup) -> None:
    _serve(setup, _signed_list(setup.ours.list_signer()))
    code, body = _verify(setup, setup.credential)
    assert (code, body["status"], _status(body)[:2]) == (0, "valid", ("valid", "not_revoked"))


@pytest.mark.parametrize(
    ("case", "code", "reason"),
    [
        ("unreachable", "STATUS_RETRIEVAL_ERROR", "status list unavailable"),
        ("tampered", "STATUS_VERIFICATION_ERROR", "the status list does not verify"),
        ("another key", "STATUS_VERIFICATION_ERROR", "the status list does not verify"),
        (
            "another issuer",
            "STATUS_VERIFICATION_ERROR",
            "issued by someone other than the credential's issuer",
        ),
        ("too short", "STATUS_LIST_LENGTH_ERROR", "at least 131072 are required"),
        ("expired", "STATUS_VERIFICATION_ERROR", "the status list has expired"),
    ],
)
def test_a_list_that_cannot_be_trusted_means_cannot_be_verified_exit_2(
    setup: Setup, case: str, code: str, reason: str
) -> None:
    ours, other = setup.ours.list_signer(), setup.other.list_signer()
    served = {
        "unreachable": lambda: None,
        "tampered": lambda: _tampered(ours, setup.index),
        # names our issuer, signed with the other instance's key
        "another key": lambda: _signed_list(replace(other, issuer_id=ours.issuer_id)),
        # properly signed, by an issuer that is not the credential's
        "another issuer": lambda: _signed_list(other),
        "too short": lambda: _signed_list(ours, bits=bytes(1000)),
        "expired": lambda: _signed_list(ours, now=NOW - timedelta(days=31)),
    }[case]()
    _serve(setup, served)
    exit_code, body = _verify(setup, setup.credential)
    assert (exit_code, body["status"], body["verified"]) == (2, "cannot_be_verified", False)
    outcome, found, message = _status(body)
    assert (outcome, found) == ("unknown", code)
    assert reason in message


def test_an_index_outside_its_list_is_invalid_exit_1(setup: Setup) -> None:
    _serve(setup, _signed_list(setup.ours.list_signer()))
    code, body = _verify(setup, setup.out_of_range)
    assert (code, body["status"]) == (1, "invalid")
    outcome, found, message = _status(body)
    assert (outcome, found) == ("invalid", "RANGE_ERROR")
    assert "outside the status list" in message
