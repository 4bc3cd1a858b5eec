"""The outbox: one row per event a holder is told of, enqueued with the change it reports.

README "How a holder receives the charter". An event (an award, a renewal, a reinstatement, a
suspension, a revocation, an expiry reminder) is written by :func:`enqueue` (or
:func:`enqueue_many`, one bulk insert for a signing job's batch) in the very transaction that
records the change, so a change that rolls back tells no one, and one that commits cannot be
forgotten. Which transport carries it (SMTP or ``.eml`` files) is decided only when sending.

The send loop (``caiep.delivery``) walks a row through these states, each step its own commit:

- ``pending``, not composed: :func:`due` lists it; :func:`mark_composed` stores the composed
  message (the only raw copy of its holder link's token) and its final ``Message-ID``;
- ``pending``, composed: the stored bytes are handed to the server as they are, every time, so
  a retry carries the same ``Message-ID`` and the same link;
- ``sent`` (:func:`mark_sent`, right after the server's ``250``: ``composed`` is erased), or
  ``bounced`` (:func:`mark_bounced`: the server refused the recipient; not retried), or back to
  ``pending`` with a later ``next_attempt_at`` (:func:`mark_retry`, exponential back-off);
- ``cancelled`` (:func:`mark_cancelled`): a reminder whose charter was revoked, suspended or
  renewed before it went out.

Until composed, ``message_id`` holds the event's own random key (unique, never reused); the
``Message-ID`` made from it replaces it in the commit that stores the composed message.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, func, insert, select, update

from caiep.issuer.database import insert_rows
from caiep.issuer.records import charter_number
from caiep.issuer.tables import charter_credentials, credential_versions, holder_tokens, holders, outbox

#: The events a holder is told of (``wallet_export.messages`` composes each).
EVENTS = ("award", "renewal", "reinstatement", "suspension", "revocation", "reminder-90", "reminder-30")
#: The reminders: days before the current version's validUntil.
#: The first retry waits this long; each further one twice as long, up to :data:`MAX_BACKOFF`.
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
#: An event's key before composition: never a Message-ID (no ``@``).
_KEY_PREFIX = "event-"


@dataclass(frozen=True)
class Event:
    """One event to enqueue: for whom, about which charter and version."""

    event: str
    holder_id: int
    credential_id: str
    version: int | None
    dedupe_key: str | None = None


@dataclass(frozen=True)
class Message:
    """One outbox row as the send loop and ``caiep mail list`` see it."""

    id: int
    event: str
    holder_id: int
    recipient: str
    credential_id: str
    version: int | None
    message_id: str
    state: str
    attempts: int
    next_attempt_at: datetime
    composed: bytes | None
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime

    @property
    def event_key(self) -> str:
        """The event's stable key, from which its Message-ID is made (before composition)."""
        return self.message_id.removeprefix(_KEY_PREFIX)

    @property
    def is_composed(self) -> bool:
        """True once the message's bytes are stored (sent as they are from then on)."""
        return self.composed is not None


def _row(event: Event, now: datetime) -> dict[str, object]:
    if event.event not in EVENTS:
        raise ValueError(f"an outbox event is one of {', '.join(EVENTS)}, not {event.event!r}")
    return {
        "event": event.event,
        "holder_id": event.holder_id,
        "credential_id": event.credential_id,
        "version": event.version,
        "dedupe_key": event.dedupe_key,
        "message_id": _KEY_PREFIX + secrets.token_hex(16),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "composed": None,
        "composed_at": None,
        "last_error": None,
        "sent_at": None,
        "created_at": now,
    }


def enqueue(
    connection: Connection,
    *,
    event: str,
    holder_id: int,
    credential_id: str,
    version: int | None,
    now: datetime,
    dedupe_key: str | None = None,
) -> int:
    """Enqueue one event in the caller's transaction (the one recording the change); its id."""
    found = connection.execute(
        insert(outbox).values(**_row(Event(event, holder_id, credential_id, version, dedupe_key), now))
    )
    key = found.inserted_primary_key
    assert key is not None  # an INSERT of one row
    return int(key[0])


def enqueue_many(connection: Connection, events: Sequence[Event], *, now: datetime) -> None:
    """Enqueue many events with one bulk insert (``COPY`` on PostgreSQL): a signing job's batch."""
    insert_rows(connection, outbox, [_row(event, now) for event in events])


_COLUMNS = (
    outbox.c.id,
    outbox.c.event,
    outbox.c.holder_id,
    holders.c.email,
    outbox.c.credential_id,
    outbox.c.version,
    outbox.c.message_id,
    outbox.c.state,
    outbox.c.attempts,
    outbox.c.next_attempt_at,
    outbox.c.composed,
    outbox.c.last_error,
    outbox.c.sent_at,
    outbox.c.created_at,
)


def _message(row: Row[Any, *tuple[Any, ...]]) -> Message:
    composed = row.composed
    return Message(
        int(row.id), str(row.event), int(row.holder_id), str(row.email), str(row.credential_id),
        row.version, str(row.message_id), str(row.state), int(row.attempts), _utc(row.next_attempt_at),
        bytes(composed) if composed is not None else None, row.last_error,
        None if row.sent_at is None else _utc(row.sent_at), _utc(row.created_at),
    )  # fmt: skip


def due(connection: Connection, *, now: datetime, after: int = 0, limit: int | None = None) -> list[Message]:
    """Pending messages whose next attempt has come, oldest first, from the id after ``after``
    (a run walks the outbox once: what it defers waits for the next run)."""
    query = (
        select(*_COLUMNS)
        .join(holders, holders.c.id == outbox.c.holder_id)
        .where(outbox.c.state == "pending", outbox.c.next_attempt_at <= now, outbox.c.id > after)
        .order_by(outbox.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_message(row) for row in connection.execute(query).all()]


def find(connection: Connection, outbox_id: int) -> Message | None:
    """One message by id, or None."""
    row = connection.execute(
        select(*_COLUMNS).join(holders, holders.c.id == outbox.c.holder_id).where(outbox.c.id == outbox_id)
    ).first()
    return None if row is None else _message(row)


def listing(
    connection: Connection, *, failed_only: bool = False, after: int = 0, limit: int | None = None
) -> list[Message]:
    """Every message, oldest first, from the id after ``after``, at most ``limit``; with
    ``failed_only`` those bounced or retried at least once and not yet sent (what ``caiep mail
    list --failed`` shows)."""
    query = (
        select(*_COLUMNS)
        .join(holders, holders.c.id == outbox.c.holder_id)
        .where(outbox.c.id > after)
        .order_by(outbox.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    if failed_only:
        query = query.where(
            (outbox.c.state == "bounced") | ((outbox.c.state == "pending") & (outbox.c.attempts > 0))
        )
    return [_message(row) for row in connection.execute(query).all()]


def next_due(connection: Connection) -> datetime | None:
    """When the next pending message falls due, or None when nothing is pending."""
    found = connection.execute(
        select(func.min(outbox.c.next_attempt_at)).where(outbox.c.state == "pending")
    ).scalar_one()
    return None if found is None else (found if found.tzinfo else found.replace(tzinfo=UTC))


def mark_composed(
    connection: Connection, outbox_id: int, *, message_id: str, composed: bytes, now: datetime
) -> None:
    """Store the composed message and its Message-ID (committed before the SMTP transaction)."""
    connection.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.state == "pending", outbox.c.composed.is_(None))
        .values(message_id=message_id, composed=composed, composed_at=now)
    )


def mark_sent(connection: Connection, outbox_id: int, *, now: datetime) -> None:
    """The server accepted the message: ``sent``, and its composed bytes (and raw token) erased."""
    connection.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(state="sent", sent_at=now, composed=None, attempts=outbox.c.attempts + 1, last_error=None)
    )


def mark_bounced(connection: Connection, outbox_id: int, *, reply: str, now: datetime) -> None:
    """The server refused the recipient: ``bounced`` with its answer, never retried. The
    composed message is erased and the link it carried (never delivered) revoked."""
    connection.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(state="bounced", composed=None, attempts=outbox.c.attempts + 1, last_error=reply)
    )
    connection.execute(
        update(holder_tokens)
        .where(holder_tokens.c.outbox_id == outbox_id, holder_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def mark_cancelled(connection: Connection, outbox_id: int, *, reason: str) -> None:
    """A reminder overtaken by events (revoked, suspended, renewed, lapsed): ``cancelled``, never
    sent; ``reason`` says why."""
    connection.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.state == "pending")
        .values(state="cancelled", composed=None, last_error=reason)
    )


#: PostgreSQL advisory lock key held by the one ``caiep mail send`` of a registry ("caiepmai").
SENDER_LOCK_KEY = 0x63616965706D6169


@contextmanager
def sender_lock(engine: Engine) -> Iterator[bool]:
    """Try to become the registry's one sender for the duration; whether it worked.

    On PostgreSQL, a session-level advisory lock on a connection held for the run (released
    when it closes, or when the process dies): senders on several machines exclude each other.
    On SQLite the database is a local file, and the caller's lock on the instance suffices.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        held = bool(connection.execute(select(func.pg_try_advisory_lock(SENDER_LOCK_KEY))).scalar_one())
        connection.commit()  # a session lock: no transaction stays open for the run
        try:
            yield held
        finally:
            if held:
                connection.execute(select(func.pg_advisory_unlock(SENDER_LOCK_KEY)))
                connection.commit()


def backoff(attempts: int, *, first: timedelta = FIRST_BACKOFF) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: ``first``, doubled each time,
    at most :data:`MAX_BACKOFF`."""
    doubled: timedelta = first * (1 << min(max(attempts - 1, 0), 32))
    return min(doubled, max(MAX_BACKOFF, first))


def mark_retry(
    connection: Connection, outbox_id: int, *, error: str, now: datetime, first: timedelta = FIRST_BACKOFF
) -> datetime:
    """A temporary failure: still pending, tried again after the back-off; when."""
    attempts = (
        int(connection.execute(select(outbox.c.attempts).where(outbox.c.id == outbox_id)).scalar_one()) + 1
    )
    when = now + backoff(attempts, first=first)
    connection.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(attempts=attempts, next_attempt_at=when, last_error=error)
    )
    return when


@dataclass(frozen=True)
class Facts:
    """What a message about one charter version says, read from the registry when composing."""

    holder_name: str
    charter_number: str
    credential_url: str
    state: str  # stored: current | suspended | revoked
    public_reason: str | None
    awarded_at: datetime
    valid_from: datetime
    valid_until: datetime
    is_current_version: bool

    def is_stale_reminder(self, event: str, now: datetime) -> bool:
        """True for a reminder that no longer applies: the charter was revoked, suspended or
        renewed (its version superseded) after it was enqueued, or it has lapsed."""
        if not event.startswith("reminder-"):
            return False
        return self.state != "current" or not self.is_current_version or self.valid_until <= now


def facts(connection: Connection, message: Message) -> Facts:
    """The holder, charter and version a message is about (its version, else the current one)."""
    version_match = (
        credential_versions.c.version == message.version
        if message.version is not None
        else credential_versions.c.version_state == "current"
    )
    row = connection.execute(
        select(
            holders.c.name,
            charter_credentials.c.holder_id,
            charter_credentials.c.url,
            charter_credentials.c.state,
            charter_credentials.c.public_reason,
            charter_credentials.c.awarded_at,
            credential_versions.c.valid_from,
            credential_versions.c.valid_until,
            credential_versions.c.version_state,
        )
        .join(holders, holders.c.id == charter_credentials.c.holder_id)
        .join(
            credential_versions,
            and_(credential_versions.c.credential_id == charter_credentials.c.id, version_match),
        )
        .where(charter_credentials.c.id == message.credential_id)
    ).one()
    return Facts(
        str(row.name),
        charter_number(int(row.holder_id)),
        str(row.url),
        str(row.state),
        row.public_reason,
        _utc(row.awarded_at),
        _utc(row.valid_from),
        _utc(row.valid_until),
        row.version_state == "current",
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
