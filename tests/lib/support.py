"""Paths and helpers shared by the test folders (importable as ``support``)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, date, datetime
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


def unsigned_charter(
    issuer_id: str,
    *,
    now: datetime,
    holder: str = "Jane Doe",
    base_url: str = "https://credentials.caiep.example",
) -> dict[str, Any]:
    """The test charter credential of ``holder`` from ``issuer_id``, valid from ``now``, unsigned.

    Fixed uuid, salt, exam and charter number, so the same arguments give the same bytes.
    """
    from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential

    profile = IssuerProfile(id=issuer_id, name="CAiEP Certification Board", url=base_url, base_url=base_url)
    award = CharterAward(
        name=holder,
        email="jane.doe@example.org",
        exam_date=date(2025, 2, 14),
        charter_number="CAIEP-6B1F8C3E",
        score="82",
        exam_version="2025.1",
        pathway="experience",
    )
    return build_charter_credential(
        profile, award, credential_uuid="6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b", now=now, salt="5c0ffee5" * 4
    )


#: Rate limits no test reaches (the service's own limits are tested where they are the subject).
UNLIMITED_ENVIRONMENT = {
    "CAIEP_RATE_PER_10_SECONDS": "100000000",
    "CAIEP_RATE_PER_MINUTE": "100000000",
    "CAIEP_READ_RATE_PER_10_SECONDS": "100000000",
    "CAIEP_READ_RATE_PER_MINUTE": "100000000",
    "CAIEP_REGISTER_RATE_PER_10_SECONDS": "100000000",
    "CAIEP_REGISTER_RATE_PER_MINUTE": "100000000",
}


def unlimited_rates() -> Any:
    """The app's rate limits raised out of any test's reach (a ``RateLimitSettings``)."""
    from caiep.ratelimit import RateLimitSettings, Window

    return RateLimitSettings(
        verify=(Window(10**8, 60),), read=(Window(10**8, 60),), register=(Window(10**8, 60),)
    )


def registry_fetcher(registry: Registry, base_url: str, fallback: Any = None) -> Any:
    """A verifier fetcher that reads the issuer's own status lists from ``registry`` (as the app
    does), and everything else from ``fallback`` (default: nothing else, offline)."""
    from caiep.trust import own_lists_first
    from caiep.verifier.fetch import MappingFetcher

    return own_lists_first({}, base_url, registry.status_list, fallback or MappingFetcher({}))


def instance_fetcher(home: Path, fallback: Any = None) -> Any:
    """A verifier fetcher that reads the status lists of the instance at ``home`` from its
    registry (opened for each read, as ``caiep verify --home`` does)."""
    from caiep.trust import own_lists_first
    from caiep.verifier.fetch import MappingFetcher
    from caiep.wiring import Instance

    def read_list(number: int) -> str | None:
        with Instance(home).registry() as registry:
            return registry.status_list(number)

    base_url = Instance(home).settings.issuer_url
    return own_lists_first({}, base_url, read_list, fallback or MappingFetcher({}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
