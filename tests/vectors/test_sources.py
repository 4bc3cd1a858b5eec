"""External vectors are kept byte for byte: their SHA-256 must match SOURCES.md."""

from __future__ import annotations

import hashlib
import re

from support import EXTERNAL


def test_every_external_vector_matches_its_recorded_digest():
    listed = dict(
        re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|", (EXTERNAL / "SOURCES.md").read_text(), re.M)
    )
    on_disk = {
        str(p.relative_to(EXTERNAL)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in EXTERNAL.rglob("*")
        if p.is_file() and p.name != "SOURCES.md" and "rfc8037" not in p.parts
    }
    assert listed == on_disk
