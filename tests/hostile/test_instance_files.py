"""Another local user can neither read an instance's private files nor slip it a key or a setting.

The instance is made by ``caiep init`` and used by ``caiep`` commands run in process, under a
permissive umask (0022, as most shells have) so that every mode checked is the one the product
chose. The refusals are checked at every start, for the CLI and for the web service, and the
``chmod`` each message gives is run for real to show that it is the fix. Concurrent ``caiep
init`` runs are four real processes of the installed console script started at once.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from caiep.app import create_app
from caiep.cli import main
from caiep.errors import ConfigurationError
from caiep.keys.store import SCRYPT_PARAMETERS
from caiep.wiring import Instance

PASSPHRASE = "correct horse battery staple 42"
ISSUER_URL = "https://credentials.caiep.example"
EXAMPLES = Path(__file__).parents[2] / "examples"
SCRIPT = Path(sys.executable).with_name("caiep")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Light scrypt, a passphrase, no instance from the shell, and the usual umask 0022."""
    monkeypatch.setitem(SCRYPT_PARAMETERS, "n", 2**14)
    for name in ("CAIEP_HOME", "CAIEP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAIEP_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.chdir(tmp_path)
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def cli(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    def run(*args: str) -> Run:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
        code = main(["--home", str(home), *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def signed(cli: Callable[..., Run], home: Path) -> Path:
    """A did:web instance that has imported the example results and signed them."""
    init = cli("init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL)
    assert init.code == 0, init.err
    assert cli("results", "import", str(EXAMPLES / "results.csv")).code == 0
    signing = cli("sign")
    assert signing.code == 0, signing.err
    return home


def _pem(home: Path) -> str:
    (pem,) = (home / "keys").glob("*.pem")
    return str(pem.relative_to(home))


def test_every_directory_is_0700_and_every_file_0600(signed: Path) -> None:
    home = signed
    directories = [home, *(p for p in home.rglob("*") if p.is_dir())]
    assert sorted(str(d.relative_to(home)) for d in directories) == [".", "jobs", "keys", "verifier-keys"]
    assert {str(d.relative_to(home)): _mode(d) for d in directories} == {
        ".": 0o700,
        "jobs": 0o700,
        "keys": 0o700,
        "verifier-keys": 0o700,  # the verification service's own key, which signs receipts
    }
    files = {str(p.relative_to(home)): _mode(p) for p in home.rglob("*") if p.is_file()}
    for name in ("settings.json", "did.json", "registry.sqlite3", "keys/keys.json", _pem(home)):
        assert name in files
    assert "verifier-key.passphrase" in files
    assert "verifier-keys/keys.json" in files
    assert any(name.startswith("verifier-keys/") and name.endswith(".pem") for name in files)
    assert any(name.startswith("jobs/") and name.endswith(".json") for name in files)
    assert {name: mode for name, mode in files.items() if mode != 0o600} == {}


def test_the_database_side_files_are_0600_while_open(signed: Path) -> None:
    """SQLite's -wal and -shm files exist while a connection is open; they take the database's mode."""
    with Instance(signed).registry() as registry, registry.read() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM charter_credentials").scalar_one()
        side = {p.name: _mode(p) for p in signed.iterdir() if p.name.startswith("registry.sqlite3-")}
    assert set(side) == {"registry.sqlite3-wal", "registry.sqlite3-shm"}
    assert set(side.values()) == {0o600}


def test_db_upgrade_creates_a_missing_database_0600(signed: Path, cli: Callable[..., Run]) -> None:
    (signed / "registry.sqlite3").unlink()
    assert cli("db", "upgrade").code == 0
    assert _mode(signed / "registry.sqlite3") == 0o600


# (file in the instance, mode another user could exploit, the fix the message must give)
UNSAFE = [
    ("keys/keys.json", 0o666, "go-w"),
    ("keys/keys.json", 0o620, "go-w"),
    ("settings.json", 0o646, "go-w"),
    ("did.json", 0o664, "go-w"),
    ("PEM", 0o640, "600"),
    ("PEM", 0o604, "600"),
    ("registry.sqlite3", 0o644, "600"),
    ("registry.sqlite3", 0o660, "600"),
    (".", 0o777, "go-w"),
    (".", 0o770, "go-w"),
    ("keys", 0o733, "go-w"),
]


@pytest.mark.parametrize(("name", "mode", "fix"), UNSAFE)
def test_an_unsafe_mode_stops_the_cli_with_the_chmod_that_fixes_it(
    signed: Path, cli: Callable[..., Run], name: str, mode: int, fix: str
) -> None:
    path = signed / (_pem(signed) if name == "PEM" else name)
    os.chmod(path, mode)

    refused = cli("credentials", "list")

    assert refused.code == 2
    assert refused.out == ""
    assert refused.err.count("\n") == 1, refused.err
    line = refused.err.strip()
    assert line.startswith("caiep: ")
    assert str(path) in line
    command = re.search(r"run: (chmod .+)$", line)
    assert command, line
    assert command.group(1) == f"chmod {fix} {path}"
    subprocess.run(shlex.split(command.group(1)), check=True)
    fixed = cli("credentials", "list")
    assert fixed.code == 0, fixed.err
    assert len(fixed.out.splitlines()) == 13


@pytest.mark.parametrize(("name", "mode", "fix"), UNSAFE)
def test_an_unsafe_mode_stops_the_web_service(
    signed: Path, monkeypatch: pytest.MonkeyPatch, name: str, mode: int, fix: str
) -> None:
    path = signed / (_pem(signed) if name == "PEM" else name)
    os.chmod(path, mode)
    monkeypatch.setenv("CAIEP_HOME", str(signed))

    with pytest.raises(ConfigurationError) as caught:
        create_app()

    assert caught.value.message.endswith(f"run: chmod {fix} {path}")
    assert "\n" not in caught.value.message


@pytest.mark.parametrize("name", ["keys/keys.json", "settings.json", "did.json", "PEM", "registry.sqlite3"])
def test_a_file_another_user_owns_is_refused(signed: Path, cli: Callable[..., Run], name: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    path = signed / (_pem(signed) if name == "PEM" else name)
    os.chown(path, 4242, -1)

    refused = cli("credentials", "list")

    assert refused.code == 2
    assert refused.err.strip() == (
        f"caiep: {path} is owned by another user (uid 4242); run caiep as that user, "
        f"or take it over: chown 0 {path}"
    )


def test_a_key_added_through_a_world_writable_index_is_never_used(
    signed: Path, cli: Callable[..., Run]
) -> None:
    """What the refusal prevents: another user rewrites keys.json to make their own key current."""
    index = signed / "keys" / "keys.json"
    os.chmod(index, 0o666)
    document = json.loads(index.read_text(encoding="utf-8"))
    document["keys"].append(dict(document["keys"][0], key_id="z6MkAttackerKeyThatIsNotTheIssuers"))
    index.write_text(json.dumps(document), encoding="utf-8")

    for command in (("sign",), ("keys", "list"), ("did",), ("keys", "rotate")):
        refused = cli(*command)
        assert refused.code == 2, command
        assert refused.err.strip().endswith(f"run: chmod go-w {index}"), command
        assert "z6MkAttacker" not in refused.out


def test_files_readable_but_not_writable_by_others_are_accepted(
    signed: Path, cli: Callable[..., Run]
) -> None:
    """Public files (the index, settings, the DID document) need only be safe from writing."""
    for name in ("keys/keys.json", "settings.json", "did.json"):
        os.chmod(signed / name, 0o644)
    os.chmod(signed, 0o755)
    os.chmod(signed / "keys", 0o755)
    assert cli("credentials", "list").code == 0
    assert cli("did").code == 0


# --- concurrent init -------------------------------------------------------------------------


def test_of_four_concurrent_inits_exactly_one_succeeds_and_the_others_change_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "shared"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    env["CAIEP_KEY_PASSPHRASE"] = "an entirely fictional passphrase for subprocesses"
    names = [f"Board {n}" for n in range(4)]
    runs = [
        subprocess.Popen(
            [str(SCRIPT), "--home", str(home), "init", "--issuer-name", name, "--issuer-url", ISSUER_URL],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    codes = [run.returncode for run in runs]

    assert sorted(codes) == [0, 2, 2, 2], outputs
    winner = codes.index(0)
    for code, (out, err) in zip(codes, outputs, strict=True):
        if code == 2:
            assert out == ""
            assert err.count("\n") == 1, err
            assert re.fullmatch(
                rf"caiep: (another 'caiep init' is creating an instance in {re.escape(str(home))}; "
                rf"nothing was changed|{re.escape(str(home))} is already an instance directory)\n",
                err,
            ), err
    settings = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    assert settings["issuer_name"] == names[winner]
    pems = list((home / "keys").glob("*.pem"))
    index = json.loads((home / "keys" / "keys.json").read_text(encoding="utf-8"))
    assert [p.name for p in pems] == [row["file"] for row in index["keys"]]
    document = json.loads((home / "did.json").read_text(encoding="utf-8"))
    assert [m["publicKeyMultibase"] for m in document["verificationMethod"]] == [
        row["key_id"] for row in index["keys"]
    ]
    assert sorted(p.name for p in home.iterdir() if not p.name.startswith("registry.sqlite3")) == [
        "did.json",
        "keys",
        "settings.json",
        "verifier-key.passphrase",
        "verifier-keys",
    ]
    check = subprocess.run(
        [str(SCRIPT), "--home", str(home), "credentials", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
