"""The wallet's key proof of an OpenID4VCI credential request (OpenID4VCI 1.0 Appendix F.1).

A compact JWS with header ``typ: openid4vci-proof+jwt``, ``alg`` EdDSA or ES256 and exactly one
of ``kid`` (a did:key DID URL: the copy is bound to that DID) or ``jwk`` (a public key: bound to
its ``did:jwk``); body ``aud`` = the credential issuer identifier, ``iat`` recent, ``nonce`` a
c_nonce of ours (checked by the caller, which holds the nonces). Every field is bounded before
any key is built or signature checked. Failures are :class:`ProofRefused` (``invalid_proof``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from caiep.errors import EncodingError, ProofInvalid
from caiep.keys.base64url import b64url_decode, b64url_encode
from caiep.keys.ed25519 import PublicKey
from caiep.keys.multikey import decode_p256_public_key
from caiep.proofs.jose import decode_unverified, verify_jws

PROOF_TYP: Final = "openid4vci-proof+jwt"
#: The signature algorithms a key proof may use, with the key type each needs.
ALGORITHMS: Final = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}
#: Longest key proof read, in characters (a P-256 jwk header and a nonce fit in well under 2 KiB).
MAX_PROOF_LENGTH: Final = 4096
#: Longest ``kid``: a did:key with its fragment is 105 characters (Ed25519) or 107 (P-256).
MAX_KID_LENGTH: Final = 200
#: How old an ``iat`` may be, and how far ahead of our clock.
MAX_AGE: Final = timedelta(minutes=5)
MAX_SKEW: Final = timedelta(minutes=1)
_HEADER_MEMBERS: Final = frozenset({"alg", "typ", "kid", "jwk"})
_JWK_MEMBERS: Final = frozenset({"kty", "crv", "x", "y", "alg", "use", "kid", "key_ops", "ext"})
_COORDINATE_LENGTH: Final = 32  # Ed25519 x, P-256 x and y: 32 bytes each


class ProofRefused(Exception):
    """A key proof that does not bind a key: the credential endpoint answers ``invalid_proof``."""

    error = "invalid_proof"


@dataclass(frozen=True)
class KeyProof:
    """A verified key proof: the DID the copy is bound to, and the nonce it carries."""

    did: str
    nonce: str


def check_key_proof(token: object, *, audience: str, now: datetime) -> KeyProof:
    """Verify ``token`` as a key proof for the credential issuer ``audience`` at ``now``."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_PROOF_LENGTH:
        raise ProofRefused(f"a key proof is a compact JWS of at most {MAX_PROOF_LENGTH} characters")
    try:
        header, _ = decode_unverified(token)
    except EncodingError as exc:
        raise ProofRefused("the key proof is not a compact JWS of JSON objects") from exc
    extra = sorted(header.keys() - _HEADER_MEMBERS)
    if extra:
        raise ProofRefused(f"key proof header members not accepted: {extra} (kid or jwk only)")
    if header.get("typ") != PROOF_TYP:
        raise ProofRefused(f"the key proof's typ must be {PROOF_TYP!r}")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise ProofRefused(f"the key proof's alg must be one of {', '.join(ALGORITHMS)}")
    if ("kid" in header) == ("jwk" in header):
        raise ProofRefused("the key proof header needs exactly one of kid and jwk")
    did, key = _did_key(header["kid"], alg) if "kid" in header else _did_jwk(header["jwk"], alg)
    try:
        _, claims = verify_jws(token, key, alg)
    except ProofInvalid as exc:
        raise ProofRefused(f"the key proof does not verify: {exc}") from exc
    return KeyProof(did, _check_claims(claims, audience, now))


def _check_claims(claims: Mapping[str, Any], audience: str, now: datetime) -> str:
    aud = claims.get("aud")
    if aud != audience and not (isinstance(aud, list) and len(aud) <= 8 and audience in aud):
        raise ProofRefused(f"the key proof's aud must be the credential issuer {audience}")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise ProofRefused("the key proof needs iat, a NumericDate")
    age = now.timestamp() - float(iat)
    if age > MAX_AGE.total_seconds() or -age > MAX_SKEW.total_seconds():
        raise ProofRefused("the key proof's iat is too old or in the future")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise ProofRefused("the key proof needs the c_nonce from the nonce endpoint")
    return nonce


def _did_key(kid: object, alg: str) -> tuple[str, PublicKey | dict[str, str]]:
    """The did:key of a ``kid`` DID URL and its key: an Ed25519 did:key (``z6Mk…``) for EdDSA,
    a P-256 one (``zDn…``, as its JWK) for ES256."""
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH or not kid.startswith("did:key:"):
        raise ProofRefused(f"kid must be a did:key DID URL of at most {MAX_KID_LENGTH} characters")
    did, _, fragment = kid.partition("#")
    multibase = did[len("did:key:") :]
    if fragment not in ("", multibase):
        raise ProofRefused("a did:key kid's fragment must be the key's own multibase value")
    if alg == "ES256":
        try:
            x, y = decode_p256_public_key(multibase)
        except EncodingError as exc:
            raise ProofRefused("kid is not the did:key of a P-256 key (alg ES256)") from exc
        return did, {"kty": "EC", "crv": "P-256", "x": b64url_encode(x), "y": b64url_encode(y)}
    try:
        return did, PublicKey.from_multibase(multibase)
    except EncodingError as exc:
        raise ProofRefused("kid is not the did:key of an Ed25519 key (alg EdDSA)") from exc


def _did_jwk(jwk: object, alg: str) -> tuple[str, dict[str, str]]:
    """The did:jwk of a public ``jwk`` header fit for ``alg``, and the key's public members."""
    if not isinstance(jwk, dict) or not jwk.keys() <= _JWK_MEMBERS:
        raise ProofRefused(f"jwk must be a public key with members among {sorted(_JWK_MEMBERS)}")
    kty, crv = ALGORITHMS[alg]
    if jwk.get("kty") != kty or jwk.get("crv") != crv:
        raise ProofRefused(f"{alg} needs a {kty} {crv} jwk")
    wanted = ("x",) if kty == "OKP" else ("x", "y")
    public: dict[str, str] = {"crv": crv, "kty": kty}
    for name in wanted:
        value = jwk.get(name)
        try:
            if not isinstance(value, str) or len(b64url_decode(value)) != _COORDINATE_LENGTH:
                raise ProofRefused(f"jwk {name} must be {_COORDINATE_LENGTH} bytes, base64url")
        except EncodingError as exc:
            raise ProofRefused(f"jwk {name} is not base64url") from exc
        public[name] = value
    text = json.dumps(public, sort_keys=True, separators=(",", ":"))
    return "did:jwk:" + b64url_encode(text.encode("ascii")), public
