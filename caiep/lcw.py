"""The Learner Credential Wallet exchange, composed: holder page, registry, protocol and signer.

Two routes (a Flask blueprint):

* ``POST /h/<token>/lcw`` (form field ``credential``): the holder's private page opens a
  single-use exchange for one of their current charters and shows it again with the exchange's
  deep links and QR code (:mod:`caiep.wallet_export.lcw`), valid ``lcw_exchange_minutes``.
* ``POST /exchanges/<id>``: the VC-API exchange the wallet drives. ``{}`` gets the DID
  Authentication request; ``{"verifiablePresentation": …}`` is checked against the exchange's
  challenge and our origin as ``domain``, the exchange is claimed (once: a replay is refused),
  and the signer process (:mod:`caiep.signerclient`, which alone holds the key) signs a copy
  bound to the holder's DID, returned inside a presentation.

Every refusal is JSON, ``{"error": {"code", "message", "location"?}}``, and issues nothing: a
malformed or wrongly signed presentation is 400 (five close the exchange), an unknown exchange
404, a used, closed or expired one 410, a charter no longer current 403, a signer that cannot be
reached 503 with ``Retry-After`` (the exchange stays open for the wallet's retry).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, abort, request

from caiep.addresses import EXCHANGE_ROUTE, HOLDER_LCW_ROUTE, ServiceAddresses
from caiep.issuer import exchanges
from caiep.signerclient import SignedCopy, SignerRefused, SignerUnavailable, request_wallet_copy
from caiep.wallet_export import lcw
from caiep.wallet_export.holder_web import NOT_FOUND, HolderPage, render_page

if TYPE_CHECKING:
    from caiep.issuer.registry import Registry

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
#: Seconds a wallet is asked to wait when the signer cannot be reached.
RETRY_AFTER = 30


@dataclass(frozen=True)
class LcwServices:
    """What the exchange needs: the registry, our base URL, the signer's socket, the exchange
    lifetime, the clock, the holder page reader, and how a copy is obtained (the signer client)."""

    registry: Registry
    issuer_url: str
    signer_socket: Path
    lifetime: timedelta
    clock: Callable[[], datetime]
    find_page: Callable[[str], HolderPage | None]
    obtain: Callable[..., SignedCopy] = request_wallet_copy


def _refuse(status: int, code: str, message: str, location: str | None = None) -> Response:
    error: dict[str, str] = {"code": code, "message": message}
    if location:
        error["location"] = location
    return Response(json.dumps({"error": error}), status=status, mimetype="application/json")


def _answer(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, mimetype="application/json")


def create_blueprint(services: LcwServices) -> Blueprint:
    """The holder page's exchange POST and the VC-API exchange route."""
    blueprint = Blueprint("lcw", __name__)
    addresses = ServiceAddresses(services.issuer_url)
    origin = lcw.origin_of(addresses.base_url)

    @blueprint.post(HOLDER_LCW_ROUTE)
    def open_exchange(token: str) -> Response:
        """POST /h/<token>/lcw: open an exchange for one current charter; the page shows it."""
        credential = request.form.get("credential", "")
        if not _UUID.match(credential):
            abort(404, description=NOT_FOUND)
        now = services.clock()
        try:
            with services.registry.write() as connection:
                opened = exchanges.open_for_holder(
                    connection, token, credential, lifetime=services.lifetime, now=now
                )
        except exchanges.ExchangeRefused as exc:
            if exc.code == "not_current":
                abort(409, description="Only a current charter can be put into a wallet.")
            if exc.code == "too_many_open":
                abort(
                    409, description="Several wallet codes of this charter are still open: use one of them."
                )
            abort(404, description=NOT_FOUND)
        page = services.find_page(token)
        if page is None:  # the link was revoked in the meantime
            abort(404, description=NOT_FOUND)
        offer = lcw.lcw_offer(origin, addresses.exchange(opened.exchange_id), opened.expires_at)
        return Response(render_page(page, lcw={opened.credential_id: offer}), mimetype="text/html")

    @blueprint.post(EXCHANGE_ROUTE)
    def exchange(exchange_id: str) -> Response:
        """POST /exchanges/<id>: one step of the wallet's VC-API exchange."""
        size = request.content_length
        if size is not None and size > lcw.MAX_MESSAGE_BYTES:
            return _refuse(413, "too_large", f"an exchange message is at most {lcw.MAX_MESSAGE_BYTES} bytes")
        body = request.stream.read(lcw.MAX_MESSAGE_BYTES + 1)
        try:
            message = lcw.read_message(body)
        except lcw.ExchangeInputError as exc:
            return _refuse(413 if exc.code == "too_large" else 400, exc.code, exc.message, exc.location)
        now = services.clock()
        with services.registry.read() as connection:
            found = exchanges.find(connection, exchange_id, now=now)
        refusal = _refusal_of(found)
        if refusal is not None:
            return refusal
        assert found is not None
        if "verifiablePresentation" not in message:
            return _answer(lcw.presentation_request(found.challenge, origin))
        try:
            holder = lcw.check_did_authentication(
                message["verifiablePresentation"], challenge=found.challenge, domain=origin
            )
        except lcw.ExchangeInputError as exc:
            with services.registry.write() as connection:
                exchanges.record_failure(connection, exchange_id, now=now)
            return _refuse(400, exc.code, exc.message, exc.location)
        return _issue(services, exchange_id, found.credential_id, holder, now)

    return blueprint


def _refusal_of(found: exchanges.Exchange | None) -> Response | None:
    """The answer to an exchange that cannot go on, or None when it is open."""
    if found is None:
        return _refuse(404, "unknown_exchange", "there is no such exchange: open a new one from your page")
    if found.state == "used":
        return _refuse(410, "exchange_used", "this exchange has been used: open a new one from your page")
    if found.state == "closed":
        return _refuse(410, "exchange_closed", "this exchange is closed: open a new one from your page")
    if found.expired:
        return _refuse(410, "exchange_expired", "this exchange has expired: open a new one from your page")
    return None


def _issue(
    services: LcwServices, exchange_id: str, credential_id: str, holder: str, now: datetime
) -> Response:
    """Claim the exchange, have the signer sign the copy bound to ``holder``, hand it over."""
    with services.registry.write() as connection:
        claimed = exchanges.claim(connection, exchange_id, now=now)
        found = None if claimed else exchanges.find(connection, exchange_id, now=now)
    if not claimed:  # used, expired or closed since it was read; or another request holds it
        refusal = _refusal_of(found)
        return refusal or _refuse(409, "exchange_busy", "this exchange is being used by another request")
    try:
        copy = services.obtain(
            services.signer_socket, credential_id=credential_id, subject=holder, form="ldp", channel="lcw"
        )
    except SignerUnavailable:
        with services.registry.write() as connection:
            exchanges.release(connection, exchange_id)
        response = _refuse(
            503, "temporarily_unavailable", "the credential cannot be signed just now; try again"
        )
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    except SignerRefused as exc:
        with services.registry.write() as connection:
            if exc.error in ("not_current", "unknown_credential"):
                exchanges.close(connection, exchange_id, now=services.clock())
            else:
                exchanges.release(connection, exchange_id)
        if exc.error == "not_current":
            return _refuse(403, "not_current", "this charter is no longer current: nothing was issued")
        return _refuse(500, "signing_failed", "the credential could not be signed; try again later")
    with services.registry.write() as connection:
        exchanges.complete(connection, exchange_id, holder, now=services.clock())
    return _answer(lcw.credential_presentation(json.loads(copy.document)))
