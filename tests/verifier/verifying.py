"""Constants and assertions shared by the verify() test modules (imported as ``verifying``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caiep.verifier.result import Outcome, Verdict, VerificationResult

# The conftest issuers sign at NOW; their credentials run from VALID_FROM to VALID_UNTIL.
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
END = datetime(2030, 3, 1, 12, 0, 0, tzinfo=UTC)
VALID_FROM = "2025-03-01T12:00:00Z"
VALID_UNTIL = "2030-03-01T12:00:00Z"
BASE_URL = "https://credentials.caiep.example"
WEB_DID = "did:web:credentials.caiep.example"

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external" / "1edtech"
VCDM11_FIXTURE = VECTORS / "1edtech-validator-simple-vcdm1.1.Ed25519Signature2020.json"
COMPLETE_FIXTURE = VECTORS / "1edtech-validator-complete.eddsa-rdfc-2022.json"
LIST_URL = f"{BASE_URL}/status/1"
STATUS_INDEX = 94567
SKEW = timedelta(minutes=5)

VALID_LDP_CHECKS = [
    ("structure", Outcome.VALID, "schema_valid"),
    ("contexts", Outcome.VALID, "contexts_pinned"),
    ("proof", Outcome.VALID, "signature_valid"),
    ("validity", Outcome.VALID, "within_validity"),
    ("status", Outcome.NOT_APPLICABLE, "no_status"),
]


def summary(result: VerificationResult) -> list[tuple[str, Outcome, str]]:
    return [(check.name, check.outcome, check.code) for check in result.checks]


def outcome_of(result: VerificationResult, name: str) -> Outcome:
    check = result.check(name)
    assert check is not None, f"no {name} check in {summary(result)}"
    return check.outcome


def code_of(result: VerificationResult, name: str) -> str:
    check = result.check(name)
    assert check is not None, f"no {name} check in {summary(result)}"
    return check.code


def assert_invalid(result: VerificationResult) -> None:
    assert not result.verified
    assert result.outcome is Outcome.INVALID
    assert result.verdict is Verdict.INVALID


def assert_undecided(result: VerificationResult, check: str) -> None:
    """The answer is "cannot be verified": never valid, never a definite invalid."""
    assert outcome_of(result, check) is Outcome.UNKNOWN
    assert not result.verified
    assert result.outcome is Outcome.UNKNOWN
    assert result.verdict is Verdict.UNVERIFIABLE
    assert result.to_json()["status"] == "cannot_be_verified"


def controller_document(method_id: str, *, method_type: str = "Multikey") -> tuple[str, dict[str, Any]]:
    """An https controller document for a ``<url>#<publicKeyMultibase>`` method id."""
    url, _, multibase = method_id.partition("#")
    document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": url,
        "verificationMethod": [
            {"id": method_id, "type": method_type, "controller": url, "publicKeyMultibase": multibase}
        ],
        "assertionMethod": [method_id],
    }
    return url, document


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
