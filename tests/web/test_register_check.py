"""Bulk re-checks through the web app, on SQLite and on PostgreSQL: 500 numbers answered in
order (unknown ones not found, unlisted holders found), the key refused when missing, unknown or
revoked (401), the key's own rate (429), the number and byte caps (422, 413), malformed bodies
(400 naming the field and index), and the audit entry that names the key and the count only."""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from charter_site import NOW, PASSPHRASE, Charters, change_state
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from caiep.app import AppConfig, create_app
from caiep.issuer.apikeys import create, revoke
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import IssuedCredential, issue_one
from caiep.issuer.records import charter_number
from caiep.issuer.register import set_holder_listing
from caiep.issuer.registry import Registry, open_registry, upgrade_database
from caiep.issuer.tables import audit_log, charter_credentials, credential_versions, holders
from caiep.settings import database_url
from caiep.verifier.receipts import ReceiptInvalid, verify_receipt
from caiep.wiring import Instance, init_instance, upgrade_configured_database
from support import unlimited_rates

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SEEDED = 480  # holders written straight into the tables, beside the signed charters
FOUND_KEYS = {
    "charterNumber",
    "found",
    "name",
    "state",
    "stateSince",
    "reason",
    "firstAwarded",
    "currentUntil",
}


@dataclass
class Bulk:
    site: Charters
    url: str
    zoe: IssuedCredential
    hidden: IssuedCredential
    revoked: IssuedCredential
    lapsed: IssuedCredential
    first_seeded: int

    @property
    def client(self) -> FlaskClient:
        return self.site.client

    def key(self, name: str = "ACME HR", rate: int | None = None) -> tuple[int, str]:
        with self.site.registry.write() as connection:
            made = create(connection, name, rate, actor="test", now=datetime.now(UTC))
        return made.id, made.key


def _postgres(name: str) -> Iterator[str]:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        pytest.skip(f"no PostgreSQL server answers at 127.0.0.1:5432 ({type(exc).__name__})")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _award(registry: Registry, site: Charters, name: str, email: str, when: datetime) -> IssuedCredential:
    award = CharterAward(name, email, (when - timedelta(days=30)).date(), "", score="80")
    return issue_one(registry, site.signer, award, now=when)


def _seed(registry: Registry, count: int) -> int:
    """``count`` holders with a current charter each, written to the tables; the first's id."""
    with registry.write() as connection:
        first = (
            int(connection.execute(select(holders.c.id).order_by(holders.c.id.desc())).scalars().first() or 0)
            + 1
        )
        ids = range(first, first + count)
        awarded = NOW - timedelta(days=100)
        connection.execute(
            insert(holders),
            [
                {"id": i, "email": f"s{i}@example.org", "name": f"Seeded Person {i}", "created_at": awarded}
                for i in ids
            ],
        )
        credentials = {i: str(uuid.uuid4()) for i in ids}
        connection.execute(
            insert(charter_credentials),
            [
                {
                    "id": c,
                    "url": f"https://credentials.caiep.example/credentials/{c}",
                    "holder_id": i,
                    "state": "current",
                    "state_since": awarded,
                    "awarded_at": awarded,
                    "issued_at": awarded,
                }
                for i, c in credentials.items()
            ],
        )
        connection.execute(
            insert(credential_versions),
            [
                {
                    "credential_id": c,
                    "version": 1,
                    "kind": "award",
                    "version_state": "current",
                    "valid_from": awarded,
                    "valid_until": awarded + timedelta(days=1826),
                    "issued_at": awarded,
                }
                for c in credentials.values()
            ],
        )
    return first


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bulk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bulk]:
    home = tmp_path_factory.mktemp(f"bulk-{request.param}") / "home"
    init_instance(
        home,
        issuer_name="CAiEP Certification Board",
        issuer_url="https://credentials.caiep.example",
        did_method="web",
        passphrase=PASSPHRASE,
        now=NOW - timedelta(days=7 * 366),
    )
    urls = (
        iter([database_url(home)])
        if request.param == "sqlite"
        else _postgres(f"caiep_bulk_{uuid.uuid4().hex[:10]}")
    )
    url = next(urls)
    if request.param == "sqlite":
        upgrade_configured_database(Instance(home).configuration)  # the file made 0600 first
    else:
        upgrade_database(url)
    registry = open_registry(url)
    app = create_app(AppConfig(home=home, database_url=url, rate_limits=unlimited_rates()))
    site = Charters(app.test_client(), home, registry, Instance(home).signer(PASSPHRASE))
    zoe = _award(registry, site, "Zoë Ångström", "zoe@example.org", NOW - timedelta(days=400))
    hidden = _award(registry, site, "Harriet Hidden", "harriet@example.org", NOW - timedelta(days=20))
    revoked = _award(registry, site, "Rupert Revoked", "rupert@example.org", NOW - timedelta(days=900))
    lapsed = _award(registry, site, "Lars Lapsed", "lars@example.org", NOW - timedelta(days=6 * 366))
    change_state(site, revoked, "revoked", "Misconduct found by the disciplinary panel")
    with registry.write() as connection:
        set_holder_listing(connection, hidden.holder_id, "unlisted", actor="test", via="cli", now=NOW)
    first = _seed(registry, SEEDED)
    yield Bulk(site, url, zoe, hidden, revoked, lapsed, first)
    registry.dispose()
    app.extensions["caiep.registry"].dispose()
    for _ in urls:  # the PostgreSQL database is dropped
        pass


def _check(client: FlaskClient, key: str | None, body: Any, **headers: str) -> Any:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/api/v1/register/check", data=data, content_type="application/json", headers=headers)


def _last_audit(bulk: Bulk) -> Any:
    with bulk.site.registry.read() as connection:
        return connection.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).one()


def test_500_numbers_in_one_call_answered_in_order(bulk: Bulk) -> None:
    _, key = bulk.key()
    people = [bulk.zoe, bulk.hidden, bulk.revoked, bulk.lapsed]
    known = [charter_number(p.holder_id) for p in people]
    seeded = [charter_number(i) for i in range(bulk.first_seeded, bulk.first_seeded + SEEDED)]
    unknown = ["CAIEP-999999", "CAIEP-000000", "CAIEP-" + "9" * 26, "caiep-987654"]
    asked = known + seeded + unknown * 3
    asked += [known[0].lower()] * (500 - len(asked))  # a repeat, in another case
    random.Random(22).shuffle(asked)
    assert len(asked) == 500

    response = _check(bulk.client, key, {"charterNumbers": asked})

    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert set(answer) == {"results", "checkedAt", "receipt"}
    results = answer["results"]
    assert [r["charterNumber"] for r in results] == ["CAIEP-" + a.split("-", 1)[1] for a in asked]
    for asked_number, result in zip(asked, results, strict=True):
        is_known = asked_number.upper() in known or asked_number in seeded
        assert result["found"] is is_known, asked_number
        assert set(result) == (FOUND_KEYS if is_known else {"charterNumber", "found"})
    by_number = {r["charterNumber"]: r for r in results}
    today = NOW.date()
    assert by_number[known[0]] == {
        "charterNumber": known[0],
        "found": True,
        "name": "Zoë Ångström",
        "state": "current",
        "stateSince": None,
        "reason": None,
        "firstAwarded": (NOW - timedelta(days=400)).date().isoformat(),
        "currentUntil": by_number[known[0]]["currentUntil"],
    }
    assert by_number[known[0]]["currentUntil"] > today.isoformat()
    # The unlisted holder, whom a lookup by name does not find, is answered to the employer.
    assert by_number[known[1]]["name"] == "Harriet Hidden"
    assert by_number[known[1]]["state"] == "current"
    assert (
        bulk.client.get("/api/v1/register", query_string={"name": "Harriet Hidden"}).get_json()["matches"]
        == []
    )
    assert by_number[known[2]]["state"] == "revoked"
    assert by_number[known[2]]["reason"] == "Misconduct found by the disciplinary panel"
    assert by_number[known[2]]["stateSince"] == NOW.date().isoformat()
    assert by_number[known[2]]["currentUntil"] is None
    assert by_number[known[3]]["state"] == "lapsed"
    assert by_number[known[3]]["currentUntil"] < today.isoformat()
    assert by_number[seeded[7]]["name"] == f"Seeded Person {bulk.first_seeded + 7}"
    text = json.dumps(results)
    assert "@" not in text  # never an e-mail address
    assert response.headers["Cache-Control"] == "no-store"
    _check_receipt(bulk, answer)


def _check_receipt(bulk: Bulk, answer: dict[str, Any]) -> None:
    """One receipt for the batch, signed by the verification service's DID (not the issuer's),
    naming the numbers asked and the answers given, in order; a changed answer fails it."""
    receipt = answer["receipt"]
    did_document = bulk.client.get("/verifier/did.json").get_json()
    verified = verify_receipt(receipt, did_document)
    results = answer["results"]
    assert verified.kind == "bulk"
    assert verified.signer == did_document["id"] == "did:web:credentials.caiep.example:verifier"
    assert verified.checked_at == answer["checkedAt"]
    subject = verified.subject
    assert subject["query"] == {"charterNumbers": [r["charterNumber"] for r in results]}
    assert subject["answers"] == [{k: v for k, v in r.items() if v is not None} for r in results]
    changed = copy.deepcopy(receipt)
    first_found = next(a for a in changed["credentialSubject"]["answers"] if a["found"])
    first_found["state"] = "revoked" if first_found["state"] != "revoked" else "current"
    with pytest.raises(ReceiptInvalid):
        verify_receipt(changed, did_document)
    dropped = copy.deepcopy(receipt)
    dropped["credentialSubject"]["answers"].pop()
    with pytest.raises(ReceiptInvalid):
        verify_receipt(dropped, did_document)


def test_a_check_is_audited_with_the_key_and_the_count_never_the_numbers(bulk: Bulk) -> None:
    key_id, key = bulk.key("Audit Ltd")
    asked = [charter_number(bulk.zoe.holder_id), charter_number(bulk.hidden.holder_id), "CAIEP-999999"]

    assert _check(bulk.client, key, {"charterNumbers": asked}).status_code == 200

    entry = _last_audit(bulk)
    assert (entry.action, entry.subject, entry.actor) == (
        "register.bulk_check",
        f"apikey:{key_id}",
        f"apikey:{key_id}",
    )
    assert json.loads(entry.details) == {"key": key_id, "name": "Audit Ltd", "numbers": 3}
    assert not any(n in str(tuple(entry)) for n in [*asked, "Zo", "Harriet"])
    listed = bulk.client.application.extensions["caiep.registry"]
    assert listed.verify_audit() == (entry.seq, None)
    from caiep.issuer.apikeys import list_keys

    with bulk.site.registry.read() as connection:
        used = {k.id: k.last_used_at for k in list_keys(connection)}
    assert used[key_id] is not None


def test_no_key_an_unknown_key_and_a_revoked_key_are_401(bulk: Bulk) -> None:
    key_id, key = bulk.key("Soon Revoked")
    body = {"charterNumbers": ["CAIEP-000001"]}
    assert _check(bulk.client, key, body).status_code == 200
    before = _last_audit(bulk).seq
    with bulk.site.registry.write() as connection:
        revoke(connection, key_id, actor="test", now=datetime.now(UTC))

    missing = _check(bulk.client, None, body)
    basic = _check(bulk.client, None, body, Authorization="Basic dXNlcjpwYXNz")
    unknown = _check(bulk.client, "caiep_" + "A" * 43, body)
    mangled = _check(bulk.client, key[:-1], body)
    revoked = _check(bulk.client, key, body)

    for response, code in [
        (missing, "missing_token"),
        (basic, "missing_token"),
        (unknown, "invalid_token"),
        (mangled, "invalid_token"),
        (revoked, "invalid_token"),
    ]:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="caiep register"')
        assert response.get_json()["error"]["code"] == code
        assert set(response.get_json()["error"]) == {"code", "message"}
    assert 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]
    assert _last_audit(bulk).seq == before + 1  # the revocation only: no check was recorded


def test_each_key_has_its_own_rate(bulk: Bulk) -> None:
    _, slow = bulk.key("Slow Ltd", rate=3)
    _, other = bulk.key("Other Ltd", rate=3)
    body = {"charterNumbers": ["CAIEP-000001"]}

    codes = [_check(bulk.client, slow, body).status_code for _ in range(3)]
    over = _check(bulk.client, slow, body)

    assert codes == [200, 200, 200]
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.get_json()["error"]["code"] == "too_many_requests"
    assert _check(bulk.client, other, body).status_code == 200  # another key, another count


def test_more_numbers_than_the_limit_is_422_and_a_body_over_the_cap_is_413(bulk: Bulk) -> None:
    _, key = bulk.key("Big Batch Ltd")
    numbers = [f"CAIEP-{i:06d}" for i in range(1, 502)]

    too_many = _check(bulk.client, key, {"charterNumbers": numbers})
    exactly = _check(bulk.client, key, {"charterNumbers": numbers[:500]})
    padded = b'{"charterNumbers": ["CAIEP-000001"' + b" " * 40_000 + b"]}"
    oversize = _check(bulk.client, key, padded)

    assert too_many.status_code == 422
    assert too_many.get_json()["error"]["code"] == "limit_exceeded"
    assert "at most 500" in too_many.get_json()["error"]["message"]
    assert exactly.status_code == 200
    # 500 numbers fit, pretty-printed: the cap is sized for them.
    assert (
        _check(bulk.client, key, json.dumps({"charterNumbers": numbers[:500]}, indent=4).encode()).status_code
        == 200
    )
    assert oversize.status_code == 413
    assert oversize.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"not json", "body"),
        (b'["CAIEP-000001"]', "body"),
        (b'{"charterNumbers": "CAIEP-000001"}', "charterNumbers"),
        (b'{"charterNumbers": []}', "charterNumbers"),
        (b"{}", "charterNumbers"),
        (b'{"charterNumbers": ["CAIEP-000001"], "names": []}', "names"),
        (b'{"charterNumbers": ["CAIEP-000001", "CAIEP-1"]}', "charterNumbers[1]"),
        (b'{"charterNumbers": ["CAIEP-000001", 42]}', "charterNumbers[1]"),
        (b'{"charterNumbers": ["CAIEP-%"]}', "charterNumbers[0]"),
        (b'{"charterNumbers": [" CAIEP-000001"]}', "charterNumbers[0]"),
        (b'{"charterNumbers": ["CAIEP-' + b"1" * 40 + b'"]}', "charterNumbers[0]"),
        (b'{"charterNumbers": ["CAIEP-000001"], "charterNumbers": ["CAIEP-000002"]}', "body"),
    ],
)
def test_a_malformed_body_is_400_naming_the_field(bulk: Bulk, body: bytes, field: str) -> None:
    _, key = bulk.key("Careless Ltd")
    response = _check(bulk.client, key, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"{field}:") or error["message"].startswith(f"{field} "), error


def test_the_route_takes_post_only(bulk: Bulk) -> None:
    response = bulk.client.get("/api/v1/register/check")
    assert response.status_code == 405
    assert response.headers["Allow"] == "OPTIONS, POST"


def test_the_cap_is_room_for_the_most_numbers() -> None:
    from caiep.registercheck import body_cap

    widest = json.dumps({"charterNumbers": ["CAIEP-" + "9" * 26] * 500}, indent=4).encode()
    assert len(widest) <= body_cap(500)
    assert body_cap(500) < 64 * 1024
