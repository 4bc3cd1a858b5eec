"""The registry's database: connecting to it, and keeping its schema in step with this version.

SQLite in the instance directory by default; PostgreSQL (``postgresql+psycopg://…``) for
deployments that outgrow one machine. The schema is Alembic's (``issuer/migrations``):
:func:`upgrade_database` applies the migrations (``caiep init``, ``caiep db upgrade``), and
opening a registry only checks, with one query of ``alembic_version``, that the database is at
the head revision of this version's scripts. A database that is behind, empty, or migrated by
a newer version is refused with a :class:`~caiep.errors.ConfigurationError` saying what to do,
before any command reads or writes it.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, insert, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from caiep.errors import ConfigurationError

_VERSIONS = ("migrations", "versions")


def connect(url: str) -> Engine:
    """An engine for a registry URL (sqlite or postgresql+psycopg), not yet connected.

    Raises :class:`ConfigurationError` for text that is not a database URL or another database.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def parse_url(url: str) -> URL:
    """The parsed URL of a registry, refused unless it names SQLite or PostgreSQL."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql+psycopg"
        )
    return parsed


def shown(engine: Engine) -> str:
    """The engine's URL as messages show it: never with its password."""
    return engine.url.render_as_string(hide_password=True)


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows inside the caller's transaction, the fastest way the database has.

    PostgreSQL: ``COPY … FROM STDIN``, one stream for all the rows (several times faster than
    INSERT for thousands of rows, and no statement per row); SQLite: one ``executemany`` of
    values already converted by each column's type (a batch shares a handful of distinct times,
    each converted once). Every row has the same keys.
    """
    if not rows:
        return
    columns = list(rows[0])
    if connection.dialect.name == "postgresql" and len(rows) > 1:
        raw: Any = connection.connection.dbapi_connection  # psycopg.Connection: COPY is psycopg's own API
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    if connection.dialect.name != "sqlite":
        connection.execute(insert(table), list(rows))
        return
    # What SQLAlchemy's executemany would bind, without its per-row machinery: the parent of a
    # signing job records every credential, so this is on the job's critical path.
    get = itemgetter(*columns)
    values: list[Any] = (
        [get(row) for row in rows] if len(columns) > 1 else [(row[columns[0]],) for row in rows]
    )
    conversions: list[tuple[int, Any, dict[Any, Any]]] = [
        (position, convert, {})
        for position, column in enumerate(columns)
        if (convert := table.c[column].type._cached_bind_processor(connection.dialect)) is not None
    ]
    if conversions:
        converted = []
        for row in values:
            cells = list(row)
            for position, convert, memo in conversions:
                value = cells[position]
                if value is not None:
                    found = memo.get(value, _MISSING)
                    if found is _MISSING:
                        found = memo[value] = convert(value)
                    cells[position] = found
            converted.append(tuple(cells))
        values = converted
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)  # noqa: S608 - our names


_MISSING = object()


def upgrade_database(url: str) -> None:
    """Create the registry's tables, or bring them to this version's head revision.

    Safe to run again: a database already at the head is left as it is. The whole upgrade is one
    transaction. Raises :class:`ConfigurationError` when the database cannot be reached or a
    migration fails.
    """
    # Alembic is imported here, not at the top: opening a registry never needs it.
    from alembic import command
    from alembic.config import Config

    engine = connect(url)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(resources.files("caiep.issuer") / "migrations"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"cannot upgrade the registry at {shown(engine)}: {exc}") from exc
    finally:
        engine.dispose()


def check_revision(engine: Engine) -> None:
    """Refuse a database whose schema is not this version's head revision (one query).

    Raises :class:`ConfigurationError`: behind or empty, run ``caiep db upgrade``; migrated by
    a newer version (a revision these scripts do not know), upgrade caiep; unreachable, why.
    """
    head, known = script_revisions()
    where = f"the registry at {shown(engine)}"
    if _is_missing_sqlite_file(engine.url):
        raise ConfigurationError(f"{where} has no registry tables; {_needs(head)}")
    try:
        with engine.connect() as connection:
            found = _stored_revisions(connection)
    except DBAPIError as exc:
        raise ConfigurationError(f"cannot open {where}: {exc.orig}") from exc
    if found == {head}:
        return
    if found is None or not found:
        raise ConfigurationError(f"{where} has no registry tables; {_needs(head)}")
    if found <= known:
        raise ConfigurationError(f"{where} is at revision {', '.join(sorted(found))}; {_needs(head)}")
    raise ConfigurationError(
        f"{where} was migrated by a newer version (revision {', '.join(sorted(found))}); upgrade caiep"
    )


def _needs(head: str) -> str:
    return f"this version needs {head}: run 'caiep db upgrade'"


def _is_missing_sqlite_file(url: URL) -> bool:
    """A SQLite file that does not exist (in a folder that does): refused before connecting,
    which would create it empty. A missing folder is left to fail as a connection would."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    path = Path(database)
    return not database.startswith("file:") and path.parent.is_dir() and not path.exists()


def _stored_revisions(connection: Connection) -> set[str] | None:
    """The revisions ``alembic_version`` holds, or None when there is no such table."""
    try:
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        connection.rollback()
        if inspect(connection).has_table("alembic_version"):
            raise  # the table is there: the failure is something else, and is reported as such
        return None
    return {str(row[0]) for row in rows}


def head_revision() -> str:
    """The revision this version's registry schema is at once upgraded."""
    return script_revisions()[0]


@cache
def script_revisions() -> tuple[str, frozenset[str]]:
    """The head revision of this version's migration scripts, and every revision they know.

    Read once per process from the scripts' ``revision`` and ``down_revision`` assignments,
    without importing them or Alembic.
    """
    revisions: dict[str, tuple[str, ...]] = {}
    folder = resources.files("caiep.issuer").joinpath(*_VERSIONS)
    for script in folder.iterdir():
        if script.name.endswith(".py") and not script.name.startswith("__"):
            revision, parents = _script_revision(script.read_text(encoding="utf-8"), script.name)
            revisions[revision] = parents
    referenced = {parent for down in revisions.values() for parent in down}
    heads = sorted(set(revisions) - referenced)
    if len(heads) != 1:
        raise ConfigurationError(f"the registry's migration scripts have {len(heads)} heads: {heads}")
    return heads[0], frozenset(revisions)


def _script_revision(source: str, name: str) -> tuple[str, tuple[str, ...]]:
    values: dict[str, Any] = {}
    for node in ast.parse(source, filename=name).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("revision", "down_revision"):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    if not isinstance(values.get("revision"), str):
        raise ConfigurationError(f"the migration script {name} names no revision")
    down = values.get("down_revision")
    parents = () if down is None else (down,) if isinstance(down, str) else tuple(down)
    return values["revision"], parents


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and transactions we start ourselves (pysqlite's are too late)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("caiep_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
