"""KeyResolver: Retrieve Verification Method (CID 1.0 §3.3) and OB key provenance, directly.

did:key resolves locally; did:web and https controller documents come from a MappingFetcher, so
every refusal path can be reached with a hand-made document.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from caiep.errors import EncodingError, ResolutionError, VerificationMethodInvalid
from caiep.keys.did import (
    build_controller_document,
    did_key_for,
    did_web_document_url,
    verification_method_id,
)
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.resolve import KeyResolver

WEB_DID = "did:web:credentials.caiep.example"
WEB_URL = "https://credentials.caiep.example/.well-known/did.json"
PROFILE = "https://credentials.caiep.example/issuers/1"


def _multikey(method_id: str, controller: str, key: PublicKey) -> dict[str, Any]:
    return {
        "id": method_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": key.multibase,
    }


def _profile_document(key: PublicKey, **changes: Any) -> dict[str, Any]:
    """An https issuer profile served as a controller document, with one key ``#key-1``."""
    method_id = f"{PROFILE}#key-1"
    document = {
        "@context": ["https://www.w3.org/ns/cid/v1", "https://w3id.org/security/multikey/v1"],
        "id": PROFILE,
        "verificationMethod": [_multikey(method_id, PROFILE, key)],
        "assertionMethod": [method_id],
    }
    document.update(changes)
    return document


def _resolver(documents: dict[str, Any]) -> KeyResolver:
    return KeyResolver(MappingFetcher(documents))


# --- did:key ---------------------------------------------------------------------------------


def test_did_key_with_fragment(key_a: SigningKey) -> None:
    did = did_key_for(key_a.public_key)
    method_id = f"{did}#{key_a.public_key.multibase}"
    assert KeyResolver(None).public_key(method_id, issuer=did) == key_a.public_key


def test_did_key_without_fragment_is_its_single_key(key_a: SigningKey) -> None:
    """STANDARDS §3.4: a did:key VM written without a fragment names the one key."""
    did = did_key_for(key_a.public_key)
    assert KeyResolver(None).public_key(did, issuer=did) == key_a.public_key


def test_did_key_never_touches_the_fetcher(key_a: SigningKey) -> None:
    class Refusing:
        def get_json(self, url: str, timeout: float | None = None) -> Any:
            raise AssertionError(f"fetched {url}")

    did = did_key_for(key_a.public_key)
    assert KeyResolver(Refusing()).public_key(did, issuer=did) == key_a.public_key


@pytest.mark.parametrize("purpose", ["assertionMethod", "authentication", "capabilityInvocation"])
def test_did_key_lists_its_key_for_the_usual_purposes(key_a: SigningKey, purpose: str) -> None:
    did = did_key_for(key_a.public_key)
    assert KeyResolver(None).public_key(did, issuer=did, purpose=purpose) == key_a.public_key


def test_did_key_has_no_key_agreement_method(key_a: SigningKey) -> None:
    did = did_key_for(key_a.public_key)
    with pytest.raises(VerificationMethodInvalid, match="keyAgreement"):
        KeyResolver(None).public_key(did, issuer=did, purpose="keyAgreement")


@pytest.mark.parametrize("fragment", ["key-1", "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"])
def test_did_key_with_a_foreign_fragment_is_refused(key_a: SigningKey, fragment: str) -> None:
    did = did_key_for(key_a.public_key)
    with pytest.raises(VerificationMethodInvalid) as caught:
        KeyResolver(None).public_key(f"{did}#{fragment}", issuer=did)
    assert caught.value.verification_method == f"{did}#{fragment}"


def test_did_key_of_someone_else_than_the_issuer_is_refused(key_a: SigningKey, key_b: SigningKey) -> None:
    with pytest.raises(VerificationMethodInvalid, match="issuer"):
        KeyResolver(None).public_key(did_key_for(key_b.public_key), issuer=did_key_for(key_a.public_key))


@pytest.mark.parametrize(
    "method_id",
    [
        "did:key:z6Mkbad",
        # a secp256k1 did:key: well formed, but not an Ed25519 key
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp/path",
    ],
)
def test_malformed_did_key_is_an_encoding_error(method_id: str) -> None:
    with pytest.raises(EncodingError):
        KeyResolver(None).public_key(method_id, issuer=method_id)


# --- did:web ---------------------------------------------------------------------------------


class Recording(MappingFetcher):
    def __init__(self, documents: dict[str, Any]) -> None:
        super().__init__(documents)
        self.requested: list[str] = []

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        self.requested.append(url)
        return super().get_json(url)


def test_did_web_fetches_the_did_json_url(key_a: SigningKey) -> None:
    fetcher = Recording({WEB_URL: build_controller_document(WEB_DID, [key_a.public_key])})
    method_id = f"{WEB_DID}#{key_a.public_key.multibase}"

    assert KeyResolver(fetcher).public_key(method_id, issuer=WEB_DID) == key_a.public_key
    assert fetcher.requested == [WEB_URL]


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:issuer.example:charters:caiep", "https://issuer.example/charters/caiep/did.json"),
        ("did:web:issuer.example%3A8443", "https://issuer.example:8443/.well-known/did.json"),
    ],
)
def test_did_web_paths_and_ports(key_a: SigningKey, did: str, url: str) -> None:
    assert did_web_document_url(did) == url
    resolver = _resolver({url: build_controller_document(did, [key_a.public_key])})
    assert resolver.public_key(f"{did}#{key_a.public_key.multibase}", issuer=did) == key_a.public_key


def test_did_web_keeps_every_rotated_key_for_assertions(key_a: SigningKey, key_b: SigningKey) -> None:
    """Retired keys stay under assertionMethod, so old credentials keep verifying."""
    document = build_controller_document(
        WEB_DID, [key_a.public_key, key_b.public_key], current=key_b.public_key
    )
    resolver = _resolver({WEB_URL: document})
    for key in (key_a, key_b):
        assert resolver.public_key(f"{WEB_DID}#{key.public_key.multibase}", issuer=WEB_DID) == key.public_key
    with pytest.raises(VerificationMethodInvalid, match="authentication"):
        resolver.public_key(
            f"{WEB_DID}#{key_a.public_key.multibase}", issuer=WEB_DID, purpose="authentication"
        )


def test_did_web_document_with_another_id_is_refused(key_a: SigningKey) -> None:
    document = build_controller_document("did:web:attacker.example", [key_a.public_key])
    with pytest.raises(VerificationMethodInvalid, match=r"did:web:attacker\.example"):
        _resolver({WEB_URL: document}).public_key(f"{WEB_DID}#{key_a.public_key.multibase}", issuer=WEB_DID)


def test_did_web_document_whose_id_is_its_url_is_refused(key_a: SigningKey) -> None:
    """A common publishing mistake: ``id`` set to the document's URL rather than the DID."""
    document = build_controller_document(WEB_DID, [key_a.public_key])
    document["id"] = WEB_URL
    with pytest.raises(VerificationMethodInvalid):
        _resolver({WEB_URL: document}).public_key(f"{WEB_DID}#{key_a.public_key.multibase}", issuer=WEB_DID)


def test_did_web_without_fragment_names_no_method(key_a: SigningKey) -> None:
    document = build_controller_document(WEB_DID, [key_a.public_key])
    with pytest.raises(VerificationMethodInvalid):
        _resolver({WEB_URL: document}).public_key(WEB_DID, issuer=WEB_DID)


def test_did_web_ip_address_is_an_encoding_error() -> None:
    with pytest.raises(EncodingError):
        _resolver({}).public_key("did:web:127.0.0.1#key-1", issuer="did:web:127.0.0.1")


def test_did_web_without_a_fetcher_is_undecidable() -> None:
    with pytest.raises(ResolutionError) as caught:
        KeyResolver(None).public_key(f"{WEB_DID}#key-1", issuer=WEB_DID)
    assert caught.value.url == WEB_URL


def test_fetch_failure_propagates_as_resolution_error() -> None:
    with pytest.raises(ResolutionError) as caught:
        _resolver({}).public_key(f"{WEB_DID}#key-1", issuer=WEB_DID)
    assert caught.value.url == WEB_URL


# --- https controller documents --------------------------------------------------------------


def test_https_controller_document(key_a: SigningKey) -> None:
    resolver = _resolver({PROFILE: _profile_document(key_a.public_key)})
    assert resolver.public_key(f"{PROFILE}#key-1", issuer=PROFILE) == key_a.public_key


def test_relative_fragment_ids_in_the_document(key_a: SigningKey) -> None:
    document = _profile_document(
        key_a.public_key,
        verificationMethod=[_multikey("#key-1", PROFILE, key_a.public_key)],
        assertionMethod=["#key-1"],
    )
    assert _resolver({PROFILE: document}).public_key(f"{PROFILE}#key-1", issuer=PROFILE) == key_a.public_key


@pytest.mark.parametrize(
    ("method", "listed"),
    [
        pytest.param("#key-1", "https://credentials.caiep.example/issuers/1#key-1", id="relative-method"),
        pytest.param("https://credentials.caiep.example/issuers/1#key-1", "#key-1", id="relative-reference"),
    ],
)
def test_relative_and_absolute_ids_match_each_other(key_a: SigningKey, method: str, listed: str) -> None:
    document = _profile_document(
        key_a.public_key,
        verificationMethod=[_multikey(method, PROFILE, key_a.public_key)],
        assertionMethod=[listed],
    )
    assert _resolver({PROFILE: document}).public_key(f"{PROFILE}#key-1", issuer=PROFILE) == key_a.public_key


def test_method_embedded_in_assertion_method(key_a: SigningKey) -> None:
    """CID 1.0 §2.3: a relationship may hold the method itself rather than a reference."""
    method = _multikey(f"{PROFILE}#key-1", PROFILE, key_a.public_key)
    document = _profile_document(key_a.public_key, verificationMethod=[], assertionMethod=[method])
    assert _resolver({PROFILE: document}).public_key(f"{PROFILE}#key-1", issuer=PROFILE) == key_a.public_key


@pytest.mark.parametrize("method_type", ["JsonWebKey2020", "JsonWebKey"])
def test_public_key_jwk_methods(key_a: SigningKey, method_type: str) -> None:
    method = {
        "id": f"{PROFILE}#key-1",
        "type": method_type,
        "controller": PROFILE,
        "publicKeyJwk": key_a.public_key.to_jwk(),
    }
    document = _profile_document(key_a.public_key, verificationMethod=[method])
    assert _resolver({PROFILE: document}).public_key(f"{PROFILE}#key-1", issuer=PROFILE) == key_a.public_key


def test_legacy_ed25519_verification_key_2020(key_a: SigningKey) -> None:
    document = _profile_document(key_a.public_key)
    document["verificationMethod"][0]["type"] = "Ed25519VerificationKey2020"
    assert _resolver({PROFILE: document}).public_key(f"{PROFILE}#key-1", issuer=PROFILE) == key_a.public_key


# --- refusals: every check of CID §3.3 and key provenance ------------------------------------


def _refusal(key: SigningKey, edit: Any) -> dict[str, Any]:
    document = _profile_document(key.public_key)
    edit(document)
    return document


def _set_method(field: str, value: Any) -> Any:
    return lambda d: d["verificationMethod"][0].__setitem__(field, value)


def _drop_method(field: str) -> Any:
    return lambda d: d["verificationMethod"][0].pop(field)


REFUSALS = [
    pytest.param(lambda d: d.__setitem__("id", "https://attacker.example/issuers/1"), "id", id="document-id"),
    pytest.param(_set_method("id", f"{PROFILE}#key-2"), "not a verification method", id="method-missing"),
    pytest.param(
        lambda d: d.__setitem__("assertionMethod", [f"{PROFILE}#key-2"]), "not listed", id="not-listed"
    ),
    pytest.param(
        lambda d: d.__setitem__("authentication", d.pop("assertionMethod")),
        "not listed",
        id="authentication-only",
    ),
    pytest.param(
        _set_method("controller", "https://attacker.example/issuers/1"), "controlled by", id="controller"
    ),
    pytest.param(_drop_method("controller"), "controlled by", id="no-controller"),
    pytest.param(_set_method("type", "EcdsaSecp256k1VerificationKey2019"), "unsupported", id="method-type"),
    pytest.param(
        _set_method("publicKeyMultibase", "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"),
        "malformed",
        id="not-ed25519",
    ),
    pytest.param(_drop_method("publicKeyMultibase"), "no Ed25519 key", id="no-key"),
]


@pytest.mark.parametrize(("edit", "reason"), REFUSALS)
def test_controller_document_refusals(key_a: SigningKey, edit: Any, reason: str) -> None:
    document = _refusal(key_a, edit)
    with pytest.raises(VerificationMethodInvalid, match=reason) as caught:
        _resolver({PROFILE: document}).public_key(f"{PROFILE}#key-1", issuer=PROFILE)
    assert caught.value.code == "verification_method_invalid"


def test_private_jwk_in_a_document_is_refused(key_a: SigningKey) -> None:
    method = {
        "id": f"{PROFILE}#key-1",
        "type": "JsonWebKey2020",
        "controller": PROFILE,
        "publicKeyJwk": key_a.private_jwk(),
    }
    document = _profile_document(key_a.public_key, verificationMethod=[method])
    with pytest.raises(VerificationMethodInvalid, match="malformed"):
        _resolver({PROFILE: document}).public_key(f"{PROFILE}#key-1", issuer=PROFILE)


def test_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(VerificationMethodInvalid, match="not a JSON object"):
        _resolver({PROFILE: [{"id": PROFILE}]}).public_key(f"{PROFILE}#key-1", issuer=PROFILE)


def test_key_of_another_controller_than_the_issuer_is_refused(key_a: SigningKey) -> None:
    resolver = _resolver({PROFILE: _profile_document(key_a.public_key)})
    with pytest.raises(VerificationMethodInvalid, match="issuer"):
        resolver.public_key(f"{PROFILE}#key-1", issuer="https://credentials.caiep.example/issuers/2")


@pytest.mark.parametrize(
    "method_id",
    [
        "http://credentials.caiep.example/issuers/1#key-1",
        "did:example:123#key-1",
        "#key-1",
        "urn:uuid:1#key-1",
        "",
    ],
)
def test_unsupported_controllers_are_refused_without_fetching(method_id: str) -> None:
    fetcher = Recording({})
    # The issuer is the method's own controller, so the refusal is the unsupported method.
    issuer = method_id.split("#")[0] or "did:web:credentials.caiep.example"
    with pytest.raises(VerificationMethodInvalid, match="only did:key, did:web and https"):
        KeyResolver(fetcher).public_key(method_id, issuer=issuer)
    assert fetcher.requested == []


def test_fetched_documents_are_not_shared_between_calls(key_a: SigningKey) -> None:
    """Resolving must not edit what the fetcher handed out (relative ids made absolute in place)."""
    document = _profile_document(
        key_a.public_key,
        verificationMethod=[_multikey("#key-1", PROFILE, key_a.public_key)],
        assertionMethod=["#key-1"],
    )
    pristine = copy.deepcopy(document)

    class Same:
        def get_json(self, url: str, timeout: float | None = None) -> Any:
            return document

    resolver = KeyResolver(Same())
    for _ in range(2):
        assert resolver.public_key(f"{PROFILE}#key-1", issuer=PROFILE) == key_a.public_key
    assert document == pristine


def test_a_credential_without_issuer_id_has_no_key_of_its_issuer(key_a: SigningKey) -> None:
    fetcher = Recording({})
    method = verification_method_id(did_key_for(key_a.public_key), key_a.public_key)
    with pytest.raises(VerificationMethodInvalid, match="no issuer id"):
        KeyResolver(fetcher).public_key(method, issuer=None)
    assert fetcher.requested == []
