"""VC-JWT: Open Badges credentials as compact JWS, signed and verified (OB 3.0 §8.2).

The payload is the VCDM 2.0 credential plus the registered claims ``iss``, ``jti``, ``nbf``,
``exp`` and ``sub``; the header holds ``alg``, one of ``kid``/``jwk`` and perhaps ``typ``. We
issue exactly OB's profile and read what VC-JOSE-COSE and VCDM 1.1 JWTs add (their ``typ`` and
``cty`` values, the ``vc`` claim) and tolerate a missing ``sub`` (1EdTech's fixture has none).

Verification fails closed in the order of RFC 8725 §3.1–3.2: strict decoding, an algorithm
allowlist checked before any key is looked up (``none`` and HS* never pass), header rules, the
signature (jwcrypto), then claims bound to the credential. ``nbf``/``exp`` against the current
time is the verifier's check (OB 3.0 §9.1 step 4). Failures are :class:`ProofInvalid` with a
``code``: ``jws_malformed``, ``jws_alg_not_allowed``, ``jws_header_invalid``,
``jws_private_key``, ``jws_key_unusable``, ``jws_signature_invalid``, ``jwt_payload_invalid``,
``jwt_claim_missing``, ``jwt_claim_invalid`` or ``jwt_claim_mismatch``. The only importer of
jwcrypto; signing goes through :class:`SigningKey`, so the private key stays in ``keys``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from caiep.errors import EncodingError, InputError, ProofInvalid
from caiep.keys.base64url import b64url_decode, b64url_encode
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.strictjson import loads_strict
from caiep.timestamps import format_timestamp

MAX_TOKEN_LENGTH = 1024 * 1024
"""Longest compact JWS accepted, in characters: bounds the work done on untrusted input."""

REGISTERED_CLAIMS = frozenset({"iss", "sub", "nbf", "exp", "jti", "iat", "aud"})
"""RFC 7519 §4.1 claims: never part of the credential read from a VCDM 2.0 payload."""

ACCEPTED_TYP = frozenset({"JWT", "vc+jwt", "vc+ld+jwt"})
"""``typ`` values read: OB 3.0 §8.2 "Create the JOSE Header", VC-JOSE-COSE "With JOSE", drafts."""

ACCEPTED_CTY = frozenset({"vc", "vc+ld+json"})
"""``cty`` values read, from the same VC-JOSE-COSE texts (OB never sets ``cty``)."""

_HEADER_MEMBERS = frozenset({"alg", "kid", "jwk", "typ", "cty"})
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# alg -> (kty, crv) of the key it needs (RFC 7518 §3.1, RFC 8037 §3.1). HS* and "none" are
# absent on purpose: whatever the caller allows, they are never accepted (RFC 8725 §3.1-3.2).
_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "EdDSA": ("OKP", "Ed25519"),
    "Ed25519": ("OKP", "Ed25519"),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
}
_MIN_RSA_MODULUS_BYTES = 256  # RFC 7518 §3.3: 2048 bits or larger
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class VerifiedJwt:
    """A VC-JWT whose signature verified and whose claims match its credential (OB 3.0 §8.2)."""

    credential: dict[str, Any]
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def not_before(self) -> datetime | None:
        """The ``nbf`` claim as a UTC datetime; the verifier compares it with ``now``."""
        return _from_numeric_date(self.claims.get("nbf"))

    @property
    def expires(self) -> datetime | None:
        """The ``exp`` claim as a UTC datetime, or None when the JWT does not expire."""
        return _from_numeric_date(self.claims.get("exp"))


def sign_jws(header: Mapping[str, Any], payload: bytes, signing_key: SigningKey) -> str:
    """Return the compact JWS of ``payload`` under ``header``, signed with Ed25519 (RFC 8037 §3.1).

    The low layer of :func:`sign_credential_jwt`; use it directly only for non-credential
    payloads (it reproduces RFC 8037 §A.4 byte for byte). The header is serialised
    deterministically and must say ``"alg": "EdDSA"``.
    """
    if header.get("alg") != "EdDSA":
        raise InputError("an Ed25519 key signs only with alg EdDSA", source="JOSE header", location="/alg")
    signing_input = f"{b64url_encode(_canonical_json(header))}.{b64url_encode(payload)}"
    signature = signing_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def sign_credential_jwt(credential: Mapping[str, Any], signing_key: SigningKey, *, kid: str) -> str:
    """Return ``credential`` as a VC-JWT signed with EdDSA (OB 3.0 §8.2 "Create the Proof").

    Header ``{"alg":"EdDSA","kid":kid,"typ":"JWT"}``; payload: the credential plus ``iss``,
    ``jti``, ``nbf`` and, when the credential has them, ``exp`` and ``sub``; the same input gives
    the same token. An embedded Data Integrity proof is made first and stays in the payload (OB
    3.0 §8.2 "Create the JWT Payload"); this function adds none. OB certifies RS256 JWTs and
    eddsa-rdfc-2022, not EdDSA JWTs: this form complements the Data Integrity proof.
    InputError when the credential lacks an id, issuer id or timezoned validFrom, or has
    members named like JWT claims.
    """
    if not kid:
        raise InputError("a VC-JWT needs a kid", source="JOSE header", location="/kid")
    body = dict(credential)
    clashing = sorted((REGISTERED_CLAIMS | {"vc"}) & body.keys())
    if clashing:
        raise InputError(f"credential members clash with JWT claims: {clashing}", source="credential")
    claims: dict[str, Any] = {"iss": _issuer_id(body), "jti": body.get("id")}
    for claim, pointer in (("iss", "/issuer/id"), ("jti", "/id")):
        if not (isinstance(claims[claim], str) and claims[claim]):
            raise InputError("a VC-JWT credential needs this string", source="credential", location=pointer)
    for claim, name in (("nbf", "validFrom"), ("exp", "validUntil")):
        moment = _parse_time(body.get(name), naive_is_utc=False)
        if moment is None and (claim == "nbf" or name in body):
            raise InputError("not a dateTimeStamp (VCDM 2.0 §4.9)", source="credential", location=f"/{name}")
        if moment is not None:
            claims[claim] = _numeric_date(moment)
    subjects = _subject_ids(body)
    if len(subjects) == 1:
        claims["sub"] = subjects[0]
    header = {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
    return sign_jws(header, _canonical_json({**body, **claims}), signing_key)


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return a compact JWS's header and payload WITHOUT checking anything (RFC 7515 §7.1).

    Only for looking at a token before verifying it or for display: nothing returned is
    trustworthy. Raises EncodingError unless the token is at most MAX_TOKEN_LENGTH characters of
    three canonical base64url segments, the first two UTF-8 JSON objects without duplicate
    member names (RFC 7515 §5.2 step 4).
    """
    header, payload, _ = _split(token)
    return header, payload


def credential_of_checked_token(token: str) -> dict[str, Any]:
    """The credential of a token whose signature was ALREADY verified, decoded without checking.

    For a verifier that remembers the verdict on these exact bytes (by digest) and must show
    their credential again; never a substitute for :func:`verify_credential_jwt`.
    """
    _, payload, _ = _split(token)
    claims = {name: payload[name] for name in sorted(REGISTERED_CLAIMS & payload.keys())}
    return _credential_from(payload, claims)


def verify_credential_jwt(
    token: str,
    public_key_for: Callable[[Mapping[str, Any]], Any],
    *,
    now: datetime,
    max_clock_skew: timedelta = timedelta(minutes=5),
    algorithms: Collection[str] = ("EdDSA", "RS256", "ES256"),
) -> VerifiedJwt:
    """Verify a VC-JWT and return its credential, header and claims (OB 3.0 §8.2 "Verify a Credential").

    ``public_key_for(header)``, called once the header passed, returns the :class:`PublicKey`
    or public JWK to use, or raises VerificationMethodInvalid/ResolutionError when the
    ``kid``/``jwk`` is not the issuer's (OB key provenance). ``algorithms`` is an allowlist;
    ``none`` and HS* never pass. ``now`` and ``max_clock_skew`` keep one option set across
    proof formats; the window itself is the verifier's check, from ``not_before``/``expires``.
    Raises ProofInvalid with a code from the module docstring.
    """
    del now, max_clock_skew  # not used: see the docstring
    try:
        header, payload, _ = _split(token)
    except EncodingError as exc:
        raise _failure("jws_malformed", "the token is not a compact JWS of JSON objects") from exc
    alg = _check_header(header, algorithms)
    key = _verification_key(public_key_for(header), alg)
    verifier = jws.JWS()
    verifier.allowed_algs = [alg]
    try:
        verifier.deserialize(token)
        verifier.verify(key, alg=alg)
    except (JWException, ValueError) as exc:
        raise _failure("jws_signature_invalid", "the JWS signature does not verify") from exc
    claims = {name: payload[name] for name in sorted(REGISTERED_CLAIMS & payload.keys())}
    credential = _credential_from(payload, claims)
    _check_claims(credential, claims)
    return VerifiedJwt(credential=credential, header=header, claims=claims)


def verify_jws(token: str, key: object, alg: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS that is not a credential with ``key`` (a :class:`PublicKey` or public
    JWK) under ``alg``; return its header and payload (RFC 7515 §5.2).

    For protocol JWTs (an OpenID4VCI key proof): the caller checks the header's members and the
    claims. ``alg`` must match the header's; ``none`` and HS* never pass. Raises ProofInvalid
    with a code from the module docstring.
    """
    try:
        header, payload, _ = _split(token)
    except EncodingError as exc:
        raise _failure("jws_malformed", "the token is not a compact JWS of JSON objects") from exc
    if header.get("alg") != alg or alg not in _KEY_TYPES:
        raise _failure("jws_alg_not_allowed", f"JWS algorithm {header.get('alg')!r} is not allowed")
    verifier = jws.JWS()
    verifier.allowed_algs = [alg]
    try:
        verifier.deserialize(token)
        verifier.verify(_verification_key(key, alg), alg=alg)
    except (JWException, ValueError) as exc:
        raise _failure("jws_signature_invalid", "the JWS signature does not verify") from exc
    return header, payload


def _failure(code: str, message: str) -> ProofInvalid:
    error = ProofInvalid(message)
    error.code = code
    return error


def _check_header(header: Mapping[str, Any], algorithms: Collection[str]) -> str:
    """Return ``alg`` once the header obeys OB 3.0 §8.2 "Create the JOSE Header" (RFC 8725 §3.1)."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in _KEY_TYPES:
        raise _failure("jws_alg_not_allowed", f"JWS algorithm {alg!r} is not allowed")
    extra = sorted(header.keys() - _HEADER_MEMBERS)
    if extra:
        raise _failure("jws_header_invalid", f"JOSE header members not allowed: {extra}")
    if ("kid" in header) == ("jwk" in header):
        raise _failure("jws_header_invalid", "the JOSE header needs exactly one of kid and jwk")
    if "kid" in header and not (isinstance(header["kid"], str) and header["kid"]):
        raise _failure("jws_header_invalid", "kid is not a non-empty string")
    if "jwk" in header:
        if not isinstance(header["jwk"], dict):
            raise _failure("jws_header_invalid", "jwk is not a JSON object")
        if _PRIVATE_JWK_MEMBERS & header["jwk"].keys():
            raise _failure("jws_private_key", "the jwk header carries private key material")
    if "typ" in header and header["typ"] not in ACCEPTED_TYP:
        raise _failure("jws_header_invalid", f"typ {header['typ']!r} is not accepted")
    if "cty" in header and header["cty"] not in ACCEPTED_CTY:
        raise _failure("jws_header_invalid", f"cty {header['cty']!r} is not accepted")
    return alg


def _verification_key(key: object, alg: str) -> jwk.JWK:
    """Turn what ``public_key_for`` returned into a jwcrypto key fit for ``alg`` (RFC 7517 §4)."""
    if isinstance(key, PublicKey):
        members = dict(key.to_jwk())
    elif isinstance(key, Mapping):
        members = dict(key)
    else:
        raise _failure("jws_key_unusable", f"cannot verify with a {type(key).__name__}")
    if _PRIVATE_JWK_MEMBERS & members.keys():
        raise _failure("jws_private_key", "the verification key carries private key material")
    kty, crv = _KEY_TYPES[alg]
    if members.get("kty") != kty or (crv is not None and members.get("crv") != crv):
        raise _failure("jws_key_unusable", f"a {members.get('kty')} key cannot verify {alg}")
    ops = members.get("key_ops")
    if (
        members.get("alg", alg) != alg
        or members.get("use", "sig") != "sig"
        or (ops is not None and (not isinstance(ops, list) or "verify" not in ops))
    ):
        raise _failure("jws_key_unusable", f"the key is restricted to another use than {alg} signatures")
    try:
        if kty == "RSA" and len(b64url_decode(str(members.get("n", "")))) < _MIN_RSA_MODULUS_BYTES:
            raise _failure("jws_key_unusable", "RSA keys shorter than 2048 bits are refused")
        return jwk.JWK(**members)
    except (EncodingError, JWException, ValueError, TypeError) as exc:
        raise _failure("jws_key_unusable", "the verification key is not a valid JWK") from exc


def _credential_from(payload: Mapping[str, Any], claims: Mapping[str, Any]) -> dict[str, Any]:
    """Return the credential a verified payload carries (OB 3.0 §8.2 "Verify a Credential").

    VCDM 2.0: the payload minus the registered claims; ``exp`` sets an absent ``validUntil``.
    VCDM 1.1: the ``vc`` claim, with the members an issuer may move into claims restored
    (VCDM 1.1 §6.3.1 decoding). Members present on both sides are compared afterwards.
    """
    if "vc" not in payload:
        credential = {name: value for name, value in payload.items() if name not in REGISTERED_CLAIMS}
        _set_time(credential, claims, "exp", "validUntil", ("validUntil",))
        return credential
    if not isinstance(payload["vc"], dict):
        raise _failure("jwt_payload_invalid", "the vc claim is not a JSON object")
    credential = dict(payload["vc"])
    for claim, name in (("iss", "issuer"), ("jti", "id")):
        if name not in credential and isinstance(claims.get(claim), str):
            credential[name] = claims[claim]
    _set_time(credential, claims, "nbf", "issuanceDate", ("validFrom", "issuanceDate"))
    _set_time(credential, claims, "exp", "expirationDate", ("validUntil", "expirationDate"))
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and "id" not in subject and isinstance(claims.get("sub"), str):
        credential["credentialSubject"] = {**subject, "id": claims["sub"]}
    return credential


def _set_time(
    credential: dict[str, Any], claims: Mapping[str, Any], claim: str, name: str, names: tuple[str, ...]
) -> None:
    moment = _from_numeric_date(claims.get(claim))
    if moment is not None and not credential.keys() & set(names):
        credential[name] = format_timestamp(moment)


def _check_claims(credential: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
    """Require the claims to state what the credential does (OB 3.0 §8.2 "Verify a Credential")."""
    bound = (("iss", _issuer_id(credential), "issuer id"), ("jti", credential.get("id"), "id"))
    for claim, value, name in bound:
        if claim not in claims:
            raise _failure("jwt_claim_missing", f"the JWT has no {claim} claim")
        if claims[claim] != value:
            raise _failure("jwt_claim_mismatch", f"{claim} differs from the credential {name}")
    times = (
        ("nbf", credential.get("validFrom", credential.get("issuanceDate"))),
        ("exp", credential.get("validUntil", credential.get("expirationDate"))),
    )
    for claim, stated in times:
        if claim not in claims:
            if claim == "nbf" or stated is not None:
                raise _failure("jwt_claim_missing", f"the JWT has no {claim} claim")
            continue
        if _from_numeric_date(claims[claim]) is None:
            raise _failure("jwt_claim_invalid", f"{claim} is not a NumericDate")
        expected = _parse_time(stated, naive_is_utc=True)
        # NumericDate counts whole seconds in practice; compare at that resolution (RFC 7519 §2).
        if expected is None or math.floor(claims[claim]) != (expected - _EPOCH) // timedelta(seconds=1):
            raise _failure("jwt_claim_mismatch", f"{claim} differs from the credential's validity dates")
    subjects = _subject_ids(credential)
    if "sub" in claims and subjects and claims["sub"] not in subjects:
        raise _failure("jwt_claim_mismatch", "sub differs from the credentialSubject id")


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise EncodingError("a compact JWS is a string of at most 1 MiB")
    parts = token.split(".")
    if len(parts) != 3:
        raise EncodingError(f"a compact JWS has 3 segments, not {len(parts)}")
    # b64url_decode refuses non-canonical spellings: otherwise a segment could change while
    # its bytes, and so the signature over jwcrypto's re-encoding, stay the same.
    header, payload, signature = (b64url_decode(part) for part in parts)
    return _json_object(header, "header"), _json_object(payload, "payload"), signature


def _json_object(data: bytes, part: str) -> dict[str, Any]:
    """A JWS header or payload: UTF-8 JSON read by the strict reader (no duplicate members)."""
    try:
        value = loads_strict(data.decode("utf-8"), source=f"JWS {part}")
    except (UnicodeDecodeError, InputError) as exc:
        raise EncodingError(f"JWS {part} is not UTF-8 JSON without duplicate members") from exc
    if not isinstance(value, dict):
        raise EncodingError(f"JWS {part} is not a JSON object")
    return value


def _canonical_json(value: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8 as is: one serialisation per value, so tokens repeat."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError (lone surrogates) is a ValueError
        raise InputError("not serialisable as UTF-8 JSON (RFC 8259)", source="JWS payload") from exc


def _issuer_id(credential: Mapping[str, Any]) -> Any:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, Mapping) else issuer


def _subject_ids(credential: Mapping[str, Any]) -> list[str]:
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    return [s["id"] for s in subjects if isinstance(s, Mapping) and isinstance(s.get("id"), str)]


def _parse_time(value: Any, *, naive_is_utc: bool) -> datetime | None:
    """Read an XSD dateTime; a missing offset means UTC only for VCDM 1.1 input."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC) if naive_is_utc else None
    return moment


def _numeric_date(moment: datetime) -> int | float:
    """Seconds since the epoch (RFC 7519 §2): an integer unless the time has a fraction."""
    seconds = (moment - _EPOCH) / timedelta(seconds=1)
    return int(seconds) if moment.microsecond == 0 else seconds


def _from_numeric_date(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    try:
        return _EPOCH + timedelta(seconds=value)
    except (OverflowError, ValueError):
        return None
