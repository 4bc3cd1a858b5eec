"""Fixtures for the CLI tests: an empty instance directory, a passphrase, a CLI runner.

The runner calls ``caiep.cli.main`` in process with standard input that is not a terminal
(so a missing passphrase is an error, never a prompt) and returns exit status and output.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from caiep.cli import main
from caiep.keys.store import SCRYPT_PARAMETERS

PASSPHRASE = "correct horse battery staple 42"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


CLI = Callable[..., Run]


@pytest.fixture(autouse=True)
def light_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lightest scrypt cost the key index accepts (N=2**14): the CLI tests stay quick.

    The cost is stored per key, so later commands read whatever init wrote. The production
    cost is exercised by the subprocess test, which this patch cannot reach.
    """
    monkeypatch.setitem(SCRYPT_PARAMETERS, "n", 2**14)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No instance or passphrase leaks in from the developer's shell; cwd is a scratch dir."""
    monkeypatch.delenv("CAIEP_HOME", raising=False)
    monkeypatch.delenv("CAIEP_KEY_PASSPHRASE", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CAIEP_KEY_PASSPHRASE", PASSPHRASE)
    return PASSPHRASE


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "caiep-home"


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CLI:
    """``cli("issue", "--name", ...)`` runs ``caiep --home HOME issue --name ...``."""

    def run(*args: str, stdin: bytes = b"", home_dir: Path | None = home) -> Run:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        argv = ["--home", str(home_dir), *args] if home_dir is not None else list(args)
        code = main(argv)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
