"""Revocation, suspension, reinstatement and renewal in the registry: bits, versions, dates, audit."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from caiep.errors import InputError
from caiep.issuer import changes, statuslists
from caiep.issuer.changes import Wanted
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import Signer, issue_one
from caiep.issuer.records import IssuedCredential
from caiep.issuer.registry import Registry
from caiep.issuer.statuslists import StatusEntry
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import registry_fetcher


def _issue(
    registry: Registry, signer: Signer, when: datetime, email: str = "ada@example.org"
) -> IssuedCredential:
    award = CharterAward("Ada Lovelace", email, when.date(), "", score="88")
    return issue_one(registry, signer, award, now=when)


def _entry(issued: IssuedCredential) -> StatusEntry:
    assert issued.status_list is not None
    assert issued.status_index is not None
    return StatusEntry(issued.status_list, issued.status_index)


def _bit(registry: Registry, entry: StatusEntry) -> int:
    with registry.read() as connection:
        return statuslists.bit_of(connection, entry)


def _status(registry: Registry, signer: Signer, document: str, now: datetime) -> tuple[Outcome, str]:
    result = verify(
        json.loads(document), now=now, fetcher=registry_fetcher(registry, signer.profile.base_url)
    )
    [check] = [c for c in result.checks if c.name == "status"]
    return check.outcome, check.code


def test_suspend_reinstate_then_revoke(registry: Registry, signer: Signer, now: datetime) -> None:
    first = _issue(registry, signer, now)
    other = _issue(registry, signer, now, "grace@example.org")
    later = now + timedelta(days=10)
    with registry.write() as connection:
        [suspended] = changes.suspend(
            connection, [Wanted(first.url, "suspend")], signer, reason="under review", note="case 7",
            actor="registrar", now=later,
        )  # fmt: skip
    assert suspended.state == "suspended"
    assert _bit(registry, _entry(first)) == 1
    assert _bit(registry, _entry(other)) == 0
    assert _status(registry, signer, first.document, later) == (Outcome.INVALID, "revoked")

    back = later + timedelta(days=1)
    with registry.write() as connection:
        [reinstated] = changes.reinstate(connection, [Wanted("CAIEP-000001", "r")], signer, note=None,
                                         actor="registrar", now=back)  # fmt: skip
    assert reinstated.version == 2
    assert reinstated.document is not None
    new = json.loads(reinstated.document)
    old = json.loads(first.document)
    assert new["id"] == old["id"]
    assert new["validUntil"] == old["validUntil"]
    assert new["validFrom"] > old["validFrom"]
    assert new["awardedDate"] == old["awardedDate"]
    assert new["credentialStatus"]["statusListIndex"] != old["credentialStatus"]["statusListIndex"]
    assert registry.document(first.credential_id) == reinstated.document  # the hosted URL serves it
    assert _status(registry, signer, reinstated.document, back) == (Outcome.VALID, "not_revoked")
    assert _status(registry, signer, first.document, back) == (Outcome.INVALID, "revoked")  # stays revoked

    with pytest.raises(InputError, match="is current, not suspended: only a suspended charter"):
        with registry.write() as connection:
            changes.reinstate(connection, [Wanted(first.url, "here")], signer, note=None, actor="a", now=back)
    with registry.write() as connection:
        changes.revoke(connection, [Wanted(first.credential_id, "x")], signer, reason="withdrawn", note=None,
                       actor="registrar", now=back)  # fmt: skip
    assert _status(registry, signer, reinstated.document, back) == (Outcome.INVALID, "revoked")
    record, _ = registry.credential(first.url)
    assert record.state == "revoked"
    for refused, message in (
        (lambda c: changes.revoke(c, [Wanted(first.url, "again")], signer, reason="x", note=None, actor="a",
                                  now=back), "again: .* is already revoked .*revocation is final"),
        (lambda c: changes.renew(c, [Wanted(first.url, "renew")], signer, on=None, window_months=12,
                                 actor="a", now=back), "renew: .* is revoked .*cannot be renewed"),
        (lambda c: changes.reinstate(c, [Wanted(first.url, "re")], signer, note=None, actor="a", now=back),
         "revocation is final"),
        (lambda c: changes.suspend(c, [Wanted(other.url, "s")], signer, reason="  ", note=None, actor="a",
                                   now=back), "s: the public reason is empty"),
        (lambda c: changes.revoke(c, [Wanted("CAIEP-000099", "ids:3")], signer, reason="x", note=None,
                                  actor="a", now=back), "ids:3: no charter credential 'CAIEP-000099'"),
    ):  # fmt: skip
        with pytest.raises(InputError, match=message), registry.write() as connection:
            refused(connection)
    assert registry.verify_audit()[1] is None


def test_a_bulk_revocation_with_one_bad_id_changes_nothing(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    a, b = _issue(registry, signer, now), _issue(registry, signer, now, "b@example.org")
    wanted = [Wanted(a.url, "f:1"), Wanted("not-a-charter", "f:2"), Wanted(b.url, "f:3")]
    with pytest.raises(InputError, match="f:2: no charter credential"), registry.write() as connection:
        changes.revoke(connection, wanted, signer, reason="fraud", note=None, actor="a", now=now)
    assert (_bit(registry, _entry(a)), _bit(registry, _entry(b))) == (0, 0)
    assert registry.credential(a.url)[0].state == "current"
    with registry.write() as connection:
        done = changes.revoke(connection, [wanted[0], wanted[2]], signer, reason="fraud", note=None,
                              actor="a", now=now)  # fmt: skip
    assert [o.state for o in done] == ["revoked", "revoked"]
    assert (_bit(registry, _entry(a)), _bit(registry, _entry(b))) == (1, 1)


def _charter_until(registry: Registry, signer: Signer, issued_on: datetime) -> IssuedCredential:
    return _issue(registry, signer, issued_on)


def _renew(registry: Registry, signer: Signer, url: str, on: date, now: datetime) -> changes.Outcome:
    with registry.write() as connection:
        [outcome] = changes.renew(connection, [Wanted(url, "renew")], signer, on=on, window_months=12,
                                  actor="a", now=now)  # fmt: skip
    return outcome


AWARDED = datetime(2021, 6, 15, 9, 30, tzinfo=UTC)  # valid until 2026-06-15T09:30Z
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_renewal_13_months_early_is_refused(registry: Registry, signer: Signer) -> None:
    issued = _charter_until(registry, signer, AWARDED)
    with pytest.raises(InputError, match="too early to renew on 2025-05-15: renewal opens on 2025-06-15"):
        _renew(registry, signer, issued.url, date(2025, 5, 15), NOW)


@pytest.mark.parametrize(
    ("on", "until", "lapse"),
    [
        (date(2025, 7, 15), "2031-06-15T09:30:00Z", None),  # 11 months early: no time lost
        (date(2026, 6, 15), "2031-06-15T09:30:00Z", None),  # on the day
        (date(2026, 9, 1), "2031-09-01T00:00:00Z", ("2026-06-15", "2026-09-01")),  # after a lapse
    ],
)
def test_renewal_dates(
    registry: Registry, signer: Signer, on: date, until: str, lapse: tuple[str, str] | None
) -> None:
    issued = _charter_until(registry, signer, AWARDED)
    outcome = _renew(registry, signer, issued.url, on, NOW)
    assert outcome.document is not None
    renewed = json.loads(outcome.document)
    assert renewed["id"] == issued.url
    assert outcome.version == 2
    assert renewed["validFrom"] == f"{on.isoformat()}T00:00:00Z"
    assert renewed["validUntil"] == until
    assert renewed["awardedDate"] == "2021-06-15T09:30:00Z"  # the first award, kept
    assert (None if outcome.lapse is None else tuple(f"{m:%Y-%m-%d}" for m in outcome.lapse)) == lapse
    with registry.read() as connection:
        found = changes.lapses(connection, issued.credential_id)
    assert [tuple(f"{m:%Y-%m-%d}" for m in pair) for pair in found] == ([lapse] if lapse else [])
    if lapse:
        assert f"lapsed from {lapse[0]} to {lapse[1]}" in renewed["evidence"][-1]["narrative"]
    assert registry.credential(issued.url)[0].valid_until.isoformat().startswith(until[:10])


def test_renewal_from_29_february(registry: Registry, signer: Signer) -> None:
    leap = datetime(2020, 2, 29, 10, tzinfo=UTC)  # valid until 2025-02-28: 29 February has no fifth year
    issued = _charter_until(registry, signer, leap)
    assert json.loads(issued.document)["validUntil"] == "2025-02-28T10:00:00Z"
    early = _renew(registry, signer, issued.url, date(2024, 2, 29), NOW)  # within 12 months, from 29 Feb
    assert early.document is not None
    assert json.loads(early.document)["validUntil"] == "2030-02-28T10:00:00Z"
    assert json.loads(early.document)["awardedDate"] == "2020-02-29T10:00:00Z"


def test_renewal_after_a_lapse_on_29_february_runs_to_28_february(registry: Registry, signer: Signer) -> None:
    issued = _issue(registry, signer, datetime(2018, 1, 10, tzinfo=UTC))  # until 2023-01-10
    outcome = _renew(registry, signer, issued.url, date(2024, 2, 29), NOW)
    assert outcome.document is not None
    assert json.loads(outcome.document)["validUntil"] == "2029-02-28T00:00:00Z"


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert changes.add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert changes.add_months(date(2025, 2, 28), -12) == date(2024, 2, 28)
    assert changes.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_audit_verify_finds_a_list_tampered_in_the_registry(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    issued = _issue(registry, signer, now)
    with registry.write() as connection:
        changes.revoke(
            connection, [Wanted(issued.url, "x")], signer, reason="r", note=None, actor="a", now=now
        )
    assert registry.verify_audit()[1] is None
    with registry.engine.begin() as connection:
        from sqlalchemy import text

        connection.execute(text("UPDATE status_lists SET bits = :b"), {"b": bytes(131072 // 8)})
    broken = registry.verify_audit()[1]
    assert broken is not None
    assert "bits of status list 1 differ" in broken.reason
    with registry.engine.begin() as connection:
        from sqlalchemy import text

        stored = connection.execute(text("SELECT credential FROM status_lists")).scalar_one()
        connection.execute(
            text("UPDATE status_lists SET credential = :c"), {"c": stored.replace('"ttl"', '"ttl" ')}
        )
    broken = registry.verify_audit()[1]
    assert broken is not None
    assert "is not the one last signed" in broken.reason
