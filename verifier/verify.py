"""verify(credential, now=...): every OB 3.0 verification step, each recorded as a check.

Order follows OB 3.0 §9.1: structure and schema, contexts, proof (with key provenance),
validity window, status. A bad credential never raises: each failed or undecidable check is
recorded and verification goes on, so the result says everything that is wrong. Only bugs
propagate.

Nothing is fetched on behalf of a credential that already failed: after a failed structure or
contexts check no key document is fetched (the proof check says so), a key under another DID
than the issuer's is refused before any fetch (:mod:`caiep.verifier.proofset`), and status
lists are fetched only once structure, contexts and proof all hold (else the status check is
``unknown``, code ``status_not_checked``).

With a ``deadline`` (:mod:`caiep.verifier.budget`) every fetch gets the time that is left, the
documents of one step are fetched at once, and canonicalisation stops at the deadline: a check
cut short says "cannot be verified: took too long" (``unknown``, code ``took_too_long``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from caiep.caches import content_digest
from caiep.errors import (
    CanonicalizationError,
    CredentialInvalid,
    DocumentLoaderError,
    EncodingError,
    InputError,
    ResolutionError,
    TimeBudgetExceeded,
)
from caiep.proofs.dataintegrity import canonical_nquads
from caiep.schemas.loader import is_known_context
from caiep.verifier.budget import BudgetFetcher, Deadline, took_too_long
from caiep.verifier.cache import IntegrityCache
from caiep.verifier.dates import parse_datetime
from caiep.verifier.fetch import Fetcher
from caiep.verifier.inputs import Presented, read_presented
from caiep.verifier.proofset import check_ldp_proof
from caiep.verifier.resolve import KeyResolver, issuer_id
from caiep.verifier.result import Check, Outcome, VerificationResult
from caiep.verifier.statuscheck import check_status
from caiep.verifier.structure import check_structure

VCDM2 = "https://www.w3.org/ns/credentials/v2"
VCDM1 = "https://www.w3.org/2018/credentials/v1"


@dataclass(frozen=True)
class VerifyOptions:
    """What verification may use: the time, the network (through a fetcher), the clock skew, and
    the deadline it must answer by (None: only the fetcher's own time limits apply)."""

    now: datetime
    fetcher: Fetcher | None = None
    max_clock_skew: timedelta = timedelta(minutes=5)
    deadline: Deadline | None = None


_JWT_CLAIMS = frozenset({"iss", "sub", "nbf", "exp", "jti", "iat", "aud"})


def verify(
    presented: Mapping[str, Any] | str | bytes | Presented,
    *,
    now: datetime,
    fetcher: Fetcher | None = None,
    max_clock_skew: timedelta = timedelta(minutes=5),
    cache: IntegrityCache | None = None,
    deadline: Deadline | None = None,
) -> VerificationResult:
    """Verify an OB 3.0 credential (JSON with embedded proof, or a compact JWS).

    Raises InputError only when the input cannot be read as either; everything about the
    credential itself is in the returned result. With a ``cache``, structure, contexts and
    proof results are reused for identical bytes (see :mod:`verifier.cache`); validity and
    status are always checked afresh. ``deadline`` bounds everything that can wait (make it
    where the request arrives: ``Deadline(seconds)``).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if fetcher is not None:
        fetcher = BudgetFetcher(fetcher, deadline)
    options = VerifyOptions(now=now, fetcher=fetcher, max_clock_skew=max_clock_skew, deadline=deadline)
    if isinstance(presented, Presented):
        item = presented
    elif isinstance(presented, Mapping):
        item = Presented("ldp", dict(presented))
    else:
        item = read_presented(presented)
    resolver = KeyResolver(fetcher)
    key = _cache_key(item) if cache is not None else None
    remembered = cache.get(key) if cache is not None and key is not None else None
    credential: dict[str, Any] | None
    if remembered is not None:
        integrity, credential = remembered, _credential_again(item, remembered)
    else:
        if item.format == "jwt":
            assert item.token is not None
            integrity, credential = _integrity_jwt(item.token, resolver, options.now)
        else:
            assert item.credential is not None
            integrity, credential = _integrity_ldp(item.credential, resolver, deadline)
        if cache is not None and key is not None and credential is not None:
            cache.put(key, integrity)
    if credential is None:
        return VerificationResult(integrity, None, item.format)
    checks = (
        *integrity,
        _check_validity(credential, options),
        _status(credential, integrity, options, resolver),
    )
    return VerificationResult(checks, credential, item.format)


def _status(
    credential: Mapping[str, Any], integrity: tuple[Check, ...], options: VerifyOptions, resolver: KeyResolver
) -> Check:
    """The status check, run (and its lists fetched) only once structure, contexts and proof hold."""
    if "credentialStatus" in credential:
        failed = next((check for check in integrity if check.outcome is not Outcome.VALID), None)
        if failed is not None:
            return Check(
                "status",
                Outcome.UNKNOWN,
                "status_not_checked",
                f"status not checked: the credential's {failed.name} check did not pass, "
                "so its status list was not fetched",
            )
    checker = _list_proof_checker(resolver, options.deadline)
    try:
        return check_status(credential, options.now, resolver, verify_list_proof=checker)
    except TimeBudgetExceeded:
        return took_too_long("status")


def _credential_again(item: Presented, integrity: tuple[Check, ...]) -> dict[str, Any]:
    """The credential of bytes whose integrity checks are remembered (the cache keeps verdicts only)."""
    if item.token is None:
        assert item.credential is not None
        return item.credential
    from caiep.proofs.jose import credential_of_checked_token, decode_unverified

    if all(check.outcome is Outcome.VALID for check in integrity):
        return credential_of_checked_token(item.token)
    _, payload = decode_unverified(item.token)  # as _integrity_jwt shows a failed token's claims
    inner = payload.get("vc")
    claimed: Mapping[str, Any] = inner if isinstance(inner, Mapping) else payload
    return {k: v for k, v in claimed.items() if k not in _JWT_CLAIMS}


def _cache_key(item: Presented) -> str:
    """The integrity cache's key: a digest of the token, or of the credential's canonical JSON."""
    if item.token is not None:
        return "jwt:" + hashlib.sha256(item.token.encode("utf-8")).hexdigest()
    return "ldp:" + content_digest(item.credential).hex()


def _integrity_ldp(
    credential: dict[str, Any], resolver: KeyResolver, deadline: Deadline | None
) -> tuple[tuple[Check, ...], dict[str, Any]]:
    structure = check_structure(credential)
    try:
        contexts, document_hash = _check_contexts(credential, canonicalize=True, deadline=deadline)
    except TimeBudgetExceeded:
        return (structure, took_too_long("contexts"), took_too_long("proof")), credential
    resolver = _gated(resolver, (structure, contexts))
    try:
        proof = check_ldp_proof(credential, resolver, document_hash, deadline=deadline)
    except TimeBudgetExceeded:
        proof = took_too_long("proof")
    return (structure, contexts, proof), credential


class _NotFetched(ResolutionError):
    """A document not fetched because the credential already failed a check."""

    code = "not_fetched"


class _NoFetch(Fetcher):
    """The fetcher of a credential that already failed a check: nothing is asked of the network."""

    def __init__(self, failed: str) -> None:
        self._failed = failed

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """Always a :class:`ResolutionError`: the credential failed a check that needs no network."""
        raise _NotFetched(f"not fetched: the credential already failed its {self._failed} check", url=url)


def _gated(resolver: KeyResolver, checks: tuple[Check, ...]) -> KeyResolver:
    """``resolver``, or one that fetches nothing when one of ``checks`` already failed."""
    failed = next((check.name for check in checks if check.outcome is Outcome.INVALID), None)
    return resolver if failed is None or resolver.fetcher is None else KeyResolver(_NoFetch(failed))


def _integrity_jwt(
    token: str, resolver: KeyResolver, now: datetime
) -> tuple[tuple[Check, ...], dict[str, Any] | None]:
    # Imported here: JOSE (jwcrypto, and through it x509) is loaded only for a VC-JWT.
    from caiep.proofs.jose import decode_unverified, verify_credential_jwt

    try:
        _, payload = decode_unverified(token)
    except EncodingError as exc:
        return (Check("structure", Outcome.INVALID, exc.code, exc.message),), None
    inner = payload.get("vc")
    claimed: Mapping[str, Any] = inner if isinstance(inner, Mapping) else payload
    credential = {k: v for k, v in claimed.items() if k not in _JWT_CLAIMS}
    issuer = issuer_id(credential)
    resolver = _gated(
        resolver, (check_structure(credential), _check_contexts(credential, canonicalize=False)[0])
    )
    proof: Check
    try:
        verified = verify_credential_jwt(token, lambda header: _jwt_key(header, issuer, resolver), now=now)
        credential = verified.credential
        proof = Check(
            "proof",
            Outcome.VALID,
            "signature_valid",
            f"signed (VC-JWT, {verified.header.get('alg')}) by a key of {issuer}",
        )
    except TimeBudgetExceeded:
        proof = took_too_long("proof")
    except ResolutionError as exc:
        proof = Check(
            "proof", Outcome.UNKNOWN, exc.code, f"the issuer's key could not be retrieved: {exc.message}"
        )
    except (CredentialInvalid, EncodingError) as exc:
        proof = Check("proof", Outcome.INVALID, getattr(exc, "code", "proof_invalid"), exc.message)
    return (
        check_structure(credential),
        _check_contexts(credential, canonicalize=False)[0],
        proof,
    ), credential


def _jwt_key(header: Mapping[str, Any], issuer: str | None, resolver: KeyResolver) -> Any:
    kid = header.get("kid")
    if isinstance(kid, str):
        return resolver.public_key(kid, issuer=issuer)
    raise CredentialInvalid("the JWS names no key (kid); a key given inline cannot be tied to the issuer")


def _check_contexts(
    credential: Mapping[str, Any], *, canonicalize: bool, deadline: Deadline | None = None
) -> tuple[Check, bytes | None]:
    """The ``contexts`` check and, when ``canonicalize``, the SHA-256 of the canonical document
    without its proofs; :class:`TimeBudgetExceeded` propagates once ``deadline`` passes."""
    contexts = credential.get("@context")
    if contexts is None:
        return Check("contexts", Outcome.INVALID, "context_missing", "the credential has no @context"), None
    entries = contexts if isinstance(contexts, list) else [contexts]
    for entry in entries:
        if not isinstance(entry, str):
            return Check(
                "contexts",
                Outcome.INVALID,
                "context_not_allowed",
                "embedded @context objects are not accepted: only pinned context URLs",
            ), None
        if not is_known_context(entry):
            return Check(
                "contexts",
                Outcome.INVALID,
                "context_not_allowed",
                f"unknown or remote JSON-LD context {entry!r}; contexts are never fetched",
            ), None
    if not canonicalize:
        return Check("contexts", Outcome.VALID, "contexts_pinned", "all contexts are pinned copies"), None
    try:
        nquads = canonical_nquads({k: v for k, v in credential.items() if k != "proof"}, deadline=deadline)
    except (CanonicalizationError, DocumentLoaderError) as exc:
        return Check("contexts", Outcome.INVALID, exc.code, exc.message), None
    return (
        Check(
            "contexts",
            Outcome.VALID,
            "contexts_pinned",
            "all contexts are pinned copies and every term is defined",
        ),
        hashlib.sha256(nquads.encode("utf-8")).digest(),
    )


def _list_proof_checker(resolver: KeyResolver, deadline: Deadline | None) -> Any:
    def check(list_credential: Mapping[str, Any]) -> Check:
        """Contexts and proof of a status list credential, as the status check needs them."""
        contexts, document_hash = _check_contexts(list_credential, canonicalize=True, deadline=deadline)
        if contexts.outcome is not Outcome.VALID:
            return contexts
        return check_ldp_proof(list_credential, resolver, document_hash, deadline=deadline)

    return check


def _check_validity(credential: Mapping[str, Any], options: VerifyOptions) -> Check:
    """VCDM 2.0 §4.9 (validFrom/validUntil) and VCDM 1.1 (issuanceDate/expirationDate)."""
    v1 = isinstance(credential.get("@context"), list) and credential["@context"][:1] == [VCDM1]
    start_key, end_key = ("issuanceDate", "expirationDate") if v1 else ("validFrom", "validUntil")
    try:
        start = parse_datetime(credential.get(start_key), field=start_key, required=v1)
        end = parse_datetime(credential.get(end_key), field=end_key, required=False)
    except InputError as exc:
        return Check("validity", Outcome.INVALID, "validity_malformed", exc.message)
    skew = options.max_clock_skew
    if start and end and start > end:
        return Check("validity", Outcome.INVALID, "validity_inverted", f"{start_key} is later than {end_key}")
    if start and options.now + skew < start:
        return Check("validity", Outcome.INVALID, "not_yet_valid", f"not valid before {start.isoformat()}")
    if end and options.now - skew > end:
        return Check("validity", Outcome.INVALID, "expired", f"expired on {end.isoformat()}")
    until = f" until {end.isoformat()}" if end else " with no end date"
    return Check("validity", Outcome.VALID, "within_validity", f"valid{until}")
