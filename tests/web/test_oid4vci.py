"""OpenID4VCI through Flask's test client, one rule bent at a time: offers made by ``caiep offer``
(the real command, in process), the metadata, the offer URI's single use, the token endpoint's
PIN rules and attempt limit, and each error of the credential endpoint by its code, with nothing
issued. No signer runs here: a request that passes every check gets the 503 of a signer that is
down (the interop tests run the real signer and the real wallet client)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from charter_site import NOW, Charters, change_state, issue_at, open_site
from oid4vci_support import ISSUER_URL, WalletKey, credential, fetch_code, nonce, offer_path, token
from sqlalchemy import func, select

from caiep.cli import main
from caiep.issuer.jobs import IssuedCredential
from caiep.issuer.offers import PIN_ATTEMPTS
from caiep.issuer.tables import credential_copies, wallet_offers

LDP = "CAiEP_ldp_vc"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("oid4vci") / "home")


@pytest.fixture(scope="module")
def charter(site: Charters) -> IssuedCredential:
    return issue_at(site, "Wanda Wallet", NOW - timedelta(days=3))


def make_offer(
    site: Charters, wanted: str, capsys: pytest.CaptureFixture[str], *flags: str
) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["--home", str(site.home), "offer", wanted, "--json", *flags])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    made = json.loads(captured.out)
    assert set(made) == {"offer_uri", "tx_code", "expires_at"}
    return dict(made)


def access_token(site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]) -> str:
    made = make_offer(site, charter.credential_id, capsys)
    code, _ = fetch_code(site.client, made["offer_uri"])
    response = token(site.client, code, made["tx_code"])
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["access_token"])


def copies(site: Charters, charter: IssuedCredential) -> int:
    with site.registry.read() as connection:
        counted = connection.execute(
            select(func.count()).where(credential_copies.c.credential_id == charter.credential_id)
        ).scalar_one()
    return int(counted)


def error_of(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert isinstance(body["error_description"], str)
    assert body["error_description"]
    return str(body["error"])


def test_metadata_names_both_configurations_and_the_issuers_own_endpoints(site: Charters) -> None:
    metadata = site.client.get("/.well-known/openid-credential-issuer")
    assert metadata.status_code == 200
    assert metadata.mimetype == "application/json"
    assert metadata.headers["Access-Control-Allow-Origin"] == "*"
    document = metadata.get_json()
    assert document["credential_issuer"] == ISSUER_URL
    assert document["credential_endpoint"] == f"{ISSUER_URL}/oid4vci/credential"
    assert document["nonce_endpoint"] == f"{ISSUER_URL}/oid4vci/nonce"
    configurations = document["credential_configurations_supported"]
    assert {c["format"] for c in configurations.values()} == {"ldp_vc", "jwt_vc_json-ld"}
    for configuration in configurations.values():
        assert configuration["credential_definition"]["type"] == [
            "VerifiableCredential",
            "OpenBadgeCredential",
        ]
        [display] = configuration["credential_metadata"]["display"]
        assert display["logo"]["uri"] == f"{ISSUER_URL}/achievements/caiep/badge.png"
        assert site.client.get("/achievements/caiep/badge.png").status_code == 200
    server = site.client.get("/.well-known/oauth-authorization-server").get_json()
    assert server["issuer"] == ISSUER_URL
    assert server["token_endpoint"] == f"{ISSUER_URL}/oid4vci/token"


def test_an_offer_is_fetched_once_and_its_code_redeemed_once(
    site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]
) -> None:
    made = make_offer(site, charter.credential_id, capsys)
    assert made["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F")
    assert len(made["tx_code"]) == 6
    assert made["tx_code"].isdigit()
    code, offer = fetch_code(site.client, made["offer_uri"])
    assert offer["credential_issuer"] == ISSUER_URL
    assert set(offer["credential_configuration_ids"]) == {LDP, "CAiEP_jwt_vc_json-ld"}
    tx = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]
    assert tx["length"] == 6
    assert tx["input_mode"] == "numeric"
    again = site.client.get(offer_path(made["offer_uri"]))
    assert error_of(again, 404) == "invalid_request"
    first = token(site.client, code, made["tx_code"])
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert first.get_json()["token_type"] == "Bearer"
    assert error_of(token(site.client, code, made["tx_code"])) == "invalid_grant"  # replayed


def test_the_pin_rules_and_the_attempt_limit(
    site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]
) -> None:
    made = make_offer(site, charter.credential_id, capsys)
    code, _ = fetch_code(site.client, made["offer_uri"])
    assert error_of(token(site.client, code)) == "invalid_request"  # PIN missing
    wrong = f"{(int(made['tx_code']) + 1) % 10**6:06d}"
    for _ in range(PIN_ATTEMPTS):
        assert error_of(token(site.client, code, wrong)) == "invalid_grant"
    assert error_of(token(site.client, code, made["tx_code"])) == "invalid_grant"  # the code is dead
    unpinned = make_offer(site, charter.credential_id, capsys, "--no-pin")
    assert unpinned["tx_code"] is None
    code, offer = fetch_code(site.client, unpinned["offer_uri"])
    assert "tx_code" not in offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert error_of(token(site.client, code, "123456")) == "invalid_request"  # PIN where none is
    assert token(site.client, code).status_code == 200


def test_an_expired_code_and_an_expired_offer_are_refused(
    site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]
) -> None:
    made = make_offer(site, charter.credential_id, capsys)
    code, _ = fetch_code(site.client, made["offer_uri"])
    gone = make_offer(site, charter.credential_id, capsys)
    past = datetime.now(UTC) - timedelta(seconds=1)
    with site.registry.write() as connection:
        connection.execute(
            wallet_offers.update().values(code_expires_at=past).where(wallet_offers.c.fetched_at.isnot(None))
        )
        connection.execute(
            wallet_offers.update().values(expires_at=past).where(wallet_offers.c.fetched_at.is_(None))
        )
    assert error_of(token(site.client, code, made["tx_code"])) == "invalid_grant"
    assert error_of(site.client.get(offer_path(gone["offer_uri"])), 404) == "invalid_request"


def test_offers_are_refused_for_an_unknown_charter_and_beyond_seven_days(
    site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(site.home), "offer", "CAIEP-999999"]) != 0
    assert "no charter credential" in capsys.readouterr().err
    assert main(["--home", str(site.home), "offer", charter.credential_id, "--expires-in", "8d"]) != 0
    assert "at most 7 days" in capsys.readouterr().err


def test_each_credential_request_error_by_its_code_and_nothing_issued(
    site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]
) -> None:
    before = copies(site, charter)
    wallet = WalletKey()
    bearer = access_token(site, charter, capsys)
    client = site.client

    def request(proof: Any, configuration: str = LDP, **extra: Any) -> str:
        body = {"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}, **extra}
        return error_of(credential(client, bearer, body))

    assert error_of(credential(client, "not-a-token", {}), 401) == "invalid_token"
    assert request(wallet.proof(nonce(client)), "CAiEP_sd_jwt") == "unknown_credential_configuration"
    assert request(wallet.proof(nonce(client)), credential_identifier="x") == "invalid_credential_request"
    assert error_of(credential(client, bearer, b"{not json")) == "invalid_credential_request"
    assert error_of(credential(client, bearer, b"x" * 9000)) == "invalid_credential_request"
    assert error_of(credential(client, bearer, {"credential_configuration_id": LDP})) == "invalid_proof"
    assert request(wallet.proof(None)) == "invalid_proof"  # no nonce
    assert request(wallet.proof(nonce(client), aud="https://elsewhere.example")) == "invalid_proof"
    assert request(wallet.proof(nonce(client), iat=datetime.now(UTC).timestamp() - 3600)) == "invalid_proof"
    assert request(wallet.proof(nonce(client), typ="JWT")) == "invalid_proof"
    assert request(wallet.proof(nonce(client), x5c=["MIIB"])) == "invalid_proof"
    assert request(wallet.proof(nonce(client), kid=WalletKey().kid)) == "invalid_proof"  # another key's DID
    assert (
        request(wallet.proof(nonce(client), kid=WalletKey("p256").kid)) == "invalid_proof"
    )  # EdDSA, P-256 DID
    p256 = WalletKey("p256")
    assert request(p256.proof(nonce(client), kid=wallet.kid)) == "invalid_proof"  # ES256, an Ed25519 DID
    assert request(wallet.proof(nonce(client), alg="HS256")) == "invalid_proof"
    assert request(wallet.proof(nonce(client)) + "x" * 5000) == "invalid_proof"
    assert request(wallet.proof("a-nonce-we-never-gave")) == "invalid_nonce"
    used = nonce(client)
    assert (
        credential(
            client, bearer, {"credential_configuration_id": LDP, "proofs": {"jwt": [wallet.proof(used)]}}
        ).status_code
        == 503
    )
    assert request(wallet.proof(used)) == "invalid_nonce"  # a nonce is used once
    assert copies(site, charter) == before


def test_a_signer_that_is_down_answers_503_and_gives_the_token_back(
    site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]
) -> None:
    bearer = access_token(site, charter, capsys)
    for key, binding in (
        (WalletKey(), "kid"),
        (WalletKey(), "jwk"),
        (WalletKey("p256"), "kid"),
        (WalletKey("p256"), "jwk"),
    ):
        body = {
            "credential_configuration_id": LDP,
            "proofs": {"jwt": [key.proof(nonce(site.client), binding=binding)]},
        }
        response = credential(site.client, bearer, body)
        assert error_of(response, 503) == "server_error"
        assert response.headers["Retry-After"] == "30"


def test_a_charter_suspended_after_the_offer_is_denied(
    site: Charters, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = issue_at(site, "Sam Suspended", NOW - timedelta(days=3))
    bearer = access_token(site, issued, capsys)
    change_state(site, issued, "suspended", "Under review")
    body = {"credential_configuration_id": LDP, "proofs": {"jwt": [WalletKey().proof(nonce(site.client))]}}
    assert error_of(credential(site.client, bearer, body)) == "credential_request_denied"
    assert main(["--home", str(site.home), "offer", issued.credential_id]) != 0
    assert "not current" in capsys.readouterr().err


def test_the_holder_page_makes_an_offer_and_shows_its_qr_code_and_pin(
    site: Charters, charter: IssuedCredential, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--home", str(site.home), "holder", "link", charter.credential_id]) == 0
    holder_token = capsys.readouterr().out.strip().rsplit("/", 1)[1]
    page = site.client.get(f"/h/{holder_token}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', page, flags=re.S)
    assert form is not None
    assert form.group(1) == f"/h/{holder_token}/oid4vci"
    assert f'name="credential" value="{charter.credential_id}"' in form.group(2)
    shown = site.client.post(form.group(1), data={"credential": charter.credential_id})
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert shown.headers["X-Robots-Tag"] == "noindex, nofollow"
    text = shown.get_data(as_text=True)
    assert re.search(r'<svg [^>]*role="img" aria-label="QR code of your wallet offer', text)
    # The page comes back whole: its register choice still posts to the holder's own address.
    assert f'<form method="post" action="/h/{holder_token}/register">' in text
    pin = re.search(r"PIN: <strong>(\d{6})</strong>", text)
    link = re.search(r'<a href="(openid-credential-offer://[^"]+)">', text)
    assert pin is not None
    assert link is not None
    code, _ = fetch_code(site.client, html.unescape(link.group(1)))
    assert token(site.client, code, pin.group(1)).status_code == 200
    other = site.client.post(form.group(1), data={"credential": "00000000-0000-4000-8000-000000000000"})
    assert other.status_code == 404
    assert (
        site.client.post(f"/h/{'A' * 43}/oid4vci", data={"credential": charter.credential_id}).status_code
        == 404
    )
