"""A wallet's side of OpenID4VCI in Python, for tests that bend one rule at a time: its keys,
its key proofs (signed with jwcrypto, from the JWT's parts, so any part may be wrong), and the
steps of the pre-authorized flow through a Flask test client."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jwcrypto import jwk, jws

from caiep.keys.base58 import b58encode

ISSUER_URL = "https://credentials.caiep.example"
GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class WalletKey:
    """A wallet key: ``ed25519`` or ``p256``; its did:key and did:jwk."""

    kind: str = "ed25519"
    key: jwk.JWK = field(init=False)

    def __post_init__(self) -> None:
        self.key = (
            jwk.JWK.generate(kty="OKP", crv="Ed25519")
            if self.kind == "ed25519"
            else jwk.JWK.generate(kty="EC", crv="P-256")
        )

    @property
    def alg(self) -> str:
        return "EdDSA" if self.kind == "ed25519" else "ES256"

    @property
    def public_jwk(self) -> dict[str, str]:
        return {
            k: v for k, v in self.key.export_public(as_dict=True).items() if k in ("kty", "crv", "x", "y")
        }

    @property
    def did_key(self) -> str:
        x = base64.urlsafe_b64decode(self.public_jwk["x"] + "==")
        if self.kind == "ed25519":
            return "did:key:z" + b58encode(b"\xed\x01" + x)
        y = base64.urlsafe_b64decode(self.public_jwk["y"] + "==")
        return "did:key:z" + b58encode(b"\x80\x24" + bytes([2 + y[-1] % 2]) + x)  # p256-pub, compressed

    @property
    def kid(self) -> str:
        return f"{self.did_key}#{self.did_key[len('did:key:') :]}"

    @property
    def did_jwk(self) -> str:
        text = json.dumps(self.public_jwk, sort_keys=True, separators=(",", ":"))
        return "did:jwk:" + b64url(text.encode("ascii"))

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        if header["alg"] != self.alg:  # an algorithm this key cannot sign with: a made-up signature
            parts = (json.dumps(header).encode(), json.dumps(claims).encode(), b"\0" * 64)
            return ".".join(b64url(part) for part in parts)
        token = jws.JWS(json.dumps(claims).encode("utf-8"))
        token.add_signature(self.key, alg=header["alg"], protected=json.dumps(header))
        return str(token.serialize(compact=True))

    def proof(
        self,
        nonce: str | None,
        *,
        binding: str = "kid",
        aud: Any = ISSUER_URL,
        iat: float | None = None,
        **header: Any,
    ) -> str:
        """A key proof: header ``typ``/``alg`` and the ``kid`` or ``jwk`` binding, changed by ``header``."""
        head: dict[str, Any] = {"typ": "openid4vci-proof+jwt", "alg": self.alg}
        head["kid" if binding == "kid" else "jwk"] = self.kid if binding == "kid" else self.public_jwk
        head.update(header)
        head = {k: v for k, v in head.items() if v is not None}
        claims: dict[str, Any] = {"aud": aud, "iat": int(time.time()) if iat is None else iat}
        if nonce is not None:
            claims["nonce"] = nonce
        return self.sign(head, claims)


def offer_path(offer_uri: str) -> str:
    """The path of the offer URI inside an ``openid-credential-offer://`` URI."""
    [url] = parse_qs(urlsplit(offer_uri).query)["credential_offer_uri"]
    assert url.startswith(ISSUER_URL + "/oid4vci/offers/"), url
    return url[len(ISSUER_URL) :]


def fetch_code(client: Any, offer_uri: str) -> tuple[str, dict[str, Any]]:
    """The wallet's GET of the offer: its pre-authorized code and the offer object."""
    response = client.get(offer_path(offer_uri))
    assert response.status_code == 200, response.get_data(as_text=True)
    offer = response.get_json()
    return offer["grants"][GRANT]["pre-authorized_code"], offer


def token(client: Any, code: str, tx_code: str | None = None) -> Any:
    data = {"grant_type": GRANT, "pre-authorized_code": code}
    if tx_code is not None:
        data["tx_code"] = tx_code
    return client.post("/oid4vci/token", data=data)


def nonce(client: Any) -> str:
    response = client.post("/oid4vci/nonce")
    assert response.status_code == 200
    return str(response.get_json()["c_nonce"])


def credential(client: Any, access_token: str, body: Any) -> Any:
    return client.post(
        "/oid4vci/credential",
        data=json.dumps(body) if not isinstance(body, bytes) else body,
        headers={"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"},
    )
