"""Step 4 of OB 3.0 verification: is the credential revoked or suspended?

A ``BitstringStatusListEntry`` (W3C Bitstring Status List 1.0 §3.2) is checked against its
list credential, fetched through the verifier's fetcher and verified like any credential
(proof and key provenance). A status we cannot decide — the list is unreachable, its proof
cannot be checked, the method is one we do not implement — is ``unknown``, never valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from caiep.errors import InputError, ResolutionError
from caiep.verifier.budget import fetch_all
from caiep.verifier.dates import parse_datetime
from caiep.verifier.resolve import KeyResolver, issuer_id
from caiep.verifier.result import Check, Outcome

ProofChecker = Callable[[Mapping[str, Any]], Check]
_INVALID_ENTRY = ("MALFORMED_VALUE_ERROR", "RANGE_ERROR")


def check_status(
    credential: Mapping[str, Any], now: datetime, resolver: KeyResolver, *, verify_list_proof: ProofChecker
) -> Check:
    """The ``status`` check: every credentialStatus entry read from its fetched, verified list.

    Not applicable without ``credentialStatus``; ``unknown`` when a list cannot be fetched or
    decided (never reported as valid); ``invalid`` when a revocation or suspension bit is set.
    The lists are fetched at once; :class:`caiep.errors.TimeBudgetExceeded` propagates when the
    verification's time budget runs out.
    """
    status = credential.get("credentialStatus")
    if status is None:
        return Check(
            "status", Outcome.NOT_APPLICABLE, "no_status", "the credential has no status information"
        )
    entries = status if isinstance(status, list) else [status]
    fetch_all(
        resolver.fetcher,
        (
            entry.get("statusListCredential")
            for entry in entries
            if isinstance(entry, Mapping) and entry.get("type") == "BitstringStatusListEntry"
        ),
    )
    results = [_check_one(entry, credential, now, resolver, verify_list_proof) for entry in entries]
    for outcome in (Outcome.INVALID, Outcome.UNKNOWN):
        for result in results:
            if result.outcome is outcome:
                return result
    return (
        results[0]
        if len(results) == 1
        else Check("status", Outcome.VALID, "not_revoked", "; ".join(r.message for r in results))
    )


def _check_one(
    entry: Any,
    credential: Mapping[str, Any],
    now: datetime,
    resolver: KeyResolver,
    verify_list_proof: ProofChecker,
) -> Check:
    if not isinstance(entry, Mapping):
        return Check("status", Outcome.INVALID, "MALFORMED_VALUE_ERROR", "credentialStatus must be an object")
    kind = entry.get("type")
    if kind != "BitstringStatusListEntry":
        return Check(
            "status",
            Outcome.UNKNOWN,
            "unsupported_status_method",
            f"status method {kind!r} is not supported, so revocation cannot be checked",
        )
    url = entry.get("statusListCredential")
    if not isinstance(url, str):
        return Check("status", Outcome.INVALID, "MALFORMED_VALUE_ERROR", "statusListCredential must be a URL")
    if resolver.fetcher is None:
        return Check(
            "status", Outcome.UNKNOWN, "STATUS_RETRIEVAL_ERROR", "status list not checked: no network access"
        )
    try:
        list_credential = resolver.fetcher.get_json(url)
    except ResolutionError as exc:
        return Check(
            "status", Outcome.UNKNOWN, "STATUS_RETRIEVAL_ERROR", f"status list unavailable: {exc.message}"
        )
    if not isinstance(list_credential, Mapping):
        return Check(
            "status", Outcome.UNKNOWN, "STATUS_VERIFICATION_ERROR", "the status list is not a JSON object"
        )
    proof = verify_list_proof(list_credential)
    if proof.outcome is not Outcome.VALID:
        return Check(
            "status",
            Outcome.UNKNOWN,
            "STATUS_VERIFICATION_ERROR",
            f"the status list does not verify: {proof.message}",
        )
    if issuer_id(list_credential) != issuer_id(credential):
        return Check(
            "status",
            Outcome.UNKNOWN,
            "STATUS_VERIFICATION_ERROR",
            "the status list is issued by someone other than the credential's issuer",
        )
    try:
        list_until = parse_datetime(list_credential.get("validUntil"), field="validUntil", required=False)
    except InputError as exc:
        return Check("status", Outcome.UNKNOWN, "STATUS_VERIFICATION_ERROR", exc.message)
    if list_until is not None and list_until < now:
        return Check("status", Outcome.UNKNOWN, "STATUS_VERIFICATION_ERROR", "the status list has expired")
    from caiep.verifier.bitstring import check_entry  # loaded only for a credential with a status

    result = check_entry(entry, list_credential)
    if result.error_code is not None:
        outcome = Outcome.INVALID if result.error_code in _INVALID_ENTRY else Outcome.UNKNOWN
        return Check("status", outcome, result.error_code, result.message)
    if result.set:
        code = (
            "revoked"
            if result.purpose == "revocation"
            else "suspended"
            if result.purpose == "suspension"
            else "status_set"
        )
        return Check(
            "status",
            Outcome.INVALID,
            code,
            f"the issuer has {'revoked' if code == 'revoked' else 'suspended'} this credential",
        )
    return Check(
        "status",
        Outcome.VALID,
        f"not_{'suspended' if result.purpose == 'suspension' else 'revoked'}",
        f"not {'suspended' if result.purpose == 'suspension' else 'revoked'} (status list checked)",
    )
