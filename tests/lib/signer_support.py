"""The real signer for tests: ``caiep --home HOME signer`` as a subprocess, as an operator runs it.

``with running_signer(home, {"CAIEP_KEY_PASSPHRASE": …}) as signer:`` starts it with the given
variables over a copy of this process's environment without its ``CAIEP_*`` variables, waits
until its socket answers, and at the end stops it with SIGTERM (its log is in the error of a
failed start). ``signer.socket`` is the path to hand to :func:`caiep.signerclient.request_wallet_copy`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

CAIEP = Path(sys.executable).parent / "caiep"


@dataclass
class RunningSigner:
    """A started signer: its socket, its process and the file its standard error goes to."""

    socket: Path
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then wait for the exit; its exit code (killed if it does not end in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def signer_environment(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without ``CAIEP_*``, with ``env`` on top."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment.update(env)
    return environment


def start_signer(
    home: Path, env: Mapping[str, str], *, socket_path: Path | None = None, timeout: float = 60
) -> RunningSigner:
    """Start ``caiep --home HOME signer [--socket PATH]`` and wait until its socket accepts."""
    path = socket_path or home / "signer.sock"
    log = Path(tempfile.mkstemp(prefix="caiep-signer-", suffix=".log")[1])
    command = [str(CAIEP), "--home", str(home), "signer"]
    if socket_path is not None:
        command += ["--socket", str(socket_path)]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, env=signer_environment(env), stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    started = RunningSigner(path, process, log)
    deadline = time.monotonic() + timeout
    while not _answers(path):
        if process.poll() is not None:
            message = f"caiep signer exited with {process.returncode}:\n{started.output()}"
            log.unlink(missing_ok=True)
            raise RuntimeError(message)
        if time.monotonic() > deadline:
            started.stop()
            raise RuntimeError(f"caiep signer did not listen within {timeout} s:\n{started.output()}")
        time.sleep(0.05)
    return started


@contextlib.contextmanager
def running_signer(
    home: Path, env: Mapping[str, str], *, socket_path: Path | None = None
) -> Iterator[RunningSigner]:
    """The signer of the instance at ``home`` while the block runs; stopped afterwards."""
    started = start_signer(home, env, socket_path=socket_path)
    try:
        yield started
    finally:
        started.stop()
        started.log.unlink(missing_ok=True)


def _answers(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
