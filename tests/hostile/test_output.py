"""``caiep verify`` text output escapes control characters taken from a credential.

A holder name holding ``ESC [2J`` could clear the terminal, and U+202E (RIGHT-TO-LEFT OVERRIDE)
could make "INVALID" read as something else; the text output writes them as ``\\x1b`` and
``\\u202e``. ``--json`` stays exact JSON, the values as they are.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_documents import sign_did_key, unsigned_credential
from hypothesis import given
from hypothesis import strategies as st

from caiep.verifier.report import printable

BIN = Path(sys.executable).parent
HOSTILE_NAME = "Eve\x1b[2J\x1b]0;VALID\x07\u202eDILAV\u2066x\u2069\u200f\u061c\x85\x00\nline"
CONTROLS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]] + [
    "\u061c",
    "\u200e",
    "\u200f",
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
]


def _verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "caiep"), "verify", "--now", "2025-03-02T00:00:00Z", *extra, str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = unsigned_credential()
    document["credentialSubject"]["name"] = HOSTILE_NAME
    document["issuer"]["name"] = "Board\x1b[31m\u202e"
    path = tmp_path_factory.mktemp("output") / "hostile.json"
    path.write_text(json.dumps(sign_did_key(document), ensure_ascii=False), encoding="utf-8")
    return path


def test_text_output_escapes_every_control_character(hostile_file: Path) -> None:
    completed = _verify(hostile_file)
    assert completed.returncode in (0, 1, 2)
    output = completed.stdout
    assert (
        "held by Eve\\x1b[2J\\x1b]0;VALID\\x07\\u202eDILAV\\u2066x\\u2069\\u200f\\u061c\\x85\\x00\\x0aline"
        in output
    )
    assert "issuer: Board\\x1b[31m\\u202e" in output
    assert not any(control in output.replace("\n", "") for control in CONTROLS)


def test_json_output_keeps_values_exact(hostile_file: Path) -> None:
    completed = _verify(hostile_file, "--json")
    report = json.loads(completed.stdout)
    assert report["outcome"] in ("valid", "invalid", "unknown")
    assert [check["name"] for check in report["checks"]] == [
        "structure",
        "contexts",
        "proof",
        "validity",
        "status",
    ]


@given(st.text())
def test_printable_leaves_no_control_and_keeps_everything_else(text: str) -> None:
    shown = printable(text)
    assert not any(control in shown for control in CONTROLS)
    # \xNN replaces one character with four, \uNNNN with six; nothing else changes length.
    grown = sum(3 if ord(char) < 0x100 else 5 for char in text if char in CONTROLS)
    assert len(shown) == len(text) + grown
    if not grown:
        assert shown == text  # any script, emoji or symbol is shown as it is
