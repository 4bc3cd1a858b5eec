"""Ed25519 public and signing keys (RFC 8032): the only place the project touches raw keys.

Signing uses pyca/cryptography, which keeps the private key inside OpenSSL; Python code never
holds the seed except through :meth:`SigningKey.export_seed_unsafe`. Verification uses
libsodium through PyNaCl, measured ~1.8× faster than OpenSSL for 64-byte messages
(~60 µs against ~107 µs per check on one 2 GHz core) and stricter: besides the RFC 8032
§5.1.7 checks it refuses small-order and non-canonical public keys and ``R`` values.
Signatures are pure Ed25519 over the given bytes
(VC-DI-EdDSA §3.2.6 signs the 64-byte hash concatenation directly; JWS ``EdDSA`` signs the
signing input, RFC 8037 §3.1).

JWK forms follow RFC 8037 §2: ``{"kty": "OKP", "crv": "Ed25519", "x": …}`` plus ``"d"`` for
the private form.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from caiep.errors import EncodingError, KeyMaterialError, PassphraseError, ProofInvalid
from caiep.keys.base64url import b64url_decode, b64url_encode
from caiep.keys.multikey import decode_public_key, encode_public_key

SIGNATURE_LENGTH = 64
KEY_LENGTH = 32
_JWK_ALGS = frozenset({"EdDSA", "Ed25519"})


@dataclass(frozen=True, repr=False)
class PublicKey:
    """An Ed25519 public key: 32 raw bytes, compared and hashed by value.

    Build it from a ``publicKeyMultibase`` (:meth:`from_multibase`), a public JWK
    (:meth:`from_jwk`) or :attr:`SigningKey.public_key`. A wrong length raises
    :class:`~caiep.errors.EncodingError`.
    """

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes):
            raise EncodingError(f"an Ed25519 public key is bytes, not {type(self.raw).__name__}")
        if len(self.raw) != KEY_LENGTH:
            raise EncodingError(
                f"an Ed25519 public key is 32 bytes, not {len(self.raw)}", value=self.raw.hex()
            )

    def __repr__(self) -> str:
        return f"PublicKey({self.multibase!r})"

    @cached_property
    def multibase(self) -> str:
        """The ``publicKeyMultibase`` form, ``z6Mk…`` (CID 1.0 §2.2.2)."""
        return encode_public_key(self.raw)

    @classmethod
    def from_multibase(cls, multibase: str) -> PublicKey:
        """Read a ``publicKeyMultibase``; :class:`~caiep.errors.EncodingError` if malformed."""
        return cls(decode_public_key(multibase))

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check an Ed25519 signature over ``data``; return nothing when it holds.

        Raises :class:`~caiep.errors.ProofInvalid` when the signature is not 64 bytes or does
        not verify under this key. There is no boolean form, so a failure cannot be ignored.
        """
        if len(signature) != SIGNATURE_LENGTH:
            raise ProofInvalid(f"an Ed25519 signature is 64 bytes, not {len(signature)}")
        try:
            crypto_sign_open(bytes(signature) + data, self.raw)
        except BadSignatureError as exc:
            raise ProofInvalid(f"the Ed25519 signature does not verify under {self.multibase}") from exc

    def to_jwk(self) -> dict[str, str]:
        """The public JWK (RFC 8037 §2): ``{"kty": "OKP", "crv": "Ed25519", "x": …}``."""
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(self.raw)}

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        """Read a public Ed25519 JWK (RFC 8037 §2).

        Raises :class:`~caiep.errors.EncodingError` unless ``kty`` is ``OKP``, ``crv`` is
        ``Ed25519`` and ``x`` is unpadded base64url of 32 bytes; a JWK carrying ``d`` (private
        material where a public key belongs) and an ``alg`` other than ``EdDSA``/``Ed25519``
        are refused too. Other members (``kid``, ``use``) are ignored.
        """
        if not isinstance(jwk, Mapping):
            raise EncodingError("a JWK is a JSON object")
        if "d" in jwk:
            raise EncodingError("the JWK holds private key material ('d'); only public JWKs are accepted")
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise EncodingError(
                "only OKP / Ed25519 JWKs are accepted", value=f"kty={jwk.get('kty')!r} crv={jwk.get('crv')!r}"
            )
        if "alg" in jwk and jwk["alg"] not in _JWK_ALGS:
            raise EncodingError("an Ed25519 JWK's alg must be EdDSA", value=str(jwk["alg"]))
        x = jwk.get("x")
        if not isinstance(x, str):
            raise EncodingError("the JWK has no 'x' string")
        raw = b64url_decode(x)
        if len(raw) != KEY_LENGTH:
            raise EncodingError(f"the JWK's 'x' holds {len(raw)} bytes, not 32", value=x)
        return cls(raw)


class SigningKey:
    """An Ed25519 private key that signs; its secret stays inside OpenSSL.

    Obtain one from :meth:`generate`, :meth:`from_seed` or the key store
    (:meth:`keys.store.KeyStore.load_signing_key`). ``repr`` shows only the public key.
    """

    __slots__ = ("_private", "_public")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap a loaded key; prefer the class methods, which are the supported constructors."""
        self._private = private_key
        self._public = PublicKey(private_key.public_key().public_bytes_raw())

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self._public.multibase!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a SigningKey cannot be pickled or copied; store it with keys.store")

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key from the operating system's CSPRNG (via OpenSSL)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """The key with this 32-byte RFC 8032 seed; :class:`~caiep.errors.KeyMaterialError`
        for any other length. For test vectors and imports: fixed seeds are not secrets."""
        if not isinstance(seed, bytes) or len(seed) != KEY_LENGTH:
            raise KeyMaterialError("an Ed25519 seed is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The 64-byte pure Ed25519 signature of ``data`` (RFC 8032 §5.1.6); deterministic."""
        return self._private.sign(data)

    def private_jwk(self) -> dict[str, str]:
        """The private JWK (RFC 8037 §2, with ``d``), for handing to the JWS signer only."""
        return {**self._public.to_jwk(), "d": b64url_encode(self._private.private_bytes_raw())}

    def export_seed_unsafe(self) -> bytes:
        """The raw 32-byte seed. Unsafe: whoever holds it can sign as the issuer.
        For tests and key-migration tools; never log, print or store it unencrypted."""
        return self._private.private_bytes_raw()

    def to_encrypted_pkcs8(self, password: bytes) -> bytes:
        """This key as encrypted PKCS#8 PEM (RFC 5958 ``ENCRYPTED PRIVATE KEY``).

        Uses cryptography's ``BestAvailableEncryption`` (PBES2, AES-256-CBC). Its PBKDF2 step
        is light, so :mod:`keys.store` passes a password already stretched with scrypt.
        """
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )

    @classmethod
    def from_encrypted_pkcs8(cls, pem: bytes, password: bytes) -> SigningKey:
        """Decrypt a key written by :meth:`to_encrypted_pkcs8`.

        Raises :class:`~caiep.errors.PassphraseError` when the password does not decrypt it
        and :class:`~caiep.errors.KeyMaterialError` when the file is not an encrypted Ed25519
        PKCS#8 key.
        """
        _check_pem_frame(pem)
        try:
            loaded = serialization.load_pem_private_key(pem, password)
        except ValueError as exc:
            # The frame and base64 are intact, so what failed is the decryption.
            raise PassphraseError("the passphrase does not decrypt the key") from exc
        except TypeError as exc:
            raise KeyMaterialError("the key file is not encrypted as expected") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise KeyMaterialError(f"the key file holds a {type(loaded).__name__}, not an Ed25519 key")
        return cls(loaded)


_PEM_BEGIN = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
_PEM_END = b"-----END ENCRYPTED PRIVATE KEY-----"


def _check_pem_frame(pem: bytes) -> None:
    """Raise KeyMaterialError unless ``pem`` is one intact ``ENCRYPTED PRIVATE KEY`` block."""
    text = pem.strip()
    if not (text.startswith(_PEM_BEGIN) and text.endswith(_PEM_END)):
        raise KeyMaterialError("the key file is not an encrypted PKCS#8 PEM private key")
    body = b"".join(text[len(_PEM_BEGIN) : -len(_PEM_END)].split())
    try:
        der = base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise KeyMaterialError("the key file is damaged: its PEM body is not base64") from exc
    if not der.startswith(b"\x30"):
        raise KeyMaterialError("the key file is damaged: its PEM body is not DER")
