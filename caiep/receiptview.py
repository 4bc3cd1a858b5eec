"""Signed verification receipts on the web: the verification service's DID document and receipt
context, and the receipts of a stored credential's check (Flask blueprint ``receipts``).

``GET /verifier/did.json`` is the DID document of ``did:web:<host>:verifier`` (every key the
service ever signed receipts with); ``GET /contexts/receipt/v1`` the receipt context's pinned
bytes. ``GET /c/<uuid>/receipt.json`` and ``/c/<uuid>/receipt.pdf`` check the stored credential
now, as its page does, and answer the signed record of that check (the PDF is its readable copy).
``POST /verify/receipt.json`` and ``/verify/receipt.pdf`` do the same for a credential checked on
``/verify``: its page carries the exact bytes it checked (base64, in a hidden field) and the
server checks them again, so a result sent by a client is never signed. Nothing is stored.
Receipts of the register and of ``POST /api/v1/verify`` are made by those routes.

The receipt key is the verification service's own (:mod:`caiep.verifierkey`), opened at start
without the issuer's passphrase; an instance without one serves no receipts (503) and says so in
its log at start.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, request

from caiep.addresses import (
    RECEIPT_JSON_ROUTE,
    RECEIPT_PDF_ROUTE,
    VERIFIER_DID_ROUTE,
    VERIFY_RECEIPT_JSON_ROUTE,
    VERIFY_RECEIPT_PDF_ROUTE,
)
from caiep.errors import ConfigurationError, InputError
from caiep.receiptfiles import receipt_response
from caiep.schemas.loader import RECEIPT_CONTEXT_PATH, receipt_context_bytes
from caiep.settings import Configuration
from caiep.verifier.inputs import read_presented
from caiep.verifier.limits import LimitExceeded
from caiep.verifier.receipts import ReceiptIssuer
from caiep.verifier.web import RECHECK_FIELD, Judge, with_standing
from caiep.verifierkey import has_verifier_key, load_receipt_issuer, verifier_did_document

LOG = logging.getLogger("caiep.receipts")


def load_receipts(configuration: Configuration) -> tuple[ReceiptIssuer | None, dict[str, Any] | None]:
    """The receipt signer and the verifier's DID document; (None, None), with a warning in the
    log, for an instance made before receipts (``caiep db upgrade`` gives it the key)."""
    if not has_verifier_key(configuration.home):
        LOG.warning(
            "no verifier key in %s: no receipts are signed; run 'caiep db upgrade'", configuration.home
        )
        return None, None
    try:
        return load_receipt_issuer(configuration), verifier_did_document(configuration)
    except ConfigurationError:
        LOG.exception("the verifier key cannot be opened: no receipts are signed")
        raise


@dataclass(frozen=True)
class ReceiptServices:
    """What the routes need: the signer (None: none), its DID document, the judge of stored credentials."""

    receipts: ReceiptIssuer | None
    did_document: Mapping[str, Any] | None
    judging: Judge
    clock: Callable[[], datetime]


def create_blueprint(services: ReceiptServices) -> Blueprint:
    """The receipt routes."""
    blueprint = Blueprint("receipts", __name__)

    @blueprint.get(VERIFIER_DID_ROUTE)
    def verifier_did_document() -> Response:
        """GET /verifier/did.json: the verification service's DID document."""
        if services.did_document is None:
            abort(404, description="This service signs no receipts.")
        return Response(json.dumps(services.did_document, indent=2), mimetype="application/did+ld+json")

    @blueprint.get(RECEIPT_CONTEXT_PATH)
    def receipt_context() -> Response:
        """GET /contexts/receipt/v1: the receipt vocabulary, the pinned bytes."""
        return Response(receipt_context_bytes(), mimetype="application/ld+json")

    def stored_receipt(credential_id: Any) -> dict[str, Any]:
        if services.receipts is None:
            abort(503, description="This service signs no receipts.")
        stored = services.judging.stored(str(credential_id))
        if stored is None:
            abort(404, description="There is no CAiEP credential at this address.")
        result, _, checked = stored
        receipt = services.judging.receipt(result, checked)
        assert receipt is not None
        return receipt

    def rechecked_receipt() -> dict[str, Any]:
        """The receipt of a credential a ``/verify`` page sent back, checked again here."""
        if services.receipts is None:
            abort(503, description="This service signs no receipts.")
        encoded = request.form.get(RECHECK_FIELD, "")
        try:
            checked = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            checked = b""
        if not checked:
            abort(400, description=f"{RECHECK_FIELD}: the base64 of the credential to check")
        try:
            presented = read_presented(checked, source=RECHECK_FIELD)
        except InputError as exc:
            abort(422 if isinstance(exc, LimitExceeded) else 400, description=exc.message)
        judging = services.judging
        result = judging.judge(presented)
        receipt = judging.receipt(with_standing(result, judging.standing_of(result, None)), checked)
        assert receipt is not None
        return receipt

    @blueprint.post(VERIFY_RECEIPT_JSON_ROUTE)
    def verify_receipt_json() -> Response:
        """POST /verify/receipt.json: the signed record of a check of the credential sent back."""
        return receipt_response(rechecked_receipt(), "json")

    @blueprint.post(VERIFY_RECEIPT_PDF_ROUTE)
    def verify_receipt_pdf() -> Response:
        """POST /verify/receipt.pdf: the same record as a printable page."""
        return receipt_response(rechecked_receipt(), "pdf")

    @blueprint.get(RECEIPT_JSON_ROUTE)
    def credential_receipt_json(credential_id: Any) -> Response:
        """GET /c/<uuid>/receipt.json: the signed record of a check of this credential, made now."""
        return receipt_response(stored_receipt(credential_id), "json")

    @blueprint.get(RECEIPT_PDF_ROUTE)
    def credential_receipt_pdf(credential_id: Any) -> Response:
        """GET /c/<uuid>/receipt.pdf: the same record as a printable page."""
        return receipt_response(stored_receipt(credential_id), "pdf")

    return blueprint
