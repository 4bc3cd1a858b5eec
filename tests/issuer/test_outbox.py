"""The outbox: each change enqueues its holder's message in its own transaction; reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from caiep.errors import InputError
from caiep.issuer import changes, outbox, reminders
from caiep.issuer.changes import Wanted
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import Signer, issue_one, run_signing_job
from caiep.issuer.records import IssuedCredential
from caiep.issuer.registry import Registry


def _issue(
    registry: Registry, signer: Signer, when: datetime, email: str = "ada@example.org"
) -> IssuedCredential:
    return issue_one(
        registry, signer, CharterAward("Ada Lovelace", email, when.date(), "", score="88"), now=when
    )


def _events(registry: Registry) -> list[tuple[str, str, int | None, str]]:
    with registry.read() as connection:
        return [(m.event, m.credential_id, m.version, m.state) for m in outbox.listing(connection)]


def test_issue_one_and_a_signing_job_enqueue_one_award_each(
    registry: Registry, db: Any, signer: Signer, now: datetime
) -> None:
    single = _issue(registry, signer, now)
    assert _events(registry) == [("award", single.credential_id, 1, "pending")]
    db.import_examples(now=now)
    report = run_signing_job(registry, signer, batch_size=4, clock=lambda: now)
    assert report.issued > 4  # several batches
    events = _events(registry)
    assert len(events) == 1 + report.issued
    assert {e[0] for e in events} == {"award"}
    issued = {row[0] for row in db.rows("SELECT id FROM charter_credentials")}
    assert {e[1] for e in events} == issued  # one per credential, none twice
    # Each event is for the credential's own holder, and has its own provisional key.
    assert db.scalar(
        "SELECT count(*) FROM outbox o JOIN charter_credentials c ON c.id = o.credential_id "
        "WHERE o.holder_id = c.holder_id"
    ) == len(events)
    assert db.scalar("SELECT count(DISTINCT message_id) FROM outbox") == len(events)


def test_each_change_enqueues_one_event_and_a_refused_change_none(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    first = _issue(registry, signer, now)
    other = _issue(registry, signer, now, "grace@example.org")
    later = now + timedelta(days=10)

    def change(function: Any, wanted: list[Wanted], **options: Any) -> None:
        with registry.write() as connection:
            function(connection, wanted, signer, actor="registrar", now=options.pop("now", later), **options)

    change(changes.suspend, [Wanted(first.url, "s")], reason="under review", note=None)
    change(changes.reinstate, [Wanted(first.url, "r")], note=None, now=later + timedelta(days=1))
    change(changes.revoke, [Wanted(other.url, "v")], reason="withdrawn", note=None)
    renew_on = first.valid_until - timedelta(days=30)
    change(changes.renew, [Wanted(first.url, "n")], on=renew_on.date(), window_months=12, now=renew_on)
    assert _events(registry)[2:] == [
        ("suspension", first.credential_id, 1, "pending"),
        ("reinstatement", first.credential_id, 2, "pending"),
        ("revocation", other.credential_id, 1, "pending"),
        ("renewal", first.credential_id, 3, "pending"),
    ]
    before = _events(registry)
    with pytest.raises(InputError, match="already revoked"):
        change(changes.revoke, [Wanted(first.url, "a"), Wanted(other.url, "b")], reason="again", note=None)
    with pytest.raises(InputError, match="not suspended"):
        change(changes.reinstate, [Wanted(first.url, "r")], note=None)
    assert _events(registry) == before  # the refused changes rolled back, their events with them


def _remind(registry: Registry, day: datetime) -> dict[int, int]:
    with registry.write() as connection:
        return reminders.enqueue_reminders(connection, today=day.date(), now=day)


def test_reminders_at_90_and_30_days_once_each_and_again_after_renewal(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    ada = _issue(registry, signer, now)
    revoked = _issue(registry, signer, now, "r@example.org")
    suspended = _issue(registry, signer, now, "s@example.org")
    with registry.write() as connection:
        changes.revoke(
            connection, [Wanted(revoked.url, "v")], signer, reason="x", note=None, actor="a", now=now
        )
        changes.suspend(
            connection, [Wanted(suspended.url, "s")], signer, reason="x", note=None, actor="a", now=now
        )
    until = ada.valid_until.astimezone(UTC)
    start = len(_events(registry))

    assert _remind(registry, until - timedelta(days=91)) == {30: 0, 90: 0}
    assert _remind(registry, until - timedelta(days=90)) == {30: 0, 90: 1}
    assert _remind(registry, until - timedelta(days=90)) == {30: 0, 90: 0}  # twice: no duplicate
    assert _remind(registry, until - timedelta(days=60)) == {30: 0, 90: 0}
    assert _remind(registry, until - timedelta(days=30)) == {30: 1, 90: 0}
    assert _remind(registry, until - timedelta(days=29)) == {30: 0, 90: 0}
    assert _events(registry)[start:] == [
        ("reminder-90", ada.credential_id, 1, "pending"),
        ("reminder-30", ada.credential_id, 1, "pending"),
    ]
    # Renewed: the new version (five years on) is reminded in its turn, the old one never again.
    renewal = until - timedelta(days=20)
    with registry.write() as connection:
        [renewed] = changes.renew(
            connection,
            [Wanted(ada.url, "n")],
            signer,
            on=renewal.date(),
            window_months=12,
            actor="a",
            now=renewal,
        )
    assert _remind(registry, until - timedelta(days=10)) == {30: 0, 90: 0}
    assert renewed.valid_until is not None
    next_until = renewed.valid_until.astimezone(UTC)
    assert _remind(registry, next_until - timedelta(days=90)) == {30: 0, 90: 1}
    assert _remind(registry, next_until - timedelta(days=30)) == {30: 1, 90: 0}
    tail = [e for e in _events(registry)[start:] if e[0].startswith("reminder")]
    assert tail[2:] == [
        ("reminder-90", ada.credential_id, 2, "pending"),
        ("reminder-30", ada.credential_id, 2, "pending"),
    ]
    # Never for the revoked or the suspended charter, whatever the day.
    reminded = {e[1] for e in _events(registry) if e[0].startswith("reminder")}
    assert reminded == {ada.credential_id}


def test_a_charter_first_seen_within_30_days_gets_only_the_30_day_reminder(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    ada = _issue(registry, signer, now)
    until = ada.valid_until.astimezone(UTC)
    assert _remind(registry, until - timedelta(days=12)) == {30: 1, 90: 0}
    assert _remind(registry, until + timedelta(days=1)) == {30: 0, 90: 0}  # lapsed: nothing


def test_backoff_doubles_up_to_its_bound() -> None:
    assert [outbox.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert outbox.backoff(40) == outbox.MAX_BACKOFF
