"""What verification answers: one entry per check, each valid, invalid, unknown or not applicable.

``unknown`` means the check could not be decided (a key or status list could not be
fetched, a status method we do not support): it is never reported as valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


class Verdict(StrEnum):
    """The one-word answer shown to an employer."""

    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    INVALID = "invalid"
    UNVERIFIABLE = "cannot_be_verified"


# Checks in the order they run (OB 3.0 §9.1 verification steps).
CHECK_NAMES = ("structure", "contexts", "proof", "validity", "status")


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The JSON form the API returns (camelCase keys, outcome values as strings)."""
        return {"name": self.name, "outcome": self.outcome.value, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class VerificationResult:
    """The checks made on one presented credential, and the credential as read."""

    checks: tuple[Check, ...]
    credential: dict[str, Any] | None = None
    format: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str) -> Check | None:
        """The check called ``name``, or None when it was not run."""
        return next((c for c in self.checks if c.name == name), None)

    @property
    def verified(self) -> bool:
        """True only when every check passed or did not apply."""
        return bool(self.checks) and all(
            c.outcome in (Outcome.VALID, Outcome.NOT_APPLICABLE) for c in self.checks
        )

    @property
    def outcome(self) -> Outcome:
        """Invalid if any check failed, else unknown if any was undecided, else valid."""
        outcomes = {c.outcome for c in self.checks}
        if Outcome.INVALID in outcomes:
            return Outcome.INVALID
        if Outcome.UNKNOWN in outcomes or not self.checks:
            return Outcome.UNKNOWN
        return Outcome.VALID

    @property
    def verdict(self) -> Verdict:
        """The one word for people: what the failed checks add up to (integrity failures first)."""
        failed = [c for c in self.checks if c.outcome is Outcome.INVALID]
        if not failed:
            return Verdict.VALID if self.outcome is Outcome.VALID else Verdict.UNVERIFIABLE
        # Integrity failures dominate: a tampered credential is "invalid", never "expired".
        if any(c.name in ("structure", "contexts", "proof") for c in failed):
            return Verdict.INVALID
        codes = {c.code for c in failed}
        for code, verdict in (
            ("revoked", Verdict.REVOKED),
            ("suspended", Verdict.SUSPENDED),
            ("expired", Verdict.EXPIRED),
            ("not_yet_valid", Verdict.NOT_YET_VALID),
        ):
            if code in codes:
                return verdict
        return Verdict.INVALID

    def to_json(self) -> dict[str, Any]:
        """The JSON form the API returns (camelCase keys, outcome values as strings)."""
        return {
            "verified": self.verified,
            "status": self.verdict.value,
            "outcome": self.outcome.value,
            "format": self.format,
            "checks": [c.to_json() for c in self.checks],
            **({"details": self.details} if self.details else {}),
        }
