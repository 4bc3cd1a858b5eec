"""Changes of a charter's state: revocation, suspension, reinstatement and renewal.

Each change is made inside the caller's transaction (``registry.write()``), so a bulk change
(``--from FILE``) is all of its charters or none of them: the first refusal raises
:class:`~caiep.errors.InputError` naming the id and where it came from, and the transaction
rolls back. Every change is a hash-chained audit entry with who, when and why.

- **Revocation** (final) sets the revocation bit of every copy of every version not yet expired.
- **Suspension** sets the same bit of every copy in circulation: a third-party verifier then
  says "revoked", while our page and API say "suspended" from the registry (Open Badges allows
  one ``credentialStatus``; :data:`SUSPENSION_PURPOSE` is where a separate ``suspension`` entry
  would go once it allows two, 1EdTech issue #623).
- **Reinstatement** (only from suspension) issues a new version under the same credential id:
  a newer ``validFrom``, the same ``validUntil``, a new status index; the suspended copies stay
  revoked.
- **Renewal** issues a new version under the same id: ``validFrom`` the renewal date,
  ``validUntil`` five years after the old one when renewed early or on the day, five years
  after the renewal date after a lapse; early renewal only within the renewal window.

A new version is the served copy's body (same subject, evidence and ``awardedDate``) with its
new dates and status entry, signed afresh as a pair (:func:`caiep.issuer.versions.new_version`):
served in the served copy's format, with the other form beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, select

from caiep.errors import InputError
from caiep.issuer import audit, lifecycle, outbox, statuslists, versions
from caiep.issuer.charter import VALIDITY_YEARS, add_years
from caiep.issuer.lifecycle import Charter
from caiep.issuer.records import charter_state
from caiep.issuer.signer import Signer
from caiep.issuer.tables import credential_versions
from caiep.timestamps import format_timestamp

#: The purpose every entry we issue carries today. A suspension also sets a bit of this list.
REVOCATION_PURPOSE = "revocation"
#: The purpose a separate suspension entry would carry once Open Badges allows two entries.
SUSPENSION_PURPOSE = "suspension"
DEFAULT_RENEWAL_WINDOW_MONTHS = 12


@dataclass(frozen=True)
class Wanted:
    """One charter a command names: the id as given (URL, uuid or charter number) and where from."""

    text: str
    where: str  # "revoke CAIEP-000042" or "ids.txt:3"
    on: date | None = None  # a renewal's own date (a renewal import row's exam_date)


@dataclass(frozen=True)
class Outcome:
    """What one change did."""

    charter: Charter
    action: str
    state: str
    lists: list[int]
    version: int | None = None
    document: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    lapse: tuple[datetime, datetime] | None = None


def resolve(connection: Connection, wanted: Sequence[Wanted]) -> list[tuple[Wanted, Charter]]:
    """Each wanted charter, locked for this transaction (in uuid order: two bulk changes never
    wait on each other in a cycle); an unknown id or one named twice is an InputError."""
    found: list[tuple[Wanted, Charter]] = []
    seen: dict[str, str] = {}
    for item in wanted:
        if not item.text.strip():
            raise InputError(f"{item.where}: an empty id")
        try:
            charter = lifecycle.find_charter(connection, item.text)
        except InputError as exc:
            raise InputError(f"{item.where}: {exc.message}") from None
        if charter.credential_id in seen:
            raise InputError(
                f"{item.where}: {item.text.strip()} names the same charter as {seen[charter.credential_id]}"
            )
        seen[charter.credential_id] = item.where
        found.append((item, charter))
    locked = {}
    for credential_id in sorted(seen):
        locked[credential_id] = lifecycle.find_charter(connection, credential_id, lock=True)
    return [(item, locked[charter.credential_id]) for item, charter in found]


def _tell(connection: Connection, event: str, charter: Charter, version: int | None, now: datetime) -> None:
    """Enqueue the holder's message about this change, in the change's transaction (README "How
    a holder receives the charter"): ``version`` is the new one, else the current one."""
    outbox.enqueue(
        connection,
        event=event,
        holder_id=charter.holder_id,
        credential_id=charter.credential_id,
        version=charter.current_version if version is None else version,
        now=now,
    )


def _label(charter: Charter) -> str:
    return f"{charter.charter_number} ({charter.url})"


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _reason(reason: str | None, where: str, *, required: bool) -> str | None:
    if reason is None:
        if required:
            raise InputError(f"{where}: a public reason is required (--reason)")
        return None
    text = " ".join(reason.split())
    if required and not text:
        raise InputError(f"{where}: the public reason is empty (--reason)")
    if len(text) > 500:
        raise InputError(f"{where}: the public reason is {len(text)} characters; at most 500")
    return text or None


def _reasoned(
    connection: Connection, wanted: Sequence[Wanted], verb: str, reason: str
) -> tuple[str | None, list[tuple[Wanted, Charter]]]:
    """The checked public reason (named after the one charter, or the command for a file) and
    the charters, found and locked."""
    where = wanted[0].where if len(wanted) == 1 else verb
    return _reason(reason, where, required=True), resolve(connection, wanted)


def revoke(
    connection: Connection,
    wanted: Sequence[Wanted],
    signer: Signer,
    *,
    reason: str,
    note: str | None,
    actor: str,
    now: datetime,
) -> list[Outcome]:
    """Revoke each charter: final. Refused for one already revoked."""
    public, charters = _reasoned(connection, wanted, "revoke", reason)
    for item, charter in charters:
        if charter.state == "revoked":
            raise InputError(
                f"{item.where}: {_label(charter)} is already revoked (since {_day(charter.state_since)}); "
                "revocation is final"
            )
    return _set_bits_and_state(connection, charters, signer, "revoked", public, note, actor, now)


def suspend(
    connection: Connection,
    wanted: Sequence[Wanted],
    signer: Signer,
    *,
    reason: str,
    note: str | None,
    actor: str,
    now: datetime,
) -> list[Outcome]:
    """Suspend each current charter (its copies' bits set; reinstate it later)."""
    public, charters = _reasoned(connection, wanted, "suspend", reason)
    for item, charter in charters:
        state = charter_state(charter.state, charter.valid_until, now)
        if state != "current":
            since = _day(charter.valid_until if state == "lapsed" else charter.state_since)
            raise InputError(
                f"{item.where}: {_label(charter)} is {state} (since {since}); only a current charter "
                "can be suspended"
            )
    return _set_bits_and_state(connection, charters, signer, "suspended", public, note, actor, now)


def _set_bits_and_state(
    connection: Connection,
    charters: list[tuple[Wanted, Charter]],
    signer: Signer,
    state: str,
    public: str | None,
    note: str | None,
    actor: str,
    now: datetime,
) -> list[Outcome]:
    entries: dict[str, list[statuslists.StatusEntry]] = {}
    for _, charter in charters:
        entries[charter.credential_id] = lifecycle.copies_in_circulation(
            connection, charter.credential_id, unexpired_at=now
        )
    every = [entry for found in entries.values() for entry in found]
    changed = statuslists.set_bits(connection, every, signer.list_signer(), now=now, actor=actor)
    action = "charter.revoked" if state == "revoked" else "charter.suspended"
    outcomes: list[Outcome] = []
    log: list[audit.AuditEntry] = []
    for _, charter in charters:
        lifecycle.set_state(
            connection, charter.credential_id, state, now=now, public_reason=public, internal_note=note
        )
        bits = [[e.list_number, e.index] for e in entries[charter.credential_id]]
        details = {"from": charter.state, "reason": public, "note": note, "bits": bits}
        log.append(audit.AuditEntry(action, charter.url, details, actor=actor))
        outcomes.append(Outcome(charter, action, state, changed))
    audit.append(connection, log, now=now)
    # The holders' messages, one bulk insert for a bulk change (README "How a holder receives
    # the charter").
    event = "revocation" if state == "revoked" else "suspension"
    outbox.enqueue_many(
        connection,
        [outbox.Event(event, c.holder_id, c.credential_id, c.current_version) for _, c in charters],
        now=now,
    )
    return outcomes


def reinstate(
    connection: Connection,
    wanted: Sequence[Wanted],
    signer: Signer,
    *,
    note: str | None,
    actor: str,
    now: datetime,
) -> list[Outcome]:
    """Reinstate each suspended charter: a new version (now until the same validUntil) with a
    new status index, served from now on. One whose validUntil passed while suspended becomes
    current again without a new version: it is lapsed, and renewing it is the way back."""
    charters = resolve(connection, wanted)
    for item, charter in charters:
        if charter.state != "suspended":
            final = "; revocation is final" if charter.state == "revoked" else ""
            raise InputError(
                f"{item.where}: {_label(charter)} is {charter.state}, not suspended: only a suspended "
                f"charter can be reinstated{final}"
            )
    outcomes = []
    for _, charter in charters:
        lifecycle.set_state(connection, charter.credential_id, "current", now=now)
        if charter.valid_until <= now:
            audit.append(
                connection,
                [
                    audit.AuditEntry(
                        "charter.reinstated", charter.url, {"note": note, "version": None}, actor=actor
                    )
                ],
                now=now,
            )
            outcomes.append(Outcome(charter, "charter.reinstated", "lapsed", []))
            _tell(connection, "reinstatement", charter, None, now)
            continue
        until = charter.valid_until
        issued = versions.new_version(
            connection, charter, signer, kind="reinstatement", valid_from=now, valid_until=until, now=now
        )
        version, document = issued.version, issued.served
        details = {"note": note, "version": version}
        entry = audit.AuditEntry("charter.reinstated", charter.url, details, actor=actor)
        audit.append(connection, [entry], now=now)
        outcomes.append(
            Outcome(charter, "charter.reinstated", "current", [], version, document, now, charter.valid_until)
        )
        _tell(connection, "reinstatement", charter, version, now)
    return outcomes


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (earlier when negative); a day the month
    lacks becomes its last day (31 March − 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has a 28th


def renewal_dates(
    valid_from: datetime, valid_until: datetime, on: date, now: datetime, *, window_months: int
) -> tuple[datetime, datetime, tuple[datetime, datetime] | None]:
    """The new version's validFrom and validUntil for a renewal on ``on``, and the lapse it ends.

    ``validFrom`` is the renewal date (``now`` when it is today, else its midnight UTC). Renewed
    early (within ``window_months`` before validUntil) or on the day: validUntil five years after
    the old one; after a lapse: five years after the renewal date, and the lapse is (old
    validUntil, renewal). 29 February five years on is 28 February. Raises ValueError with the
    reason for a renewal that is too early, in the future, or before the current version.
    """
    if on > now.date():
        raise ValueError(f"the renewal date {on.isoformat()} is in the future")
    if on < valid_from.astimezone(UTC).date():
        raise ValueError(
            f"the renewal date {on.isoformat()} is before its current version's validFrom {_day(valid_from)}"
        )
    ends = valid_until.astimezone(UTC).date()
    opens = add_months(ends, -window_months)
    if on < opens:
        raise ValueError(
            f"too early to renew on {on.isoformat()}: renewal opens on {opens.isoformat()}, "
            f"{window_months} months before its validUntil {ends.isoformat()}"
        )
    start = now if on == now.date() else datetime.combine(on, time(), tzinfo=UTC)
    start = start.astimezone(UTC).replace(microsecond=0)
    if on <= ends:
        return start, add_years(valid_until.astimezone(UTC), VALIDITY_YEARS), None
    return start, add_years(start, VALIDITY_YEARS), (valid_until, start)


def renew(
    connection: Connection,
    wanted: Sequence[Wanted],
    signer: Signer,
    *,
    on: date | None,
    window_months: int,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> list[Outcome]:
    """Renew each charter (current or lapsed) on ``on`` (default today): a new version under the
    same id. Refused for a revoked or suspended charter and outside the renewal window."""
    day = on or now.date()
    charters = resolve(connection, wanted)
    planned = []
    for item, charter in charters:
        if charter.state == "revoked":
            raise InputError(
                f"{item.where}: {_label(charter)} is revoked (since {_day(charter.state_since)}); "
                "a revoked charter cannot be renewed"
            )
        if charter.state == "suspended":
            raise InputError(
                f"{item.where}: {_label(charter)} is suspended (since {_day(charter.state_since)}); "
                "reinstate it before renewing"
            )
        when = item.on or day
        try:
            dates = renewal_dates(
                charter.valid_from, charter.valid_until, when, now, window_months=window_months
            )
        except ValueError as exc:
            raise InputError(f"{item.where}: {_label(charter)}: {exc}") from None
        planned.append((charter, dates, when))
    outcomes = []
    for charter, (valid_from, valid_until, lapse), when in planned:
        narrative = f"Charter renewed on {_day(valid_from)}"
        if lapse is not None:
            narrative += f" after it lapsed from {_day(lapse[0])} to {_day(lapse[1])}"
        evidence = {"type": ["Evidence"], "name": "CAiEP charter renewal", "narrative": narrative + "."}
        issued = versions.new_version(
            connection, charter, signer, kind="renewal", valid_from=valid_from, valid_until=valid_until,
            now=now, evidence=evidence,
        )  # fmt: skip
        version, document = issued.version, issued.served
        details: dict[str, Any] = {
            "version": version,
            "on": when.isoformat(),
            "validFrom": format_timestamp(valid_from),
            "validUntil": format_timestamp(valid_until),
            "lapsed": None if lapse is None else [format_timestamp(lapse[0]), format_timestamp(lapse[1])],
            "note": note,
        }
        audit.append(
            connection, [audit.AuditEntry("charter.renewed", charter.url, details, actor=actor)], now=now
        )
        _tell(connection, "renewal", charter, version, now)
        outcomes.append(
            Outcome(
                charter, "charter.renewed", "current", [], version, document, valid_from, valid_until, lapse
            )
        )
    return outcomes


def lapses(connection: Connection, credential_id: str) -> list[tuple[datetime, datetime]]:
    """Each lapse of the charter: (the validUntil it passed, the renewal that ended it), read
    from consecutive versions (a renewal starting after its predecessor's validUntil)."""
    rows = connection.execute(
        select(credential_versions.c.valid_from, credential_versions.c.valid_until)
        .where(credential_versions.c.credential_id == credential_id)
        .order_by(credential_versions.c.version)
    ).all()
    found = []
    for before, after in pairwise(rows):
        if _utc(after.valid_from).date() > _utc(before.valid_until).date():
            found.append((_utc(before.valid_until), _utc(after.valid_from)))
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
