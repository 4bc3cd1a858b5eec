"""Retrieve Verification Method (Controlled Identifiers 1.0 §3.3) and key provenance.

A proof names a verification method; before its key is used we dereference the
controller document, check that the method is really there, controlled by that document,
listed for the proof's purpose, and that its controller is the credential's issuer (OB 3.0
implementation guide, "Key provenance"). did:key resolves locally; did:web and https
controller documents come through the injected fetcher, never directly from here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urldefrag

from caiep.caches import NamedCache
from caiep.errors import EncodingError, ResolutionError, VerificationMethodInvalid
from caiep.keys.did import did_web_document_url, resolve_did_key
from caiep.keys.ed25519 import PublicKey
from caiep.verifier.fetch import Fetcher

_KEY_TYPES = ("Multikey", "Ed25519VerificationKey2020", "JsonWebKey2020", "JsonWebKey")


_did_key_documents: NamedCache[str, Mapping[str, Any]] = NamedCache("did_key_documents")


def _did_key_document(did: str) -> Mapping[str, Any]:
    """did:key documents are a pure function of the DID: resolve each once (read-only use)."""
    return _did_key_documents.get_or_compute(did, lambda: resolve_did_key(did))


class KeyNotIssuers(VerificationMethodInvalid):
    """A DID URL names a key of some DID other than the credential's issuer."""

    code = "key_not_issuers"


def check_key_owner(method_id: str, issuer: str | None) -> None:
    """Refuse, before anything is fetched, a DID URL key that is not the issuer's.

    Controlled Identifiers 1.0 §3.3 and OB 3.0 key provenance: the DID before the
    ``#fragment`` of a DID URL is the key's controller, so it must be the issuer's id. An
    https method is checked after its controller document is fetched (its ``controller``).
    Raises :class:`KeyNotIssuers` (or VerificationMethodInvalid when there is no issuer id).
    """
    if not issuer:
        # Key provenance (OB 3.0 implementation guide) is never skipped: with no issuer id
        # there is nobody the key could belong to.
        raise VerificationMethodInvalid(
            "the credential names no issuer id, so no key can be shown to be the issuer's",
            verification_method=method_id,
        )
    controller, _ = urldefrag(method_id)
    if method_id.startswith("did:") and controller != issuer:
        raise KeyNotIssuers(
            f"the key {method_id} belongs to {controller}, not to the credential's issuer {issuer}",
            verification_method=method_id,
        )


def document_url(method_id: str) -> str | None:
    """The URL a verification method's controller document is fetched from (None: not fetched)."""
    controller, _ = urldefrag(method_id)
    if controller.startswith("did:web:"):
        try:
            return did_web_document_url(controller)
        except EncodingError:
            return None  # malformed: refused when the key is asked for
    return controller if controller.startswith("https://") else None


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    """The credential's issuer id (``issuer`` is a URL or a Profile object)."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


class KeyResolver:
    """Turns verification method ids into public keys the issuer may sign with."""

    def __init__(self, fetcher: Fetcher | None) -> None:
        self.fetcher = fetcher

    def controller_document(self, controller: str) -> Mapping[str, Any]:
        """The DID document or controller document at ``controller`` (no fragment)."""
        if controller.startswith("did:key:"):
            return copy.deepcopy(_did_key_document(controller))
        return self._controller_document(controller)

    def _controller_document(self, controller: str) -> Mapping[str, Any]:
        """As controller_document, but did:key documents are shared: read, never modify."""
        if controller.startswith("did:key:"):
            return _did_key_document(controller)
        if controller.startswith("did:web:"):
            url = did_web_document_url(controller)
        elif controller.startswith("https://"):
            url = controller
        else:
            raise VerificationMethodInvalid(
                f"cannot dereference {controller!r}: only did:key, did:web and https are supported",
                verification_method=controller,
            )
        if self.fetcher is None:
            raise ResolutionError(f"no network access configured to retrieve {url}", url=url)
        document = self.fetcher.get_json(url)
        if not isinstance(document, Mapping):
            raise VerificationMethodInvalid(
                f"the document at {url} is not a JSON object", verification_method=controller
            )
        if document.get("id") != controller:
            raise VerificationMethodInvalid(
                f"the document at {url} has id {document.get('id')!r}, not {controller!r}",
                verification_method=controller,
            )
        return document

    def public_key(
        self, method_id: str, *, issuer: str | None, purpose: str = "assertionMethod"
    ) -> PublicKey:
        """The key of ``method_id`` after every CID §3.3 and key-provenance check.

        A DID URL of another DID than the issuer is refused before any fetch
        (:func:`check_key_owner`). Raises VerificationMethodInvalid (the key is not the
        issuer's to use),
        ResolutionError (the controller document could not be fetched: undecidable) or
        EncodingError (a malformed key).
        """
        check_key_owner(method_id, issuer)
        controller, fragment = urldefrag(method_id)
        if controller.startswith("did:key:") and not fragment:
            method_id = f"{controller}#{controller.removeprefix('did:key:')}"
        document = self._controller_document(controller)
        method = _find_method(document, method_id)
        if method is None:
            raise VerificationMethodInvalid(
                f"{method_id} is not a verification method of {controller}", verification_method=method_id
            )
        if method.get("controller") != controller:
            raise VerificationMethodInvalid(
                f"{method_id} is controlled by {method.get('controller')!r}, not {controller!r}",
                verification_method=method_id,
            )
        if not _listed(document.get(purpose), method_id, controller):
            raise VerificationMethodInvalid(
                f"{method_id} is not listed for {purpose} by its controller", verification_method=method_id
            )
        if issuer is not None and controller != issuer:
            raise VerificationMethodInvalid(
                f"the key belongs to {controller}, but the credential's issuer is {issuer}",
                verification_method=method_id,
            )
        return _key_of(method, method_id)


def _absolute(method_id: str, controller: str) -> str:
    return controller + method_id if method_id.startswith("#") else method_id


def _find_method(document: Mapping[str, Any], method_id: str) -> Mapping[str, Any] | None:
    controller = str(document.get("id"))
    candidates: list[Any] = []
    for field in ("verificationMethod", "assertionMethod", "authentication"):
        value = document.get(field)
        candidates.extend(value if isinstance(value, list) else [value] if value else [])
    for item in candidates:
        if isinstance(item, Mapping) and _absolute(str(item.get("id")), controller) == method_id:
            return {**item, "id": method_id, "controller": _absolute(str(item.get("controller")), controller)}
    return None


def _listed(relationship: Any, method_id: str, controller: str) -> bool:
    items = relationship if isinstance(relationship, list) else [relationship] if relationship else []
    for item in items:
        ref = item.get("id") if isinstance(item, Mapping) else item
        if isinstance(ref, str) and _absolute(ref, controller) == method_id:
            return True
    return False


def _key_of(method: Mapping[str, Any], method_id: str) -> PublicKey:
    if method.get("type") not in _KEY_TYPES:
        raise VerificationMethodInvalid(
            f"unsupported verification method type {method.get('type')!r}", verification_method=method_id
        )
    try:
        if isinstance(method.get("publicKeyMultibase"), str):
            return PublicKey.from_multibase(method["publicKeyMultibase"])
        if isinstance(method.get("publicKeyJwk"), Mapping):
            return PublicKey.from_jwk(method["publicKeyJwk"])
    except EncodingError as exc:
        raise VerificationMethodInvalid(
            f"the key of {method_id} is malformed: {exc.message}", verification_method=method_id
        ) from exc
    raise VerificationMethodInvalid(f"{method_id} carries no Ed25519 key", verification_method=method_id)
