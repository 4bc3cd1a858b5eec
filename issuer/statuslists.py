"""Bitstring Status Lists (W3C REC 2025-05-15): drawing indexes, setting bits, signing the lists.

Every copy issued carries one ``BitstringStatusListEntry`` (``statusPurpose`` ``revocation``)
naming a list and an index in it. The registry keeps each list in one row of ``status_lists``:
its revocation bits, an allocation bitmap (which indexes a copy carries), and the signed
``BitstringStatusListCredential`` served at ``<issuer>/status/<number>``.

Indexes are drawn at random (a sequence would leak issuance order and volume), never reused,
from the newest list, until it is three-quarters full; then a new list is started. Drawing
takes a row lock on the newest list (PostgreSQL ``SELECT … FOR UPDATE``; SQLite has one
writer) that is held to the end of the caller's transaction, the one that records the copies:
a whole batch's indexes are drawn in one locked step (:func:`reserve`) and written back once
(:meth:`Reservation.record`), with only the indexes a recorded copy carries. A process killed
at any point rolls the transaction back: no index is ever taken without its copy, nor a copy
stored without its index.

Changing bits (:func:`set_bits`) locks the lists concerned in number order and re-signs each
once, so two concurrent changes never drop each other's bit. A new list is signed in the
transaction that draws its first index, so a credential verifies the moment it is issued.
The web application never holds the signing key: lists are signed by the CLI and jobs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from caiep.addresses import ServiceAddresses
from caiep.issuer import audit
from caiep.issuer.tables import status_lists
from caiep.statuslist import encode_status_list
from caiep.timestamps import format_timestamp

#: Entries per list: the 131,072-bit (16 KB) minimum every verifier requires (§3.2 step 5).
LIST_SIZE = 131_072
#: A list stops giving out indexes once this many are taken (three-quarters), so a random draw
#: always finds a free one quickly and the list keeps a crowd to hide each holder in.
FULL_AT = LIST_SIZE * 3 // 4
#: A signed list is valid this long (``validUntil`` = ``validFrom`` + 30 days).
LIST_VALIDITY = timedelta(days=30)
#: ``caiep status publish`` re-signs lists signed longer ago than this, and the app warns at
#: start-up when a list expires within it.
REPUBLISH_AFTER = timedelta(days=7)
DEFAULT_TTL_MS = 3_600_000
PURPOSE = "revocation"
CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"

Signature = Callable[[dict[str, Any], datetime], dict[str, Any]]
"""Signs an unsigned list credential at a time: the issuer's current key, ``eddsa-rdfc-2022``."""


@dataclass(frozen=True)
class ListSigner:
    """What signing a list needs: the issuer, its key (through ``sign``) and the list lifetime."""

    issuer_id: str
    base_url: str
    key_id: str
    sign: Signature
    ttl_ms: int = DEFAULT_TTL_MS

    def list_url(self, number: int) -> str:
        """Where list ``number`` is served: ``<issuer_url>/status/<number>``."""
        return ServiceAddresses(self.base_url).status_list(number)


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One copy's place in a list: what its ``credentialStatus`` names."""

    list_number: int
    index: int

    def to_json(self, base_url: str, purpose: str = PURPOSE) -> dict[str, str]:
        """The ``BitstringStatusListEntry`` of a credential (one object, index as text)."""
        return status_entry(base_url, self.list_number, self.index, purpose=purpose)


def status_entry(base_url: str, list_number: int, index: int, *, purpose: str = PURPOSE) -> dict[str, str]:
    """The ``credentialStatus`` of a copy: one ``BitstringStatusListEntry``, for ``revocation``
    today. ``purpose`` is a parameter so that a separate ``suspension`` entry, on a list of its
    own, can be added once Open Badges allows two status entries (1EdTech issue #623)."""
    url = ServiceAddresses(base_url).status_list(list_number)
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def unsigned_list_credential(
    signer: ListSigner, number: int, bits: bytes, *, now: datetime
) -> dict[str, Any]:
    """The ``BitstringStatusListCredential`` of list ``number`` before its proof."""
    valid_from = now.astimezone(UTC).replace(microsecond=0)
    url = signer.list_url(number)
    return {
        "@context": [CONTEXT_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": signer.issuer_id,
        "validFrom": format_timestamp(valid_from),
        "validUntil": format_timestamp(valid_from + LIST_VALIDITY),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "ttl": signer.ttl_ms,
            "encodedList": encode_status_list(bits),
        },
    }


def _signed_values(signer: ListSigner, number: int, bits: bytes, now: datetime) -> dict[str, Any]:
    """The columns a (re-)signed list stores."""
    from caiep.issuer.issuance import serialize_json  # the one JSON form we store and serve

    unsigned = unsigned_list_credential(signer, number, bits, now=now)
    text = serialize_json(signer.sign(unsigned, now))
    return {
        "credential": text,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "key_id": signer.key_id,
        "signed_at": now,
        "valid_until": datetime.fromisoformat(unsigned["validUntil"].replace("Z", "+00:00")),
    }


def _signed_entry(number: int, values: dict[str, Any], signer: ListSigner, actor: str) -> audit.AuditEntry:
    """The audit entry of one signing of a list: ``audit verify`` checks the stored list against
    the last one (its signed document's SHA-256, and its bits against the document's)."""
    details = {"list": number, "sha256": values["sha256"], "key": values["key_id"]}
    return audit.AuditEntry(LIST_SIGNED, signer.list_url(number), details, actor=actor)


#: The audit action of every signing of a status list.
LIST_SIGNED = "status_list.signed"


def _bit(bitmap: bytes | bytearray, index: int) -> int:
    """Bit ``index``; index 0 is the most significant bit of byte 0 (§3.3)."""
    return (bitmap[index >> 3] >> (7 - (index & 7))) & 1


def _set(bitmap: bytearray, index: int) -> None:
    bitmap[index >> 3] |= 0x80 >> (index & 7)


@dataclass
class _Drawn:
    """A list indexes were drawn from in one reservation, and its allocation bitmap."""

    number: int
    allocated: bytearray
    used: int
    indexes: list[int] = field(default_factory=list)


@dataclass
class Reservation:
    """Indexes drawn for one batch, under the list locks the caller's transaction holds.

    Hand the entries out in order (:attr:`entries`), then call :meth:`record` with the entries
    that recorded copies carry, before the transaction commits: only those are taken.
    """

    entries: list[StatusEntry]
    _lists: list[_Drawn]

    def record(self, connection: Connection, carried: Iterable[StatusEntry]) -> None:
        """Write back the allocation bitmaps with the indexes of the recorded copies (one UPDATE a list)."""
        by_list: dict[int, list[int]] = {}
        for entry in carried:
            by_list.setdefault(entry.list_number, []).append(entry.index)
        for drawn in self._lists:
            taken = by_list.get(drawn.number, [])
            if not taken:
                continue
            for index in taken:
                _set(drawn.allocated, index)
            connection.execute(
                update(status_lists)
                .where(status_lists.c.number == drawn.number)
                .values(allocated=bytes(drawn.allocated), used=drawn.used + len(taken))
            )


@dataclass(frozen=True)
class _Locked:
    """A list row as :func:`reserve` reads it under its lock."""

    number: int
    size: int
    bits: bytes
    allocated: bytes
    used: int
    unsigned: bool

    @property
    def full(self) -> bool:
        return self.used >= self.size * 3 // 4


def reserve(
    connection: Connection,
    count: int,
    signer: ListSigner,
    *,
    now: datetime,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> Reservation:
    """Draw ``count`` distinct random free indexes, locking the lists they come from.

    From the newest list while it is less than three-quarters full, then from a new list,
    signed here (in the caller's transaction) so that it is served as soon as the copies are.
    The lock on the newest list is also what serialises the creation of the next one.
    """
    entries: list[StatusEntry] = []
    lists: list[_Drawn] = []
    if count <= 0:
        return Reservation(entries, lists)
    row = _lock_newest(connection)
    signed: list[audit.AuditEntry] = []
    while len(entries) < count:
        if row is None or row.full:
            number = 1 if row is None else row.number + 1
            empty = bytes(LIST_SIZE // 8)
            values = _signed_values(signer, number, empty, now)
            signed.append(_signed_entry(number, values, signer, "caiep"))
            connection.execute(
                insert(status_lists),
                {
                    "number": number,
                    "size": LIST_SIZE,
                    "bits": empty,
                    "allocated": empty,
                    "used": 0,
                    "created_at": now,
                    **values,
                },
            )
            row = _Locked(number, LIST_SIZE, empty, empty, 0, unsigned=False)
        elif row.unsigned:  # made empty by the migration: signed by its first draw
            values = _signed_values(signer, row.number, row.bits, now)
            signed.append(_signed_entry(row.number, values, signer, "caiep"))
            connection.execute(
                update(status_lists).where(status_lists.c.number == row.number).values(**values)
            )
        drawn = _Drawn(row.number, bytearray(row.allocated), row.used)
        lists.append(drawn)
        want = min(count - len(entries), row.size * 3 // 4 - row.used)
        allocated, chosen, picked = drawn.allocated, drawn.indexes, set()
        while len(chosen) < want:
            index = randbelow(row.size)
            if not _bit(allocated, index) and index not in picked:
                picked.add(index)
                chosen.append(index)
        entries.extend(StatusEntry(row.number, index) for index in chosen)
        row = _Locked(row.number, row.size, row.bits, row.allocated, row.used + want, unsigned=False)
    if signed:
        audit.append(connection, signed, now=now)
    return Reservation(entries, lists)


def _lock_newest(connection: Connection) -> _Locked | None:
    """The newest list's row, locked for this transaction (None when there is no list yet).

    Waiting for the lock may end after another transaction made a newer list: the newest is
    then looked for again, so every transaction draws from the list that is newest when it
    holds the lock.
    """
    columns = (
        status_lists.c.number,
        status_lists.c.size,
        status_lists.c.bits,
        status_lists.c.allocated,
        status_lists.c.used,
        status_lists.c.credential.is_(None).label("unsigned"),
    )
    while True:
        newest = connection.execute(select(func.max(status_lists.c.number))).scalar_one_or_none()
        if newest is None:
            return None
        query = select(*columns).where(status_lists.c.number == newest)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).one()
        if connection.execute(select(func.max(status_lists.c.number))).scalar_one() == newest:
            return _Locked(
                int(row.number),
                int(row.size),
                bytes(row.bits),
                bytes(row.allocated),
                int(row.used),
                bool(row.unsigned),
            )


def set_bits(
    connection: Connection,
    entries: Iterable[StatusEntry],
    signer: ListSigner,
    *,
    now: datetime,
    actor: str = "caiep",
) -> list[int]:
    """Set the revocation bit of each entry and re-sign each list concerned once; the lists changed.

    The lists are locked in number order (so that two transactions never wait on each other
    in a cycle) and stay locked to the end of the caller's transaction. A bit already set is
    left as it is; a list whose bits did not change is not re-signed. Each signing is logged
    for ``audit verify`` once every list is locked (the audit head is always locked last).
    """
    signed: list[audit.AuditEntry] = []
    by_list: dict[int, set[int]] = {}
    for entry in entries:
        by_list.setdefault(entry.list_number, set()).add(entry.index)
    changed: list[int] = []
    for number in sorted(by_list):
        query = select(status_lists.c.bits, status_lists.c.size).where(status_lists.c.number == number)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).one()
        bits = bytearray(row.bits)
        before = bytes(bits)
        for index in by_list[number]:
            if not 0 <= index < int(row.size):
                raise ValueError(f"index {index} is outside status list {number}")
            _set(bits, index)
        if bytes(bits) != before:
            values = _signed_values(signer, number, bytes(bits), now)
            signed.append(_signed_entry(number, values, signer, actor))
            connection.execute(
                update(status_lists).where(status_lists.c.number == number).values(bits=bytes(bits), **values)
            )
            changed.append(number)
    if signed:
        audit.append(connection, signed, now=now)
    return changed


def resign(connection: Connection, number: int, signer: ListSigner, *, now: datetime) -> audit.AuditEntry:
    """Re-sign list ``number`` as it stands (a new ``validFrom``/``validUntil``), under its row lock;
    the audit entry to log for it."""
    query = select(status_lists.c.bits).where(status_lists.c.number == number)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    bits = connection.execute(query).scalar_one()
    values = _signed_values(signer, number, bytes(bits), now)
    connection.execute(update(status_lists).where(status_lists.c.number == number).values(**values))
    return _signed_entry(number, values, signer, "caiep")


def republish(
    connection: Connection, signer: ListSigner, *, now: datetime, older_than: timedelta
) -> list[int]:
    """Re-sign every signed list signed before ``now - older_than`` (``caiep status publish``)."""
    stale = (
        connection.execute(
            select(status_lists.c.number)
            .where(status_lists.c.credential.is_not(None), status_lists.c.signed_at < now - older_than)
            .order_by(status_lists.c.number)
        )
        .scalars()
        .all()
    )
    if stale:
        audit.append(connection, [resign(connection, int(n), signer, now=now) for n in stale], now=now)
    return [int(n) for n in stale]


@dataclass(frozen=True)
class ListSummary:
    """One list as ``caiep status list`` shows it."""

    number: int
    size: int
    used: int
    set_bits: int
    signed_at: datetime | None
    valid_until: datetime | None
    url: str

    def to_json(self) -> dict[str, Any]:
        """The summary with camelCase keys and ISO 8601 times (null while unsigned)."""
        return {
            "number": self.number,
            "url": self.url,
            "size": self.size,
            "used": self.used,
            "setBits": self.set_bits,
            "signedAt": None if self.signed_at is None else format_timestamp(self.signed_at),
            "validUntil": None if self.valid_until is None else format_timestamp(self.valid_until),
        }


def summaries(connection: Connection, base_url: str) -> list[ListSummary]:
    """Every list, by number: size, indexes taken, bits set, when signed and until when valid."""
    rows = connection.execute(
        select(
            status_lists.c.number,
            status_lists.c.size,
            status_lists.c.used,
            status_lists.c.bits,
            status_lists.c.signed_at,
            status_lists.c.valid_until,
        ).order_by(status_lists.c.number)
    ).all()
    addresses = ServiceAddresses(base_url)
    return [
        ListSummary(
            int(r.number),
            int(r.size),
            int(r.used),
            int.from_bytes(bytes(r.bits), "big").bit_count(),
            _utc(r.signed_at),
            _utc(r.valid_until),
            addresses.status_list(int(r.number)),
        )
        for r in rows
    ]


def expiring(connection: Connection, *, before: datetime) -> list[tuple[int, datetime]]:
    """Signed lists whose ``validUntil`` comes before ``before``: (number, valid until)."""
    rows = connection.execute(
        select(status_lists.c.number, status_lists.c.valid_until)
        .where(status_lists.c.valid_until.is_not(None), status_lists.c.valid_until < before)
        .order_by(status_lists.c.number)
    ).all()
    return [(int(r.number), _utc(r.valid_until) or before) for r in rows]


def signed_list(connection: Connection, number: int) -> str | None:
    """The exact signed list credential of list ``number`` as stored, or None (none, or unsigned)."""
    found = connection.execute(
        select(status_lists.c.credential).where(status_lists.c.number == number)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def bit_of(connection: Connection, entry: StatusEntry) -> int:
    """The stored revocation bit of one entry (for checks and tests)."""
    bits = connection.execute(
        select(status_lists.c.bits).where(status_lists.c.number == entry.list_number)
    ).scalar_one()
    return _bit(bytes(bits), entry.index)


def allocated_indexes(connection: Connection, number: int) -> set[int]:
    """Every index of list ``number`` taken by a copy, read from its allocation bitmap."""
    bitmap = bytes(
        connection.execute(
            select(status_lists.c.allocated).where(status_lists.c.number == number)
        ).scalar_one()
    )
    value = int.from_bytes(bitmap, "big")
    size = len(bitmap) * 8
    found: set[int] = set()
    while value:
        low = value & -value
        found.add(size - low.bit_length())
        value ^= low
    return found


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
