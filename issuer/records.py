"""What the registry hands out and takes in: plain, frozen records, and the charter number.

Kept apart from the queries that fill them, so the signing job, the CLI and the web pages can
name a record without importing the database layer's machinery.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property


def charter_number(holder_id: int) -> str:
    """A holder's charter number: the same for every credential and renewal they hold."""
    return f"CAIEP-{holder_id:06d}"


CHARTER_STATES = ("current", "lapsed", "suspended", "revoked")


def charter_state(stored: str, valid_until: datetime, now: datetime) -> str:
    """The charter state from the stored one and the current version's end: a current charter
    past its ``validUntil`` (not renewed) is ``lapsed``; suspension and revocation stand."""
    return "lapsed" if stored == "current" and valid_until < now else stored


@dataclass(frozen=True)
class PendingResult:
    """A passing result that has no credential yet, with what its credential states."""

    result_id: int
    holder_id: int
    name: str
    email: str
    exam_date: date
    score: str | None
    exam_version: str
    pathway: str


@dataclass(frozen=True)
class IssuedCredential:
    """A signed credential ready to be recorded (``document`` is the exact text served)."""

    credential_id: str
    url: str
    holder_id: int
    result_id: int | None
    format: str
    document: str
    valid_from: datetime
    valid_until: datetime
    key_id: str
    status_list: int | None = None  # the BitstringStatusListEntry both copies carry
    status_index: int | None = None
    # The version's other form (VC-JWT of a JSON copy, or the JSON copy of a VC-JWT), signed over
    # the same body with the same status entry: stored beside it, never served at the URL.
    other_document: str | None = None

    @cached_property
    def sha256(self) -> str:
        """The hex SHA-256 of the exact document: logged at issue, checked by ``audit verify``."""
        return hashlib.sha256(self.document.encode("utf-8")).hexdigest()

    @property
    def other_format(self) -> str:
        """The other form's format: ``jwt`` beside an ``ldp`` copy, ``ldp`` beside a ``jwt`` one."""
        return "jwt" if self.format == "ldp" else "ldp"

    @cached_property
    def other_sha256(self) -> str | None:
        """The hex SHA-256 of the other form's exact document (None when there is none)."""
        if self.other_document is None:
            return None
        return hashlib.sha256(self.other_document.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ImportSummary:
    """What one import stored: new results (passes and fails), duplicates skipped, new holders."""

    inserted: int
    passes: int
    fails: int
    duplicates: int
    new_holders: int


@dataclass(frozen=True)
class CredentialRecord:
    """One issued credential as the registry lists it (without its document)."""

    credential_id: str
    url: str
    holder_email: str
    holder_name: str
    charter_number: str
    format: str
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    key_id: str
    job_id: str | None
    result_id: int | None
    sha256: str
    state: str = "current"  # the stored charter state: current | suspended | revoked
    state_since: datetime | None = None
    version: int = 1  # the number of its current version (1: the award)
    status_list: int | None = None  # the served copy's status entry; None: issued before status lists
    status_index: int | None = None

    def charter_state(self, now: datetime) -> str:
        """The charter state: ``current``, ``lapsed`` (past its current version's validUntil),
        ``suspended`` or ``revoked``."""
        return charter_state(self.state, self.valid_until, now)
