"""schemas/SOURCES.md lists every pinned file, and each file still has the bytes recorded there."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from caiep import schemas
from caiep.schemas.loader import CONTEXT_FILES, PUBLISHED_DIGESTS

PACKAGE = Path(schemas.__file__).parent
ROW = re.compile(
    r"^\| `(?P<file>(?:contexts|jsonschema)/[^`]+)` \| (?P<url>[^|]+?) "
    r"\| `(?P<sha256>[0-9a-f]{64})` \| (?P<size>\d+) \| (?P<origin>[^|]+) \|$"
)


def _rows() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for line in (PACKAGE / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match["file"] not in rows, f"{match['file']} is listed twice"
            rows[match["file"]] = match.groupdict()
    return rows


ROWS = _rows()
PINNED = sorted(
    f"{folder}/{path.name}"
    for folder in ("contexts", "jsonschema")
    for path in (PACKAGE / folder).iterdir()
    if path.is_file()
)


def test_every_pinned_file_has_exactly_one_row() -> None:
    assert sorted(ROWS) == PINNED


@pytest.mark.parametrize("name", PINNED)
def test_file_bytes_match_the_recorded_sha256_and_size(name: str) -> None:
    data = (PACKAGE / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == ROWS[name]["sha256"]
    assert len(data) == int(ROWS[name]["size"])


@pytest.mark.parametrize(("url", "file_name"), sorted(CONTEXT_FILES.items()))
def test_each_served_context_is_listed_under_its_url(url: str, file_name: str) -> None:
    assert ROWS[f"contexts/{file_name}"]["url"] == url


@pytest.mark.parametrize(("url", "digest"), sorted(PUBLISHED_DIGESTS.items()))
def test_published_w3c_digests_agree_with_the_recorded_sha256(url: str, digest: str) -> None:
    assert ROWS[f"contexts/{CONTEXT_FILES[url]}"]["sha256"] == digest


def test_the_2025_copy_of_the_303_context_is_kept_but_not_served() -> None:
    assert "ob-v3p0-context-3.0.3.json" not in CONTEXT_FILES.values()
    assert CONTEXT_FILES["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"] == (
        "ob-v3p0-context-3.0.3.validator-2026-06-29.json"
    )
