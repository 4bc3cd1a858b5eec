"""``caiep apikey create|list|revoke``: a key shown once and stored as its hash, never listed;
``--json`` shapes; an unknown id refused; every change an audit entry with its actor."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import CLI
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ISSUER_URL = "https://credentials.caiep.example"


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql)).all()]
    finally:
        engine.dispose()


@pytest.fixture
def instance(cli: CLI, passphrase: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An instance whose registry is ``database_url`` (SQLite, then PostgreSQL)."""
    monkeypatch.setenv("CAIEP_DATABASE_URL", database_url)
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL, "--did", "key")
    assert run.code == 0, run.err
    return database_url


def test_create_list_revoke(cli: CLI, instance: str, home: Path) -> None:
    made = cli("apikey", "create", "--name", "ACME HR", "--rate", "120/min", "--json", "--actor", "hr-admin")
    assert made.code == 0, made.err
    shown = json.loads(made.out)
    assert set(shown) == {"key", "id"}
    key = shown["key"]
    assert key.startswith("caiep_")
    assert len(key) == 49
    text_run = cli("apikey", "create", "--name", " Beta Ltd ")
    assert text_run.code == 0, text_run.err
    assert "shown once" in text_run.out
    second = next(line.strip() for line in text_run.out.splitlines() if line.strip().startswith("caiep_"))
    assert second != key

    # Stored as SHA-256 only: no column holds the key.
    stored = _rows(
        instance, "SELECT id, key_hash, name, rate_per_minute, revoked_at FROM api_keys ORDER BY id"
    )
    assert stored == [
        (shown["id"], hashlib.sha256(key.encode()).hexdigest(), "ACME HR", 120, None),
        (shown["id"] + 1, hashlib.sha256(second.encode()).hexdigest(), "Beta Ltd", None, None),
    ]
    dump = json.dumps(_rows(instance, "SELECT * FROM api_keys"), default=str)
    assert key not in dump
    assert second not in dump

    listed = cli("apikey", "list")
    assert listed.code == 0
    assert "caiep_" not in listed.out
    assert f"{shown['id']}  ACME HR  120/min  created " in listed.out
    assert "Beta Ltd  60/min (default)" in listed.out
    assert listed.out.count("last used never") == 2
    rows = json.loads(cli("apikey", "list", "--json").out)
    assert [
        (r["id"], r["name"], r["ratePerMinute"], r["defaultRate"], r["revoked"], r["lastUsed"]) for r in rows
    ] == [
        (shown["id"], "ACME HR", 120, False, None, None),
        (shown["id"] + 1, "Beta Ltd", 60, True, None, None),
    ]
    assert set(rows[0]) == {"id", "name", "ratePerMinute", "defaultRate", "created", "revoked", "lastUsed"}

    revoked = cli("apikey", "revoke", str(shown["id"]), "--actor", "hr-admin")
    assert revoked.code == 0, revoked.err
    assert f"API key {shown['id']} (ACME HR) revoked " in revoked.out
    after = json.loads(cli("apikey", "list", "--json").out)
    assert after[0]["revoked"] is not None
    assert after[1]["revoked"] is None

    unknown = cli("apikey", "revoke", "999")
    assert unknown.code == 2
    assert "no API key has the id 999" in unknown.err

    entries = _rows(instance, "SELECT actor, action, subject, details FROM audit_log ORDER BY seq")
    keyed = [e for e in entries if str(e[1]).startswith("apikey.")]
    assert [(e[0], e[1], e[2]) for e in keyed] == [
        ("hr-admin", "apikey.created", f"apikey:{shown['id']}"),
        (keyed[1][0], "apikey.created", f"apikey:{shown['id'] + 1}"),
        ("hr-admin", "apikey.revoked", f"apikey:{shown['id']}"),
    ]
    assert json.loads(str(keyed[0][3])) == {"name": "ACME HR", "ratePerMinute": 120}
    assert all(key not in str(e) and second not in str(e) for e in entries)
    assert cli("audit", "verify").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", ""], "name: 1-128 printable characters"),
        (["--name", "x" * 129], "name: 1-128 printable characters"),
        (["--name", "ACME", "--rate", "0/min"], "a rate such as 120/min"),
        (["--name", "ACME", "--rate", "fast"], "a rate such as 120/min"),
    ],
)
def test_create_refuses_a_bad_name_or_rate(
    cli: CLI, instance: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    try:
        run = cli("apikey", "create", *args)
        code, err = run.code, run.err
    except SystemExit as exc:  # a flag type's refusal is a usage error
        code, err = int(str(exc.code)), capsys.readouterr().err
    assert code == 2
    assert message in err
    assert _rows(instance, "SELECT count(*) FROM api_keys") == [(0,)]
