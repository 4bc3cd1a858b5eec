"""Input that parses as JSON text but cannot be read as a credential: 400 invalid_input, exit 2.

A lone surrogate (``"\\udc00"``) is valid JSON syntax yet no Unicode text; an integer of
900,000 digits is past what Python converts (4,300 digits). Both once escaped as server
errors and tracebacks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hostile_documents import Site

BIN = Path(sys.executable).parent


def _with_member(credential: bytes, member: str, raw_value: str) -> bytes:
    """The credential with one more top-level member whose JSON text is ``raw_value``."""
    text = credential.decode("utf-8").rstrip()
    assert text.endswith("}")
    return f'{text[:-1]},"{member}":{raw_value}}}'.encode()


UNDECODABLE = {
    "lone-surrogate": lambda c: _with_member(c, "name", '"\\udc00"'),
    "lone-surrogate-key": lambda c: _with_member(c, "\\ud800x", "1"),
    "huge-integer": lambda c: _with_member(c, "big", "9" * 900_000),
    "huge-integer-in-array": lambda c: _with_member(c, "big", "[" + "1" * 5_000 + "]"),
}


@pytest.mark.parametrize("case", sorted(UNDECODABLE))
def test_the_api_answers_400_invalid_input(site: Site, case: str) -> None:
    body = UNDECODABLE[case](site.credential)
    response = site.client.post("/api/v1/verify", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize("case", sorted(UNDECODABLE))
def test_the_form_answers_400_with_a_page(site: Site, case: str) -> None:
    body = UNDECODABLE[case](site.credential)
    response = site.client.post("/verify", data={"credential": body.decode("utf-8")})
    assert response.status_code == 400
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("case", sorted(UNDECODABLE))
def test_caiep_verify_prints_one_line_and_exits_2(site: Site, case: str, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.json"
    path.write_bytes(UNDECODABLE[case](site.credential))
    completed = subprocess.run(
        [str(BIN / "caiep"), "verify", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"caiep: {path}:")
    assert completed.stdout == ""
