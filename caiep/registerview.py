"""The public register on the web: ``GET /register`` (a page) and ``GET /api/v1/register`` (JSON).

Both take ``name`` (required), ``number`` and ``year`` as query parameters, checked by
:func:`caiep.issuer.register.parse_query` before the registry is asked; a refused query is a 400
naming the field. The bare page (no parameter at all) is the search form. Answers are never
stored by a cache (``no-store``) and the access log names the route only, so the names people
look up stay out of logs and caches; the rate limit of the ``register`` class applies to both
(:mod:`caiep.ratelimit`).

A match links to the charter's public verification page, where its signature and status are
checked: the register states what the registry records, and says so.

Every lookup is answered no sooner than :data:`ANSWER_FLOOR` after it began: a name that only
unlisted holders bear costs the database a little more than a name nobody bears (the index finds
rows that the listing condition then drops), and the floor, above the lookup's p99, hides that
difference from a stranger timing the answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request

from caiep.addresses import ServiceAddresses, page_path
from caiep.errors import InputError
from caiep.issuer.register import MAX_NAME, Answer, Match, RegisterPolicy, RegisterQuery, lookup, parse_query
from caiep.receiptfiles import receipt_response
from caiep.verifier.receipts import ReceiptIssuer
from caiep.wallet_export.charter import POST_NOMINAL
from caiep.wallet_export.message_text import day

#: The query parameters the register reads; any other is refused (400), so that a misspelt
#: ``nmae=`` is not silently a lookup of nothing.
PARAMETERS = frozenset({"name", "number", "year"})
#: The least time a lookup's answer takes, in seconds (see the module's text).
ANSWER_FLOOR = 0.025


@dataclass(frozen=True)
class RegisterService:
    """What the register's routes need: a lookup against the registry, the public address, and
    the signer of receipts (None: the register offers none)."""

    find: Callable[[RegisterQuery, datetime], Answer]
    issuer_url: str
    receipts: ReceiptIssuer | None = None


def registry_lookup(registry: Any, policy: RegisterPolicy) -> Callable[[RegisterQuery, datetime], Answer]:
    """A lookup in ``registry`` (a :class:`~caiep.issuer.registry.Registry`) under ``policy``."""

    def find(query: RegisterQuery, now: datetime) -> Answer:
        started = time.monotonic()
        try:
            with registry.read() as connection:
                return lookup(connection, query, policy, now=now)
        finally:
            left = ANSWER_FLOOR - (time.monotonic() - started)
            if left > 0:
                time.sleep(left)

    return find


def match_json(match: Match, issuer_url: str) -> dict[str, Any]:
    """One match as the API gives it."""
    current = match.state in ("current", "lapsed")
    return {
        "name": match.name,
        "postNominal": POST_NOMINAL if match.state == "current" else None,
        "charterNumber": match.charter_number,
        "state": match.state,
        "stateSince": _day(match.state_since) if match.state in ("suspended", "revoked") else None,
        "reason": match.public_reason,
        "firstAwarded": _day(match.first_awarded),
        "currentUntil": _day(match.valid_until) if current else None,
        "verificationPage": ServiceAddresses(issuer_url).page(match.credential_id),
    }


def create_blueprint(service: RegisterService) -> Blueprint:
    """The register's page and API."""
    blueprint = Blueprint("register", __name__)

    def asked(extra: frozenset[str] = frozenset()) -> RegisterQuery:
        unknown = sorted(set(request.args) - PARAMETERS - extra)
        if unknown:
            raise InputError(f"{unknown[0]}: not a register parameter (name, number, year)")
        for field in PARAMETERS | extra:
            if len(request.args.getlist(field)) > 1:
                raise InputError(f"{field}: give it once")
        if request.args.get("receipt", "false") not in ("true", "false"):
            raise InputError("receipt: true or false")
        return parse_query(request.args.get("name"), request.args.get("number"), request.args.get("year"))

    def receipt_of(query: RegisterQuery, matches: list[dict[str, Any]], answer: Answer) -> dict[str, Any]:
        assert service.receipts is not None
        return service.receipts.for_register(
            kind="lookup",
            query=query.to_json(),
            answers=matches,
            checked_at=datetime.now(UTC),
            more=answer.more,
        )

    @blueprint.get("/api/v1/register")
    def api_register() -> Response:
        """GET /api/v1/register: the matches; with ``receipt=true`` also the signed record of the answer."""
        try:
            query = asked(frozenset({"receipt"}))
        except InputError as exc:
            return _refused(400, "invalid_query", exc.message)
        wants_receipt = request.args.get("receipt") == "true"
        if wants_receipt and service.receipts is None:
            return _refused(503, "receipts_unavailable", "this service signs no receipts")
        answer = service.find(query, datetime.now(UTC))
        matches = [match_json(m, service.issuer_url) for m in answer.matches]
        body: dict[str, Any] = {
            "query": query.to_json(),
            "matches": matches,
            "more": answer.more,
            "checkedAt": _instant(datetime.now(UTC)),
        }
        if wants_receipt:
            body["receipt"] = receipt_of(query, matches, answer)
        return jsonify(body)

    @blueprint.get("/register/receipt.json", defaults={"form": "json"})
    @blueprint.get("/register/receipt.pdf", defaults={"form": "pdf"})
    def register_receipt(form: str) -> Response:
        """GET /register/receipt.json|pdf?name=…: a lookup made now, as its signed record (the
        page's "Download a signed record of this check"); the lookup's rate limit applies."""
        if service.receipts is None:
            abort(503, description="This service signs no receipts.")
        try:
            query = asked()
        except InputError as exc:
            abort(400, description=exc.message)
        answer = service.find(query, datetime.now(UTC))
        matches = [match_json(m, service.issuer_url) for m in answer.matches]
        return receipt_response(receipt_of(query, matches, answer), form)

    @blueprint.get("/register")
    def register_page() -> tuple[str, int]:
        fields = {name: request.args.get(name, "")[: MAX_NAME + 1] for name in PARAMETERS}
        if not request.args:
            return _page(fields=fields), 200
        try:
            query = asked()
        except InputError as exc:
            return _page(fields=fields, error=exc.message), 400
        answer = service.find(query, datetime.now(UTC))
        return _page(fields=fields, query=query, answer=answer), 200

    def _page(
        *,
        fields: dict[str, str],
        error: str | None = None,
        query: RegisterQuery | None = None,
        answer: Answer | None = None,
    ) -> str:
        return render_template(
            "verifier/register.html",
            receipts=service.receipts is not None,
            receipt_query={k: v for k, v in (query.to_json() if query else {}).items() if v is not None},
            fields=fields,
            error=error,
            error_field=error.split(":", 1)[0] if error else None,
            query=query,
            answer=answer,
            post_nominal=POST_NOMINAL,
            page_path=page_path,
            day=day,
            max_name=MAX_NAME,
        )

    return blueprint


def _refused(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
