"""The public verification pages and JSON API (a Flask blueprint).

``/c/<uuid>`` is what the QR code on a certificate opens: the stored credential is verified
at request time (proof, key provenance, validity, status), never just echoed from the
database. ``/verify`` and ``POST /api/v1/verify`` judge any issuer's OB 3.0 credential the
same way. What the blueprint needs (how to find our credentials, the fetcher, the clock)
arrives as parameters; it reads no settings and imports nothing of the issuer. What the routes
decide is :mod:`caiep.verifier.judging` (its services, judge and standing are re-exported here).
"""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime
from importlib import resources
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from caiep.addresses import PAGE_ROUTE, STATUS_ROUTE
from caiep.baking import extract_credential
from caiep.errors import InputError
from caiep.verifier.inputs import MAX_BYTES, read_presented
from caiep.verifier.judging import (
    CLAIMED_ONLY,
    Download,
    Judge,
    Standing,
    VerifierServices,
    api_result,
    with_standing,
)
from caiep.verifier.limits import LimitExceeded
from caiep.verifier.report import summary
from caiep.verifier.result import Verdict, VerificationResult

__all__ = [
    "CLAIMED_ONLY",
    "RECHECK_FIELD",
    "Download",
    "Judge",
    "Standing",
    "VerifierServices",
    "create_blueprint",
    "with_standing",
]

VERDICT_TEXT = {
    Verdict.VALID: "Valid",
    Verdict.EXPIRED: "Expired",
    Verdict.NOT_YET_VALID: "Not yet valid",
    Verdict.REVOKED: "Revoked",
    Verdict.SUSPENDED: "Suspended",
    Verdict.INVALID: "Invalid",
    Verdict.UNVERIFIABLE: "Cannot be verified",
}
CHECK_TITLES = {
    "structure": "Open Badges 3.0 structure",
    "contexts": "Vocabulary (JSON-LD contexts)",
    "proof": "Issuer's signature",
    "validity": "Validity period",
    "status": "Revocation and suspension",
}
_BAKED = (".png", ".svg")
#: The hidden field in which a /verify page carries the bytes it checked (base64) for a receipt.
RECHECK_FIELD = "checked"
#: A multipart form's own bytes beside the field: a credential whose base64 would not fit the body
#: cap with them cannot be sent back, and its page points to the API instead.
_FORM_OVERHEAD = 4096
# JSON credentials, and compact JWS as text: read_presented tells them apart by content.
_BODY_TYPES = frozenset(
    {
        "application/json",
        "application/ld+json",
        "application/vc+ld+json",
        "application/vc",
        "text/plain",
        "application/jwt",
        "application/vc+jwt",
    }
)


def create_blueprint(services: VerifierServices) -> Blueprint:
    """The verification pages and JSON API, given what they need from the application."""
    blueprint = Blueprint("verifier", __name__, template_folder="templates", static_folder="static")

    @blueprint.before_request
    def bound_streamed_body() -> None:
        """Read a body sent without Content-Length (chunked) through the cap: 413 past it.

        Werkzeug checks ``max_content_length`` against Content-Length only, and cuts a streamed
        body at the limit without saying so, which would verify a truncated document. Read at
        most one byte past the cap and refuse if it arrives; keep what was read for the route.
        """
        if request.method != "POST" or request.content_length is not None:
            return
        if not request.environ.get("wsgi.input_terminated"):
            return  # without a length or a server that ends the stream, Werkzeug reads nothing
        body = _read_at_most(request.environ["wsgi.input"], MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise RequestEntityTooLarge()
        request.environ["wsgi.input"] = io.BytesIO(body)  # still "terminated": it ends here

    judging = Judge(services)
    judge = judging.judge
    standing_of = judging.standing_of

    def page(
        result: VerificationResult,
        *,
        credential_id: str | None,
        status: int = 200,
        standing: Standing | None = None,
        checked: bytes | None = None,
    ) -> Response:
        """The HTML page of one verification result; ``checked``: the bytes a /verify page checked,
        which it can send back for a signed record of their check (None: a stored credential's)."""
        facts = summary(result.credential)
        renewed = (
            standing is not None and standing.version == "superseded" and result.verdict is Verdict.VALID
        )
        body = render_template(
            "verifier/credential.html",
            result=result,
            facts=facts,
            verdict="Renewed" if renewed else VERDICT_TEXT[result.verdict],
            verdict_class=result.verdict.value,
            renewed=renewed,
            standing=standing,
            # A charter whose current version verified, on its own page: its badge and downloads.
            live=credential_id is not None
            and standing is not None
            and standing.state == "current"
            and standing.version == "current"
            and result.verdict is Verdict.VALID,
            titles=CHECK_TITLES,
            ours=facts.get("issuerId") == services.issuer_id,
            issuer_name=services.issuer_name,
            credential_id=credential_id,
            checked_at=services.clock(),
            receipts=services.receipts is not None,
            recheck=_recheck(checked) if services.receipts is not None and checked is not None else None,
        )
        return Response(body, status=status, mimetype="text/html")

    @blueprint.get(PAGE_ROUTE)
    def credential_page(credential_id: Any) -> Response:
        """GET /c/<uuid>: one of our credentials, verified at request time."""
        stored = judging.stored(str(credential_id))
        if stored is None:
            abort(404, description="There is no CAiEP credential at this address.")
        result, standing, _ = stored
        return page(result, credential_id=str(credential_id), standing=standing)

    @blueprint.get("/verify")
    def verify_form() -> str:
        """GET /verify: the form to paste or upload any issuer's credential."""
        return render_template("verifier/verify.html", error=None)

    @blueprint.post("/verify")
    def verify_submitted() -> Response:
        """POST /verify: the page for a pasted or uploaded credential (400 unreadable, 422 over a limit)."""
        try:
            presented, checked = _presented_from_request(form=True)
        except InputError as exc:
            # The pasted text comes back in the form (escaped), so a typo costs no second paste.
            body = render_template("verifier/verify.html", error=str(exc.message), pasted=_pasted_text())
            return Response(body, status=_status_of(exc), mimetype="text/html")
        result = judge(presented)
        standing = standing_of(result, None)
        return page(with_standing(result, standing), credential_id=None, standing=standing, checked=checked)

    @blueprint.post("/api/v1/verify")
    def api_verify() -> Response:
        """POST /api/v1/verify: the JSON result for a credential in the body or an upload.

        400 ``invalid_input`` for unreadable input, 422 ``limit_exceeded`` over a structural limit.
        With ``?receipt=true`` the answer also carries ``receipt``, the service's signed record of
        this check (503 ``receipts_unavailable`` when the service has no receipt key).
        """
        wants_receipt = _wants_receipt()
        if wants_receipt and services.receipts is None:
            return _json_error(503, "receipts_unavailable", "this service signs no receipts")
        try:
            presented, checked = _presented_from_request(form=False)
        except InputError as exc:
            return _json_error(_status_of(exc), exc.code, exc.message)
        result = judge(presented)
        standing = standing_of(result, None)  # one of ours that verified: the registry's word too
        extra = standing.to_json() if standing is not None else {}
        answered = with_standing(result, standing)
        body = {**api_result(answered), **extra}
        if wants_receipt:
            body["receipt"] = judging.receipt(answered, checked)
        return _json(body)

    @blueprint.get(STATUS_ROUTE)
    def api_status(credential_id: Any) -> Response:
        """GET /api/v1/credentials/<uuid>/status: the current verdict of one of ours."""
        document = services.find_document(str(credential_id))
        if document is None:
            return _json_error(404, "not_found", "no CAiEP credential has this id")
        result = judge(read_presented(document))
        standing = standing_of(result, str(credential_id))
        extra = standing.to_json() if standing is not None else dict.fromkeys(_STANDING_FIELDS)
        return _json(
            {
                **api_result(with_standing(result, standing)),
                **extra,
                "checkedAt": services.clock().isoformat(),
            }
        )

    @blueprint.get("/openapi.json")
    def openapi() -> Response:
        """GET /openapi.json: the OpenAPI 3.1 description of the JSON API."""
        text = resources.files("caiep.verifier").joinpath("openapi.json").read_text(encoding="utf-8")
        return Response(text, mimetype="application/json")

    @blueprint.app_template_filter("day")
    def day(value: str | None) -> str:
        """An ISO 8601 timestamp as the date a person reads: 26 November 2031."""
        if not value:
            return ""
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return f"{moment.day} {moment:%B %Y}"

    @blueprint.app_context_processor
    def links() -> dict[str, Any]:
        """Template globals: the address of the verification form."""
        return {"verify_url": url_for("verifier.verify_form")}

    return blueprint


#: The status API's registry fields: null when the registry cannot vouch for the document.
_STANDING_FIELDS = ("state", "version", "stateSince", "publicReason", "holderSince", "currentUntil", "lapses")


def _wants_receipt() -> bool:
    """``?receipt=true`` (``false`` or absent: no receipt; anything else is refused)."""
    value = request.args.get("receipt", "false")
    if value not in ("true", "false"):
        abort(400, description="receipt: true or false")
    return value == "true"


def _presented_from_request(*, form: bool) -> tuple[Any, bytes]:
    """The credential in a request: pasted text, an uploaded file (JSON, JWS, baked badge); with
    the exact bytes presented (the file as uploaded, the body as sent, the text as pasted)."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read()
        name = upload.filename.lower()
        if name.endswith(_BAKED) or _is_image(data):
            credential = extract_credential(data, filename=upload.filename)
            return read_presented(credential, source=upload.filename), data
        return read_presented(data, source=upload.filename), data
    if form:
        text = request.form.get("credential", "")
        return read_presented(text, source="the pasted credential"), text.encode("utf-8")
    if request.mimetype in _BODY_TYPES:
        body = request.get_data()
        return read_presented(body, source="request body"), body
    raise InputError(
        "send the credential as application/json, as text/plain (a VC-JWT), "
        "or as a multipart upload named 'file'"
    )


def _is_image(data: bytes) -> bool:
    """A baked badge (PNG or SVG) rather than a credential's own text."""
    return data[:8] == b"\x89PNG\r\n\x1a\n" or b"<svg" in data[:1024]


def _recheck(checked: bytes) -> str:
    """What a /verify page sends back for a receipt: the base64 of the bytes it checked; "" for a
    badge image (its record comes from the API) or a credential too large to send back."""
    if _is_image(checked) or (len(checked) + 2) // 3 * 4 + _FORM_OVERHEAD > MAX_BYTES:
        return ""
    return base64.b64encode(checked).decode("ascii")


def _pasted_text() -> str:
    """The form's pasted credential, already read within the body cap; empty when it was an upload."""
    if request.files.get("file"):
        return ""
    return str(request.form.get("credential", ""))


def _status_of(exc: InputError) -> int:
    """422 for a readable document over a structural limit, 400 for anything unreadable."""
    return 422 if isinstance(exc, LimitExceeded) else 400


def _read_at_most(stream: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``stream``, read in pieces (a chunked stream may return short reads)."""
    pieces: list[bytes] = []
    remaining = limit
    while remaining > 0:
        piece = stream.read(min(remaining, 65_536))
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    return b"".join(pieces)


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def _json_error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status)
