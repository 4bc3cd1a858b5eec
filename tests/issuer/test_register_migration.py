"""The register's migration on a registry that already has holders: every name gets its key,
the key is indexed, and the holders' listing starts as the body's default (null)."""

from __future__ import annotations

from importlib import import_module, resources

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from caiep.issuer.database import upgrade_database
from caiep.issuer.register import name_key

MIGRATION = import_module("caiep.issuer.migrations.versions.0008_public_register")
NAMES = ["Zoë  Ångström", "张伟", "ＡＮＮＡ Ǉubić", "Jane Doe"]


def _config(connection: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
    config.attributes["connection"] = connection
    return config


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_older_holders_get_their_name_keys(database_url: str) -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), MIGRATION.down_revision)
            for number in range(7):
                connection.execute(
                    text("INSERT INTO holders (email, name, created_at) VALUES (:e, :n, :t)"),
                    {
                        "e": f"h{number}@example.org",
                        "n": NAMES[number % len(NAMES)],
                        "t": "2026-01-05 10:00:00",
                    },
                )
        upgrade_database(database_url)
        with engine.begin() as connection:
            rows = connection.execute(text("SELECT name, name_key, register_listing FROM holders")).all()
            indexes = {ix["name"]: ix["column_names"] for ix in inspect(connection).get_indexes("holders")}
    finally:
        engine.dispose()
    assert len(rows) == 7
    assert all(key == name_key(name) for name, key, _ in rows)
    assert {key for _, key, _ in rows} == {"zoe angstrom", "张伟", "anna ljubic", "jane doe"}
    assert {listing for _, _, listing in rows} == {None}
    assert indexes["ix_holders_name_key"] == ["name_key"]
