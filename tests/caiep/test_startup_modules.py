"""What ``caiep --help`` and ``caiep verify`` load: the rule that keeps them fast, pinned.

Each run is a fresh interpreter that calls the console-script entry ``caiep.cli:run`` and
then writes the names in ``sys.modules`` to a file; the tests assert on that set. A module
level import of the registry, Flask or the issuer in the wrong place fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import CLI

ISSUER_URL = "https://credentials.caiep.example"
HOLDER = ["--name", "Jane Doe", "--email", "jane.doe@example.org", "--exam-date", "2025-01-15"]
WEB_STACK = {"sqlalchemy", "alembic", "flask", "gunicorn", "werkzeug", "jinja2", "psycopg"}
VERIFY_STACK = {
    "pyld",
    "jsonschema",
    "nacl",
    "cryptography",
    "caiep.issuer",
    "caiep.verifier",
    "caiep.proofs",
}
_PROBE = """
import json, os, sys
from caiep.cli import run
sys.argv = ["caiep", *sys.argv[2:]]
try:
    code = run()
finally:
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
sys.exit(code)
"""


def _loaded(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """Run ``caiep ARGS`` in a fresh interpreter; its exit code, output and loaded modules."""
    out = tmp_path / "modules.json"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    environment.update(env or {}, MODULES_OUT=str(out))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "caiep", *args],
        cwd=tmp_path,  # not the repository root, whose caiep/ folder would be found first
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, set(json.loads(out.read_text(encoding="utf-8")))


def _families(modules: set[str], families: set[str]) -> set[str]:
    """The members of ``families`` (top-level names or dotted packages) found among ``modules``."""
    return {f for f in families if any(m == f or m.startswith(f + ".") for m in modules)}


def test_help_loads_only_click_and_the_command_declarations(tmp_path: Path) -> None:
    code, out, modules = _loaded(tmp_path, "--help")

    assert code == 0
    assert "verify" in out
    assert "click" in modules
    assert "caiep.commands.verify" in modules
    assert _families(modules, WEB_STACK | VERIFY_STACK | {"caiep.wiring", "caiep.app", "caiep.keys"}) == set()


@pytest.fixture
def credentials(home: Path) -> dict[str, Path]:
    """One did:key credential in each format, without a status entry (signed in this process)."""
    from datetime import UTC, date, datetime

    from caiep.issuer.charter import CharterAward, IssuerProfile
    from caiep.issuer.issuance import issue_charter
    from caiep.keys.did import did_key_for, verification_method_id
    from caiep.keys.ed25519 import SigningKey

    key = SigningKey.from_seed(bytes(range(3, 35)))
    issuer = did_key_for(key.public_key)
    profile = IssuerProfile(id=issuer, name="CAiEP", url=ISSUER_URL, base_url=ISSUER_URL)
    award = CharterAward("Jane Doe", "jane.doe@example.org", date(2025, 1, 15), "CAIEP-000001")
    home.mkdir(parents=True, exist_ok=True)
    paths = {"ldp": home / "jane.json", "jwt": home / "jane.jwt"}
    for fmt, path in paths.items():
        signed = issue_charter(
            profile,
            award,
            key,
            verification_method=verification_method_id(issuer, key.public_key),
            now=datetime.now(UTC),
            format=fmt,
        )
        path.write_text(signed.serialize(), encoding="utf-8")
    return paths


@pytest.fixture
def ours(cli: CLI, home: Path, passphrase: str) -> Path:
    """A did:key instance and one credential it issued (with its status list entry)."""
    assert cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL, "--did", "key").code == 0
    path = home / "ours.json"
    assert cli("issue", *HOLDER, "--out", str(path)).code == 0
    return path


@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
def test_verify_loads_no_database_and_no_web_stack(
    tmp_path: Path, credentials: dict[str, Path], fmt: str
) -> None:
    code, out, modules = _loaded(tmp_path, "verify", str(credentials[fmt]))

    assert (code, out.splitlines()[0]) == (0, "VALID")
    assert "caiep.verifier.verify" in modules
    assert _families(modules, WEB_STACK | {"caiep.issuer", "caiep.wiring", "caiep.app"}) == set()


def test_verify_of_an_instance_reads_did_json_without_the_registry(
    tmp_path: Path, ours: Path, credentials: dict[str, Path], home: Path
) -> None:
    """A credential with no status list of ours needs no registry, even with an instance."""
    code, _, modules = _loaded(tmp_path, "verify", str(credentials["ldp"]), env={"CAIEP_HOME": str(home)})

    assert code == 0
    assert "caiep.trust" in modules
    assert _families(modules, WEB_STACK | {"caiep.issuer", "caiep.wiring", "caiep.app"}) == set()


def test_verify_of_our_credential_reads_its_status_list_from_the_registry(
    tmp_path: Path, ours: Path, home: Path
) -> None:
    """Our own status list comes from the instance's registry, never over the network, and the web
    stack stays unloaded."""
    code, out, modules = _loaded(tmp_path, "verify", str(ours), env={"CAIEP_HOME": str(home)})

    assert (code, out.splitlines()[0]) == (0, "VALID"), out
    assert "not revoked (status list checked)" in out
    assert {"caiep.wiring", "sqlalchemy"} <= modules
    assert _families(modules, {"flask", "gunicorn", "werkzeug", "jinja2", "caiep.app"}) == set()


def test_an_ldp_credential_loads_no_jose(tmp_path: Path, credentials: dict[str, Path]) -> None:
    """JOSE (jwcrypto, and x509 through it) is for VC-JWT only."""
    _, _, ldp = _loaded(tmp_path, "verify", str(credentials["ldp"]))
    _, _, jwt = _loaded(tmp_path, "verify", str(credentials["jwt"]))

    assert _families(ldp, {"jwcrypto", "caiep.proofs.jose"}) == set()
    assert _families(jwt, {"jwcrypto", "caiep.proofs.jose"}) == {"jwcrypto", "caiep.proofs.jose"}
