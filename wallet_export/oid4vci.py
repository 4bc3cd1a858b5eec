"""OpenID for Verifiable Credential Issuance 1.0 (final): the documents and requests we speak.

The pre-authorized code flow only (``../shared/STANDARDS.md`` §6.1): issuer metadata with two
credential configurations of the one charter (:data:`CONFIGURATIONS`: ``ldp_vc``, the JSON
credential with its Data Integrity proof, and ``jwt_vc_json-ld``, our VC-JWT form, a JSON-LD
credential inside a JWT), the OAuth authorization server metadata (RFC 8414; the issuer is its
own), the credential offer object, and the parsing of token and credential requests, each input
bounded before it is read. Errors are :class:`Oid4vciError` carrying the specification's code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from caiep.errors import InputError
from caiep.strictjson import loads_strict

PRE_AUTHORIZED_GRANT: Final = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: configuration id -> (OpenID4VCI format, the signer's form)
CONFIGURATIONS: Final = {"CAiEP_ldp_vc": ("ldp_vc", "ldp"), "CAiEP_jwt_vc_json-ld": ("jwt_vc_json-ld", "jwt")}
CREDENTIAL_PATH: Final = "/oid4vci/credential"
NONCE_PATH: Final = "/oid4vci/nonce"
TOKEN_PATH: Final = "/oid4vci/token"  # noqa: S105  (a path, not a secret)
ISSUER_METADATA_PATH: Final = "/.well-known/openid-credential-issuer"
AS_METADATA_PATH: Final = "/.well-known/oauth-authorization-server"
#: Largest body of a token or credential request, in bytes (a key proof is at most 4 KiB).
MAX_REQUEST_BYTES: Final = 8 * 1024
_CREDENTIAL_REQUEST_MEMBERS: Final = frozenset(
    {
        "credential_configuration_id",
        "credential_identifier",
        "proofs",
        "proof",
        "format",
        "credential_definition",
    }
)
_TX_CODE_DESCRIPTION: Final = "The PIN shown beside the offer's QR code (or given to you with the offer link)"
_PIN_LENGTH: Final = 6


class Oid4vciError(Exception):
    """A refused request: ``error`` is the specification's code, sent as JSON with ``status``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """The JSON error answer (RFC 6749 §5.2, OpenID4VCI 1.0 §8.3.1.2)."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Display:
    """What a wallet shows of the issuer and the charter: names, description and the badge."""

    issuer_name: str
    charter_name: str
    description: str
    logo_url: str
    contexts: Sequence[str]
    types: Sequence[str] = ("VerifiableCredential", "OpenBadgeCredential")


def issuer_metadata(issuer_url: str, display: Display) -> dict[str, Any]:
    """The credential issuer metadata (OpenID4VCI 1.0 §12.2) of ``issuer_url``."""
    logo = {"uri": display.logo_url, "alt_text": f"The {display.charter_name} badge"}
    configurations = {
        configuration_id: {
            "format": format_name,
            "scope": configuration_id,
            "credential_definition": {"@context": list(display.contexts), "type": list(display.types)},
            "cryptographic_binding_methods_supported": ["did:key", "did:jwk"],
            "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"] if form == "ldp" else ["EdDSA"],
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA", "ES256"]}},
            "credential_metadata": {
                "display": [
                    {
                        "name": display.charter_name,
                        "locale": "en",
                        "description": display.description,
                        "logo": logo,
                        "background_color": "#12284c",
                        "text_color": "#ffffff",
                    }
                ]
            },
        }
        for configuration_id, (format_name, form) in CONFIGURATIONS.items()
    }
    return {
        "credential_issuer": issuer_url,
        "credential_endpoint": issuer_url + CREDENTIAL_PATH,
        "nonce_endpoint": issuer_url + NONCE_PATH,
        "display": [{"name": display.issuer_name, "locale": "en", "logo": logo}],
        "credential_configurations_supported": configurations,
    }


def authorization_server_metadata(issuer_url: str) -> dict[str, Any]:
    """The OAuth 2.0 authorization server metadata (RFC 8414) of the issuer, its own AS."""
    return {
        "issuer": issuer_url,
        "token_endpoint": issuer_url + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
    }


def offer_object(issuer_url: str, code: str, *, needs_pin: bool) -> dict[str, Any]:
    """The credential offer a wallet fetches (OpenID4VCI 1.0 §4.1.1), with its new code."""
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if needs_pin:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": _PIN_LENGTH,
            "description": _TX_CODE_DESCRIPTION,
        }
    return {
        "credential_issuer": issuer_url,
        "credential_configuration_ids": list(CONFIGURATIONS),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def token_request(form: Mapping[str, str]) -> tuple[str, str | None]:
    """The pre-authorized code and tx_code of a token request's form (OpenID4VCI 1.0 §6.1)."""
    grant_type = form.get("grant_type")
    if grant_type != PRE_AUTHORIZED_GRANT:
        error = "unsupported_grant_type" if grant_type else "invalid_request"
        raise Oid4vciError(error, f"grant_type must be {PRE_AUTHORIZED_GRANT}")
    code = form.get("pre-authorized_code")
    if not code:
        raise Oid4vciError("invalid_request", "pre-authorized_code is missing")
    tx_code = form.get("tx_code")
    return code, tx_code if tx_code is not None else None


@dataclass(frozen=True)
class CredentialRequest:
    """A parsed credential request: which configuration, the signer's form, and the key proof."""

    configuration_id: str
    form: str
    proof: object


def credential_request(body: bytes) -> CredentialRequest:
    """Parse a credential request body (OpenID4VCI 1.0 §8.2), bounded and strict."""
    if len(body) > MAX_REQUEST_BYTES:
        raise Oid4vciError("invalid_credential_request", f"the request is over {MAX_REQUEST_BYTES} bytes")
    try:
        request = loads_strict(body.decode("utf-8"), max_depth=8, source="credential request")
    except (UnicodeDecodeError, InputError) as exc:
        raise Oid4vciError("invalid_credential_request", "the request is not a JSON object") from exc
    if not isinstance(request, dict):
        raise Oid4vciError("invalid_credential_request", "the request is not a JSON object")
    extra = sorted(request.keys() - _CREDENTIAL_REQUEST_MEMBERS)
    if extra:
        raise Oid4vciError("invalid_credential_request", f"unknown request members: {extra}")
    if "credential_identifier" in request:
        raise Oid4vciError(
            "invalid_credential_request",
            "this issuer gives no credential_identifier: name credential_configuration_id",
        )
    configuration_id = request.get("credential_configuration_id")
    if not isinstance(configuration_id, str):
        raise Oid4vciError("invalid_credential_request", "credential_configuration_id is missing")
    if configuration_id not in CONFIGURATIONS:
        shown = json.dumps(configuration_id[:80])
        raise Oid4vciError("unknown_credential_configuration", f"no credential configuration {shown}")
    if "proof" in request:
        raise Oid4vciError("invalid_proof", "send the key proof in proofs.jwt (OpenID4VCI 1.0), not proof")
    proofs = request.get("proofs")
    if not isinstance(proofs, dict) or set(proofs) != {"jwt"}:
        raise Oid4vciError("invalid_proof", "proofs must be an object with one jwt proof")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or len(jwts) != 1:
        raise Oid4vciError("invalid_proof", "proofs.jwt must hold exactly one key proof (batch size 1)")
    return CredentialRequest(configuration_id, CONFIGURATIONS[configuration_id][1], jwts[0])


def credential_response(form: str, document: str) -> dict[str, Any]:
    """The credential response (OpenID4VCI 1.0 §8.3): an ldp_vc as its JSON object, a JWT as text."""
    credential: Any = json.loads(document) if form == "ldp" else document
    return {"credentials": [{"credential": credential}]}
