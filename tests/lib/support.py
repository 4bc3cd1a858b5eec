"""Paths and helpers shared by the test folders (importable as ``support``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caiep.issuer.registry import Registry

VECTORS = Path(__file__).parents[1] / "vectors"
EXTERNAL = VECTORS / "external"
GOLDEN = VECTORS / "golden"
FIXED_NOW = datetime(2026, 11, 26, 9, 30, 0, tzinfo=UTC)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def create_registry(url: str) -> Registry:
    """A registry on a database that may be empty: migrated to the head, then opened.

    What ``caiep init`` does for an instance; opening alone refuses a database that is not at
    the head revision.
    """
    from caiep.issuer.registry import open_registry, upgrade_database

    upgrade_database(url)
    return open_registry(url)
