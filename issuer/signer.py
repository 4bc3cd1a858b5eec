"""What signing needs, and one award signed in both forms: the :class:`Signer` that jobs, the CLI
and the lifecycle commands hand around.

Signing runs in the job's forked workers too (:mod:`issuer.workers`), which inherit the
decrypted key from the parent: the key is never pickled, written or sent anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from caiep.errors import CaiepError
from caiep.issuer import statuslists
from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential, credential_url
from caiep.issuer.issuance import SignedPair, sign_pair
from caiep.issuer.records import IssuedCredential, PendingResult, charter_number
from caiep.issuer.statuslists import ListSigner
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign as sign_data_integrity

# result, credential uuid, salt, now, and the (status list, index) both copies carry
Payload = tuple[PendingResult, str, str, datetime, tuple[int, int] | None]
SigningAttempt = tuple[int, IssuedCredential | None, str | None]  # result id, credential or error


@dataclass(frozen=True)
class Signer:
    """What signing needs: the issuer, its current key, and the served format (``ldp`` or
    ``jwt``: the form the hosted URL serves; the other form is signed beside it)."""

    profile: IssuerProfile
    key: SigningKey
    verification_method: str
    key_id: str
    format: str = "ldp"
    status_ttl_ms: int = statuslists.DEFAULT_TTL_MS

    def list_signer(self) -> ListSigner:
        """The same key signing the issuer's status lists (``eddsa-rdfc-2022``)."""

        def sign(unsigned: dict[str, Any], now: datetime) -> dict[str, Any]:
            return sign_data_integrity(
                unsigned, self.key, verification_method=self.verification_method, created=now
            )

        return ListSigner(
            issuer_id=self.profile.id,
            base_url=self.profile.base_url,
            key_id=self.key_id,
            sign=sign,
            ttl_ms=self.status_ttl_ms,
        )

    def sign_pair(self, unsigned: dict[str, Any], *, now: datetime, served: str | None = None) -> SignedPair:
        """Both forms of one unsigned credential, ``served`` (default: this signer's format) first."""
        return sign_pair(
            unsigned,
            self.key,
            verification_method=self.verification_method,
            now=now,
            served=self.format if served is None else served,
        )

    def sign(self, payload: Payload) -> SigningAttempt:
        """One result's credential, or the reason it could not be made (for jobs)."""
        try:
            return payload[0].result_id, self.make(payload), None
        except CaiepError as exc:
            return payload[0].result_id, None, exc.message

    def make(self, payload: Payload) -> IssuedCredential:
        """One result's credential in both forms; raises the project error that prevents it."""
        result, credential_uuid, salt, now, place = payload
        award = CharterAward(
            name=result.name,
            email=result.email,
            exam_date=result.exam_date,
            charter_number=charter_number(result.holder_id),
            score=result.score,
            exam_version=result.exam_version or None,
            pathway=result.pathway or None,
        )
        status = None if place is None else statuslists.status_entry(self.profile.base_url, *place)
        unsigned = build_charter_credential(
            self.profile, award, credential_uuid=credential_uuid, now=now, salt=salt, status=status
        )
        pair = self.sign_pair(unsigned, now=now)
        return IssuedCredential(
            credential_id=credential_uuid,
            url=credential_url(self.profile.base_url, credential_uuid),
            holder_id=result.holder_id,
            result_id=result.result_id or None,
            format=pair.served.format,
            document=pair.served.serialize(),
            valid_from=instant(unsigned["validFrom"]),
            valid_until=instant(unsigned["validUntil"]),
            key_id=self.key_id,
            status_list=None if place is None else place[0],
            status_index=None if place is None else place[1],
            other_document=pair.other.serialize(),
        )


@lru_cache(maxsize=64)
def instant(text: str) -> datetime:
    """A credential's XSD dateTime as a datetime; remembered, as a job's batch shares a few."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
