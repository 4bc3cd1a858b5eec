"""The append-only audit log: every entry carries the hash of the one before it.

``hash = SHA-256(prev_hash ‖ canonical JSON of [seq, at, actor, action, subject, details])``.
Editing, deleting or reordering any entry breaks every hash after it; deleting the newest
entries is caught by the head row, which holds the last sequence number and hash. Appending
locks the head row (PostgreSQL ``SELECT … FOR UPDATE``; SQLite has one writer), so
concurrent jobs extend a single chain. Each job report records the head hash, so a copy kept
elsewhere anchors the chain against someone who rewrites all of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from caiep.issuer.tables import audit_head, audit_log, charter_credentials, credential_copies, status_lists

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One entry to append: what was done (``action``), to what (``subject``), with which details."""

    action: str
    subject: str
    details: Mapping[str, Any]
    actor: str = "caiep"


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold."""

    seq: int
    reason: str


def timestamp(moment: datetime) -> str:
    """The stored (and hashed) form of an entry's time: ISO 8601 UTC, microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_details(details: Mapping[str, Any]) -> str:
    """Details as stored and hashed: JSON with sorted keys, no spaces, UTF-8 text kept as is."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, details: str) -> str:
    """An entry's hash: SHA-256 of the previous hash and the canonical JSON of its fields."""
    body = json.dumps([seq, at, actor, action, subject, details], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(connection: Connection, entries: Sequence[AuditEntry], *, now: datetime) -> str:
    """Append entries inside the caller's transaction; returns the new head hash."""
    head = connection.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    seq, previous = int(head.seq), str(head.hash)
    if not entries:
        return previous
    at = timestamp(now)
    rows = []
    for entry in entries:
        seq += 1
        details = canonical_details(entry.details)
        digest = entry_hash(previous, seq, at, entry.actor, entry.action, entry.subject, details)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "details": details,
                "prev_hash": previous,
                "hash": digest,
            }
        )
        previous = digest
    connection.execute(insert(audit_log), rows)
    connection.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=previous))
    return previous


def verify_chain(connection: Connection, *, batch: int = 10_000) -> tuple[int, ChainBreak | None]:
    """Walk the whole log in order; the number of entries checked and the first break, if any."""
    expected_seq, previous, checked = 1, GENESIS, 0
    for row in _entries(connection, batch):
        if row.seq != expected_seq:
            return checked, ChainBreak(expected_seq, f"entry {expected_seq} is missing (next is {row.seq})")
        if row.prev_hash != previous:
            return checked, ChainBreak(row.seq, "its prev_hash is not the hash of the entry before it")
        digest = entry_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject, row.details)
        if digest != row.hash:
            return checked, ChainBreak(row.seq, "its content does not match its hash (edited)")
        previous, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    head = connection.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).one()
    if (int(head.seq), head.hash) != (expected_seq - 1, previous):
        return checked, ChainBreak(
            expected_seq, f"the log ends at entry {expected_seq - 1} but the head records entry {head.seq}"
        )
    return checked, None


#: The actions whose ``credentials`` rows log stored copies: a version's pair, a copy bound to a
#: holder's wallet (:mod:`caiep.issuer.walletcopies`).
WALLET_COPY = "credentials.wallet_copy"
COPY_ACTIONS = ("credentials.issued", WALLET_COPY)


def verify_documents(connection: Connection) -> ChainBreak | None:
    """Every stored copy of a credential against the digest logged when it was issued (or
    signed for a wallet).

    Finds a document edited after issue, a logged copy that is gone, and a copy that was stored
    without being logged (its ``ChainBreak.seq`` is 0: no entry is at fault).
    """
    listed = 0
    entries = select(audit_log.c.seq, audit_log.c.details).where(audit_log.c.action.in_(COPY_ACTIONS))
    for seq, details in connection.execute(entries.order_by(audit_log.c.seq)).all():
        # A pair logs two digests under one URL: each logged copy counts.
        recorded: dict[str, set[str]] = {}
        for url, digest, *_ in json.loads(details)["credentials"]:
            recorded.setdefault(url, set()).add(digest)
        listed += sum(len(digests) for digests in recorded.values())
        rows = connection.execute(
            select(charter_credentials.c.url, credential_copies.c.document)
            .join(credential_copies, credential_copies.c.credential_id == charter_credentials.c.id)
            .where(charter_credentials.c.url.in_(list(recorded)))
        ).all()
        stored: dict[str, set[str]] = {}
        for url, document in rows:
            stored.setdefault(url, set()).add(hashlib.sha256(document.encode("utf-8")).hexdigest())
        for url, digests in recorded.items():
            if url not in stored:
                return ChainBreak(seq, f"credential {url} logged here is missing from the registry")
            if not digests <= stored[url]:
                return ChainBreak(seq, f"the stored document of {url} is not the one issued")
    total = connection.execute(select(func.count()).select_from(credential_copies)).scalar_one()
    if total != listed:
        return ChainBreak(0, f"{total - listed} stored credentials were never logged as issued")
    return None


def verify_status_lists(connection: Connection) -> ChainBreak | None:
    """Every signed status list against its last logged signing, and its bits against its document.

    Finds a list document edited, replaced by an older signed one, or signed without being
    logged, and revocation bits changed in the table without re-signing (the bits served and
    the bits stored would disagree).
    """
    from caiep.errors import CaiepError
    from caiep.statuslist import decode_status_list

    logged: dict[int, tuple[int, str]] = {}
    entries = select(audit_log.c.seq, audit_log.c.details).where(audit_log.c.action == "status_list.signed")
    for seq, details in connection.execute(entries.order_by(audit_log.c.seq)).all():
        parsed = json.loads(details)
        logged[int(parsed["list"])] = (int(seq), str(parsed["sha256"]))
    rows = connection.execute(
        select(status_lists.c.number, status_lists.c.bits, status_lists.c.credential).order_by(
            status_lists.c.number
        )
    ).all()
    for number, bits, credential in rows:
        if credential is None:
            continue
        last = logged.get(int(number))
        if last is None:
            return ChainBreak(0, f"status list {number} was signed without being logged")
        digest = hashlib.sha256(str(credential).encode("utf-8")).hexdigest()
        if digest != last[1]:
            return ChainBreak(last[0], f"the stored status list {number} is not the one last signed")
        try:
            served = decode_status_list(json.loads(credential)["credentialSubject"]["encodedList"])
        except (ValueError, KeyError, TypeError, CaiepError):
            return ChainBreak(last[0], f"the stored status list {number} cannot be read")
        if bytes(served) != bytes(bits):
            return ChainBreak(last[0], f"the bits of status list {number} differ from its signed list")
    return None


def head_hash(connection: Connection) -> str:
    """The hash of the newest entry (the genesis hash while the log is empty)."""
    return str(connection.execute(select(audit_head.c.hash).where(audit_head.c.id == 1)).scalar_one())


def _entries(connection: Connection, batch: int) -> Iterator[Any]:
    last = 0
    while True:
        rows = connection.execute(
            select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
