"""Ed25519 keys for the CAiEP® credential system: the foundation every proof stands on.

* :mod:`keys.base58`, :mod:`keys.base64url` — the text encodings keys and signatures use.
* :mod:`keys.multikey` — ``publicKeyMultibase`` / ``secretKeyMultibase`` (CID 1.0 §2.2.2).
* :mod:`keys.ed25519` — :class:`PublicKey` (verify, JWK) and :class:`SigningKey` (sign).
* :mod:`keys.did` — did:key resolution, did:web URLs, the issuer's controller document.
* :mod:`keys.store` — the issuer's encrypted key store with rotation history.

This package imports only the standard library, ``cryptography``, PyNaCl and
:mod:`caiep.errors`; it is the only place in the project that uses an Ed25519 implementation.
"""

from __future__ import annotations

from caiep.keys.did import (
    build_controller_document,
    did_key_for,
    did_web_document_url,
    did_web_for_url,
    resolve_did_key,
    verification_method_id,
)
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.keys.store import KeyRecord, KeyStore

__all__ = [
    "KeyRecord",
    "KeyStore",
    "PublicKey",
    "SigningKey",
    "build_controller_document",
    "did_key_for",
    "did_web_document_url",
    "did_web_for_url",
    "resolve_did_key",
    "verification_method_id",
]
