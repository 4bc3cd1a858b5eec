"""OpenID4VCI 1.0 with a real wallet client: the OpenWallet Foundation's ``@openid4vc/openid4vci``
(0.4.x, ``Openid4vciVersion.V1``) takes offers made by ``caiep offer`` from our app under gunicorn
with the real ``caiep signer`` beside it, for both formats, with and without a PIN, bound by a
did:key ``kid`` and by a ``jwk`` (Ed25519 and P-256). Each copy received verifies with Digital
Bazaar's ``@digitalbazaar/vc`` (resp. ``jose``), names the wallet's DID and keeps the version's id
and dates. The client also meets a wrong PIN, a replayed offer and a signer that is down."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from signer_support import running_signer
from sqlalchemy import func, select
from test_interop_status import ISSUER_URL, Served, _caiep, serve_instance

from caiep.issuer.tables import credential_copies
from caiep.keys.did import resolve_did_key
from caiep.keys.ed25519 import PublicKey
from caiep.wiring import Instance
from node import run_node

KEYS = ("ed25519-did-key", "ed25519-jwk", "p256-did-key", "p256-jwk")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_instance(tmp_path_factory.mktemp("oid4vci"))


@pytest.fixture
def signer(served: Served) -> Iterator[None]:
    with running_signer(served.home, {"CAIEP_KEY_PASSPHRASE": served.environment["CAIEP_KEY_PASSPHRASE"]}):
        yield


def offer(served: Served, credential: dict[str, Any], *flags: str) -> dict[str, Any]:
    made = _caiep(served.environment, "--home", str(served.home), "offer", credential["id"], "--json", *flags)
    assert made.returncode == 0, made.stderr
    return dict(json.loads(made.stdout))


def wallet(
    served: Served, made: dict[str, Any], configuration: str, key: str, **changes: Any
) -> dict[str, Any]:
    payload = {
        "offer_uri": made["offer_uri"],
        "tx_code": made["tx_code"],
        "configuration_id": configuration,
        "key": key,
        "origins": {ISSUER_URL: served.base},
        **changes,
    }
    return run_node("oid4vci-wallet.mjs", payload)


def b64url_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def verify_ldp(served: Served, contexts: dict[str, Any], credentials: list[dict[str, Any]]) -> list[Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {
        "contexts": contexts,
        "origins": {ISSUER_URL: served.base},
        "credentials": credentials,
        "now": now,
    }
    return list(run_node("verify-di.mjs", payload)["results"])


def issuer_jwk(credential: dict[str, Any]) -> dict[str, str]:
    issuer = credential["issuer"]["id"]
    [method] = resolve_did_key(issuer)["verificationMethod"]
    return {**PublicKey.from_multibase(method["publicKeyMultibase"]).to_jwk(), "kid": method["id"]}


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("pin", [True, False], ids=["pin", "no-pin"])
def test_the_client_receives_both_formats_bound_to_its_did(
    served: Served, signer: None, contexts: dict[str, Any], key: str, pin: bool
) -> None:
    version = served.credentials[KEYS.index(key) * 2 + int(pin)]
    received: dict[str, Any] = {}
    for configuration in ("CAiEP_ldp_vc", "CAiEP_jwt_vc_json-ld"):
        made = offer(served, version, *(() if pin else ("--no-pin",)))
        assert (made["tx_code"] is not None) == pin
        answer = wallet(served, made, configuration, key)
        assert answer["ok"], answer
        assert answer["v1"] is True
        assert answer["did"].startswith("did:key:" if key.endswith("did-key") else "did:jwk:")
        [item] = answer["credentials"]
        received[configuration] = (answer["did"], item["credential"])
    did, document = received["CAiEP_ldp_vc"]
    assert isinstance(document, dict)
    assert document["credentialSubject"]["id"] == did
    for name in ("id", "validFrom", "validUntil"):
        assert document[name] == version[name], name
    assert document["credentialStatus"] != version["credentialStatus"]  # the copy's own status entry
    [result] = verify_ldp(served, contexts, [document])
    assert result["verified"], result
    did, token = received["CAiEP_jwt_vc_json-ld"]
    assert isinstance(token, str)
    checked = run_node("jose.mjs", {"op": "verify", "tokens": [token], "jwks": [issuer_jwk(version)]})
    [outcome] = checked["results"]
    assert outcome["verified"], outcome
    assert outcome["payload"]["sub"] == did
    assert outcome["payload"]["credentialSubject"]["id"] == did
    assert outcome["payload"]["id"] == version["id"]


def test_the_client_meets_a_wrong_pin_and_a_replayed_offer(served: Served, signer: None) -> None:
    version = served.credentials[10]
    made = offer(served, version)
    wrong = f"{(int(made['tx_code']) + 1) % 10**6:06d}"
    answer = wallet(served, made, "CAiEP_ldp_vc", "ed25519-did-key", tx_code=wrong)
    assert answer["ok"] is False
    assert answer["stage"] == "token"
    assert answer["error"] == "invalid_grant", answer
    again = wallet(served, made, "CAiEP_ldp_vc", "ed25519-did-key")
    assert (again["ok"], again["stage"]) == (False, "offer"), again  # the offer URI works once


def copies(served: Served) -> int:
    with Instance(served.home).registry() as registry, registry.read() as connection:
        return int(connection.execute(select(func.count()).select_from(credential_copies)).scalar_one())


def test_a_signer_that_is_down_gives_the_client_503_and_nothing(served: Served) -> None:
    before = copies(served)
    answer = wallet(served, offer(served, served.credentials[12]), "CAiEP_ldp_vc", "ed25519-jwk")
    assert (answer["ok"], answer["stage"], answer["status"]) == (False, "credential", 503), answer
    assert answer["retry_after"] == "30", answer
    assert copies(served) == before
