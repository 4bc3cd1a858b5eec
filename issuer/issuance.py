"""Signing charter credentials: Data Integrity (``ldp``) or VC-JWT (``jwt``).

Randomness (credential uuid, identity-hash salt) and time are parameters, drawn at the
edge, so that the same inputs always give byte-identical credentials (Ed25519 is
deterministic).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caiep.errors import InputError
from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign

FORMATS = ("ldp", "jwt")


def other_form(format: str) -> str:
    """The other of the two forms a version is issued in: ``jwt`` for ``ldp`` and back."""
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    return "jwt" if format == "ldp" else "ldp"


@dataclass(frozen=True)
class SignedCredential:
    """A signed credential: the JSON document (``ldp``) or the compact JWS (``jwt``)."""

    format: str
    credential: dict[str, Any]
    token: str | None = None

    def serialize(self) -> str:
        """The file content: pretty JSON (UTF-8, no ASCII escaping) or the JWS, newline-terminated."""
        if self.token is not None:
            return self.token + "\n"
        return serialize_json(self.credential)


# What json.dumps(document, ensure_ascii=False, separators=(",", ":")) writes, without building
# an encoder per call or tracking containers for cycles (a credential is parsed JSON or built
# from literals, never cyclic): a few microseconds less per credential in signing jobs.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def serialize_json(document: Any) -> str:
    """The one JSON form we write credentials in: compact UTF-8, one line, newline-terminated.

    Compact because it is what we store and serve byte for byte, and Python's C encoder
    writes it several times faster than an indented form (which signing jobs would feel).
    """
    return _JSON.encode(document) + "\n"


def sign_credential(
    unsigned: dict[str, Any],
    signing_key: SigningKey,
    *,
    verification_method: str,
    now: datetime,
    format: str = "ldp",
) -> SignedCredential:
    """Sign an unsigned credential as an ``eddsa-rdfc-2022`` proof or a VC-JWT."""
    if format == "ldp":
        return SignedCredential(
            "ldp", sign(unsigned, signing_key, verification_method=verification_method, created=now)
        )
    if format == "jwt":
        from caiep.proofs.jose import sign_credential_jwt  # only for JWTs: ldp jobs start faster

        token = sign_credential_jwt(unsigned, signing_key, kid=verification_method)
        return SignedCredential("jwt", unsigned, token)
    raise InputError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class SignedPair:
    """One version's issued pair: the ``served`` form (the one the hosted URL serves) and the
    ``other`` form, both signed over the same unsigned body."""

    served: SignedCredential
    other: SignedCredential


def sign_pair(
    unsigned: dict[str, Any],
    signing_key: SigningKey,
    *,
    verification_method: str,
    now: datetime,
    served: str = "ldp",
) -> SignedPair:
    """Sign one unsigned credential in both forms: the JSON credential with an
    ``eddsa-rdfc-2022`` proof (VC-DI-EdDSA §3.3) and its VC-JWT (VC-JOSE-COSE §3.1.1, OB 3.0 §8.2),
    whose payload is the same credential without a proof plus the JWT claims.

    Use it wherever a version is issued (awards, renewals, reinstatements, ``status migrate``),
    so that exports only ever read stored forms. The body is built once by the caller and
    shared: the JWT costs one Ed25519 signature beside the canonicalisation of the proof.
    """
    other = other_form(served)
    forms = {
        name: sign_credential(
            unsigned, signing_key, verification_method=verification_method, now=now, format=name
        )
        for name in (served, other)
    }
    return SignedPair(forms[served], forms[other])


def issue_charter(
    profile: IssuerProfile,
    award: CharterAward,
    signing_key: SigningKey,
    *,
    verification_method: str,
    now: datetime,
    format: str = "ldp",
    credential_uuid: str | None = None,
    salt: str | None = None,
) -> SignedCredential:
    """Build and sign one charter credential."""
    unsigned = build_charter_credential(
        profile,
        award,
        credential_uuid=credential_uuid or str(uuid.uuid4()),
        now=now,
        salt=salt or secrets.token_hex(16),
    )
    return sign_credential(
        unsigned, signing_key, verification_method=verification_method, now=now, format=format
    )
