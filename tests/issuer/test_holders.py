"""The holder as their private page reads them, and the links ``caiep holder link`` makes
(SQLite and PostgreSQL, through ``database_url``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from caiep.errors import InputError
from caiep.issuer import changes, holders, holdertokens
from caiep.issuer.changes import Wanted
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import Signer, issue_one
from caiep.issuer.records import IssuedCredential
from caiep.issuer.registry import Registry


def _issue(
    registry: Registry, signer: Signer, when: datetime, email: str = "ada@example.org"
) -> IssuedCredential:
    award = CharterAward("Ada Lovelace", email, when.date(), "", score="88")
    return issue_one(registry, signer, award, now=when)


def _link(registry: Registry, wanted: str, now: datetime, *, rotate: bool = False) -> holders.NewLink:
    with registry.write() as connection:
        return holders.new_link(connection, wanted, rotate=rotate, actor="registrar", now=now)


def _holder(registry: Registry, token: str, now: datetime) -> holders.Holder | None:
    with registry.read() as connection:
        return holders.holder_by_token(connection, token, now=now)


def test_a_token_opens_its_holder_with_every_charter_newest_first(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    older = _issue(registry, signer, now - timedelta(days=400))
    newer = _issue(registry, signer, now - timedelta(days=3))
    other = _issue(registry, signer, now - timedelta(days=3), "bob@example.org")
    made = _link(registry, older.url, now)
    found = _holder(registry, made.token, now)
    assert found is not None
    assert found.name == "Ada Lovelace"
    assert found.charter_number == made.charter_number
    assert [c.copies.credential_id for c in found.charters] == [newer.credential_id, older.credential_id]
    assert other.credential_id not in {c.copies.credential_id for c in found.charters}
    first = found.charters[0]
    assert (first.copies.state, first.current_kind, first.earlier) == ("current", "award", ())
    assert set(first.copies.forms) >= {"ldp"}


def test_a_revoked_charter_reads_revoked_since_its_revocation_with_its_reason(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    issued = _issue(registry, signer, now - timedelta(days=3))
    with registry.write() as connection:
        changes.revoke(
            connection, [Wanted(issued.credential_id, "test")], signer, now=now,
            reason="Withdrawn after a hearing", note=None, actor="registrar",
        )  # fmt: skip
    found = _holder(registry, _link(registry, issued.credential_id, now).token, now)
    assert found is not None
    [charter] = found.charters
    assert (charter.copies.state, charter.state_since) == ("revoked", now)
    assert charter.copies.public_reason == "Withdrawn after a hearing"


def test_a_lapsed_charter_reads_lapsed_since_its_end(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    issued = _issue(registry, signer, now - timedelta(days=6 * 366))
    found = _holder(registry, _link(registry, issued.credential_id, now).token, now)
    assert found is not None
    [charter] = found.charters
    assert charter.copies.state == "lapsed"
    assert charter.state_since == charter.copies.valid_until < now


def test_new_link_by_url_uuid_or_charter_number_and_rotate(
    registry: Registry, signer: Signer, now: datetime
) -> None:
    issued = _issue(registry, signer, now - timedelta(days=3))
    by_url = _link(registry, issued.url, now)
    by_uuid = _link(registry, issued.credential_id, now)
    by_number = _link(registry, by_url.charter_number, now)
    assert len({by_url.token, by_uuid.token, by_number.token}) == 3
    assert {by_url.revoked, by_uuid.revoked, by_number.revoked} == {0}
    rotated = _link(registry, issued.credential_id, now + timedelta(minutes=1), rotate=True)
    assert rotated.revoked == 3
    for token in (by_url.token, by_uuid.token, by_number.token):
        assert _holder(registry, token, now) is None
    assert _holder(registry, rotated.token, now) is not None
    with registry.read() as connection:
        rows = connection.execute(
            text(
                "SELECT action, subject, details, actor FROM audit_log WHERE action LIKE :kind ORDER BY seq"
            ),
            {"kind": "holder.%"},
        ).all()
    assert [row[0] for row in rows] == ["holder.link_created"] * 4 + ["holder.links_revoked"]
    assert {row[1] for row in rows} == {by_url.charter_number}
    assert {row[3] for row in rows} == {"registrar"}
    assert json.loads(rows[-1][2]) == {
        "kept_sha256_prefix": holdertokens.token_hash(rotated.token)[: holders.HASH_PREFIX],
        "revoked": 3,
    }
    for token in (by_url.token, by_uuid.token, by_number.token, rotated.token):
        assert all(token not in str(row) for row in rows)
        assert all(holdertokens.token_hash(token) not in str(row) for row in rows)  # only a prefix


def test_new_link_for_no_charter_changes_nothing(registry: Registry, now: datetime) -> None:
    with pytest.raises(InputError, match="no charter credential 'CAIEP-000404'"):
        _link(registry, "CAIEP-000404", now)
    with registry.read() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM holder_tokens").scalar_one() == 0
