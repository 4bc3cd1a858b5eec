"""The service reads the settings the CLI reads, and refuses to start on a database it cannot use.

``create_app()`` (gunicorn's entry), ``caiep serve`` and ``AppConfig.from_configuration`` take
the rate limit from ``CAIEP_RATE_*`` or settings.json; a registry that cannot be opened stops
the start-up with one line naming the setting, under gunicorn too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from caiep.app import AppConfig, create_app
from caiep.errors import ConfigurationError
from caiep.settings import SETTINGS, read_configuration
from caiep.wiring import init_instance, upgrade_configured_database
from support import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2"


@pytest.fixture(autouse=True)
def no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        if setting.env:
            monkeypatch.delenv(setting.env, raising=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A did:key instance with its registry, made once for this module."""
    home = tmp_path_factory.mktemp("instance") / "home"
    init_instance(
        home,
        issuer_name="CAiEP Certification Board",
        issuer_url="https://credentials.caiep.example",
        did_method="key",
        passphrase="a throwaway test passphrase",
        now=datetime.now(UTC),
    )
    upgrade_configured_database(read_configuration(home, environ={}))
    return home


def _environment(home: Path, **variables: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    environment.update(CAIEP_HOME=str(home), **variables)
    return environment


def test_create_app_takes_the_rate_limit_from_the_environment(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIEP_HOME", str(home))
    monkeypatch.setenv("CAIEP_RATE_PER_10_SECONDS", "2")
    app = create_app()
    client = app.test_client()

    codes = [client.post("/api/v1/verify", data="x", content_type="text/plain").status_code for _ in range(4)]

    assert codes == [400, 400, 429, 429]
    app.extensions["caiep.registry"].dispose()


def test_from_configuration_takes_settings_json_and_a_flag_first(home: Path, tmp_path: Path) -> None:
    settings = home / "settings.json"
    original = settings.read_text(encoding="utf-8")
    try:
        settings.write_text(
            json.dumps(
                {
                    **json.loads(original),
                    "rate_per_10_seconds": 3,
                    "trusted_proxies": 1,
                    "allow_http_base": "http://127.0.0.1:9",
                }
            ),
            encoding="utf-8",
        )
        configuration = read_configuration(home, environ={"CAIEP_INTEGRITY_CACHE_SECONDS": "0"})
        stored = AppConfig.from_configuration(configuration)
        flagged = AppConfig.from_configuration(configuration, allow_http_base="http://127.0.0.1:8")
    finally:
        settings.write_text(original, encoding="utf-8")

    assert [(w.amount, w.seconds) for w in stored.rate_limits.verify] == [(3, 10), (600, 60)]
    assert [(w.amount, w.seconds) for w in stored.rate_limits.read] == [(300, 10), (3000, 60)]
    assert (stored.trusted_proxies, stored.integrity_cache_seconds) == (1, 0.0)
    assert (stored.allow_http_base, flagged.allow_http_base) == ("http://127.0.0.1:9", "http://127.0.0.1:8")


def test_create_app_refuses_a_database_it_cannot_open(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIEP_HOME", str(home))
    monkeypatch.setenv("CAIEP_DATABASE_URL", UNREACHABLE)

    with pytest.raises(ConfigurationError) as caught:
        create_app()

    assert caught.value.message.startswith("CAIEP_DATABASE_URL (environment): ")
    assert "\n" not in caught.value.message


def test_serve_takes_the_rate_limit_from_the_environment(home: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "caiep"), "serve", "--port", str(port)],
        env=_environment(home, CAIEP_RATE_PER_10_SECONDS="2"),
        cwd=home.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base, server)
        codes = [_post(f"{base}/api/v1/verify") for _ in range(4)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert codes == [400, 400, 429, 429]


def test_serve_logs_routes_to_stderr_and_werkzeug_logs_nothing(home: Path) -> None:
    port = free_port()
    unknown = "00000000-0000-4000-8000-00000000abcd"
    server = subprocess.Popen(
        [str(BIN / "caiep"), "serve", "--port", str(port)],
        env=_environment(home),
        cwd=home.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base, server)
        for path in ("/verify", f"/c/{unknown}?seen=1"):
            try:
                urllib.request.urlopen(base + path, timeout=10).close()
            except urllib.error.HTTPError as exc:
                exc.close()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    log = err.decode()
    lines = [line for line in log.splitlines() if " caiep.access " in line]
    assert any(line.endswith(" ms") and " caiep.access GET /verify 200 " in line for line in lines), log
    assert any(" caiep.access GET /c/<uuid:credential_id> 404 " in line for line in lines), log
    for leak in (unknown, "127.0.0.1", "seen=1", "HTTP/1.1"):
        assert leak not in log


def test_gunicorn_stops_with_a_clear_message_on_an_unusable_database(home: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [str(BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "caiep.app:create_app()"],
        cwd=REPO,
        env=_environment(home, CAIEP_DATABASE_URL=UNREACHABLE),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "CAIEP_DATABASE_URL (environment): " in done.stderr


def _post(url: str) -> int:
    request = urllib.request.Request(url, data=b"x", headers={"Content-Type": "text/plain"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"caiep serve exited: {server.stderr.read() if server.stderr else b''!r}")
        try:
            with urllib.request.urlopen(f"{base}/openapi.json", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError("caiep serve did not answer within 30 s")


def test_cache_settings_bound_the_service_caches(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from caiep import caches

    monkeypatch.setattr(caches, "_configured", {})  # what this test applies stays in this test
    monkeypatch.setenv("CAIEP_HOME", str(home))
    monkeypatch.setenv("CAIEP_CACHE_FETCHED_DOCUMENTS", "7")
    (home / "settings.json").write_text(
        json.dumps({**json.loads((home / "settings.json").read_text()), "cache_jsonld_iris": 321})
    )
    try:
        create_app()
        by_name: dict[str, set[int]] = {}
        for cache in list(caches._live):
            by_name.setdefault(cache.name, set()).add(cache.max_entries)
        assert by_name["fetched_documents"] == {7}
        assert by_name["jsonld_iris"] == {321}
        assert by_name["integrity_checks"] == {caches.CACHE_LIMITS["integrity_checks"].max_entries}
    finally:
        settings = json.loads((home / "settings.json").read_text())
        del settings["cache_jsonld_iris"]
        (home / "settings.json").write_text(json.dumps(settings))
        caches.apply_cache_limits(dict(caches.CACHE_LIMITS))


@pytest.mark.parametrize("value", ["0", "many", "-3"])
def test_a_bad_cache_setting_is_named(home: Path, value: str) -> None:
    done = subprocess.run(
        [BIN / "caiep", "config"],
        env=_environment(home, CAIEP_CACHE_JSONLD_CONTEXTS=value),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("caiep: CAIEP_CACHE_JSONLD_CONTEXTS (environment): must be a whole number")
