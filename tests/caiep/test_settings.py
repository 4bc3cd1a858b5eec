"""Settings: one table, one reader (environment, then settings.json, then defaults), ``caiep config``.

Bad settings are one-line messages that name the setting and where it came from, exit 2.
The README's table of settings is compared with the code's, row by row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from caiep.settings import SETTINGS, read_configuration

if TYPE_CHECKING:
    from conftest import CLI

README = Path(__file__).resolve().parents[2] / "README.md"
ISSUER_URL = "https://credentials.caiep.example"
PASSPHRASE_TEXT = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets what it reads; nothing comes in from the shell."""
    for setting in SETTINGS:
        if setting.env:
            monkeypatch.delenv(setting.env, raising=False)


@pytest.fixture
def instance(cli: CLI, home: Path, passphrase: str) -> Path:
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL, "--did", "key")
    assert run.code == 0, run.err
    return home


def _store(home: Path, **values: object) -> None:
    path = home / "settings.json"
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), **values}), encoding="utf-8")


def _readme_rows() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- settings table:.*?-->\n(.*?)<!-- end of settings table -->", text, re.S)
    assert block, "README.md has no settings table"
    lines = [line for line in block.group(1).splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_readme_table_is_the_code_table() -> None:
    def code(value: str | None) -> str:
        return f"`{value}`" if value else "—"

    expected = [
        [f"`{s.name}`", code(s.env), code(s.key), s.shown_default, s.doc] for s in SETTINGS
    ]  # fmt: skip
    assert _readme_rows() == expected


def test_environment_before_settings_json_before_default(instance: Path) -> None:
    _store(instance, rate_per_minute=90, rate_per_10_seconds=9)

    configuration = read_configuration(instance, environ={"CAIEP_RATE_PER_MINUTE": "30"})

    def read(name: str, kind: type) -> tuple[object, str]:
        return configuration.get(name, kind), configuration.values[name].source

    assert read("rate_per_minute", int) == (30, "env")
    assert read("rate_per_10_seconds", int) == (9, "settings.json")
    assert read("integrity_cache_seconds", float) == (300.0, "default")
    assert read("allow_http_base", str) == (None, "default")
    assert configuration.database_url == f"sqlite:///{(instance / 'registry.sqlite3').resolve()}"
    assert configuration.identity().issuer_url == ISSUER_URL


def test_home_from_flag_then_environment_then_default(tmp_path: Path) -> None:
    assert (
        read_configuration(tmp_path / "a", environ={"CAIEP_HOME": str(tmp_path / "b")}).home == tmp_path / "a"
    )
    assert read_configuration(environ={"CAIEP_HOME": str(tmp_path / "b")}).home == tmp_path / "b"
    assert read_configuration(environ={"CAIEP_HOME": ""}).home == Path("caiep-home")


def test_config_shows_values_and_their_sources(
    cli: CLI, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(instance, rate_per_10_seconds=9)
    monkeypatch.setenv("CAIEP_RATE_PER_MINUTE", "30")

    text = cli("config")
    listed = json.loads(cli("config", "--json").out)

    assert text.code == 0
    rows = {row["name"]: row for row in listed["settings"]}
    assert listed["home"] == str(instance)
    assert (rows["rate_per_minute"]["value"], rows["rate_per_minute"]["source"]) == (30, "env")
    assert (rows["rate_per_10_seconds"]["value"], rows["rate_per_10_seconds"]["source"]) == (
        9,
        "settings.json",
    )
    assert (rows["integrity_cache_seconds"]["value"], rows["integrity_cache_seconds"]["source"]) == (
        300.0,
        "default",
    )
    assert (rows["home"]["source"], rows["issuer_url"]["value"]) == ("--home", ISSUER_URL)
    assert rows["database_url"]["value"].endswith("registry.sqlite3")
    assert set(rows) == {s.name for s in SETTINGS}
    lines = {line.split()[0]: line for line in text.out.splitlines()}
    assert lines["rate_per_minute"].endswith("[env CAIEP_RATE_PER_MINUTE]")
    assert lines["rate_per_10_seconds"].endswith("[settings.json]")
    assert lines["rate_per_10_seconds"].split()[1] == "9"
    assert lines["integrity_cache_seconds"].endswith("[default]")


def test_config_masks_the_passphrase(cli: CLI, instance: Path, passphrase: str) -> None:
    text = cli("config")
    listed = cli("config", "--json")

    assert passphrase not in text.out + text.err + listed.out + listed.err
    rows = {row["name"]: row for row in json.loads(listed.out)["settings"]}
    assert (rows["key_passphrase"]["value"], rows["key_passphrase"]["source"]) == ("********", "env")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CAIEP_RATE_PER_MINUTE", "many", "CAIEP_RATE_PER_MINUTE (environment)"),
        ("CAIEP_RATE_PER_10_SECONDS", "0", "CAIEP_RATE_PER_10_SECONDS (environment)"),
        ("CAIEP_RATE_STORAGE", "mongodb://db", "CAIEP_RATE_STORAGE (environment)"),
        ("CAIEP_TRUSTED_PROXIES", "-1", "CAIEP_TRUSTED_PROXIES (environment)"),
        ("CAIEP_INTEGRITY_CACHE_SECONDS", "soon", "CAIEP_INTEGRITY_CACHE_SECONDS (environment)"),
        ("CAIEP_ALLOW_HTTP_BASE", "ftp://127.0.0.1:21", "CAIEP_ALLOW_HTTP_BASE (environment)"),
    ],
)
def test_a_bad_environment_value_is_named(
    cli: CLI, instance: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    for args in (["config"], ["credentials", "list"], ["serve", "--port", "1"]):
        run = cli(*args)
        assert run.code == 2, args
        assert run.err.startswith(f"caiep: {named}: ")
        assert run.err.count("\n") == 1
        assert repr(value) in run.err


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ({"rate_per_10_seconds": "many"}, "rate_per_10_seconds in "),
        ({"integrity_cache_seconds": True}, "integrity_cache_seconds in "),
        ({"rate_per_minut": 5}, "unknown setting 'rate_per_minut'"),
        (
            {"key_passphrase": PASSPHRASE_TEXT},
            "key_passphrase cannot be stored here; set CAIEP_KEY_PASSPHRASE",
        ),
        ({"did_method": "ion"}, "did_method in "),
    ],
)
def test_a_bad_settings_json_is_named(
    cli: CLI, instance: Path, stored: dict[str, object], message: str
) -> None:
    _store(instance, **stored)
    for args in (["config"], ["did"], ["credentials", "list"]):
        run = cli(*args)
        assert run.code == 2, args
        assert message in run.err
        assert str(instance / "settings.json") in run.err
        assert run.err.count("\n") == 1
    assert PASSPHRASE_TEXT not in run.err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2",
        "mysql://x@127.0.0.1/db",
        "no url",
    ],
)
def test_a_database_that_cannot_be_used_is_named(
    cli: CLI, instance: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CAIEP_DATABASE_URL", url)
    for args in (["credentials", "list"], ["db", "upgrade"]):
        run = cli(*args)
        assert run.code == 2, args
        assert run.err.startswith("caiep: CAIEP_DATABASE_URL (environment): ")
        assert run.err.count("\n") == 1


def test_a_database_url_from_settings_json_is_named(cli: CLI, instance: Path) -> None:
    _store(instance, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    run = cli("audit", "verify")
    assert run.code == 2
    assert run.err.startswith("caiep: database_url in settings.json: ")
