"""Wallet-bound copies, on SQLite and PostgreSQL: the copy of the current version bound to a
wallet's DID differs from the served copy only in ``credentialSubject.id``, its own
``credentialStatus`` (and, as a VC-JWT, ``sub``) and its proof; it verifies; it takes an index of
its own that never pairs with the issued pair (exports, the page's forms and backfill see the
same as before); it is logged for ``audit verify``; a charter that is not current gets none and
nothing is left behind; and revoking the charter sets the copy's bit."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from caiep.errors import InputError
from caiep.issuer import audit, changes, copies, exports, statuslists
from caiep.issuer.changes import Wanted
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import IssuedCredential, Signer, issue_one
from caiep.issuer.registry import Registry
from caiep.issuer.walletcopies import (
    MAX_DID_CHARS,
    NotCurrent,
    UnknownCredential,
    check_wallet_did,
    make_wallet_copy,
)
from caiep.keys.base64url import b64url_encode
from caiep.keys.did import did_key_for
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.jose import REGISTERED_CLAIMS, decode_unverified
from caiep.timestamps import format_timestamp
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from support import registry_fetcher


def _award(email: str = "ada@example.org", exam: datetime | None = None) -> CharterAward:
    return CharterAward("Ada Lovelace", email, (exam or datetime(2026, 10, 1)).date(), "", score="88")


def _did_jwk(key: SigningKey) -> str:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(key.public_key.raw)}
    return "did:jwk:" + b64url_encode(json.dumps(jwk, separators=(",", ":")).encode())


def _body(format: str, document: str) -> dict[str, Any]:
    if format == "jwt":
        _, payload = decode_unverified(document.strip())
        return {k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}
    return {k: v for k, v in json.loads(document).items() if k != "proof"}


def _counts(registry: Registry) -> tuple[int, int, int]:
    with registry.read() as connection:
        return (
            connection.execute(text("SELECT count(*) FROM credential_copies")).scalar_one(),
            connection.execute(text("SELECT coalesce(sum(used), 0) FROM status_lists")).scalar_one(),
            connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one(),
        )


def _copy(
    registry: Registry, signer: Signer, issued: IssuedCredential, did: str, form: str, now: datetime
) -> Any:
    with registry.write() as connection:
        return make_wallet_copy(
            connection, signer, credential_id=issued.credential_id, subject_did=did, form=form,
            channel="openid4vci", now=now,
        )  # fmt: skip


def _outcome(registry: Registry, signer: Signer, presented: Any, now: datetime) -> tuple[Outcome, str]:
    result = verify(presented, now=now, fetcher=registry_fetcher(registry, signer.profile.base_url))
    return result.outcome, {c.name: c.code for c in result.checks}["status"]


@pytest.mark.parametrize("served", ["ldp", "jwt"])
def test_a_wallet_copy_changes_only_the_subject_id_its_status_and_its_proof(
    registry: Registry, make_signer: Any, other_key: SigningKey, now: datetime, served: str
) -> None:
    signer = make_signer(format=served)
    issued = issue_one(registry, signer, _award(), now=now - timedelta(days=3))
    with registry.read() as connection:
        before = exports.issued_copies(connection, issued.credential_id, now=now)
    pair_body = _body(served, before.forms[served])
    for did in (did_key_for(other_key.public_key), _did_jwk(other_key)):
        for form in ("ldp", "jwt"):
            copy = _copy(registry, signer, issued, did, form, now)
            assert (copy.format, copy.subject, copy.channel) == (form, did, "openid4vci")
            body = _body(form, copy.document)
            assert body["credentialSubject"]["id"] == did
            assert body["credentialStatus"] == copy.status.to_json(signer.profile.base_url)
            assert body["credentialStatus"] != pair_body["credentialStatus"]
            changed = ("credentialSubject", "credentialStatus")
            same = {k: v for k, v in body.items() if k not in changed}
            assert same == {k: v for k, v in pair_body.items() if k not in changed}
            subject = {k: v for k, v in body["credentialSubject"].items() if k != "id"}
            assert subject == pair_body["credentialSubject"]
            if form == "jwt":
                header, payload = decode_unverified(copy.document.strip())
                assert payload["sub"] == did
                assert (payload["jti"], header["kid"]) == (body["id"], signer.verification_method)
            else:
                [proof] = json.loads(copy.document)["proof"]
                assert (proof["cryptosuite"], proof["created"]) == ("eddsa-rdfc-2022", format_timestamp(now))
            presented = copy.document.strip() if form == "jwt" else json.loads(copy.document)
            assert _outcome(registry, signer, presented, now) == (Outcome.VALID, "not_revoked")


def test_a_wallet_copy_has_its_own_index_and_never_pairs(
    registry: Registry, signer: Signer, other_key: SigningKey, now: datetime
) -> None:
    """Exports, the page's forms and ``credentials backfill`` read exactly what they read before."""
    issued = issue_one(registry, signer, _award(), now=now - timedelta(days=3))
    with registry.read() as connection:
        before = exports.issued_copies(connection, issued.credential_id, now=now)
        forms_before = exports.issued_forms(connection, issued.credential_id)
    made = [
        _copy(registry, signer, issued, did_key_for(other_key.public_key), f, now) for f in ("jwt", "ldp")
    ]
    pair = statuslists.StatusEntry(issued.status_list or 0, issued.status_index or 0)
    assert len({m.status for m in made} | {pair}) == 3
    with registry.read() as connection:
        assert exports.issued_copies(connection, issued.credential_id, now=now) == before
        assert exports.issued_forms(connection, issued.credential_id) == forms_before == {"ldp", "jwt"}
        assert copies.copies_lacking_a_form(connection, 100) == []
        assert {m.status.index for m in made} <= statuslists.allocated_indexes(connection, pair.list_number)
        rows = connection.execute(
            text(
                "SELECT format, served, bound_to, channel, status_index FROM credential_copies"
                " WHERE bound_to IS NOT NULL ORDER BY id"
            )
        ).all()
        assert [(r.format, bool(r.served), r.channel, r.status_index) for r in rows] == [
            (m.format, False, "openid4vci", m.status.index) for m in made
        ]
        assert audit.verify_documents(connection) is None
        assert audit.verify_chain(connection)[1] is None
        logged = connection.execute(
            text(
                "SELECT subject, details FROM audit_log WHERE action = 'credentials.wallet_copy' ORDER BY seq"
            )
        ).all()
    assert [json.loads(d)["credentials"][0][1] for _, d in logged] == [m.sha256 for m in made]
    assert [json.loads(d)["bound_to"] for _, d in logged] == [did_key_for(other_key.public_key)] * 2
    assert {s for s, _ in logged} == {issued.url}


def test_backfill_still_finds_a_served_copy_lacking_its_form_beside_a_wallet_copy(
    registry: Registry, signer: Signer, other_key: SigningKey, now: datetime
) -> None:
    """A wallet copy in the other format is not the missing form of the pair."""
    issued = issue_one(registry, signer, _award(), now=now - timedelta(days=3))
    with registry.write() as connection:
        connection.execute(
            text("DELETE FROM credential_copies WHERE credential_id = :id AND format = 'jwt'"),
            {"id": issued.credential_id},
        )
    _copy(registry, signer, issued, did_key_for(other_key.public_key), "jwt", now)
    with registry.read() as connection:
        lacking = copies.copies_lacking_a_form(connection, 100)
        assert exports.issued_forms(connection, issued.credential_id) == {"ldp"}
    assert [c.credential_id for _, c in lacking] == [issued.credential_id]


@pytest.mark.parametrize("state", ["revoked", "suspended"])
def test_a_charter_that_is_not_current_gets_no_copy_and_nothing_is_left(
    registry: Registry, signer: Signer, other_key: SigningKey, now: datetime, state: str
) -> None:
    issued = issue_one(registry, signer, _award(), now=now - timedelta(days=3))
    change = changes.revoke if state == "revoked" else changes.suspend
    with registry.write() as connection:
        change(
            connection,
            [Wanted(issued.credential_id, "test")],
            signer,
            reason="r",
            note=None,
            actor="t",
            now=now,
        )
    before = _counts(registry)
    with pytest.raises(NotCurrent) as refused:
        _copy(registry, signer, issued, did_key_for(other_key.public_key), "ldp", now)
    assert refused.value.state == state
    assert refused.value.code == "not_current"
    assert _counts(registry) == before


def test_a_lapsed_charter_gets_no_copy(
    registry: Registry, signer: Signer, other_key: SigningKey, now: datetime
) -> None:
    issued = issue_one(registry, signer, _award(), now=now - timedelta(days=3))
    with pytest.raises(NotCurrent) as refused:
        _copy(
            registry, signer, issued, did_key_for(other_key.public_key), "ldp", now + timedelta(days=6 * 366)
        )
    assert refused.value.state == "lapsed"


def test_an_unknown_credential_a_bad_did_form_or_channel_is_refused_before_anything(
    registry: Registry, signer: Signer, other_key: SigningKey, now: datetime
) -> None:
    issued = issue_one(registry, signer, _award(), now=now - timedelta(days=3))
    did = did_key_for(other_key.public_key)
    before = _counts(registry)
    with registry.write() as connection, pytest.raises(UnknownCredential):
        make_wallet_copy(
            connection, signer, credential_id="00000000-0000-4000-8000-000000000000", subject_did=did,
            form="ldp", channel="lcw", now=now,
        )  # fmt: skip
    for bad in ({"form": "pdf"}, {"channel": "email"}, {"subject_did": "did:web:example.org"}):
        arguments: dict[str, Any] = {"subject_did": did, "form": "ldp", "channel": "lcw", **bad}
        with registry.write() as connection, pytest.raises(InputError):
            make_wallet_copy(connection, signer, credential_id=issued.credential_id, now=now, **arguments)
    assert _counts(registry) == before


@pytest.mark.parametrize(
    "did",
    [
        "did:web:wallet.example",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:key:zO0Il" + "1" * 40,  # not base58
        "did:key:z" + "1" * MAX_DID_CHARS,
        "did:jwk:" + b64url_encode(b'{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"}'),  # a private key
        "did:jwk:" + b64url_encode(b'["not", "an", "object", "at all"]'),
        "did:jwk:" + b64url_encode(b'{"crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAA"}'),  # no kty
        "",
        42,
    ],
)
def test_only_a_public_did_key_or_did_jwk_of_bounded_length_is_bound(did: Any) -> None:
    with pytest.raises(InputError):
        check_wallet_did(did)


def test_revoking_the_charter_sets_the_bit_of_its_wallet_copies(
    registry: Registry, signer: Signer, other_key: SigningKey, now: datetime
) -> None:
    issued = issue_one(registry, signer, _award(), now=now - timedelta(days=3))
    made = [
        _copy(registry, signer, issued, did_key_for(other_key.public_key), f, now) for f in ("ldp", "jwt")
    ]
    with registry.read() as connection:
        assert [statuslists.bit_of(connection, m.status) for m in made] == [0, 0]
    later = now + timedelta(minutes=5)
    with registry.write() as connection:
        wanted = [Wanted(issued.credential_id, "test")]
        outcome = changes.revoke(connection, wanted, signer, reason="r", note=None, actor="t", now=later)
    assert outcome[0].state == "revoked"
    with registry.read() as connection:
        assert [statuslists.bit_of(connection, m.status) for m in made] == [1, 1]
    for copy in made:
        presented = copy.document.strip() if copy.format == "jwt" else json.loads(copy.document)
        assert _outcome(registry, signer, presented, later) == (Outcome.INVALID, "revoked")
