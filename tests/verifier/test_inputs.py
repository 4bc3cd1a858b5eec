"""Reading untrusted input: what is refused before verification starts, and what is accepted.

The refusals are the files of tests/vectors/invalid/, driven by the table in its README, both
through ``read_presented`` and through ``caiep verify FILE`` (exit 2, the file named on stderr).
"""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from caiep.cli import main
from caiep.errors import InputError
from caiep.verifier.inputs import MAX_BYTES, MAX_DEPTH, read_presented
from caiep.verifier.result import Verdict
from caiep.verifier.verify import verify

if TYPE_CHECKING:
    from conftest import Issuer

INVALID = Path(__file__).resolve().parents[1] / "vectors" / "invalid"
_ROW = re.compile(r"\| `(?P<file>[^`]+)` \| `(?P<code>[^`]+)` \| `(?P<fragment>[^`]+)` \|")
VERIFY_AT = "2025-03-02T00:00:00Z"  # a day after the conftest issuers sign
AT = datetime(2025, 3, 2, tzinfo=UTC)


def _table() -> list[tuple[str, str, str]]:
    rows = [_ROW.match(line) for line in (INVALID / "README.md").read_text(encoding="utf-8").splitlines()]
    return [(m["file"], m["code"], m["fragment"]) for m in rows if m]


CASES = _table()


def test_every_invalid_file_is_in_the_table_and_back() -> None:
    on_disk = {path.name for path in INVALID.iterdir() if path.is_file() and path.name != "README.md"}
    in_table = [name for name, _, _ in CASES]
    assert len(in_table) == len(set(in_table)) >= 15
    assert on_disk == set(in_table)


@pytest.mark.parametrize(("name", "code", "fragment"), CASES, ids=[name for name, _, _ in CASES])
def test_read_presented_refuses(name: str, code: str, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        read_presented((INVALID / name).read_bytes(), source=name)
    assert caught.value.code == code
    assert fragment in caught.value.message
    assert caught.value.source == name
    assert str(caught.value).startswith(f"{name}")


@pytest.mark.parametrize(("name", "code", "fragment"), CASES, ids=[name for name, _, _ in CASES])
def test_verify_refuses_bytes_with_input_error(name: str, code: str, fragment: str) -> None:
    """verify() raises only InputError, and only for input that is not a credential at all."""
    with pytest.raises(InputError, match=re.escape(fragment)):
        verify((INVALID / name).read_bytes(), now=AT)


@pytest.mark.parametrize(("name", "code", "fragment"), CASES, ids=[name for name, _, _ in CASES])
def test_cli_verify_refuses_with_exit_2(
    name: str, code: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = INVALID / name
    for extra in ([], ["--json"]):
        assert main(["verify", str(path), *extra]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith("caiep: ")
        assert str(path) in err
        assert fragment in err


def test_cli_verify_from_stdin_names_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO((INVALID / "duplicate-key.json").read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["verify", "-"]) == 2
    err = capsys.readouterr().err
    assert "standard input" in err
    assert "duplicate key 'id'" in err


def test_cli_verify_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-credential.json"
    assert main(["verify", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "cannot read" in err


# --- size and depth limits (generated: a 1 MiB file is not a small file) ---------------------


def _json_of_size(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes, its padding in strings of 100,000 characters."""
    strings = [b'"p%d": "%s"' % (index, b"x" * 100_000) for index in range(size // 100_050)]
    head, tail = b"{" + b"".join(item + b", " for item in strings) + b'"padding": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_exactly_one_mebibyte_is_read() -> None:
    data = _json_of_size(MAX_BYTES)
    assert len(data) == MAX_BYTES
    assert read_presented(data).format == "ldp"


@pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "text"])
def test_one_byte_over_a_mebibyte_is_refused(as_text: bool) -> None:
    data = _json_of_size(MAX_BYTES + 1)
    with pytest.raises(InputError, match=f"larger than {MAX_BYTES} bytes"):
        read_presented(data.decode("ascii") if as_text else data)


def test_oversized_token_is_refused() -> None:
    token = "eyJhbGciOiJFZERTQSJ9." + "A" * MAX_BYTES + ".c2ln"
    with pytest.raises(InputError, match="larger than"):
        read_presented(token)


def test_oversized_file_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(_json_of_size(MAX_BYTES + 1))
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "larger than 1048576 bytes" in err


def _nested(levels: int) -> str:
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


def test_sixty_four_levels_are_read() -> None:
    assert MAX_DEPTH == 64
    assert read_presented(_nested(64)).format == "ldp"


def test_sixty_five_levels_are_refused() -> None:
    with pytest.raises(InputError, match=r"nested too deep: over the limit 'depth' \(64\)"):
        read_presented(_nested(65))


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = json.dumps({"narrative": "[" * 200 + '\\" {' * 100, "name": "x"})
    assert read_presented(text).credential is not None


# --- inputs that look odd but are accepted ---------------------------------------------------


def test_utf8_byte_order_mark_is_accepted(did_key_issuer: Issuer) -> None:
    data = json.dumps(did_key_issuer.issue()).encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")

    result = verify(data, now=AT)

    assert result.verdict is Verdict.VALID


def test_json_string_holding_a_jws_is_accepted(did_key_issuer: Issuer) -> None:
    token = did_key_issuer.jwt()
    presented = read_presented(json.dumps(token).encode("utf-8"))

    assert (presented.format, presented.token) == ("jwt", token)
    assert verify(presented, now=AT).verdict is Verdict.VALID


def test_jws_with_surrounding_whitespace_is_accepted(did_key_issuer: Issuer) -> None:
    token = did_key_issuer.jwt()
    assert read_presented(f"\n  {token}\r\n").token == token


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.json", "credential-with-bom"),
        ("token.json", "jws-in-json-string"),
    ],
)
def test_accepted_oddities_through_the_cli(
    did_key_issuer: Issuer, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str
) -> None:
    path = tmp_path / name
    if content == "credential-with-bom":
        path.write_bytes(json.dumps(did_key_issuer.issue()).encode("utf-8-sig"))
    else:
        path.write_text(json.dumps(did_key_issuer.jwt()), encoding="utf-8")

    assert main(["verify", str(path), "--json", "--now", VERIFY_AT]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["verified"], report["status"]) == (True, "valid")
