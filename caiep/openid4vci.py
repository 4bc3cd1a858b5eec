"""OpenID4VCI issuance composed (Flask blueprint): the registry's offers, the protocol's
documents and checks, and the signer that alone signs wallet-bound copies.

Routes: the credential issuer and authorization server metadata, the offer URI (the wallet's one
GET mints the pre-authorized code), the token endpoint (pre-authorized grant, PIN, attempt
limit), the nonce endpoint and the credential endpoint, plus the holder page's POST that makes
an offer and shows its QR code and PIN. Every request body is bounded before it is read. The
credential endpoint claims the access token, asks the signer (:mod:`caiep.signerclient`) for the
copy bound to the key proof's DID, then spends the token; if the signer is down it gives the
token back and answers 503 with ``Retry-After``: nothing is issued.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from flask import Blueprint, Response, abort, current_app, request

from caiep.addresses import HOLDER_PAGE_ROUTE
from caiep.errors import InputError
from caiep.issuer import offers
from caiep.issuer.charter import CHARTER_DESCRIPTION, CHARTER_NAME, CONTEXTS
from caiep.signerclient import SignerRefused, SignerUnavailable, request_wallet_copy
from caiep.wallet_export import holder_web
from caiep.wallet_export.oid4vci import (
    AS_METADATA_PATH,
    CREDENTIAL_PATH,
    ISSUER_METADATA_PATH,
    MAX_REQUEST_BYTES,
    NONCE_PATH,
    TOKEN_PATH,
    Display,
    Oid4vciError,
    authorization_server_metadata,
    credential_request,
    credential_response,
    issuer_metadata,
    offer_object,
    token_request,
)
from caiep.wallet_export.oid4vci_proof import ProofRefused, check_key_proof
from caiep.wallet_export.qr import qr_svg_inline

#: How long an offer made on the holder page lives (the holder scans it at once).
HOLDER_OFFER_LIFETIME: Final = timedelta(days=1)
#: What a wallet is told to wait after a 503 (the signer restarting).
RETRY_AFTER_SECONDS: Final = 30
_MAX_AUTHORIZATION: Final = 128


@dataclass(frozen=True)
class OfferView:
    """An offer as the holder page shows it: the URI, its QR code (inline SVG), PIN and end."""

    offer_uri: str
    qr: str
    tx_code: str | None
    expires_at: datetime


def create_blueprint(
    registry: Any,
    *,
    issuer_url: str,
    issuer_name: str,
    logo_url: str,
    signer_socket: Path,
    find_holder_page: Callable[[str], holder_web.HolderPage | None],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Blueprint:
    """The OpenID4VCI routes of the issuer at ``issuer_url`` (its credential issuer identifier)."""
    blueprint = Blueprint("oid4vci", __name__)
    display = Display(issuer_name, CHARTER_NAME, CHARTER_DESCRIPTION, logo_url, CONTEXTS)
    metadata = json.dumps(issuer_metadata(issuer_url, display))
    as_metadata = json.dumps(authorization_server_metadata(issuer_url))

    @blueprint.get(ISSUER_METADATA_PATH)
    def credential_issuer_metadata() -> Response:
        """GET /.well-known/openid-credential-issuer (OpenID4VCI 1.0 §12.2.2)."""
        return Response(metadata, mimetype="application/json")

    @blueprint.get(AS_METADATA_PATH)
    def authorization_server() -> Response:
        """GET /.well-known/oauth-authorization-server (RFC 8414 §3)."""
        return Response(as_metadata, mimetype="application/json")

    @blueprint.get(offers.OFFER_PATH + "<token>")
    def credential_offer(token: str) -> Response:
        """GET /oid4vci/offers/<token>: the offer, once; its pre-authorized code is minted now."""
        with registry.write() as connection:
            fetched = offers.fetch_offer(connection, token, now=clock())
        if fetched is None:
            error = Oid4vciError("invalid_request", "this offer is unknown, expired or already used", 404)
            return _error(error)
        return _json(offer_object(issuer_url, fetched.code, needs_pin=fetched.needs_pin))

    @blueprint.post(TOKEN_PATH)
    def token() -> Response:
        """POST /oid4vci/token: the pre-authorized code (and PIN) for an access token."""
        try:
            _check_body("application/x-www-form-urlencoded", "invalid_request")
            code, tx_code = token_request(request.form)
        except Oid4vciError as error:
            return _error(error)
        with registry.write() as connection:
            redeemed = offers.redeem_code(connection, code, tx_code, now=clock())
        if isinstance(redeemed, offers.Refusal):
            return _error(Oid4vciError(redeemed.error, redeemed.description))
        access_token, _ = redeemed
        lifetime = int(offers.TOKEN_LIFETIME.total_seconds())
        return _json({"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime})

    @blueprint.post(NONCE_PATH)
    def nonce() -> Response:
        """POST /oid4vci/nonce: a fresh c_nonce (OpenID4VCI 1.0 §7)."""
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return _error(Oid4vciError("invalid_request", "the nonce request takes no body"))
        with registry.write() as connection:
            value = offers.new_nonce(connection, now=clock())
        return _json({"c_nonce": value, "c_nonce_expires_in": int(offers.NONCE_LIFETIME.total_seconds())})

    @blueprint.post(CREDENTIAL_PATH)
    def credential() -> Response:
        """POST /oid4vci/credential: the wallet-bound copy, signed by the signer process."""
        access_token = _bearer()
        now = clock()
        with registry.read() as connection:
            known = access_token is not None and offers.token_credential(connection, access_token, now=now)
        if not known or access_token is None:
            response = _error(
                Oid4vciError("invalid_token", "the access token is unknown, expired or spent", 401)
            )
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        try:
            _check_body("application/json", "invalid_credential_request")
            wanted = credential_request(request.get_data(cache=False))
            proof = check_key_proof(wanted.proof, audience=issuer_url, now=now)
        except Oid4vciError as error:
            return _error(error)
        except ProofRefused as refused:
            return _error(Oid4vciError("invalid_proof", str(refused)))
        return _issue(access_token, wanted.form, proof.did, proof.nonce)

    def _issue(access_token: str, form: str, did: str, nonce_value: str) -> Response:
        now = clock()
        with registry.write() as connection:
            if not offers.take_nonce(connection, nonce_value, now=now):
                return _error(Oid4vciError("invalid_nonce", "the c_nonce is unknown, expired or used"))
            claim = offers.claim_token(connection, access_token, now=now)
            if claim is None:
                return _error(Oid4vciError("invalid_token", "the access token is in use or spent", 401))
            current, _ = offers.charter_standing(connection, claim.credential_id, now=now)
            if not current:
                offers.release_claim(connection, claim)
                return _denied()
        try:
            copy = request_wallet_copy(
                signer_socket, credential_id=claim.credential_id, subject=did, form=form, channel="openid4vci"
            )
        except (SignerUnavailable, SignerRefused) as failure:
            with registry.write() as connection:
                offers.release_claim(connection, claim)
            if isinstance(failure, SignerRefused) and failure.error == "not_current":
                return _denied()
            if isinstance(failure, SignerRefused) and failure.error == "bad_request":
                return _error(Oid4vciError("invalid_proof", "the key proof's DID cannot be bound"))
            if isinstance(failure, SignerRefused):  # internal, forbidden: the operator must look
                current_app.logger.error("the signer refused a wallet copy: %s", failure.error)
                return _error(Oid4vciError("server_error", "the credential could not be signed", 500))
            response = _error(Oid4vciError("server_error", "issuance is paused; try again shortly", 503))
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        with registry.write() as connection:
            offers.mark_issued(connection, claim, now=clock())
        return _json(credential_response(copy.format, copy.document))

    @blueprint.post(HOLDER_PAGE_ROUTE + "/oid4vci")
    def holder_offer(token: str) -> Response:
        """POST /h/<token>/oid4vci: an offer of one of the holder's current charters, shown at once."""
        page = find_holder_page(token)
        if page is None:
            abort(404, description=holder_web.NOT_FOUND)
        wanted = request.form.get("credential", "")[:64]
        if not any(c.credential_id == wanted and c.state == "current" for c in page.charters):
            abort(404, description="This charter cannot be put into a wallet now.")
        now = clock()
        try:
            with registry.write() as connection:
                made = offers.create_offer(
                    connection,
                    wanted,
                    pin=True,
                    expires_in=HOLDER_OFFER_LIFETIME,
                    now=now,
                    issuer_url=issuer_url,
                    actor="holder page",
                )
        except InputError:
            abort(404, description="This charter cannot be put into a wallet now.")
        label = "QR code of your wallet offer: scan it with your wallet app"
        view = OfferView(made.offer_uri, qr_svg_inline(made.offer_uri, label), made.tx_code, made.expires_at)
        return Response(holder_web.render_page(page, oid4vci_offers={wanted: view}), mimetype="text/html")

    return blueprint


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if len(header) > _MAX_AUTHORIZATION or scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _check_body(media_type: str, error: str) -> None:
    """Refuse a body of another media type, or over MAX_REQUEST_BYTES, before reading it."""
    if request.mimetype != media_type:
        raise Oid4vciError(error, f"the request's Content-Type must be {media_type}")
    length = request.content_length
    if length is None or length > MAX_REQUEST_BYTES:
        raise Oid4vciError(error, f"the request needs a Content-Length of at most {MAX_REQUEST_BYTES} bytes")


def _denied() -> Response:
    message = "the charter is no longer current (suspended, revoked or lapsed): nothing was issued"
    return _error(Oid4vciError("credential_request_denied", message))


def _json(value: Any) -> Response:
    return Response(json.dumps(value), mimetype="application/json")


def _error(error: Oid4vciError) -> Response:
    return Response(json.dumps(error.body()), status=error.status, mimetype="application/json")
