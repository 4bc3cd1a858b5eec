"""What a person reads: the verdict, who holds what until when, and each check.

Every value taken from a credential is shown through :func:`printable`, so that a name holding
an escape sequence (``\x1b[2J``) or a bidi override (U+202E) cannot repaint a terminal or make
one verdict read as another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from caiep.verifier.resolve import issuer_id
from caiep.verifier.result import Outcome, Verdict, VerificationResult

_HEADLINES = {
    Verdict.VALID: "VALID",
    Verdict.EXPIRED: "EXPIRED",
    Verdict.NOT_YET_VALID: "NOT YET VALID",
    Verdict.REVOKED: "REVOKED",
    Verdict.SUSPENDED: "SUSPENDED",
    Verdict.INVALID: "INVALID",
    Verdict.UNVERIFIABLE: "CANNOT BE VERIFIED",
}
# C0 and DEL, C1, and the bidi controls: ALM, LRM/RLM, LRE..RLO, LRI..PDI (Unicode UAX #9).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKS = {Outcome.VALID: "ok", Outcome.INVALID: "FAIL", Outcome.UNKNOWN: "??", Outcome.NOT_APPLICABLE: "--"}


def summary(credential: Mapping[str, Any] | None) -> dict[str, str]:
    """The facts an employer looks for, read from the credential (empty strings when absent)."""
    if not credential:
        return {}
    subject = credential.get("credentialSubject")
    subject = subject if isinstance(subject, Mapping) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, Mapping) else {}
    issuer = credential.get("issuer")
    issuer_name = issuer.get("name") if isinstance(issuer, Mapping) else None
    fields = {
        "id": credential.get("id"),
        "holder": subject.get("name"),
        "postNominal": achievement.get("humanCode"),
        "achievement": achievement.get("name") or credential.get("name"),
        "charterNumber": subject.get("licenseNumber"),
        "issuer": issuer_name or issuer_id(credential),
        "issuerId": issuer_id(credential),
        "awardedDate": credential.get("awardedDate"),
        "validFrom": credential.get("validFrom") or credential.get("issuanceDate"),
        "validUntil": credential.get("validUntil") or credential.get("expirationDate"),
    }
    return {key: str(value) for key, value in fields.items() if isinstance(value, str | int)}


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``, ``\\u202e``) for a terminal.

    C0 (line breaks and tabs included, so one value stays on one line), DEL, C1 and the bidi
    controls are escaped; every other character, any script, is kept as it is.
    """
    return _CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def render_text(result: VerificationResult) -> str:
    """The result as lines for a terminal: the verdict, who holds what, and each check.

    Values from the credential and the checks' messages are escaped by :func:`printable`.
    """
    facts = {key: printable(value) for key, value in summary(result.credential).items()}
    lines = [_HEADLINES[result.verdict]]
    if facts.get("holder"):
        holder = facts["holder"] + (f", {facts['postNominal']}" if facts.get("postNominal") else "")
        lines.append(f"  {facts.get('achievement', 'Credential')} held by {holder}")
    for label, key in (
        ("issuer", "issuer"),
        ("charter number", "charterNumber"),
        ("awarded", "awardedDate"),
        ("valid from", "validFrom"),
        ("valid until", "validUntil"),
        ("id", "id"),
    ):
        if facts.get(key):
            lines.append(f"  {label}: {facts[key]}")
    lines.append("")
    for check in result.checks:
        lines.append(f"  [{_MARKS[check.outcome]:>4}] {printable(check.name):<9} {printable(check.message)}")
    return "\n".join(lines) + "\n"
