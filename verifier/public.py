"""What the public service says about a check it could not decide: one sentence per kind.

A fetch that failed says why in detail (a host name that does not resolve, an address refused
as private or loopback, a timeout). That detail helps an issuer at the command line, but from
a public service it is an oracle for probing internal DNS. The service therefore answers one
generic sentence per check and keeps the detail in its own log.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Final

from caiep.errors import ResolutionError
from caiep.verifier.result import VerificationResult

log = logging.getLogger("caiep.verifier")

#: Codes of checks that failed on a fetch, whose messages carry the fetch's details.
FETCH_FAILURE_CODES: Final = frozenset({ResolutionError.code, "STATUS_RETRIEVAL_ERROR"})
GENERIC_MESSAGES: Final = {
    "proof": "the issuer's key could not be fetched",
    "status": "the credential's status list could not be fetched",
}
GENERIC_MESSAGE: Final = "a document this check needs could not be fetched"


def public_result(result: VerificationResult) -> VerificationResult:
    """``result`` with every fetch failure's message replaced by its generic sentence (logged in full)."""
    if not any(check.code in FETCH_FAILURE_CODES for check in result.checks):
        return result
    checks = []
    for check in result.checks:
        if check.code in FETCH_FAILURE_CODES:
            log.warning("%s check undecided: %s", check.name, check.message)
            check = replace(check, message=GENERIC_MESSAGES.get(check.name, GENERIC_MESSAGE))
        checks.append(check)
    return replace(result, checks=tuple(checks))
