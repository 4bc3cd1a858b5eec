"""The built wheel is the product: one import package, every module and data file, no warnings.

The wheel is built from this checkout and installed, without its dependencies, into a fresh
virtual environment; the dependencies are read from the test environment's site-packages as a
plain folder (a path line, so none of its ``.pth`` hooks run and the editable install of this
checkout stays invisible). Every command then runs from a folder outside the repository, so a
module or a data file that the wheel forgets (contexts, JSON Schemas, templates, static files,
migrations, the OpenAPI document) fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "wheel test passphrase 7"
_NOT_SOURCE = (".git", ".venv", "build", "node_modules", "*.egg-info", "__pycache__", "*-home", ".*_cache")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel built from this checkout, and everything the build printed."""
    out = tmp_path_factory.mktemp("wheel")
    # A copy without build/, caches or environments: setuptools packs whatever an earlier build
    # left in build/lib, which would hide a module that the configuration forgets.
    source = tmp_path_factory.mktemp("source") / "checkout"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, source],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = out.glob("caiep_credentials-*.whl")
    return wheel, build.stdout + build.stderr


@pytest.fixture(scope="module")
def installed(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / "bin"
    purelib = Path(
        subprocess.check_output(
            [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (purelib / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", bin_dir / "python", "install", "--no-deps", "-q", built[0]],
        check=True,
        capture_output=True,
    )
    return bin_dir


def test_the_wheel_holds_one_top_level_import_package(built: tuple[Path, str]) -> None:
    names = zipfile.ZipFile(built[0]).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"caiep"}
    for data in (
        "caiep/schemas/contexts/",
        "caiep/schemas/jsonschema/",
        "caiep/verifier/templates/verifier/credential.html",
        "caiep/wallet_export/templates/wallet_export/holder.html",
        "caiep/wallet_export/templates/wallet_export/holder_oid4vci.html",
        "caiep/wallet_export/templates/wallet_export/holder_lcw.html",
        "caiep/verifier/static/caiep.css",
        "caiep/verifier/openapi.json",
        "caiep/issuer/migrations/env.py",
        "caiep/issuer/migrations/versions/0001_registry.py",
    ):
        assert any(name.startswith(data) for name in names), data
    sources = {
        f"caiep/{package}/{path.relative_to(ROOT / package)}"
        for package in ("issuer", "verifier", "keys", "proofs", "schemas", "wallet_export")
        for path in (ROOT / package).rglob("*.py")
    }
    assert sources <= set(names), sorted(sources - set(names))


def test_the_build_prints_no_warning(built: tuple[Path, str]) -> None:
    lines = [line for line in built[1].splitlines() if "warning" in line.lower()]
    # pip's own notice about index locations configured on this machine is not the build's.
    lines = [line for line in lines if "is ignored: it is neither a file nor a directory" not in line]
    assert lines == []


def _run(bin_dir: Path, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(cwd),
        "CAIEP_KEY_PASSPHRASE": PASSPHRASE,
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, input=stdin, capture_output=True, text=True
    )


def test_the_installed_commands_work_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    where = _run(
        installed, tmp_path, "python", "-c", "import caiep.issuer, caiep.keys; print(caiep.keys.__file__)"
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout

    helped = _run(installed, tmp_path, "caiep", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "verify" in helped.stdout

    home = str(tmp_path / "home")
    made = _run(
        installed, tmp_path, "caiep", "--home", home, "init", "--issuer-name", "Wheel Board",
        "--issuer-url", "https://wheel.example", "--did", "key",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    issued = _run(
        installed, tmp_path, "caiep", "--home", home, "issue", "--name", "Ada Wheel",
        "--email", "ada@example.org", "--exam-date", "2026-06-01", "--out", "ada.json",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    # With its instance: the credential's status list is read from the registry.
    checked = _run(installed, tmp_path, "caiep", "--home", home, "verify", "--json", "ada.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["verified"] is True

    page = _run(
        installed,
        tmp_path,
        "python",
        "-c",
        "import sys; from caiep.app import create_app, AppConfig; from caiep.settings import database_url; "
        "from pathlib import Path; home = Path(sys.argv[1]); "
        "c = create_app(AppConfig(home=home, database_url=database_url(home))).test_client(); "
        "print(c.get('/verify').status_code, c.get('/static/caiep.css').status_code, "
        "c.get('/openapi.json').status_code)",
        home,
    )
    assert page.returncode == 0, page.stderr
    assert page.stdout.split() == ["200", "200", "200"]
