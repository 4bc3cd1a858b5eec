"""Paths and helpers shared by the test folders (importable as ``support``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parents[1] / "vectors"
EXTERNAL = VECTORS / "external"
GOLDEN = VECTORS / "golden"
FIXED_NOW = datetime(2026, 11, 26, 9, 30, 0, tzinfo=UTC)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
