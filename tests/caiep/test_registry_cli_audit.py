"""The registry commands, continued: audit, keys, ``issue`` recorded, and both databases.

Same conventions as test_registry_cli.py (helpers and fixtures in conftest_registry.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest_registry import (
    EXAMPLE_IMPORTED,
    Site,
    _imported,
    _init,
    _listed,
    _report,
    _rows,
    _signed,
    _url,
    did_web_site_fixture,  # noqa: F401 - the did_web_site fixture, registered by importing it
    execute,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
    query,
    scalar,
    signed_examples_fixture,  # noqa: F401 - the signed_examples fixture, registered by importing it
)

if TYPE_CHECKING:
    from conftest import CLI


# --- audit -----------------------------------------------------------------------------------


def test_audit_verify_on_a_fresh_instance(cli: CLI, passphrase: str) -> None:
    _init(cli)

    run = cli("audit", "verify")

    assert run.code == 0
    assert run.out.startswith("audit holds: 0 chain entries")


def test_audit_verify_holds_after_import_and_sign(cli: CLI, signed_examples: list[dict[str, Any]]) -> None:
    run = cli("audit", "verify")

    assert run.code == 0
    # results.imported, job.started, credentials.issued, job.finished
    assert run.out.startswith("audit holds: 5 chain entries")


def _entry_logging(home: Path, url: str) -> int:
    """The sequence number of the credentials.issued entry that lists ``url``."""
    entries = query(_url(home), "SELECT seq, details FROM audit_log WHERE action = 'credentials.issued'")
    # One entry logs both forms of a credential's version (two digests under its URL).
    (seq,) = [seq for seq, details in entries if url in {c[0] for c in json.loads(details)["credentials"]}]
    return int(seq)


def test_audit_verify_finds_an_edited_credential(
    cli: CLI, home: Path, signed_examples: list[dict[str, Any]]
) -> None:
    record = signed_examples[5]
    changed = execute(
        _url(home),
        "UPDATE credential_copies SET document = replace(document, :name, 'Mallory')"
        " WHERE credential_id = :id AND served",
        name=record["holder"],
        id=record["uuid"],
    )
    assert changed == 1

    run = cli("audit", "verify")

    assert run.code == 1
    seq = _entry_logging(home, record["id"])
    assert run.out.startswith(
        f"audit BROKEN at entry {seq}: the stored document of {record['id']} is not the one issued"
    )


def test_audit_verify_finds_a_deleted_credential(
    cli: CLI, home: Path, signed_examples: list[dict[str, Any]]
) -> None:
    record = signed_examples[0]
    delete = "DELETE FROM credential_copies WHERE credential_id = :id"
    deleted = execute(_url(home), delete, id=record["uuid"])
    assert deleted == 2  # both forms

    run = cli("audit", "verify")

    assert run.code == 1
    seq = _entry_logging(home, record["id"])
    assert f"audit BROKEN at entry {seq}: credential {record['id']} logged here is missing" in run.out


def test_audit_verify_finds_an_edited_entry(
    cli: CLI, home: Path, signed_examples: list[dict[str, Any]]
) -> None:
    changed = execute(
        _url(home),
        "UPDATE audit_log SET details = replace(details, :was, :now) WHERE seq = 1",
        was='"inserted":20',
        now='"inserted":19',
    )
    assert changed == 1

    run = cli("audit", "verify")

    assert run.code == 1
    assert run.out.startswith("audit BROKEN at entry 1: its content does not match its hash (edited)")


# --- keys ------------------------------------------------------------------------------------


def test_keys_rotate_on_did_web_keeps_earlier_credentials_verifiable(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str, did_web_site: Site
) -> None:
    _init(cli, "web")
    _imported(cli)
    _signed(cli, "--limit", "1")
    (first_key,) = cli("keys", "list").out.splitlines()

    rotated = cli("keys", "rotate")
    _signed(cli, "--limit", "1")

    assert rotated.code == 0, rotated.err
    keys = cli("keys", "list").out.splitlines()
    assert len(keys) == 2
    old_id, new_id = (line.split()[0] for line in keys)
    assert keys[0].startswith(f"{old_id}  created ")
    assert " retired " in keys[0]
    assert first_key.split()[0] == old_id
    assert keys[1].endswith(" current")
    assert new_id in rotated.out
    assert old_id in rotated.out
    document = json.loads((home / "did.json").read_text(encoding="utf-8"))
    listed = [m["publicKeyMultibase"] for m in document["verificationMethod"]]
    assert sorted(listed) == sorted([old_id, new_id])
    assert len(document["assertionMethod"]) == 2

    before, after = sorted(_listed(cli), key=lambda r: r["issuedAt"])
    assert (before["key"], after["key"]) == (old_id, new_id)
    did_web_site.publish_did(home)
    did_web_site.publish_status_lists(home)
    for record in (before, after):
        path = tmp_path / f"{record['uuid']}.json"
        assert cli("credentials", "export", record["uuid"], "--out", str(path)).code == 0
        checked = cli("verify", str(path), "--json", "--allow-http-base", did_web_site.base, home_dir=None)
        assert checked.code == 0, checked.out
        assert json.loads(checked.out)["status"] == "valid"
    assert set(did_web_site.requested) == {"/.well-known/did.json", "/status/1"}

    ((details,),) = query(_url(home), "SELECT details FROM audit_log WHERE action = 'key.rotated'")
    assert json.loads(details) == {"new": new_id, "retired": old_id}
    assert cli("audit", "verify").code == 0


def test_after_rotation_the_new_did_document_must_be_published(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str, did_web_site: Site
) -> None:
    """The DID document served before the rotation does not list the new key (as `rotate` says)."""
    _init(cli, "web")
    _imported(cli)
    did_web_site.publish_did(home)
    assert "publish" in cli("keys", "rotate").out
    _signed(cli, "--limit", "1")
    (record,) = _listed(cli)
    path = tmp_path / "new.json"
    assert cli("credentials", "export", record["uuid"], "--out", str(path)).code == 0
    did_web_site.publish_status_lists(home)

    # verified as an employer would, with no instance of the issuer's at hand
    stale = cli("verify", str(path), "--json", "--allow-http-base", did_web_site.base, home_dir=None)
    did_web_site.publish_did(home)
    fresh = cli("verify", str(path), "--json", "--allow-http-base", did_web_site.base, home_dir=None)

    assert stale.code == 1, stale.out
    assert {c["name"]: c["outcome"] for c in json.loads(stale.out)["checks"]}["proof"] == "invalid"
    assert fresh.code == 0, fresh.out


def test_keys_rotate_on_did_key_exits_2(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli, "key")
    before = {p.name: p.read_bytes() for p in (home / "keys").iterdir()}
    did = (home / "did.json").read_bytes()

    run = cli("keys", "rotate")

    assert run.code == 2
    assert "did:key" in run.err
    assert {p.name: p.read_bytes() for p in (home / "keys").iterdir()} == before
    assert (home / "did.json").read_bytes() == did
    assert len(cli("keys", "list").out.splitlines()) == 1
    assert _rows(home, "audit_log") == 0


# --- caiep issue is recorded -----------------------------------------------------------------


def test_issue_is_recorded_with_the_holders_charter_number(
    cli: CLI, home: Path, tmp_path: Path, signed_examples: list[dict[str, Any]]
) -> None:
    ada = next(r for r in signed_examples if r["email"] == "ada.example@example.org")
    out = tmp_path / "ada.json"

    run = cli(
        "issue", "--name", "Ada Example", "--email", " Ada.Example@EXAMPLE.org ", "--exam-date", "2026-03-14",
        "--score", "86", "--pathway", "experience", "--out", str(out),
    )  # fmt: skip
    new = cli("issue", "--name", "Yara Newcomer", "--email", "yara@example.net", "--exam-date", "2026-10-01")

    assert run.code == new.code == 0
    credential = json.loads(out.read_text(encoding="utf-8"))
    records = _listed(cli, "--holder", "ada.example@example.org")
    assert len(records) == 2
    (single,) = [r for r in records if r["id"] == credential["id"]]
    assert single["charterNumber"] == ada["charterNumber"]  # the same holder, the same number
    assert credential["credentialSubject"]["licenseNumber"] == ada["charterNumber"]
    assert (single["job"], single["examResult"]) == (None, None)
    stored = scalar(
        _url(home),
        "SELECT document FROM credential_copies WHERE credential_id = :id AND served",
        id=single["uuid"],
    )
    assert out.read_text(encoding="utf-8") == stored
    (yara,) = _listed(cli, "--holder", "yara@example.net")
    assert yara["charterNumber"] not in {r["charterNumber"] for r in signed_examples}
    assert json.loads(new.out)["credentialSubject"]["licenseNumber"] == yara["charterNumber"]
    assert len(_listed(cli)) == 15
    assert cli("audit", "verify").code == 0  # a single issuance is logged like a job's


# --- SQLite and PostgreSQL -------------------------------------------------------------------


def test_round_trip_on_either_database(
    cli: CLI,
    home: Path,
    tmp_path: Path,
    passphrase: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAIEP_DATABASE_URL", database_url)
    _init(cli)
    assert _imported(cli).out.splitlines()[-1] == EXAMPLE_IMPORTED

    report = _report(_signed(cli))
    records = _listed(cli)
    out = tmp_path / "exported.json"
    exported = cli("credentials", "export", records[0]["uuid"], "--out", str(out))
    audit = cli("audit", "verify")

    assert report["issued"] == len(records) == 13
    assert {r["job"] for r in records} == {report["job"]}
    assert json.loads(cli("credentials", "show", records[0]["id"]).out) == {**records[0], "lapses": []}
    assert exported.code == 0
    assert out.read_text(encoding="utf-8") == scalar(
        database_url,
        "SELECT document FROM credential_copies WHERE credential_id = :id AND served",
        id=records[0]["uuid"],
    )
    assert cli("verify", str(out)).code == 0
    assert audit.code == 0, audit.out
    assert report["auditHead"] == scalar(database_url, "SELECT hash FROM audit_head")
    # $CAIEP_DATABASE_URL chose the database: no registry was made in the instance directory.
    assert not (home / "registry.sqlite3").exists()
