"""The public verification pages and JSON API (a Flask blueprint).

``/c/<uuid>`` is what the QR code on a certificate opens: the stored credential is verified
at request time (proof, key provenance, validity, status), never just echoed from the
database. ``/verify`` and ``POST /api/v1/verify`` judge any issuer's OB 3.0 credential the
same way. What the blueprint needs (how to find our credentials, the fetcher, the clock)
arrives as parameters; it reads no settings and imports nothing of the issuer.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from caiep.addresses import PAGE_ROUTE, STATUS_ROUTE
from caiep.baking import extract_credential
from caiep.errors import InputError
from caiep.verifier.budget import Deadline
from caiep.verifier.cache import IntegrityCache
from caiep.verifier.fetch import Fetcher
from caiep.verifier.inputs import MAX_BYTES, read_presented
from caiep.verifier.limits import LimitExceeded
from caiep.verifier.public import public_result
from caiep.verifier.report import summary
from caiep.verifier.result import Check, Outcome, Verdict, VerificationResult
from caiep.verifier.verify import verify

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


@dataclass(frozen=True)
class Download:
    """A file the holder's page offers: its label, its path and its media type."""

    label: str
    href: str
    media_type: str


@dataclass(frozen=True)
class Standing:
    """What the issuer's registry says of one of its charter credentials, now.

    ``state`` is ``current``, ``lapsed``, ``suspended`` or ``revoked``; ``version`` says whether
    the document shown is the ``current`` version or a ``superseded`` one (renewed);
    ``current_until`` is the current version's validUntil; ``holder_since`` the first award;
    ``lapses`` the (from, to) gaps recorded between versions; ``page`` the current state's page;
    ``badge`` the path of the charter badge image and ``downloads`` the holder's files, shown
    for a charter whose current version verified.
    """

    state: str
    state_since: datetime
    public_reason: str | None
    version: str
    current_until: datetime
    holder_since: datetime
    lapses: tuple[tuple[datetime, datetime], ...] = ()
    page: str | None = None
    # What the page offers for a current charter: the charter badge's image, and downloads.
    badge: str | None = None
    downloads: tuple[Download, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The top-level fields the status API adds to the verification result."""
        return {
            "state": self.state,
            "version": self.version,
            "stateSince": self.state_since.isoformat(),
            "publicReason": self.public_reason,
            "holderSince": self.holder_since.isoformat(),
            "currentUntil": self.current_until.isoformat(),
            "lapses": [{"from": start.isoformat(), "to": end.isoformat()} for start, end in self.lapses],
        }


def _no_standing(credential: str, valid_from: str | None) -> Standing | None:
    return None


@dataclass(frozen=True)
class VerifierServices:
    """What the pages need from the application."""

    find_document: Callable[[str], str | None]  # credential uuid -> the exact stored document
    fetcher: Fetcher
    issuer_id: str  # ours: other issuers are shown as such
    clock: Callable[[], datetime]
    cache: IntegrityCache | None = None  # signature and key checks reused for identical bytes
    issuer_name: str = "this issuer"  # ours, named when a document claiming to be ours fails
    time_budget: float | None = None  # seconds per verification; None: the fetcher's own limits only
    # (our credential's uuid or URL, the document's validFrom) -> the registry's word, read per request
    find_standing: Callable[[str, str | None], Standing | None] = _no_standing


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

    def judge(presented: Any) -> VerificationResult:
        """Verify what was presented, now, with the service's fetcher and cache, within the time budget."""
        deadline = Deadline(services.time_budget) if services.time_budget is not None else None
        result = verify(
            presented, now=services.clock(), fetcher=services.fetcher, cache=services.cache, deadline=deadline
        )
        return public_result(result)  # a fetch's details stay in the server log

    def standing_of(result: VerificationResult, wanted: str | None) -> Standing | None:
        """The registry's word on one of our credentials, once its signature and key have verified
        (a document that fails is shown as its claims, never joined with the registry's facts)."""
        credential = result.credential or {}
        if wanted is None:
            wanted = credential.get("id") if isinstance(credential.get("id"), str) else None
        if wanted is None or result.verdict in CLAIMED_ONLY:
            return None
        if summary(credential).get("issuerId") != services.issuer_id:
            return None
        valid_from = credential.get("validFrom")
        return services.find_standing(wanted, valid_from if isinstance(valid_from, str) else None)

    def page(
        result: VerificationResult,
        *,
        credential_id: str | None,
        status: int = 200,
        standing: Standing | None = None,
    ) -> Response:
        """The HTML page of one verification result."""
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
        )
        return Response(body, status=status, mimetype="text/html")

    @blueprint.get(PAGE_ROUTE)
    def credential_page(credential_id: Any) -> Response:
        """GET /c/<uuid>: one of our credentials, verified at request time."""
        document = services.find_document(str(credential_id))
        if document is None:
            abort(404, description="There is no CAiEP credential at this address.")
        result = judge(read_presented(document))
        standing = standing_of(result, str(credential_id))
        return page(with_standing(result, standing), credential_id=str(credential_id), standing=standing)

    @blueprint.get("/verify")
    def verify_form() -> str:
        """GET /verify: the form to paste or upload any issuer's credential."""
        return render_template("verifier/verify.html", error=None)

    @blueprint.post("/verify")
    def verify_submitted() -> Response:
        """POST /verify: the page for a pasted or uploaded credential (400 unreadable, 422 over a limit)."""
        try:
            presented = _presented_from_request(form=True)
        except InputError as exc:
            # The pasted text comes back in the form (escaped), so a typo costs no second paste.
            body = render_template("verifier/verify.html", error=str(exc.message), pasted=_pasted_text())
            return Response(body, status=_status_of(exc), mimetype="text/html")
        result = judge(presented)
        standing = standing_of(result, None)
        return page(with_standing(result, standing), credential_id=None, standing=standing)

    @blueprint.post("/api/v1/verify")
    def api_verify() -> Response:
        """POST /api/v1/verify: the JSON result for a credential in the body or an upload.

        400 ``invalid_input`` for unreadable input, 422 ``limit_exceeded`` over a structural limit.
        """
        try:
            presented = _presented_from_request(form=False)
        except InputError as exc:
            return _json_error(_status_of(exc), exc.code, exc.message)
        result = judge(presented)
        standing = standing_of(result, None)  # one of ours that verified: the registry's word too
        extra = standing.to_json() if standing is not None else {}
        return _json({**_api_result(with_standing(result, standing)), **extra})

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
                **_api_result(with_standing(result, standing)),
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


def with_standing(result: VerificationResult, standing: Standing | None) -> VerificationResult:
    """The result as our registry explains it: a charter the registry records as suspended has
    its bit set in the revocation list (what other verifiers read as revoked); we say suspended."""
    check = result.check("status")
    if standing is None or standing.state != "suspended" or check is None or check.code != "revoked":
        return result
    suspended = Check(
        "status", Outcome.INVALID, "suspended", "the certification body has suspended this charter"
    )
    return replace(result, checks=tuple(suspended if c is check else c for c in result.checks))


def _presented_from_request(*, form: bool) -> Any:
    """The credential in a request: pasted text, an uploaded file (JSON, JWS, baked badge)."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read()
        name = upload.filename.lower()
        if name.endswith(_BAKED) or data[:8] == b"\x89PNG\r\n\x1a\n" or b"<svg" in data[:1024]:
            return read_presented(extract_credential(data, filename=upload.filename), source=upload.filename)
        return read_presented(data, source=upload.filename)
    if form:
        text = request.form.get("credential", "")
        return read_presented(text, source="the pasted credential")
    if request.mimetype in _BODY_TYPES:
        return read_presented(request.get_data(), source="request body")
    raise InputError(
        "send the credential as application/json, as text/plain (a VC-JWT), "
        "or as a multipart upload named 'file'"
    )


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


#: Verdicts whose credential's statements cannot be relied on: shown as the document's claims.
CLAIMED_ONLY = frozenset({Verdict.INVALID, Verdict.UNVERIFIABLE})


def _api_result(result: VerificationResult) -> dict[str, Any]:
    """The API answer: the result, and the credential's facts marked ``verified`` or ``claimed``."""
    facts = summary(result.credential)
    if facts:
        facts["standing"] = "claimed" if result.verdict in CLAIMED_ONLY else "verified"
    return {**result.to_json(), "credential": facts}


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def _json_error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status)
