"""``caiep verify`` of signed receipts and ``caiep verifier-key``: a receipt verifies against the
verification service's key (not the issuer's), says what it proves, matches or not the file given
with ``--against``, fails once changed, and keeps verifying after the key is rotated; ``caiep db
upgrade`` gives an instance made before receipts its key."""

from __future__ import annotations

import json
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conftest_registry import (
    _imported,
    _init,
    _listed,
    _signed,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
)

from caiep.settings import read_configuration
from caiep.verifier.receipts import sha256_digest
from caiep.verifier.result import Check, Outcome, Verdict
from caiep.verifierkey import PASSPHRASE_FILE, VERIFIER_KEYS_DIR, load_receipt_issuer

if TYPE_CHECKING:
    from conftest import CLI

CHECKS = tuple(Check(name, Outcome.VALID, "ok", "") for name in ("structure", "contexts", "proof"))


def _receipt_of(home: Path, checked: Path, verdict: Verdict = Verdict.VALID) -> dict[str, Any]:
    """A receipt of a check of ``checked``, signed as the web app signs them."""
    issuer = load_receipt_issuer(read_configuration(home))
    return issuer.for_credential(
        credential_id="https://credentials.caiep.example/credentials/x",
        digest=sha256_digest(checked.read_bytes()),
        checks=CHECKS,
        verdict=verdict,
        checked_at=datetime.now(UTC),
    )


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_receipt_says_what_it_proves_and_checks_the_file_against_it(
    cli: CLI, home: Path, passphrase: str, tmp_path: Path
) -> None:
    _init(cli, "web")
    _imported(cli)
    _signed(cli)
    [record, other, *_] = _listed(cli)
    assert cli("export", record["charterNumber"], "--json", str(tmp_path / "a.json")).code == 0
    assert cli("export", other["charterNumber"], "--json", str(tmp_path / "b.json")).code == 0
    receipt = _write(tmp_path / "receipt.json", _receipt_of(home, tmp_path / "a.json"))

    run = cli("verify", str(receipt))
    assert run.code == 0, run.err
    assert run.out.startswith("VALID receipt, signed by did:web:credentials.caiep.example:verifier")
    assert "a check of one credential, made " in run.out
    assert "it does not say that any charter is current now" in run.out

    matched = cli(
        "verify", str(receipt), "--against", str(tmp_path / "a.json"), "--pdf", str(tmp_path / "r.pdf")
    )
    assert matched.code == 0, matched.err
    assert "its digest matches" in matched.out
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE((tmp_path / "r.pdf").stat().st_mode) == 0o600
    mismatched = cli("verify", str(receipt), "--against", str(tmp_path / "b.json"), "--json")
    assert mismatched.code == 1
    report = json.loads(mismatched.out)
    assert report["verified"] is True
    assert report["against"]["matches"] is False

    changed = json.loads(receipt.read_text())
    changed["credentialSubject"]["verdict"] = "invalid"
    tampered = cli("verify", str(_write(tmp_path / "tampered.json", changed)))
    assert tampered.code == 1
    assert "INVALID receipt" in tampered.err

    not_a_receipt = cli("verify", str(tmp_path / "a.json"), "--against", str(tmp_path / "b.json"))
    assert not_a_receipt.code == 2
    assert "--against is for a signed receipt" in not_a_receipt.err


def test_rotation_keeps_old_receipts_verifying(cli: CLI, home: Path, passphrase: str, tmp_path: Path) -> None:
    _init(cli, "web")
    checked = _write(tmp_path / "checked.json", {"any": "bytes"})
    before = _write(tmp_path / "before.json", _receipt_of(home, checked))
    shown = cli("verifier-key", "show")
    assert shown.code == 0
    [did, first] = shown.out.splitlines()
    assert did == "did:web:credentials.caiep.example:verifier"
    assert first.endswith("current")

    rotated = cli("verifier-key", "rotate")
    assert rotated.code == 0, rotated.err
    after = _write(tmp_path / "after.json", _receipt_of(home, checked))
    assert (
        json.loads(after.read_text())["proof"][0]["verificationMethod"]
        != (json.loads(before.read_text())["proof"][0]["verificationMethod"])
    )
    for path in (before, after):
        assert cli("verify", str(path)).code == 0, path
    listed = cli("verifier-key", "show").out.splitlines()
    assert len(listed) == 3
    assert "retired" in listed[1]
    assert "current" in listed[2]
    assert cli("audit", "verify").code == 0  # the rotation is an entry of an unbroken chain


def test_db_upgrade_makes_the_key_of_an_instance_made_before_receipts(
    cli: CLI, home: Path, passphrase: str
) -> None:
    _init(cli, "key")
    shutil.rmtree(home / VERIFIER_KEYS_DIR)
    (home / PASSPHRASE_FILE).unlink()
    assert cli("verifier-key", "show").code != 0
    run = cli("db", "upgrade")
    assert run.code == 0, run.err
    assert "made the verification service's key" in run.out
    assert stat.S_IMODE((home / PASSPHRASE_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((home / VERIFIER_KEYS_DIR).stat().st_mode) == 0o700
    assert cli("verifier-key", "show").code == 0
    again = cli("db", "upgrade")
    assert "made the verification service's key" not in again.out  # made once
