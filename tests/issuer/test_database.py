"""The registry's database lifecycle on SQLite and PostgreSQL: upgrade, the revision check at
open, the tables against the migrated schema, and the registry as a context manager.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from caiep.errors import ConfigurationError
from caiep.issuer import audit
from caiep.issuer.database import script_revisions
from caiep.issuer.registry import Registry, open_registry, upgrade_database
from caiep.issuer.tables import metadata

TABLES = (
    "audit_log",
    "charter_credentials",
    "credential_versions",
    "credential_copies",
    "status_lists",
    "exam_results",
    "holders",
    "job_items",
    "jobs",
    "api_keys",
)


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
    return ScriptDirectory.from_config(config)


def _head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def _upgrade_to(url: str, revision: str) -> None:
    """Alembic's own upgrade to one revision: a database left behind by an older version."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def _sql(url: str, sql: str) -> list[Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def test_the_head_is_read_from_the_scripts_as_alembic_reads_it() -> None:
    head, known = script_revisions()
    assert head == _head_revision()
    assert known == {script.revision for script in _scripts().walk_revisions()}
    assert len(known) >= 2


def test_upgrade_creates_the_schema_at_the_head_and_running_it_again_changes_nothing(
    database_url: str, db_of: Callable[[Registry], Any], now: datetime
) -> None:
    upgrade_database(database_url)
    with open_registry(database_url) as first:
        db = db_of(first)
        assert {*TABLES, "audit_head", "alembic_version"} <= set(inspect(first.engine).get_table_names())
        assert db.rows("SELECT version_num FROM alembic_version") == [(_head_revision(),)]
        assert db.rows("SELECT id, seq, hash FROM audit_head") == [(1, 0, audit.GENESIS)]
        assert first.verify_audit() == (0, None)
        db.import_examples(now=now)
        counts = {name: db.scalar(f"SELECT COUNT(*) FROM {name}") for name in TABLES}
        head = db.rows("SELECT seq, hash FROM audit_head")

    for _ in range(2):
        upgrade_database(database_url)
        with open_registry(database_url) as again:
            db = db_of(again)
            assert db.rows("SELECT version_num FROM alembic_version") == [(_head_revision(),)]
            assert {name: db.scalar(f"SELECT COUNT(*) FROM {name}") for name in TABLES} == counts
            assert db.rows("SELECT seq, hash FROM audit_head") == head
            assert again.verify_audit() == (1, None)


def _schema_differences(url: str) -> list[Any]:
    """Alembic's autogenerate comparison of ``issuer/tables.py`` with the database's schema."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_the_tables_module_matches_the_migrated_schema(database_url: str) -> None:
    upgrade_database(database_url)
    assert _schema_differences(database_url) == []


def test_an_empty_database_is_refused_until_it_is_upgraded(database_url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        open_registry(database_url)
    expected = (
        f"the registry at {_shown(database_url)} has no registry tables; "
        f"this version needs {_head_revision()}: run 'caiep db upgrade'"
    )
    assert refused.value.message == expected
    if database_url.startswith("sqlite"):
        assert not Path(make_url(database_url).database or "").exists(), "opening created the file"
    upgrade_database(database_url)
    with open_registry(database_url) as registry:
        assert registry.count_pending() == 0


def test_a_database_behind_the_head_is_refused_with_its_revision_then_upgraded(
    database_url: str, now: datetime
) -> None:
    _upgrade_to(database_url, "0002")
    # The comparison sees what 0003 to 0006 change: it would see tables.py drift from the migrations too.
    differences = [d for d in _schema_differences(database_url) if isinstance(d, tuple)]
    assert {d[1].name for d in differences if d[0] == "add_table"} == {
        "charter_credentials",
        "credential_versions",
        "credential_copies",
        "status_lists",
        "outbox",
        "holder_tokens",
        "wallet_offers",
        "wallet_nonces",
        "wallet_exchanges",
        "api_keys",
    }
    assert {d[1].name for d in differences if d[0] == "remove_table"} == {"credentials"}
    with pytest.raises(ConfigurationError) as refused:
        open_registry(database_url)
    assert refused.value.message == (
        f"the registry at {_shown(database_url)} is at revision 0002; "
        f"this version needs {_head_revision()}: run 'caiep db upgrade'"
    )
    upgrade_database(database_url)
    assert _sql(database_url, "SELECT version_num FROM alembic_version") == [(_head_revision(),)]
    with open_registry(database_url) as registry:
        assert registry.verify_audit() == (0, None)


def test_a_database_migrated_by_a_newer_version_is_refused(database_url: str) -> None:
    upgrade_database(database_url)
    _sql(database_url, "UPDATE alembic_version SET version_num = '9f3c_from_the_future'")
    with pytest.raises(ConfigurationError) as refused:
        open_registry(database_url)
    assert refused.value.message == (
        f"the registry at {_shown(database_url)} was migrated by a newer version "
        "(revision 9f3c_from_the_future); upgrade caiep"
    )


def test_opening_a_registry_does_not_import_alembic(database_url: str) -> None:
    upgrade_database(database_url)
    program = (
        "import sys\n"
        "from caiep.issuer.registry import open_registry\n"
        f"with open_registry({database_url!r}) as registry:\n"
        "    registry.count_pending()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    ran = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"


def _server_sessions(url: str) -> int:
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return int(_sql(url, sql)[0][0])


def test_the_registry_as_a_context_manager_disposes_of_its_connections(database_url: str) -> None:
    upgrade_database(database_url)
    opened: list[Registry] = []

    def use_then_fail() -> None:
        with open_registry(database_url) as registry:
            opened.append(registry)
            registry.count_pending()
            assert registry.engine.pool.checkedin() == 1  # pooled, still open
            if database_url.startswith("postgresql"):
                assert _server_sessions(database_url) == 1
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        use_then_fail()
    assert opened[0].engine.pool.checkedin() == 0
    if database_url.startswith("postgresql"):
        assert _server_sessions(database_url) == 0


@pytest.mark.parametrize(
    "url",
    ["not a database url", "", "mysql+pymysql://user@127.0.0.1/caiep", "oracle://user@127.0.0.1/caiep"],
)
def test_a_malformed_url_or_an_unsupported_database_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_registry(url)
    with pytest.raises(ConfigurationError):
        upgrade_database(url)


def test_a_database_that_cannot_be_opened_is_a_configuration_error_that_hides_the_password(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        bad = f"sqlite:///{tmp_path / 'no-such-directory' / 'registry.sqlite3'}"
    else:
        missing = make_url(database_url).set(database=f"caiep_missing_{uuid.uuid4().hex[:8]}")
        bad = missing.set(password="s3cret-Passw0rd").render_as_string(hide_password=False)
    with pytest.raises(ConfigurationError, match="cannot open the registry") as raised:
        open_registry(bad)
    assert "s3cret-Passw0rd" not in str(raised.value)
    with pytest.raises(ConfigurationError, match="cannot upgrade the registry") as raised:
        upgrade_database(bad)
    assert "s3cret-Passw0rd" not in str(raised.value)
