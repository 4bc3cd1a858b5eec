"""Expiry reminders: the events ``caiep mail remind`` adds to the outbox, 90 and 30 days before a
current charter's validUntil, once per version and threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, and_, select

from caiep.issuer.outbox import Event, enqueue_many
from caiep.issuer.tables import charter_credentials, credential_versions, outbox

#: Days before validUntil at which a holder is reminded.
REMINDER_DAYS = (90, 30)


def reminder_key(credential_id: str, version: int, days: int) -> str:
    """The dedupe key of a reminder: one per charter version and threshold."""
    return f"reminder-{days}:{credential_id}:{version}"


def enqueue_reminders(connection: Connection, *, today: date, now: datetime) -> dict[int, int]:
    """Enqueue the expiry reminders due on ``today`` (recorded at ``now``, due at once): how many
    of each threshold were new.

    A charter is reminded ``days`` days before the date of its current version's validUntil
    (from that day on, until the day it passes), only while it is current:
    not for a revoked or suspended one, and not for the previous version of a renewed one (its
    current version is the new one, reminded in turn five years later). Idempotent: each
    version and threshold is enqueued once (``dedupe_key``); a charter already within 30 days
    gets only the 30-day reminder.
    """
    made: dict[int, int] = {}
    thresholds = sorted(REMINDER_DAYS)
    for position, days in enumerate(thresholds):
        query = (
            select(charter_credentials.c.id, charter_credentials.c.holder_id, credential_versions.c.version)
            .join(
                credential_versions,
                and_(
                    credential_versions.c.credential_id == charter_credentials.c.id,
                    credential_versions.c.version_state == "current",
                ),
            )
            .where(
                charter_credentials.c.state == "current",
                credential_versions.c.valid_until > _day_start(today, 0),
                credential_versions.c.valid_until < _day_start(today, days + 1),
            )
            .order_by(charter_credentials.c.id)
        )
        if position:  # not those within the nearer threshold: they get that one
            query = query.where(
                credential_versions.c.valid_until >= _day_start(today, thresholds[position - 1] + 1)
            )
        candidates = connection.execute(query).all()
        keys = {reminder_key(str(row.id), int(row.version), days): row for row in candidates}
        existing = _existing_keys(connection, list(keys))
        fresh = [
            Event(f"reminder-{days}", int(row.holder_id), str(row.id), int(row.version), key)
            for key, row in keys.items()
            if key not in existing
        ]
        enqueue_many(connection, fresh, now=now)
        made[days] = len(fresh)
    return made


def _day_start(day: date, days_later: int) -> datetime:
    return datetime.combine(day + timedelta(days=days_later), time(), tzinfo=UTC)


def _existing_keys(connection: Connection, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):  # bounded IN lists
        chunk = keys[start : start + 500]
        found.update(
            connection.execute(select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(chunk))).scalars()
        )
    return found
