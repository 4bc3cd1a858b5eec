"""``caiep verify`` reads files and standard input through the 1 MiB cap, and stops reading there.

Reading a whole input before judging its size lets ``caiep verify /dev/zero`` exhaust memory;
the command must refuse promptly with one line and exit 2. ``--max-bytes N`` raises the cap.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from hostile_documents import Site

from caiep.verifier.inputs import MAX_BYTES

BIN = Path(sys.executable).parent


def _caiep(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "caiep"), *args],
        input=stdin.decode("utf-8") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_endless_file_is_refused_promptly() -> None:
    started = time.monotonic()
    completed = _caiep("verify", "/dev/zero")
    assert time.monotonic() - started < 20
    assert completed.returncode == 2
    assert completed.stderr == (
        f"caiep: /dev/zero: larger than {MAX_BYTES} bytes (raise the cap with --max-bytes)\n"
    )


def test_standard_input_over_the_cap_is_refused(site: Site) -> None:
    data = site.credential + b" " * (MAX_BYTES + 1 - len(site.credential))
    completed = _caiep("verify", "-", stdin=data)
    assert completed.returncode == 2
    assert completed.stderr.startswith(f"caiep: standard input: larger than {MAX_BYTES} bytes")
    assert completed.stderr.count("\n") == 1


def test_max_bytes_raises_and_lowers_the_cap(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "padded.json"
    path.write_bytes(site.credential + b" " * (MAX_BYTES + 10 - len(site.credential)))
    refused = _caiep("verify", str(path))
    assert refused.returncode == 2
    assert "larger than" in refused.stderr
    raised = _caiep("--home", str(site.home), "verify", "--max-bytes", str(MAX_BYTES + 10), str(path))
    assert raised.returncode == 0, raised.stdout + raised.stderr
    assert raised.stdout.startswith("VALID")
    lowered = _caiep("verify", "--max-bytes", "100", str(path))
    assert lowered.returncode == 2
    assert lowered.stderr.startswith(f"caiep: {path}: larger than 100 bytes")


def test_max_bytes_must_be_positive() -> None:
    completed = _caiep("verify", "--max-bytes", "0", "/dev/null")
    assert completed.returncode == 2
    assert "--max-bytes" in completed.stderr
