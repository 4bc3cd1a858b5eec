"""What the verification pages and API decide, apart from how they answer: the services the
application gives them, the judge that verifies a presented credential and adds the registry's
word on ours, and the receipt of a check (:mod:`caiep.verifier.receipts`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from caiep.verifier.budget import Deadline
from caiep.verifier.cache import IntegrityCache
from caiep.verifier.fetch import Fetcher
from caiep.verifier.inputs import read_presented
from caiep.verifier.public import public_result
from caiep.verifier.receipts import ReceiptIssuer, sha256_digest
from caiep.verifier.report import summary
from caiep.verifier.result import Check, Outcome, Verdict, VerificationResult
from caiep.verifier.verify import verify


@dataclass(frozen=True)
class Download:
    """A file the holder's page offers: its label, its path and its media type."""

    label: str
    href: str
    media_type: str


@dataclass(frozen=True)
class Standing:
    """What the issuer's registry says of one of its charter credentials, now.

    ``state`` is ``current``, ``lapsed``, ``suspended`` or ``revoked``; ``version`` says whether
    the document shown is the ``current`` version or a ``superseded`` one (renewed);
    ``current_until`` is the current version's validUntil; ``holder_since`` the first award;
    ``lapses`` the (from, to) gaps recorded between versions; ``page`` the current state's page;
    ``badge`` the path of the charter badge image and ``downloads`` the holder's files, shown
    for a charter whose current version verified.
    """

    state: str
    state_since: datetime
    public_reason: str | None
    version: str
    current_until: datetime
    holder_since: datetime
    lapses: tuple[tuple[datetime, datetime], ...] = ()
    page: str | None = None
    # What the page offers for a current charter: the charter badge's image, and downloads.
    badge: str | None = None
    downloads: tuple[Download, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The top-level fields the status API adds to the verification result."""
        return {
            "state": self.state,
            "version": self.version,
            "stateSince": self.state_since.isoformat(),
            "publicReason": self.public_reason,
            "holderSince": self.holder_since.isoformat(),
            "currentUntil": self.current_until.isoformat(),
            "lapses": [{"from": start.isoformat(), "to": end.isoformat()} for start, end in self.lapses],
        }


def _no_standing(credential: str, valid_from: str | None) -> Standing | None:
    return None


@dataclass(frozen=True)
class VerifierServices:
    """What the pages need from the application."""

    find_document: Callable[[str], str | None]  # credential uuid -> the exact stored document
    fetcher: Fetcher
    issuer_id: str  # ours: other issuers are shown as such
    clock: Callable[[], datetime]
    cache: IntegrityCache | None = None  # signature and key checks reused for identical bytes
    issuer_name: str = "this issuer"  # ours, named when a document claiming to be ours fails
    time_budget: float | None = None  # seconds per verification; None: the fetcher's own limits only
    # (our credential's uuid or URL, the document's validFrom) -> the registry's word, read per request
    find_standing: Callable[[str, str | None], Standing | None] = _no_standing
    receipts: ReceiptIssuer | None = None  # signs receipts of checks; None: none are offered


class Judge:
    """Verifies what is presented as the service does, and adds the registry's word on ours."""

    def __init__(self, services: VerifierServices) -> None:
        self.services = services

    def judge(self, presented: Any) -> VerificationResult:
        """Verify what was presented, now, with the service's fetcher and cache, within the time budget."""
        services = self.services
        deadline = Deadline(services.time_budget) if services.time_budget is not None else None
        result = verify(
            presented, now=services.clock(), fetcher=services.fetcher, cache=services.cache, deadline=deadline
        )
        return public_result(result)  # a fetch's details stay in the server log

    def standing_of(self, result: VerificationResult, wanted: str | None) -> Standing | None:
        """The registry's word on one of our credentials, once its signature and key have verified
        (a document that fails is shown as its claims, never joined with the registry's facts)."""
        credential = result.credential or {}
        if wanted is None:
            wanted = credential.get("id") if isinstance(credential.get("id"), str) else None
        if wanted is None or result.verdict in CLAIMED_ONLY:
            return None
        if summary(credential).get("issuerId") != self.services.issuer_id:
            return None
        valid_from = credential.get("validFrom")
        return self.services.find_standing(wanted, valid_from if isinstance(valid_from, str) else None)

    def stored(self, credential_id: str) -> tuple[VerificationResult, Standing | None, bytes] | None:
        """One of our stored credentials, verified now, as its page shows it; with the exact bytes
        checked. None when there is no credential at ``credential_id``."""
        document = self.services.find_document(credential_id)
        if document is None:
            return None
        result = self.judge(read_presented(document))
        standing = self.standing_of(result, credential_id)
        return with_standing(result, standing), standing, document.encode("utf-8")

    def receipt(self, result: VerificationResult, checked: bytes) -> dict[str, Any] | None:
        """A signed receipt of ``result``, a check of the bytes ``checked``; None without a signer."""
        receipts = self.services.receipts
        if receipts is None:
            return None
        credential = result.credential or {}
        credential_id = credential.get("id")
        return receipts.for_credential(
            credential_id=credential_id if isinstance(credential_id, str) else None,
            digest=sha256_digest(checked),
            checks=result.checks,
            verdict=result.verdict,
            checked_at=self.services.clock(),
        )


def with_standing(result: VerificationResult, standing: Standing | None) -> VerificationResult:
    """The result as our registry explains it: a charter the registry records as suspended has
    its bit set in the revocation list (what other verifiers read as revoked); we say suspended."""
    check = result.check("status")
    if standing is None or standing.state != "suspended" or check is None or check.code != "revoked":
        return result
    suspended = Check(
        "status", Outcome.INVALID, "suspended", "the certification body has suspended this charter"
    )
    return replace(result, checks=tuple(suspended if c is check else c for c in result.checks))


#: Verdicts whose credential's statements cannot be relied on: shown as the document's claims.
CLAIMED_ONLY = frozenset({Verdict.INVALID, Verdict.UNVERIFIABLE})


def api_result(result: VerificationResult) -> dict[str, Any]:
    """The API answer: the result, and the credential's facts marked ``verified`` or ``claimed``."""
    facts = summary(result.credential)
    if facts:
        facts["standing"] = "claimed" if result.verdict in CLAIMED_ONLY else "verified"
    return {**result.to_json(), "credential": facts}
