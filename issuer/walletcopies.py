"""Wallet-bound copies: a version's credential signed for one holder wallet's key.

A wallet (OpenID4VCI, the Learner Credential Wallet exchange) asks for the credential bound
to its own DID. The copy is the served copy of the charter's current version with exactly
these changes: ``credentialSubject.id`` is the wallet's DID, ``credentialStatus`` is a status
entry of its own (a new index, drawn with :func:`caiep.issuer.statuslists.reserve`), for the
VC-JWT form the ``sub`` claim follows the subject, and the proof is new. Same ``id``, dates,
achievement and evidence. Its own index means it never pairs with the issued pair
(:func:`caiep.issuer.copies.same_pair`): exports, the page's links and ``credentials
backfill`` never see it, while a revocation reaches it like every copy
(:func:`caiep.issuer.copies.copies_in_circulation`).

Only a charter whose state is ``current`` (not suspended, revoked or lapsed) gets one. The copy
is stored (``served`` false, ``bound_to`` the DID, ``channel`` how it went out) and logged as a
``credentials.wallet_copy`` audit entry with its SHA-256, in the caller's transaction. The
wallet's DID is pseudonymous and the holder's own: it is recorded.

Runs in the signer process (``caiep signer``), the one that holds the key; the web app asks it
over its socket (:mod:`caiep.signerclient`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from caiep.errors import CaiepError, InputError
from caiep.issuer import audit, statuslists
from caiep.issuer.issuance import FORMATS, sign_credential
from caiep.issuer.lifecycle import find_charter
from caiep.issuer.records import charter_state
from caiep.issuer.signer import Signer
from caiep.issuer.statuslists import StatusEntry
from caiep.issuer.tables import credential_copies
from caiep.issuer.versions import served_body
from caiep.keys.base64url import b64url_decode

#: How a wallet-bound copy went out: OpenID for Verifiable Credential Issuance, or the DCC
#: Learner Credential Wallet's VC-API exchange.
CHANNELS = ("openid4vci", "lcw")
#: The longest wallet DID taken (the ``bound_to`` column's size): an RSA did:jwk fits.
MAX_DID_CHARS = 2048
_DID_KEY = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{32,1000}")
_DID_JWK = re.compile(r"did:jwk:[A-Za-z0-9_-]{16,2000}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class NotCurrent(CaiepError):
    """The charter is suspended, revoked or lapsed: no wallet gets a copy of it."""

    code = "not_current"

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        self.state = state


class UnknownCredential(InputError):
    """No charter credential has this id."""

    code = "unknown_credential"

    def __init__(self, message: str, *, credential_id: str) -> None:
        super().__init__(message)
        self.credential_id = credential_id


@dataclass(frozen=True)
class WalletCopy:
    """A stored wallet-bound copy: the exact document (the JSON credential, or the compact JWS
    with its newline), its form, and what it was bound to."""

    credential_id: str
    version: int
    format: str
    document: str
    subject: str
    channel: str
    status: StatusEntry
    sha256: str


def check_wallet_did(did: object) -> str:
    """``did`` if it is a ``did:key`` (base58btc multibase) or a ``did:jwk`` (a base64url public
    JWK, no private member) of at most :data:`MAX_DID_CHARS` characters, without a fragment;
    else :class:`InputError` saying why."""
    if not isinstance(did, str) or len(did) > MAX_DID_CHARS:
        raise InputError(f"a wallet DID is a string of at most {MAX_DID_CHARS} characters")
    if _DID_KEY.fullmatch(did):
        return did
    if not _DID_JWK.fullmatch(did):
        raise InputError("the wallet DID must be a did:key (z…) or a did:jwk, with no fragment")
    try:
        jwk = json.loads(b64url_decode(did.removeprefix("did:jwk:")))
    except (CaiepError, ValueError):
        raise InputError("the did:jwk does not hold a base64url JSON key") from None
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
        raise InputError("the did:jwk does not hold a JSON Web Key (no kty)")
    if "d" in jwk:
        raise InputError("the did:jwk holds a private key (member d): only a public key may be bound")
    return did


def is_credential_uuid(text: object) -> bool:
    """True for a charter credential's id as the registry stores it (lower-case uuid)."""
    return isinstance(text, str) and _UUID.fullmatch(text) is not None


def make_wallet_copy(
    connection: Connection,
    signer: Signer,
    *,
    credential_id: str,
    subject_did: str,
    form: str,
    channel: str,
    now: datetime,
) -> WalletCopy:
    """Sign, store and log the copy of charter ``credential_id``'s current version bound to
    ``subject_did``, in ``form`` (``ldp`` or ``jwt``), going out by ``channel``; in the caller's
    transaction (``registry.write()``). Raises :class:`UnknownCredential`, :class:`NotCurrent`,
    or :class:`InputError` for a bad DID, form or channel, before anything is drawn or signed.

    The charter row is locked (PostgreSQL) until the caller commits, so a revocation running
    at the same time either comes first (and this refuses) or comes after and finds the copy.
    """
    check_wallet_did(subject_did)
    if form not in FORMATS:
        raise InputError(f"form must be one of {', '.join(FORMATS)}, not {form!r}")
    if channel not in CHANNELS:
        raise InputError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    if not is_credential_uuid(credential_id):
        raise UnknownCredential("a charter credential id is a lower-case uuid", credential_id=credential_id)
    try:
        charter = find_charter(connection, credential_id, lock=True)
    except InputError:
        raise UnknownCredential(
            f"no charter credential {credential_id} in this registry", credential_id=credential_id
        ) from None
    state = charter_state(charter.state, charter.valid_until, now)
    if state != "current":
        raise NotCurrent(f"the charter {charter.charter_number} is {state}", state=state)
    _, body = served_body(connection, credential_id)
    reservation = statuslists.reserve(connection, 1, signer.list_signer(), now=now)
    [entry] = reservation.entries
    bound = _bound_body(body, subject_did, entry.to_json(signer.profile.base_url))
    signed = sign_credential(
        bound, signer.key, verification_method=signer.verification_method, now=now, format=form
    )
    document = signed.serialize()
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    connection.execute(
        insert(credential_copies),
        {
            "credential_id": credential_id,
            "version": charter.current_version,
            "format": form,
            "document": document,
            "sha256": digest,
            "key_id": signer.key_id,
            "status_list": entry.list_number,
            "status_index": entry.index,
            "served": False,
            "job_id": None,
            "issued_at": now,
            "bound_to": subject_did,
            "channel": channel,
        },
    )
    reservation.record(connection, [entry])
    details = {
        # the shape of credentials.issued's rows, so that ``audit verify`` vouches for the copy
        "credentials": [[charter.url, digest, charter.charter_number, None, signer.key_id, ""]],
        "version": charter.current_version,
        "format": form,
        "channel": channel,
        "bound_to": subject_did,
        "status": [entry.list_number, entry.index],
    }
    audit.append(connection, [audit.AuditEntry(audit.WALLET_COPY, charter.url, details)], now=now)
    return WalletCopy(
        credential_id, charter.current_version, form, document, subject_did, channel, entry, digest
    )


def _bound_body(body: dict[str, Any], did: str, status: dict[str, str]) -> dict[str, Any]:
    """The version's unsigned body with the wallet's DID as subject id and the copy's own status."""
    subject = body.get("credentialSubject")
    if not isinstance(subject, dict):
        raise InputError("the stored credential has no single credentialSubject to bind")
    others = {key: value for key, value in subject.items() if key != "id"}
    return {**body, "credentialSubject": {"id": did, **others}, "credentialStatus": status}
