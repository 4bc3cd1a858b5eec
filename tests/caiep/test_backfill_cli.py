"""``caiep credentials backfill`` on an instance that holds credentials issued before both forms
were stored: it signs exactly the missing forms, batch by batch with progress on standard
error, says how many, signs nothing the second time, and leaves ``audit verify`` holding; the
hosted copy, the listing and ``credentials export`` are unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest_registry import (
    _init,
    _listed,
    _url,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
    query,
)
from old_registry import issued_the_old_way

from caiep.issuer.registry import open_registry
from caiep.proofs.jose import REGISTERED_CLAIMS, decode_unverified
from caiep.wiring import Instance

if TYPE_CHECKING:
    from conftest import CLI


def _copies(home: Path, credential_id: str) -> list[tuple[str, bool]]:
    rows = query(
        _url(home),
        "SELECT format, served FROM credential_copies WHERE credential_id = :id ORDER BY id",
        id=credential_id,
    )
    return [(str(format), bool(served)) for format, served in rows]


def test_backfill_signs_the_missing_forms_once(cli: CLI, home: Path, tmp_path: Path, passphrase: str) -> None:
    _init(cli)
    issued = cli("issue", "--name", "Nia New", "--email", "nia@example.org", "--exam-date", "2026-10-01")
    assert issued.code == 0, issued.err
    assert cli("credentials", "backfill").out == "every credential has both forms; signed 0\n"
    now = datetime.now(UTC)
    signer = Instance(home).signer(passphrase)
    with open_registry(_url(home)) as registry:
        old_json = issued_the_old_way(registry, signer, "json@example.org", now)
        old_jwt = issued_the_old_way(
            registry, Instance(home).signer(passphrase, format="jwt"), "jwt@example.org", now
        )
    assert _copies(home, old_jwt.credential_id) == [("jwt", True)]
    listed = _listed(cli)

    dry = cli("credentials", "backfill", "--dry-run")
    assert (dry.code, dry.out) == (0, "would sign 2 missing forms (--dry-run: nothing signed)\n")
    assert _copies(home, old_jwt.credential_id) == [("jwt", True)]
    run = cli("credentials", "backfill", "--batch-size", "1")
    again = cli("credentials", "backfill")

    assert (run.code, run.out) == (0, "signed 2 missing forms\n")
    assert run.err.splitlines() == ["backfill: 1/2 forms signed", "backfill: 2/2 forms signed"]
    assert (again.code, again.out) == (0, "every credential has both forms; signed 0\n")
    assert _copies(home, old_json.credential_id) == [("ldp", True), ("jwt", False)]
    assert _copies(home, old_jwt.credential_id) == [("jwt", True), ("ldp", False)]
    assert cli("audit", "verify").code == 0
    assert _listed(cli) == listed  # one record a charter, as before
    out = tmp_path / "old.jwt"
    assert cli("credentials", "export", old_jwt.credential_id, "--out", str(out)).code == 0
    assert out.read_text(encoding="utf-8") == old_jwt.document  # the served copy, untouched
    # The JSON form signed for the VC-JWT: its payload's credential, with a proof; it verifies.
    [(document,)] = query(
        _url(home),
        "SELECT document FROM credential_copies WHERE credential_id = :id AND format = 'ldp'",
        id=old_jwt.credential_id,
    )
    payload = decode_unverified(old_jwt.document.strip())[1]
    signed = json.loads(document)
    assert {k: v for k, v in signed.items() if k != "proof"} == {
        k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS
    }
    json_file = tmp_path / "backfilled.json"
    json_file.write_text(document, encoding="utf-8")
    checked = cli("verify", str(json_file), "--json")
    assert checked.code == 0, checked.out
    assert json.loads(checked.out)["status"] == "valid"


def test_backfill_needs_the_passphrase_but_a_dry_run_does_not(
    cli: CLI, home: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _init(cli)
    monkeypatch.delenv("CAIEP_KEY_PASSPHRASE")
    assert cli("credentials", "backfill", "--dry-run").out.startswith("would sign 0 missing forms")
    run = cli("credentials", "backfill")
    assert run.code != 0
    assert "no key passphrase" in run.err
