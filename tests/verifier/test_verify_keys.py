"""verify(): the wrong key, the wrong controller, and contexts that are not ours to trust."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from caiep.errors import DataLossError, ResolutionError
from caiep.keys.did import build_controller_document, did_key_for, did_web_document_url
from caiep.keys.ed25519 import SigningKey
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify

if TYPE_CHECKING:
    from conftest import Issuer


from verifying import (
    NOW,
    WEB_DID,
    assert_invalid,
    assert_undecided,
    code_of,
    outcome_of,
)

# --- the wrong key ---------------------------------------------------------------------------


def test_signed_by_another_key_naming_ours_is_invalid(issuer: Issuer, key_b: SigningKey) -> None:
    credential = issuer.sign(issuer.unsigned(), key=key_b, vm=issuer.vm)

    result = verify(credential, now=NOW, fetcher=issuer.fetcher())

    assert code_of(result, "proof") == "signature_invalid"
    assert_invalid(result)


def test_jwt_signed_by_another_key_naming_ours_is_invalid(issuer: Issuer, key_b: SigningKey) -> None:
    result = verify(issuer.jwt(key=key_b, kid=issuer.vm), now=NOW, fetcher=issuer.fetcher())

    assert code_of(result, "proof") == "jws_signature_invalid"
    assert_invalid(result)


@pytest.fixture
def web_issuer_with(make_issuer: type[Issuer]) -> Callable[[dict[str, Any], SigningKey], Issuer]:
    """A did:web issuer (our DID) signing with ``key`` whose DID document is ``document``."""

    def build(document: dict[str, Any], key: SigningKey) -> Issuer:
        return make_issuer(WEB_DID, key, {did_web_document_url(WEB_DID): document})

    return build


WebIssuerWith = Callable[[dict[str, Any], SigningKey], "Issuer"]


def test_key_listed_only_for_authentication_is_invalid(
    key_a: SigningKey, key_b: SigningKey, web_issuer_with: WebIssuerWith
) -> None:
    """Key B is in the DID document and under ``authentication``, but only A may assert."""
    document = build_controller_document(
        WEB_DID, [key_a.public_key, key_b.public_key], current=key_b.public_key
    )
    document["assertionMethod"] = [document["verificationMethod"][0]["id"]]
    issuer = web_issuer_with(document, key_b)
    assert issuer.vm in document["authentication"]
    assert issuer.vm in [method["id"] for method in document["verificationMethod"]]

    for presented in (issuer.issue(), issuer.jwt()):
        result = verify(presented, now=NOW, fetcher=issuer.fetcher())
        assert code_of(result, "proof") == "verification_method_invalid"
        assert_invalid(result)
    # and key A, which is listed for assertionMethod, is accepted from the same document
    assert verify(web_issuer_with(document, key_a).issue(), now=NOW, fetcher=issuer.fetcher()).verified


def test_key_of_a_different_did_than_the_issuer_is_invalid(did_web_issuer: Issuer, key_a: SigningKey) -> None:
    """Same key bytes, but the proof names the did:key method: not a key *of the issuer*."""
    foreign_vm = f"{did_key_for(key_a.public_key)}#{key_a.public_key.multibase}"
    credential = did_web_issuer.sign(did_web_issuer.unsigned(), vm=foreign_vm)

    result = verify(credential, now=NOW, fetcher=did_web_issuer.fetcher())

    assert code_of(result, "proof") == "key_not_issuers"
    assert_invalid(result)


def test_method_whose_controller_is_another_did_is_invalid(
    key_a: SigningKey, web_issuer_with: WebIssuerWith
) -> None:
    document = build_controller_document(WEB_DID, [key_a.public_key])
    document["verificationMethod"][0]["controller"] = "did:web:attacker.example"
    issuer = web_issuer_with(document, key_a)

    result = verify(issuer.issue(), now=NOW, fetcher=issuer.fetcher())

    assert code_of(result, "proof") == "verification_method_invalid"
    assert_invalid(result)


def test_did_web_document_with_another_id_is_invalid(
    key_a: SigningKey, web_issuer_with: WebIssuerWith
) -> None:
    document = build_controller_document("did:web:attacker.example", [key_a.public_key])
    issuer = web_issuer_with(document, key_a)

    result = verify(issuer.issue(), now=NOW, fetcher=issuer.fetcher())

    assert code_of(result, "proof") == "verification_method_invalid"
    assert "did:web:attacker.example" in result.checks[2].message
    assert_invalid(result)


class _FailingFetcher:
    def __init__(self) -> None:
        self.calls = 0

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        self.calls += 1
        raise ResolutionError("the server refused the connection", url=url)


def test_unreachable_did_web_document_cannot_be_verified(did_web_issuer: Issuer) -> None:
    fetcher = _FailingFetcher()
    for presented in (did_web_issuer.issue(), did_web_issuer.jwt()):
        result = verify(presented, now=NOW, fetcher=fetcher)
        assert code_of(result, "proof") == "resolution_error"
        assert_undecided(result, "proof")
    assert fetcher.calls == 2


def test_did_web_without_a_fetcher_cannot_be_verified(did_web_issuer: Issuer) -> None:
    assert_undecided(verify(did_web_issuer.issue(), now=NOW, fetcher=None), "proof")


# --- contexts --------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any attempt to resolve a name or open a connection."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_unknown_context_url_is_refused_without_fetching(did_web_issuer: Issuer, no_network: None) -> None:
    unknown = "https://contexts.attacker.example/badge-v1.jsonld"
    credential = did_web_issuer.issue()
    credential["@context"].append(unknown)
    fetcher = did_web_issuer.fetcher()

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert code_of(result, "contexts") == "context_not_allowed"
    assert unknown in result.checks[1].message
    assert unknown not in fetcher.requested
    assert_invalid(result)


def test_inline_context_object_is_refused(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["@context"].append({"favouriteColour": "https://example.org/vocab#favouriteColour"})
    credential["favouriteColour"] = "blue"

    result = verify(credential, now=NOW)

    assert outcome_of(result, "contexts") is Outcome.INVALID
    assert code_of(result, "contexts") == "context_not_allowed"
    assert_invalid(result)


@pytest.mark.parametrize("where", [(), ("credentialSubject",), ("credentialSubject", "achievement")])
def test_undefined_term_is_data_loss(did_key_issuer: Issuer, where: tuple[str, ...]) -> None:
    credential = did_key_issuer.issue()
    node = credential
    for step in where:
        node = node[step]
    node["favouriteColour"] = "blue"

    result = verify(credential, now=NOW)

    assert code_of(result, "contexts") == "DATA_LOSS_DETECTION_ERROR"
    assert "favouriteColour" in result.checks[1].message
    assert outcome_of(result, "proof") is Outcome.INVALID
    assert_invalid(result)


def test_issuer_refuses_to_sign_an_undefined_term(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    unsigned["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(DataLossError):
        did_key_issuer.sign(unsigned)


def test_schema_validator_type_without_the_extensions_context_is_data_loss(did_key_issuer: Issuer) -> None:
    """``1EdTechJsonSchemaValidator2019`` is defined only in the OB extensions context."""
    credential = did_key_issuer.issue()
    assert credential["credentialSchema"][0]["type"] == "1EdTechJsonSchemaValidator2019"
    credential["@context"].remove("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json")

    result = verify(credential, now=NOW)

    assert code_of(result, "contexts") == "DATA_LOSS_DETECTION_ERROR"
    assert "1EdTechJsonSchemaValidator2019" in result.checks[1].message
    assert_invalid(result)
    with pytest.raises(DataLossError):
        did_key_issuer.sign({k: v for k, v in credential.items() if k != "proof"})


def test_jwt_with_unknown_context_is_invalid(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    unsigned["@context"].append("https://contexts.attacker.example/v1")

    result = verify(did_key_issuer.jwt(unsigned), now=NOW)

    assert outcome_of(result, "proof") is Outcome.VALID
    assert code_of(result, "contexts") == "context_not_allowed"
    assert_invalid(result)
