"""``make demo`` end to end (``python -m caiep.demo --no-serve``), as a fresh machine runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_issues_exports_publishes_and_verifies_everything(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    done = subprocess.run(
        [sys.executable, "-m", "caiep.demo", "--no-serve"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    verdicts = [
        line for line in done.stdout.splitlines() if line in ("VALID", "INVALID", "CANNOT BE VERIFIED")
    ]
    assert verdicts == ["VALID"] * 4  # the JSON, the VC-JWT, the baked badge, the wallet-bound copy
    assert "signer: the sample credential bound to the wallet did:key:z6Mk" in done.stdout
    assert not (tmp_path / "demo-home" / "signer.sock").exists()  # the signer was stopped
    assert "credential read from the baked PNG badge demo-home/jane-doe.badge.png" in done.stdout
    home = tmp_path / "demo-home"
    assert (home / "jane-doe.certificate.pdf").read_bytes().startswith(b"%PDF-")
    assert (home / "site" / "achievements" / "caiep" / "badge.png").exists()
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&" in done.stdout
