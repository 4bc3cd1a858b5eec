"""Run the independent Node.js implementations (Digital Bazaar, jsonld.js, jose) from pytest.

Each script in this folder reads one JSON object on stdin and writes one JSON object on stdout.
Exit code 0 means the script ran, whatever the verifications found; anything else is a harness
failure and raises here. Node start-up and library loading cost far more than one credential,
so callers batch: pass every credential of a test in one call.

The Node packages are installed by ``npm ci`` in this folder (the test command does it). When
they are missing or differ from package-lock.json, interop tests fail loudly instead of
skipping: an interop suite that quietly stops running proves nothing.

Tests in this folder import this module as ``node`` (pytest puts the folder on ``sys.path``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from caiep.schemas.loader import CONTEXT_FILES, load_context

INTEROP_DIR = Path(__file__).resolve().parent
SCRIPTS = (
    "verify-di.mjs",
    "sign-di.mjs",
    "jose.mjs",
    "canonize.mjs",
    "canonize-nquads.mjs",
    "oid4vci-wallet.mjs",
    "lcw-wallet.mjs",
)


class NodeHarnessError(RuntimeError):
    """A Node script could not run or did not answer with one JSON object."""


def pinned_contexts() -> dict[str, Any]:
    """The project's pinned JSON-LD contexts as ``{url: parsed document}``, for the ``contexts`` field."""
    return {url: load_context(url) for url in CONTEXT_FILES}


def _node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise NodeHarnessError("node is not on PATH: the interop tests need Node.js 20 or newer")
    return node


def _locked_versions(lock_file: Path) -> dict[str, str | None]:
    packages = json.loads(lock_file.read_text(encoding="utf-8")).get("packages", {})
    return {path: entry.get("version") for path, entry in packages.items() if path}


def _check_installed() -> None:
    """Fail unless node_modules holds exactly what package-lock.json pins (as `npm ci` leaves it)."""
    installed = INTEROP_DIR / "node_modules" / ".package-lock.json"
    if not installed.is_file():
        raise NodeHarnessError(
            f"the Node packages for the interop tests are not installed: run `npm ci` in {INTEROP_DIR}"
        )
    if _locked_versions(installed) != _locked_versions(INTEROP_DIR / "package-lock.json"):
        raise NodeHarnessError(
            f"the Node packages in {INTEROP_DIR / 'node_modules'} differ from package-lock.json: "
            f"run `npm ci` in {INTEROP_DIR}"
        )


def run_node(script: str, payload: dict[str, Any], *, timeout: float = 120) -> dict[str, Any]:
    """Run ``node <script>`` in tests/interop with ``payload`` as JSON on stdin; return its JSON answer.

    Raises NodeHarnessError (a RuntimeError) when the packages are not installed, when the script
    exits non-zero, times out, or prints anything but one JSON object.
    """
    if script not in SCRIPTS:
        raise ValueError(f"unknown interop script {script!r}; expected one of {', '.join(SCRIPTS)}")
    _check_installed()
    try:
        completed = subprocess.run(
            [_node_executable(), script],
            cwd=INTEROP_DIR,
            input=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise NodeHarnessError(f"node {script} did not finish within {timeout} s") from exc
    stderr = completed.stderr.decode("utf-8", "replace").strip()
    if completed.returncode != 0:
        raise NodeHarnessError(f"node {script} exited with {completed.returncode}: {stderr}")
    try:
        answer = json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        raise NodeHarnessError(
            f"node {script} did not print one JSON object ({exc}); stderr: {stderr}"
        ) from exc
    if not isinstance(answer, dict):
        raise NodeHarnessError(f"node {script} printed {type(answer).__name__}, not a JSON object")
    return answer
