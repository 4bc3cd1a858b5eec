"""Interoperability: one changed leaf makes both sides refuse (Data Integrity and VC-JWT), and the
reference charter credential's proof is valid while its status is undecidable.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from peers import (
    NODE_DOCUMENTS,
    NOW,
    NOW_ISO,
    VECTORS,
    VERIFIED,
    DbSigned,
    Issued,
    b64url,
    b64url_decode,
    fetcher,
)

from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from node import run_node

pytestmark = pytest.mark.interop


# --- tampering ---------------------------------------------------------------------------------


def change_last_character(value: str) -> str:
    return value[:-1] + ("x" if value[-1:] != "x" else "y")


def one_second_later(value: str) -> str:
    moment = datetime.fromisoformat(value) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def one_day_later(value: str) -> str:
    moment = datetime.fromisoformat(value) + timedelta(days=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tampered(
    credential: dict[str, Any], path: tuple[str | int, ...], change: Callable[[str], str]
) -> dict[str, Any]:
    """A copy of ``credential`` with the string leaf at ``path`` changed."""
    copied = copy.deepcopy(credential)
    node: Any = copied
    for step in path[:-1]:
        node = node[step]
    before = node[path[-1]]
    node[path[-1]] = change(before)
    assert node[path[-1]] != before
    return copied


NAME = ("credentialSubject", "name")
VALID_UNTIL = ("validUntil",)
ACHIEVEMENT_NAME = ("credentialSubject", "achievement", "name")
ISSUER_NAME = ("issuer", "name")
EVIDENCE_NARRATIVE = ("evidence", 0, "narrative")


def test_tampered_data_integrity_credentials_fail_both_verifiers(
    ours: list[Issued], db_signed: list[DbSigned], contexts: dict[str, Any]
) -> None:
    ours_created = ("proof", 0, "created")  # our proof is an array
    db_created = ("proof", "created")  # Digital Bazaar's is one object
    changes = [
        (NAME, change_last_character),
        (VALID_UNTIL, one_day_later),
        (ACHIEVEMENT_NAME, change_last_character),
        (ISSUER_NAME, change_last_character),
        (EVIDENCE_NARRATIVE, change_last_character),
    ]
    cases: list[tuple[str, dict[str, Any]]] = []
    controls: list[tuple[str, dict[str, Any]]] = []
    # ours: each change on a did:key and a did:web credential (names with control characters)
    for item in (ours[12], ours[13], ours[16], ours[17]):
        controls.append((f"ours #{item.index}", item.ldp))
    for number, (path, change) in enumerate([*changes, (ours_created, one_second_later)]):
        for item in (ours[12 + 4 * (number % 2)], ours[13 + 4 * (number % 2)]):
            cases.append((f"ours #{item.index} {path}", tampered(item.ldp, path, change)))
    # Digital Bazaar's: the same kinds of change on one credential of each controller
    for run in db_signed:
        first = run.answer["credentials"][0]
        controls.append((f"db {run.controller[:12]}", first))
        for path, change in [*changes[:3], (db_created, one_second_later)]:
            cases.append((f"db {run.controller[:12]} {path}", tampered(first, path, change)))
    assert len(cases) == 12 + 8

    everything = controls + cases
    answer = run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "documents": NODE_DOCUMENTS,
            "credentials": [c for _, c in everything],
            "now": NOW_ISO,
        },
    )
    results = dict(zip([label for label, _ in everything], answer["results"], strict=True))

    for label, credential in controls:
        assert results[label] == VERIFIED, (label, results[label])
        proof_check = verify(credential, now=NOW, fetcher=fetcher()).check("proof")
        assert proof_check is not None
        assert proof_check.outcome is Outcome.VALID, (label, proof_check)
    for label, credential in cases:
        theirs = results[label]
        assert theirs["verified"] is False, label
        assert theirs["proofVerified"] is False, label
        assert "Invalid signature" in theirs["proofError"], (label, theirs["proofError"])
        result = verify(credential, now=NOW, fetcher=fetcher())
        assert result.outcome is Outcome.INVALID, label
        proof_check = result.check("proof")
        assert proof_check is not None
        assert (proof_check.outcome, proof_check.code) == (Outcome.INVALID, "signature_invalid"), (
            label,
            proof_check,
        )


def _with_payload_text(token: str, edit: Callable[[str], str]) -> str:
    """The token with its payload JSON edited as text; header and signature kept."""
    header, payload, signature = token.split(".")
    text = b64url_decode(payload).decode("utf-8")
    edited = edit(text)
    assert edited != text
    assert len(edited) == len(text)
    return f"{header}.{b64url(edited.encode('utf-8'))}.{signature}"


def _change_character_at(text: str, position: int) -> str:
    old = text[position]
    new = "7" if old != "7" else "8"
    return text[:position] + new + text[position + 1 :]


def _change_license_digit(text: str) -> str:
    match = re.search(r'"licenseNumber":"CAIEP-\d{4}-\d{6}"', text)
    assert match is not None
    return _change_character_at(text, match.end() - 2)


def _change_exp_digit(text: str) -> str:
    match = re.search(r'"exp":(\d+)', text)
    assert match is not None
    return _change_character_at(text, match.end(1) - 1)


def _change_holder_name_character(name: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        # our payload writes non-ASCII unescaped: the name's JSON form occurs exactly once
        encoded = '"name":' + json.dumps(name, ensure_ascii=False)
        assert text.count(encoded) == 1
        return _change_character_at(text, text.index(encoded) + len('"name":"'))

    return edit


def _flip_payload_segment_character(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    flipped = payload[:middle] + ("A" if payload[middle] != "A" else "B") + payload[middle + 1 :]
    return f"{header}.{flipped}.{signature}"


def test_tampered_vc_jwts_fail_both_verifiers(ours: list[Issued]) -> None:
    did_key_item, did_web_item = ours[14], ours[15]
    control = did_web_item.jwt
    cases = {
        "licence digit (did:key)": _with_payload_text(did_key_item.jwt, _change_license_digit),
        "exp digit (did:web)": _with_payload_text(did_web_item.jwt, _change_exp_digit),
        "holder name (did:web)": _with_payload_text(
            did_web_item.jwt,
            _change_holder_name_character(did_web_item.unsigned["credentialSubject"]["name"]),
        ),
    }
    flipped = _flip_payload_segment_character(did_key_item.jwt)
    jwks = [
        {**item.key.public_key.to_jwk(), "kid": item.verification_method}
        for item in (did_key_item, did_web_item)
    ]
    tokens = [control, *cases.values(), flipped]
    answer = run_node(
        "jose.mjs", {"op": "verify", "tokens": tokens, "jwks": jwks, "algorithms": ["EdDSA"], "now": NOW_ISO}
    )
    control_result, *case_results, flipped_result = answer["results"]

    assert control_result["verified"] is True, control_result
    assert verify(control, now=NOW, fetcher=fetcher()).outcome is Outcome.VALID
    for (label, token), theirs in zip(cases.items(), case_results, strict=True):
        assert theirs["verified"] is False, label
        assert theirs["error"].startswith("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"), (label, theirs["error"])
        result = verify(token, now=NOW, fetcher=fetcher())
        assert result.outcome is Outcome.INVALID, label
        proof_check = result.check("proof")
        assert proof_check is not None
        assert (proof_check.outcome, proof_check.code) == (Outcome.INVALID, "jws_signature_invalid"), label
    # one base64url character of the payload segment changed: bytes no longer say the same thing
    assert flipped_result["verified"] is False
    flipped_ours = verify(flipped, now=NOW, fetcher=fetcher())
    assert flipped_ours.outcome is Outcome.INVALID
    assert not flipped_ours.verified


# --- the reference charter credential -----------------------------------------------------------


def test_reference_charter_credential_proof_valid_status_unknown() -> None:
    """Signed by Digital Bazaar with a did:key; its status list is not reachable offline."""
    credential = json.loads((VECTORS / "charter-credential" / "signed.json").read_text(encoding="utf-8"))
    result = verify(credential, now=NOW, fetcher=MappingFetcher({}))
    proof_check = result.check("proof")
    assert proof_check is not None
    assert (proof_check.outcome, proof_check.code) == (Outcome.VALID, "signature_valid")
    status = result.check("status")
    assert status is not None
    assert (status.outcome, status.code) == (Outcome.UNKNOWN, "STATUS_RETRIEVAL_ERROR")
    assert {c.name: c.outcome for c in result.checks if c.name not in ("proof", "status")} == {
        "structure": Outcome.VALID,
        "contexts": Outcome.VALID,
        "validity": Outcome.VALID,
    }
    assert result.outcome is Outcome.UNKNOWN
    assert not result.verified
