"""What the CLI test modules share: the issuer URL, a holder's flags, making an instance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import CLI

ISSUER_URL = "https://credentials.caiep.example"
WEB_DID = "did:web:credentials.caiep.example"
HOLDER = ["--name", "Jane Doe", "--email", "jane.doe@example.org", "--exam-date", "2025-01-15"]


def init_issuer(cli: CLI, method: str = "web") -> Any:
    """``caiep init`` of the test issuer with a did:web or did:key identifier; asserts it worked."""
    run = cli(
        "init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL, "--did", method
    )
    assert run.code == 0, run.err
    return run
