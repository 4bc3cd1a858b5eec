"""``schemathesis run --checks all`` against the production-like server ends with 0 failures.

The server is the README's: gunicorn's two workers serving ``create_app()`` for an instance made
by ``caiep init`` holding issued credentials, with rate limits raised out of the run's reach.
The command is the one a new user would type; the options are schemathesis 4's
(``--checks``, ``--max-examples``, ``--seed``, ``--generation-database``), pinned by
``schemathesis>=4.0,<5`` in the test extras; ``schemathesis.toml`` beside this file says
why one answer the document lists is expected for schema-valid uploads. A fixed seed and 150
examples per operation keep the run under a minute and reproducible; its output is shown when
it fails.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from support import UNLIMITED_ENVIRONMENT

if TYPE_CHECKING:
    from conftest import LiveServer

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("schemathesis.toml")  # what schemathesis cannot learn from the document
MAX_EXAMPLES = 150
SEED = 17


def test_schemathesis_finds_no_failure(serve_instance: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = serve_instance("schemathesis", **UNLIMITED_ENVIRONMENT)
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-20000:]
    assert "No issues found" in report or " passed" in report, report[-5000:]
