"""Step 1 of OB 3.0 verification (§9.1): is this an Open Badge credential of a known shape?

VCDM 2.0 credentials are validated against the 1EdTech AchievementCredential JSON Schema
(the ``1EdTechJsonSchemaValidator2019`` entry of ``credentialSchema``), plus the OB rule the
schema does not express: the subject has an ``id`` or an ``identifier``. VCDM 1.1 credentials
(OB 3.0 ``AchievementCredentialv1p1``) get the structural checks of that data model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caiep.schemas.validation import achievement_credential_issues
from caiep.verifier.resolve import issuer_id
from caiep.verifier.result import Check, Outcome

VCDM2 = "https://www.w3.org/ns/credentials/v2"
VCDM1 = "https://www.w3.org/2018/credentials/v1"
OB_TYPES = ("OpenBadgeCredential", "AchievementCredential")


def check_structure(credential: Mapping[str, Any]) -> Check:
    """The ``structure`` check: VC context first, OB types, the 1EdTech JSON Schema, issuer and subject."""
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    types = credential.get("type")
    types = types if isinstance(types, list) else [types]
    if first not in (VCDM2, VCDM1):
        return _invalid(
            "not_a_credential", "the first @context is not the W3C Verifiable Credentials context"
        )
    if "VerifiableCredential" not in types or not any(t in types for t in OB_TYPES):
        return _invalid("not_an_open_badge", "type must include VerifiableCredential and OpenBadgeCredential")
    if first == VCDM1:
        return _check_v1(credential)
    # VCDM 2.0 and the JSON-LD compacted form allow a single proof object (Digital Bazaar's
    # libraries emit one); the 1EdTech schema's array rule is about how we serialise, so a
    # lone proof is validated as the one-element array it means (OB issue #473).
    proof = credential.get("proof")
    if isinstance(proof, Mapping):
        credential = {**credential, "proof": [proof]}
    issues = achievement_credential_issues(credential)
    if issues:
        issue = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        return _invalid("schema_invalid", f"{issue.json_pointer or '/'}: {issue.message}{more}")
    return Check(
        "structure", Outcome.VALID, "schema_valid", "an Open Badges 3.0 credential (1EdTech JSON Schema)"
    )


def _check_v1(credential: Mapping[str, Any]) -> Check:
    for field in ("id", "issuer", "issuanceDate", "credentialSubject", "name"):
        if field not in credential:
            return _invalid("schema_invalid", f"/{field}: missing, required by VCDM 1.1 Open Badges")
    if not issuer_id(credential):
        return _invalid("schema_invalid", "/issuer: needs an id (a URL, or a Profile with an id)")
    subject = credential["credentialSubject"]
    if not isinstance(subject, Mapping) or not (subject.get("id") or subject.get("identifier")):
        return _invalid("schema_invalid", "/credentialSubject: needs an id or an identifier")
    return Check(
        "structure", Outcome.VALID, "structure_valid", "an Open Badges 3.0 credential (VCDM 1.1 form)"
    )


def _invalid(code: str, message: str) -> Check:
    return Check("structure", Outcome.INVALID, code, message)
