"""Helpers and fixtures for the registry CLI tests and the crash/concurrency tests.

Imported by name from ``test_registry_cli.py`` and ``test_crash_and_concurrency.py`` (a fixture
imported into a test module is registered for that module, autouse ones included):

- ``no_database_override``: a ``CAIEP_DATABASE_URL`` from the developer's shell never leaks in;
- ``query(url, sql)``: read the registry's tables directly, with a connection opened for the call
  only (nothing stays open to hold a lock, a PostgreSQL session or a SQLite read snapshot);
- ``Caiep``: the installed console script in subprocesses, each in its own session so that a test
  can kill it with all its worker processes (``os.killpg``);
- ``did_web_site`` (import ``did_web_site_fixture``): a real HTTP server on 127.0.0.1 serving a
  directory, as the issuer's host would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from caiep.settings import database_url
from support import VECTORS

if TYPE_CHECKING:
    from conftest import CLI, Run

ISSUER_URL = "https://credentials.caiep.example"
SUBPROCESS_PASSPHRASE = "an entirely fictional passphrase for subprocesses"
SCRIPT = Path(sys.executable).with_name("caiep")


@pytest.fixture(autouse=True)
def no_database_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their database; none is inherited from the shell."""
    monkeypatch.delenv("CAIEP_DATABASE_URL", raising=False)


def query(url: str, sql: str, **params: Any) -> list[Any]:
    """All rows of one SQL statement, on a connection that is closed before returning."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params: Any) -> int:
    """Run one statement in its own committed transaction (tampering); rows affected."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            return int(connection.execute(text(sql), params).rowcount)
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    (row,) = query(url, sql, **params)
    return row[0]


@dataclass
class Caiep:
    """``caiep --home HOME …`` as a subprocess, with the passphrase and database in its environment.

    ``database_url`` None leaves the registry in the instance directory (SQLite).
    """

    home: Path
    cwd: Path
    database_url: str | None = None
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        assert SCRIPT.is_file(), f"the console script is not installed at {SCRIPT}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
        self.env["CAIEP_KEY_PASSPHRASE"] = SUBPROCESS_PASSPHRASE
        if self.database_url is not None:
            self.env["CAIEP_DATABASE_URL"] = self.database_url

    def argv(self, *args: str) -> list[str]:
        return [str(SCRIPT), "--home", str(self.home), *args]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start without waiting, as the leader of a new session (and so of a process group)."""
        return subprocess.Popen(
            self.argv(*args),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )


def live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (zombies awaiting a reaper excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid pgrp …": comm may hold spaces or parentheses, so split after it.
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


class _QuietHandler(SimpleHTTPRequestHandler):
    requested: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.requested.append(self.path)
        super().do_GET()


@dataclass(frozen=True)
class Site:
    root: Path
    base: str
    requested: list[str]

    def publish_did(self, home: Path) -> None:
        """Serve the instance's did.json where did:web looks for it."""
        (self.root / ".well-known" / "did.json").write_bytes((home / "did.json").read_bytes())

    def publish_status_lists(self, home: Path) -> None:
        """Serve the instance's signed status lists at /status/<n>, as read from its registry now."""
        from caiep.wiring import Instance

        folder = self.root / "status"
        folder.mkdir(exist_ok=True)
        instance = Instance(home)
        with instance.registry() as registry:
            for summary in registry.status_lists(instance.settings.issuer_url):
                document = registry.status_list(summary.number)
                if document is not None:
                    (folder / str(summary.number)).write_text(document, encoding="utf-8")


@pytest.fixture(name="did_web_site")
def did_web_site_fixture(tmp_path: Path) -> Iterator[Site]:
    """A real HTTP server on 127.0.0.1 serving ``site/``; stopped after the test."""
    root = tmp_path / "site"
    (root / ".well-known").mkdir(parents=True)
    requested: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"requested": requested})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(root, f"http://127.0.0.1:{server.server_address[1]}", requested)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- helpers of the registry CLI tests -------------------------------------------------------

EXAMPLES = Path(__file__).parents[2] / "examples"
INVALID = VECTORS / "invalid" / "results"
EXAMPLE_SUMMARY = "20 rows, 20 valid (13 passes, 7 fails), 0 bad"
EXAMPLE_IMPORTED = "imported 20 results (13 passes to sign, 7 fails kept), 0 already known, 20 new holders"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _init(cli: CLI, method: str = "key") -> None:
    run = cli(
        "init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL, "--did", method
    )
    assert run.code == 0, run.err


def _url(home: Path) -> str:
    return database_url(home)


def _rows(home: Path, table: str) -> int:
    """Rows in one registry table (the registry is created, empty, if no command made it yet)."""
    if _url(home).startswith("sqlite") and not (home / "registry.sqlite3").exists():
        return 0
    return int(scalar(_url(home), f"SELECT count(*) FROM {table}"))


def _registry_is_empty(home: Path) -> bool:
    tables = ("holders", "exam_results", "charter_credentials", "credential_copies", "jobs", "audit_log")
    return all(_rows(home, table) == 0 for table in tables)


def _imported(cli: CLI, path: Path = EXAMPLES / "results.csv") -> Run:
    run = cli("results", "import", str(path))
    assert run.code == 0, run.err
    return run


def _signed(cli: CLI, *args: str) -> Run:
    run = cli("sign", *args)
    assert run.code == 0, run.err
    return run


def _listed(cli: CLI, *args: str) -> list[dict[str, Any]]:
    run = cli("credentials", "list", "--json", *args)
    assert run.code == 0, run.err
    records: list[dict[str, Any]] = json.loads(run.out)
    return records


def _report(run: Run) -> dict[str, Any]:
    match = re.search(r"^report: (.+)$", run.out, re.MULTILINE)
    assert match, run.out
    report: dict[str, Any] = json.loads(Path(match.group(1)).read_text(encoding="utf-8"))
    return report


@pytest.fixture(name="signed_examples")
def signed_examples_fixture(cli: CLI, home: Path, passphrase: str) -> list[dict[str, Any]]:
    """A did:key instance that has imported examples/results.csv and signed its 13 passes."""
    _init(cli)
    _imported(cli)
    _signed(cli)
    records = _listed(cli)
    assert len(records) == 13
    return records
