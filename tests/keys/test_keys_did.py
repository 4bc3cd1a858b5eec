"""did:key (did:key v0.7 §3.1), did:web (did:web §3.2) and the issuer's controller document."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caiep.errors import ConfigurationError, EncodingError
from caiep.keys.base58 import b58decode, b58encode
from caiep.keys.did import (
    build_controller_document,
    did_key_for,
    did_web_document_url,
    did_web_for_url,
    resolve_did_key,
    verification_method_id,
)
from caiep.keys.ed25519 import PublicKey, SigningKey

ZERO_SEED_DID = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def test_zero_seed_did() -> None:
    assert did_key_for(SigningKey.from_seed(bytes(32)).public_key) == ZERO_SEED_DID


def test_did_key_draft_vectors(did_key_vectors: dict[str, Any]) -> None:
    assert len(did_key_vectors) == 5
    for did, vector in did_key_vectors.items():
        public_key = SigningKey.from_seed(bytes.fromhex(vector["seed"])).public_key
        assert did_key_for(public_key) == did
        pair = vector["verificationKeyPair"]
        if "publicKeyBase58" in pair:
            assert b58decode(pair["publicKeyBase58"]) == public_key.raw
        document = resolve_did_key(did)
        expected_vm_id = vector["didDocument"]["verificationMethod"][0]["id"]
        assert document["verificationMethod"][0]["id"] == expected_vm_id
        for relation in ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation"):
            assert document[relation] == vector["didDocument"][relation]


def test_resolved_document_shape() -> None:
    multibase = ZERO_SEED_DID.removeprefix("did:key:")
    vm_id = f"{ZERO_SEED_DID}#{multibase}"
    assert resolve_did_key(ZERO_SEED_DID) == {
        "@context": CONTEXTS,
        "id": ZERO_SEED_DID,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": ZERO_SEED_DID, "publicKeyMultibase": multibase}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }
    assert resolve_did_key(vm_id) == resolve_did_key(ZERO_SEED_DID)


@given(st.binary(min_size=32, max_size=32))
def test_did_key_round_trip(raw: bytes) -> None:
    public_key = PublicKey(raw)
    did = did_key_for(public_key)
    document = resolve_did_key(did + "#" + public_key.multibase)
    assert document["id"] == did
    assert PublicKey.from_multibase(document["verificationMethod"][0]["publicKeyMultibase"]) == public_key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ZERO_SEED_DID + "#z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG", "fragment"),
        (ZERO_SEED_DID + "#key-1", "fragment"),
        (ZERO_SEED_DID + "#", "fragment"),
        ("did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW", "x25519-pub"),
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0", "base58btc"),
        ("did:key:" + "z" + b58encode(b"\xed\x01" + bytes(31)), "not 31"),
        ("did:key:" + "z" + b58encode(b"\xed\x01" + bytes(33)), "not 33"),
        ("did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "prefix 'z'"),
        ("did:key:1:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "only a multibase"),
        (ZERO_SEED_DID + "/path", "only a multibase"),
        (ZERO_SEED_DID + "?service=x", "only a multibase"),
        ("did:web:example.com", "not a did:key"),
        ("did:key:", "prefix 'z'"),
    ],
)
def test_resolve_did_key_refuses(text: str, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        resolve_did_key(text)


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:example.com:user:alice", "https://example.com/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        ("did:web:example.com%3a8443", "https://example.com:8443/.well-known/did.json"),
        ("did:web:localhost%3A5000:issuers:caiep", "https://localhost:5000/issuers/caiep/did.json"),
        ("did:web:example.com:a%20b", "https://example.com/a%20b/did.json"),
        ("did:web:example.com:3000", "https://example.com/3000/did.json"),  # a path, not a port
    ],
)
def test_did_web_document_url(did: str, url: str) -> None:
    assert did_web_document_url(did) == url


@pytest.mark.parametrize(
    "did",
    [
        "did:web:",
        "did:web",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:web:192.168.0.1",
        "did:web:[::1]",
        "did:web:example.com:",
        "did:web:example.com::alice",
        "did:web:example.com%3A",
        "did:web:example.com%3A99999",
        "did:web:example.com%3A0",
        "did:web:example.com%3A080",
        "did:web:-bad.example",
        "did:web:bad-.example",
        "did:web:exa mple.com",
        "did:web:ex_ample.com",
        "did:web:user@example.com",
        "did:web:example..com",
        "did:web:" + "a" * 64 + ".com",
        "did:web:example.com:user:..",
        "did:web:example.com:user:%2e%2E",
        "did:web:example.com:a%2Fb",
        "did:web:example.com:a%zz",
        "did:web:example.com:~alice",
        "did:web:example.com#key-1",
        "did:web:example.com?versionId=1",
        "did:web:example.com/path",
    ],
)
def test_did_web_document_url_refuses_malformed(did: str) -> None:
    with pytest.raises(EncodingError) as info:
        did_web_document_url(did)
    assert info.value.value == did


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://example.com", "did:web:example.com"),
        ("https://example.com/", "did:web:example.com"),
        ("https://Example.COM/user/alice", "did:web:example.com:user:alice"),
        ("https://example.com:3000/user/alice/", "did:web:example.com%3A3000:user:alice"),
        ("https://localhost:5000/issuers/caiep", "did:web:localhost%3A5000:issuers:caiep"),
    ],
)
def test_did_web_for_url(url: str, did: str) -> None:
    assert did_web_for_url(url) == did


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "ftp://example.com",
        "example.com",
        "https://",
        "https://user@example.com",
        "https://user:pw@example.com",
        "https://example.com?x=1",
        "https://example.com/#frag",
        "https://127.0.0.1/issuer",
        "https://[::1]/issuer",
        "https://example.com:99999",
        "https://example.com//alice",
        "https://example.com/a b",
        "https://example.com/~alice",
        "https://example.com/a/../b",
    ],
)
def test_did_web_for_url_refuses(url: str) -> None:
    with pytest.raises(EncodingError):
        did_web_for_url(url)


label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=1, max_size=4).map(".".join).filter(lambda h: not h.split(".")[-1].isdigit())
segments = st.lists(st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,8}", fullmatch=True), max_size=4)


@given(hosts, st.none() | st.integers(min_value=1, max_value=65535), segments)
def test_did_web_url_round_trip(host: str, port: int | None, path: list[str]) -> None:
    authority = host if port is None else f"{host}:{port}"
    base = f"https://{authority}" + "".join("/" + segment for segment in path)
    did = did_web_for_url(base)
    expected = base + ("/did.json" if path else "/.well-known/did.json")
    assert did_web_document_url(did) == expected


def _keys(count: int) -> list[PublicKey]:
    return [SigningKey.from_seed(bytes([n]) * 32).public_key for n in range(count)]


def test_controller_document_lists_every_key_oldest_first() -> None:
    controller = "did:web:credentials.example.org:issuers:caiep"
    old, new = _keys(2)
    document = build_controller_document(controller, [old, new])
    ids = [f"{controller}#{old.multibase}", f"{controller}#{new.multibase}"]
    assert document == {
        "@context": CONTEXTS,
        "id": controller,
        "verificationMethod": [
            {"id": ids[0], "type": "Multikey", "controller": controller, "publicKeyMultibase": old.multibase},
            {"id": ids[1], "type": "Multikey", "controller": controller, "publicKeyMultibase": new.multibase},
        ],
        "authentication": ids,
        "assertionMethod": ids,
    }
    assert build_controller_document(controller, [old, new, old]) == document


def test_controller_document_with_current_key_authenticates_only_it() -> None:
    controller = "https://credentials.example.org/issuers/caiep"
    old, new = _keys(2)
    document = build_controller_document(controller, [old, new], current=new)
    assert document["assertionMethod"] == [f"{controller}#{old.multibase}", f"{controller}#{new.multibase}"]
    assert document["authentication"] == [f"{controller}#{new.multibase}"]


def test_controller_document_refusals() -> None:
    old, new = _keys(2)
    with pytest.raises(ConfigurationError, match="at least one key"):
        build_controller_document("did:web:example.com", [])
    with pytest.raises(ConfigurationError, match="not among"):
        build_controller_document("did:web:example.com", [old], current=new)
    for controller in (
        "http://example.com",
        "did:web:192.168.1.1",
        "https://example.com#x",
        "did:key:z6Mk",
        "",
    ):
        with pytest.raises(EncodingError):
            build_controller_document(controller, [old])


def test_verification_method_id() -> None:
    (key,) = _keys(1)
    assert verification_method_id("did:web:example.com", key) == f"did:web:example.com#{key.multibase}"
    with pytest.raises(EncodingError):
        verification_method_id("did:web:example.com#frag", key)
    with pytest.raises(EncodingError):
        verification_method_id("", key)
