"""did:key and did:web identifiers for Ed25519 keys, and the issuer's controller document.

* did:key (W3C CCG did:key v0.7 §3): the DID *is* the key, ``did:key:z6Mk…``; resolution
  is purely generative and needs no network.
* did:web (W3C CCG did:web §3.2): the DID names an HTTPS location of a DID document; this
  module only maps between the DID and that URL. Fetching belongs to the verifier.
* The controller document lists every key an issuer has ever signed with as a ``Multikey``
  verification method (CID 1.0 §2.2.2) under ``assertionMethod``, so credentials signed before
  a key rotation still verify. Its ``@context`` carries the multikey context, which Digital
  Bazaar's verifier requires.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from caiep.errors import ConfigurationError, EncodingError
from caiep.keys.ed25519 import PublicKey

DID_CONTEXTS = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")
"""``@context`` of every document built here (did:key §3.1.2 step 6 for ``Multikey``)."""

_DID_KEY = "did:key:"
_DID_WEB = "did:web:"
_DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# DID Core §3.1 idchar (ALPHA / DIGIT / "." / "-" / "_" / pct-encoded), one or more.
_ID_SEGMENT = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+")
_HOST_PORT = re.compile(r"(?P<host>[^%]+)(?:%3[Aa](?P<port>[1-9][0-9]{0,4}))?")


def verification_method_id(controller: str, public_key: PublicKey) -> str:
    """The verification method id ``<controller>#<publicKeyMultibase>`` used in proofs."""
    if not controller or "#" in controller:
        raise EncodingError("a controller is a DID or URL without a fragment", value=controller)
    return f"{controller}#{public_key.multibase}"


def did_key_for(public_key: PublicKey) -> str:
    """The did:key DID of an Ed25519 key, ``did:key:z6Mk…`` (did:key §3.1)."""
    return _DID_KEY + public_key.multibase


def resolve_did_key(did_or_url: str) -> dict[str, Any]:
    """Build the DID document of an Ed25519 did:key (did:key §3.1.2, ``Multikey`` form).

    Accepts the DID or a DID URL whose fragment is the key's multibase value (the usual
    verification method id); resolves the DID part. Raises
    :class:`~caiep.errors.EncodingError` for another method, a path, query or version, a
    foreign fragment, or a multibase value that is not a 32-byte ``ed25519-pub`` key.
    """
    if not isinstance(did_or_url, str) or not did_or_url.startswith(_DID_KEY):
        raise EncodingError("not a did:key DID", value=str(did_or_url))
    did, has_fragment, fragment = did_or_url.partition("#")
    multibase = did[len(_DID_KEY) :]
    if any(char in multibase for char in "/?:;"):
        raise EncodingError(
            "did:key takes only a multibase value (no version, path, query or parameters)",
            value=did_or_url,
        )
    public_key = PublicKey.from_multibase(multibase)
    if has_fragment and fragment != multibase:
        raise EncodingError("a did:key fragment must be the key's own multibase value", value=did_or_url)
    vm_id = f"{did}#{multibase}"
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [_multikey(vm_id, did, public_key)],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }


def did_web_document_url(did: str) -> str:
    """The HTTPS URL of a did:web DID document (did:web §3.2.2, Read).

    ``did:web:example.com`` → ``https://example.com/.well-known/did.json``;
    ``did:web:example.com%3A3000:user:alice`` → ``https://example.com:3000/user/alice/did.json``.
    Raises :class:`~caiep.errors.EncodingError` for a DID URL (fragment, query, path), an IP
    address or malformed host, a bad port, or an empty, ``.``/``..`` or non-idchar segment.
    """
    host, port, segments = _parse_did_web(did)
    authority = host if port is None else f"{host}:{port}"
    path = "/".join(segments) if segments else ".well-known"
    return f"https://{authority}/{path}/did.json"


def did_web_for_url(url: str) -> str:
    """The did:web DID for an HTTPS base URL (did:web §3.2.1, Create).

    ``https://host[:port][/path]`` → ``did:web:host[%3Aport][:path:segments]``. The host is
    lower-cased; a trailing ``/`` is dropped; an explicit port is kept as written. Raises
    :class:`~caiep.errors.EncodingError` for another scheme, user info, a query or fragment, an
    IP address, or a path segment outside the DID idchar set (DID Core §3.1).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EncodingError("not a valid URL", value=url) from exc
    if parts.scheme != "https" or not parts.hostname:
        raise EncodingError("did:web needs an https URL with a host", value=url)
    if "@" in parts.netloc or parts.query or parts.fragment or "#" in url or "?" in url:
        raise EncodingError("did:web URLs carry no user info, query or fragment", value=url)
    host = parts.hostname
    _check_host(host, url)
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path
    segments = path.split("/")[1:] if path else []
    for segment in segments:
        _check_segment(segment, url)
    method_id = host if port is None else f"{host}%3A{port}"
    return ":".join([_DID_WEB + method_id, *segments])


def build_controller_document(
    controller: str, keys: Sequence[PublicKey], *, current: PublicKey | None = None
) -> dict[str, Any]:
    """The DID / controller document an issuer publishes at its did:web or https ``id``.

    Every key in ``keys`` (oldest first, duplicates dropped) becomes a ``Multikey``
    verification method ``<controller>#<publicKeyMultibase>`` and is listed in
    ``assertionMethod`` (CID 1.0 §2.1, §2.3.2), so proofs made before a rotation keep
    verifying. ``authentication`` lists every key too, or only ``current`` when given: a
    retired key still vouches for past credentials but no longer speaks for the issuer.
    Raises :class:`~caiep.errors.EncodingError` for a controller that is neither a did:web
    DID nor an https URL, and :class:`~caiep.errors.ConfigurationError` for no keys or a
    ``current`` key not among ``keys``.
    """
    _check_controller(controller)
    unique = list(dict.fromkeys(keys))
    if not unique:
        raise ConfigurationError("a controller document needs at least one key")
    if current is not None and current not in unique:
        raise ConfigurationError(f"the current key {current.multibase} is not among the issuer's keys")
    methods = [_multikey(verification_method_id(controller, key), controller, key) for key in unique]
    ids = [method["id"] for method in methods]
    authentication = ids if current is None else [verification_method_id(controller, current)]
    return {
        "@context": list(DID_CONTEXTS),
        "id": controller,
        "verificationMethod": methods,
        "authentication": list(authentication),
        "assertionMethod": list(ids),
    }


def _multikey(vm_id: str, controller: str, public_key: PublicKey) -> dict[str, str]:
    """A Multikey verification method (CID 1.0 §2.2.2)."""
    return {
        "id": vm_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_key.multibase,
    }


def _parse_did_web(did: str) -> tuple[str, int | None, list[str]]:
    """Split a did:web DID into host, port and path segments, validating each."""
    if not isinstance(did, str) or not did.startswith(_DID_WEB):
        raise EncodingError("not a did:web DID", value=str(did))
    method_id = did[len(_DID_WEB) :]
    if any(char in method_id for char in "#?/"):
        raise EncodingError("a did:web DID has no fragment, query or path", value=did)
    first, *segments = method_id.split(":")
    match = _HOST_PORT.fullmatch(first)
    if match is None:
        raise EncodingError("a did:web host is a domain name, with an optional %3A port", value=did)
    _check_host(match["host"], did)
    port = int(match["port"]) if match["port"] else None
    if port is not None and port > 65535:
        raise EncodingError("a did:web port is at most 65535", value=did)
    for segment in segments:
        _check_segment(segment, did)
    return match["host"], port, segments


def _check_host(host: str, shown: str) -> None:
    """Raise unless ``host`` is a DNS name: no IP address (did:web §3.2.1), labels ≤ 63."""
    labels = host.split(".")
    if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise EncodingError("a did:web host must be a domain name, not an IP address", value=shown)


def _check_segment(segment: str, shown: str) -> None:
    """Raise unless a path segment is non-empty idchar text that names no other directory."""
    decoded = unquote(segment)
    if not _ID_SEGMENT.fullmatch(segment) or decoded in {".", ".."} or "/" in decoded or "\\" in decoded:
        raise EncodingError(f"bad did:web path segment {segment!r}", value=shown)


def _check_controller(controller: str) -> None:
    """Raise unless ``controller`` is a did:web DID or an https URL without a fragment."""
    if isinstance(controller, str) and controller.startswith(_DID_WEB):
        _parse_did_web(controller)
        return
    try:
        parts = urlsplit(controller)
    except (TypeError, ValueError) as exc:
        raise EncodingError("a controller is a did:web DID or an https URL", value=str(controller)) from exc
    if parts.scheme != "https" or not parts.hostname or "#" in controller:
        raise EncodingError("a controller is a did:web DID or an https URL", value=str(controller))
