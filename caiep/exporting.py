"""The composition of holder exports: a charter credential read from the registry, as the
exports of :mod:`caiep.wallet_export` see it.

The features never import each other, so the registry's view (:class:`~caiep.issuer.exports.IssuedCopies`)
becomes the exports' view (:class:`~caiep.wallet_export.charter.ExportedCharter`) here, for the CLI
and the web app alike. Names shown (the charter's, the issuer's) are read from the stored copy:
what the certificate and LinkedIn say is what the credential says.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from caiep.addresses import ServiceAddresses
from caiep.wallet_export.charter import ExportedCharter

if TYPE_CHECKING:
    from caiep.issuer.exports import IssuedCopies
    from caiep.issuer.registry import Registry


def exported_charter(copies: IssuedCopies, issuer_url: str) -> ExportedCharter:
    """The exports' view of one charter credential of the issuer at ``issuer_url``."""
    body = _stored_body(copies.forms)
    subject = body.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    issuer = body.get("issuer", {})
    return ExportedCharter(
        credential_id=copies.credential_id,
        url=copies.url,
        page_url=ServiceAddresses(issuer_url).page(copies.credential_id),
        charter_number=copies.charter_number,
        holder_name=copies.holder_name,
        charter_name=str(achievement.get("name", "")),
        issuer_name=str(issuer.get("name", "") if isinstance(issuer, dict) else ""),
        state=copies.state,
        awarded=copies.awarded_at,
        valid_from=copies.valid_from,
        valid_until=copies.valid_until,
        forms=copies.forms,
        served_form="jwt" if copies.served_form == "jwt" else "json",
    )


def find_exported(registry: Registry, wanted: str, issuer_url: str, *, now: datetime) -> ExportedCharter:
    """The charter credential named by URL, uuid or charter number, for export; InputError if none."""
    return exported_charter(registry.issued_copies(wanted, now=now), issuer_url)


def _stored_body(forms: Any) -> dict[str, Any]:
    """The credential of our own stored copy, for display (the JSON form, else the VC-JWT payload)."""
    if "ldp" in forms:
        body = json.loads(forms["ldp"])
    else:
        from caiep.proofs.jose import decode_unverified

        _, body = decode_unverified(forms["jwt"].strip())
    return body if isinstance(body, dict) else {}
