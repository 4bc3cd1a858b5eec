"""``caiep db upgrade`` and ``init``: the registry's schema is brought to the newest revision.

Run on both databases (SQLite and a fresh PostgreSQL database, the ``database_url`` fixture).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from conftest_registry import no_database_override, scalar  # noqa: F401 - an autouse fixture

if TYPE_CHECKING:
    from conftest import CLI

ISSUER_URL = "https://credentials.caiep.example"


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head
    return head


def _init(cli: CLI) -> str:
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL, "--did", "key")
    assert run.code == 0, run.err
    return run.out


def test_init_makes_the_registry_at_the_newest_revision(
    cli: CLI, home: Path, passphrase: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIEP_DATABASE_URL", database_url)

    out = _init(cli)

    assert f"Registry ready (schema revision {_head()})" in out
    assert scalar(database_url, "SELECT version_num FROM alembic_version") == _head()
    assert scalar(database_url, "SELECT count(*) FROM charter_credentials") == 0


def test_db_upgrade_brings_an_empty_database_to_the_newest_revision(
    cli: CLI, home: Path, passphrase: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _init(cli)  # its registry is the instance's SQLite file; the database below is new and empty
    monkeypatch.setenv("CAIEP_DATABASE_URL", database_url)

    first = cli("db", "upgrade")
    again = cli("db", "upgrade")

    assert (first.code, again.code) == (0, 0)
    assert first.out == again.out == f"registry at schema revision {_head()}\n"
    assert scalar(database_url, "SELECT version_num FROM alembic_version") == _head()
    assert cli("credentials", "list").code == 0


def test_the_default_registry_is_in_the_instance(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)
    assert (home / "registry.sqlite3").is_file()
    run = cli("db", "upgrade")
    assert run.out == f"registry at schema revision {_head()}\n"


def test_init_with_an_unusable_database_keeps_the_instance_and_says_what_next(
    cli: CLI, home: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CAIEP_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"
    )

    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL, "--did", "key")

    assert run.code == 2
    assert "caiep db upgrade" in run.err
    assert run.err.splitlines()[-1].startswith("caiep: CAIEP_DATABASE_URL (environment): ")
    assert (home / "settings.json").is_file()
