"""Issuing a version's pair: the one place a status index is drawn for a copy, both forms are
signed over one body, stored, and the index recorded.

A version is issued as a pair (README "Charter credentials, versions and copies"): the served
copy in the format the issuer chose and the same body in the other format (eddsa-rdfc-2022
Data Integrity beside VC-JWT), both carrying the one ``BitstringStatusListEntry`` drawn for
them. The steps (draw the index, sign both forms, add the version, store the pair, record the
index in the list's allocation bitmap) are done here, in the caller's transaction, so no caller
can leave an index drawn but unrecorded, or store one form without the other. Awards take the
same steps in bulk (:mod:`caiep.issuer.jobs`, :mod:`caiep.issuer.recording`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from caiep.issuer import statuslists
from caiep.issuer.copies import NewCopy, StoredCopy, add_copies
from caiep.issuer.lifecycle import Charter, add_version
from caiep.issuer.signer import Signer
from caiep.issuer.statuslists import StatusEntry
from caiep.issuer.tables import credential_copies
from caiep.timestamps import format_timestamp


@dataclass(frozen=True)
class IssuedPair:
    """A version's pair as stored: the served document (in ``format``) and the other form."""

    credential_id: str
    version: int
    format: str
    served: str
    other: str
    status: StatusEntry


@dataclass(frozen=True)
class _Wanted:
    credential_id: str
    version: int
    url: str
    holder_id: int
    format: str  # the served copy's
    body: dict[str, Any]  # unsigned, without its credentialStatus


def body_of(format: str, document: str) -> dict[str, Any]:
    """The unsigned credential of one of our stored copies: the JSON copy without its proof, or
    the VC-JWT's credential (its payload without the JWT claims). Only for our own stored
    copies, whose bytes ``audit verify`` vouches for: nothing is verified here."""
    if format == "jwt":
        from caiep.proofs.jose import credential_of_checked_token

        body = dict(credential_of_checked_token(document.strip()))
    else:
        body = json.loads(document)
    body.pop("proof", None)
    return body


def served_body(connection: Connection, credential_id: str) -> tuple[str, dict[str, Any]]:
    """The served copy's format and unsigned body: what a new version starts from."""
    row = connection.execute(
        select(credential_copies.c.format, credential_copies.c.document).where(
            credential_copies.c.credential_id == credential_id, credential_copies.c.served.is_(True)
        )
    ).one()
    return str(row.format), body_of(str(row.format), str(row.document))


def _issue_pairs(
    connection: Connection, signer: Signer, wanted: Sequence[_Wanted], *, now: datetime
) -> list[IssuedPair]:
    """Draw one index per pair, sign both forms of each body with it, store them (the served
    copy first) and record the indexes: all in the caller's transaction."""
    reservation = statuslists.reserve(connection, len(wanted), signer.list_signer(), now=now)
    copies: list[NewCopy] = []
    issued: list[IssuedPair] = []
    for item, entry in zip(wanted, reservation.entries, strict=True):
        body = {**item.body, "credentialStatus": entry.to_json(signer.profile.base_url)}
        pair = signer.sign_pair(body, now=now, served=item.format)
        served, other = pair.served.serialize(), pair.other.serialize()
        head = (item.credential_id, item.version, item.url, item.holder_id)
        copies.append(NewCopy(*head, item.format, served, signer.key_id, entry, served=True))
        copies.append(NewCopy(*head, pair.other.format, other, signer.key_id, entry, served=False))
        issued.append(IssuedPair(item.credential_id, item.version, item.format, served, other, entry))
    add_copies(connection, copies, now=now, job_id=None)
    reservation.record(connection, reservation.entries)
    return issued


def new_version(
    connection: Connection,
    charter: Charter,
    signer: Signer,
    *,
    kind: str,
    valid_from: datetime,
    valid_until: datetime,
    now: datetime,
    evidence: dict[str, Any] | None = None,
) -> IssuedPair:
    """Add a new current version of the charter (``renewal`` or ``reinstatement``) with its pair:
    the served copy's body (same id, subject, evidence and ``awardedDate``) with the new dates,
    ``evidence`` appended when given, and a new status entry; served from now on, in the served
    copy's format, with its other form beside it."""
    format, body = served_body(connection, charter.credential_id)
    version = add_version(
        connection, charter.credential_id, kind=kind, valid_from=valid_from, valid_until=valid_until, now=now
    )
    body["validFrom"] = format_timestamp(valid_from)
    body["validUntil"] = format_timestamp(valid_until)
    if evidence is not None:
        body["evidence"] = [*body.get("evidence", []), evidence]
    wanted = _Wanted(charter.credential_id, version, charter.url, charter.holder_id, format, body)
    [issued] = _issue_pairs(connection, signer, [wanted], now=now)
    return issued


def give_status(
    connection: Connection, signer: Signer, earlier: Sequence[StoredCopy], *, now: datetime
) -> list[IssuedPair]:
    """``status migrate`` for served copies issued before status lists: for each, a new pair of
    the same version (same id, body and dates; a new proof by the current key) with a status
    entry, served from now on in the served copy's format."""
    wanted = [
        _Wanted(
            old.credential_id,
            old.version,
            old.url,
            old.holder_id,
            old.format,
            body_of(old.format, old.document),
        )
        for old in earlier
    ]
    return _issue_pairs(connection, signer, wanted, now=now)
