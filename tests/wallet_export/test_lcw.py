"""The Learner Credential Wallet's exchange messages: the DID Authentication request, the deep
links, and the checks of the wallet's signed presentation (both suites), each refusal named."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from caiep.keys.base58 import b58encode
from caiep.keys.did import did_key_for
from caiep.keys.ed25519 import SigningKey
from caiep.proofs import dataintegrity
from caiep.wallet_export import lcw

DOMAIN = "https://credentials.caiep.example"
CHALLENGE = "k2gqm1wMOl6Yx1Z1wzZ6Hc9V0hO4hC0zq2Qb9jVwq5s"
WALLET = SigningKey.from_seed(bytes(range(32)))
DID = did_key_for(WALLET.public_key)


def presentation(
    suite: str = "eddsa-rdfc-2022",
    *,
    challenge: str = CHALLENGE,
    domain: str = DOMAIN,
    key: SigningKey = WALLET,
) -> dict[str, Any]:
    """A DID Authentication presentation as @digitalbazaar/vc signs it (VCDM 2.0 for the
    Data Integrity suite, VCDM 1.1 with the Ed25519 2020 context for the legacy one)."""
    if suite == "eddsa-rdfc-2022":
        context = ["https://www.w3.org/ns/credentials/v2"]
        options = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}
    else:
        context = ["https://www.w3.org/2018/credentials/v1", dataintegrity.ED25519_2020_CONTEXT]
        options = {"type": "Ed25519Signature2020"}
    document = {"@context": context, "type": ["VerifiablePresentation"], "holder": DID}
    options |= {
        "created": "2026-12-05T10:00:00Z",
        "verificationMethod": f"{DID}#{DID.removeprefix('did:key:')}",
        "proofPurpose": "authentication",
        "challenge": challenge,
        "domain": domain,
    }
    signature = key.sign(dataintegrity.hash_data(document, {**options, "@context": context}))
    return {**document, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


def check(given: Any) -> str:
    return lcw.check_did_authentication(given, challenge=CHALLENGE, domain=DOMAIN)


def refusal(given: Any) -> tuple[str, str | None]:
    with pytest.raises(lcw.ExchangeInputError) as refused:
        check(given)
    return refused.value.code, refused.value.location


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "Ed25519Signature2020"])
def test_a_signed_did_authentication_names_its_holder(suite: str) -> None:
    assert check(presentation(suite)) == DID


def test_the_request_asks_for_did_authentication_with_a_did_key() -> None:
    request = lcw.presentation_request(CHALLENGE, DOMAIN)["verifiablePresentationRequest"]
    assert request["challenge"] == CHALLENGE
    assert request["domain"] == DOMAIN
    [query] = request["query"]
    assert query["type"] == "DIDAuthentication"
    assert query["acceptedMethods"] == [{"method": "key"}]
    assert {s["cryptosuite"] for s in query["acceptedCryptosuites"]} == {
        "eddsa-rdfc-2022",
        "Ed25519Signature2020",
    }


def test_the_deep_links_carry_the_exchange_as_lcw_reads_it() -> None:
    url = f"{DOMAIN}/exchanges/{'A' * 43}"
    links = lcw.deep_links(DOMAIN, url)
    for link, prefix in (
        (links.universal, "https://lcw.app/request?"),
        (links.custom, "dccrequest://request?"),
    ):
        assert link.startswith(prefix)
        [request] = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["request"]
        assert json.loads(request) == {"credentialRequestOrigin": DOMAIN, "protocols": {"vcapi": url}}


@pytest.mark.parametrize(
    ("change", "code", "location"),
    [
        (
            lambda p: p["proof"].update(challenge="other"),
            "wrong_challenge",
            "/verifiablePresentation/proof/challenge",
        ),
        (
            lambda p: p["proof"].update(domain="https://x.example"),
            "wrong_domain",
            "/verifiablePresentation/proof/domain",
        ),
        (lambda p: p["proof"].pop("challenge"), "wrong_challenge", "/verifiablePresentation/proof/challenge"),
        (lambda p: p.update(id="urn:uuid:1"), "invalid_proof", "/verifiablePresentation/proof"),
        (
            lambda p: p["proof"].update(proofPurpose="assertionMethod"),
            "invalid_proof",
            "/verifiablePresentation/proof",
        ),
        (
            lambda p: p["proof"].update(cryptosuite="ecdsa-rdfc-2019"),
            "unsupported_suite",
            "/verifiablePresentation/proof",
        ),
        (lambda p: p["proof"].update(extra="1"), "invalid_proof", "/verifiablePresentation/proof/extra"),
        (
            lambda p: p.update(proof=[p["proof"], p["proof"]]),
            "invalid_proof",
            "/verifiablePresentation/proof",
        ),
        (lambda p: p.update(proof=[]), "invalid_proof", "/verifiablePresentation/proof"),
        (
            lambda p: p.update(holder="did:web:example.org"),
            "invalid_holder",
            "/verifiablePresentation/holder",
        ),
        (
            lambda p: p.update(holder="did:key:z6Mk" + "a" * 200),
            "invalid_holder",
            "/verifiablePresentation/holder",
        ),
        (
            lambda p: p.update(holder="did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"),
            "invalid_holder",
            "/verifiablePresentation/holder",
        ),
        (lambda p: p.pop("holder"), "invalid_holder", "/verifiablePresentation/holder"),
        (
            lambda p: p.update(verifiableCredential=[{}]),
            "invalid_presentation",
            "/verifiablePresentation/verifiableCredential",
        ),
        (
            lambda p: p.update(type=["VerifiablePresentation", "X"]),
            "invalid_presentation",
            "/verifiablePresentation/type",
        ),
        (
            lambda p: p.update({"@context": ["https://evil.example/ctx"]}),
            "invalid_presentation",
            "/verifiablePresentation/@context",
        ),
        (lambda p: p.update(name="x"), "invalid_presentation", "/verifiablePresentation/name"),
    ],
)
def test_a_presentation_that_does_not_prove_control_is_refused_by_name(
    change: Any, code: str, location: str
) -> None:
    given = presentation()
    change(given)
    assert refusal(given) == (code, location)


def test_another_key_than_the_holders_is_refused() -> None:
    thief = SigningKey.from_seed(bytes(32))
    signed = presentation(key=thief)  # signed by another key, in the name of the holder's DID
    assert refusal(signed)[0] == "invalid_proof"
    other = did_key_for(thief.public_key)
    signed = presentation()
    signed["proof"]["verificationMethod"] = f"{other}#{other.removeprefix('did:key:')}"
    assert refusal(signed) == ("wrong_key", "/verifiablePresentation/proof/verificationMethod")


def test_messages_are_bounded_before_they_are_read() -> None:
    assert lcw.read_message(b"{}") == {}
    assert lcw.read_message(b"  ") == {}
    refusals = {
        b"x" * (lcw.MAX_MESSAGE_BYTES + 1): "too_large",
        b"[" * 9 + b"]" * 9: "invalid_json",
        b'{"verifiablePresentation": 1, "verifiablePresentation": 2}': "invalid_json",
        b'{"a": NaN}': "invalid_json",
        b"\xff\xfe{": "invalid_json",
        b"[]": "invalid_request",
        b'{"verifiablePresentation": {}, "zcap": []}': "invalid_request",
    }
    for body, code in refusals.items():
        with pytest.raises(lcw.ExchangeInputError) as refused:
            lcw.read_message(body)
        assert refused.value.code == code, body[:40]
    assert refusal("a string") == ("invalid_presentation", "/verifiablePresentation")


def test_the_offer_draws_the_universal_link_as_an_accessible_qr_code() -> None:
    from datetime import UTC, datetime

    offer = lcw.lcw_offer(DOMAIN, f"{DOMAIN}/exchanges/{'A' * 43}", datetime(2026, 12, 5, 10, 15, tzinfo=UTC))
    assert offer.qr_svg.startswith('<svg role="img" aria-label="QR code: ')
    assert 'width="240" height="240"' in offer.qr_svg
    assert '<rect width="' in offer.qr_svg
