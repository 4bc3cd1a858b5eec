"""Bulk re-checks for employers: ``POST /api/v1/register/check`` with an API key.

The body is ``{"charterNumbers": ["CAIEP-000042", …]}``, at most ``register_check_max``
numbers; the answer is ``{"results": [...], "checkedAt": …, "receipt": {…}}``, one result per
number in the order asked, and one receipt for the batch: the verification service's signed
record of the numbers asked and the answers given (:class:`~caiep.verifier.receipts.ReceiptIssuer`;
left out only by an instance without a verifier key, which ``caiep db upgrade`` gives it).
A result is ``{"charterNumber", "found": false}``, or the charter's name as recorded,
its state (``current``, ``lapsed``, ``suspended``, ``revoked``), ``stateSince`` and the public
``reason`` of a suspension or revocation, ``firstAwarded`` and ``currentUntil``: nothing more.
Unlisted holders are answered too: the employer has the number from them.

What is refused, in this order, each as ``{"error": {"code", "message"}}``:

* no key, or one that is unknown or revoked: 401 with ``WWW-Authenticate: Bearer`` (RFC 6750);
* more checks than the key's rate a minute (its own, else ``apikey_default_rate_per_minute``),
  counted in the rate limits' storage (Redis when configured, so every worker shares it): 429
  with ``Retry-After``;
* a body over :func:`body_cap` bytes (sized for the most numbers, pretty-printed): 413;
* more numbers than ``register_check_max``: 422 ``limit_exceeded``;
* anything else malformed: 400 naming the field and index (``charterNumbers[3]``).

Every check answered is an audit entry (the key's id and name, when, how many numbers; never
which), written in the transaction that reads the answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from caiep.errors import InputError
from caiep.issuer import apikeys, bulkcheck
from caiep.issuer.apikeys import ApiKey
from caiep.issuer.bulkcheck import Checked
from caiep.strictjson import loads_strict
from caiep.verifier.receipts import ReceiptIssuer

#: The realm named in ``WWW-Authenticate``.
REALM = "caiep register"
#: The body's one member.
FIELD = "charterNumbers"


def body_cap(max_numbers: int) -> int:
    """The largest body taken, in bytes: room for ``max_numbers`` numbers of up to 32
    characters each, quoted, on lines of their own, indented."""
    return 1024 + (bulkcheck.MAX_NUMBER + 16) * max_numbers


@dataclass(frozen=True)
class BulkCheckService:
    """What the route needs: the key's look-up, its rate, the check itself, and its bounds."""

    authenticate: Callable[[str], ApiKey | None]
    #: Count one check of a key: None when it may go ahead, else seconds until it may.
    rate_limit: Callable[[ApiKey], int | None]
    #: Answer the numbers and record the check (audit, last use) in one transaction.
    check: Callable[[ApiKey, Sequence[str], datetime], list[Checked]]
    max_numbers: int = 500
    receipts: ReceiptIssuer | None = None  # None: an instance without a verifier key


def registry_service(
    registry: Any,
    hit: Callable[[str, str, int], int | None],
    *,
    max_numbers: int,
    default_rate: int,
    receipts: ReceiptIssuer | None = None,
) -> BulkCheckService:
    """The service over ``registry`` (a :class:`~caiep.issuer.registry.Registry`), counting each
    key's checks with ``hit`` (:meth:`caiep.ratelimit.RateLimiter.hit_per_minute`)."""

    def authenticate(presented: str) -> ApiKey | None:
        with registry.read() as connection:
            return apikeys.authenticate(connection, presented)

    def rate_limit(key: ApiKey) -> int | None:
        return hit("bulk", f"apikey-{key.id}", key.rate_per_minute or default_rate)

    def check(key: ApiKey, numbers: Sequence[str], now: datetime) -> list[Checked]:
        with registry.write() as connection:
            answers = bulkcheck.check(connection, numbers, now=now)
            apikeys.record_check(connection, key, len(numbers), now=now)
        return answers

    return BulkCheckService(authenticate, rate_limit, check, max_numbers, receipts)


def result_json(checked: Checked) -> dict[str, Any]:
    """One number's answer as the API gives it."""
    if not checked.found:
        return {"charterNumber": checked.charter_number, "found": False}
    decided = checked.state in ("suspended", "revoked")
    return {
        "charterNumber": checked.charter_number,
        "found": True,
        "name": checked.name,
        "state": checked.state,
        "stateSince": _day(checked.state_since) if decided else None,
        "reason": checked.public_reason,
        "firstAwarded": _day(checked.first_awarded),
        "currentUntil": None if decided else _day(checked.valid_until),
    }


def create_blueprint(service: BulkCheckService) -> Blueprint:
    """The bulk check route."""
    blueprint = Blueprint("register_check", __name__)
    cap = body_cap(service.max_numbers)

    @blueprint.post("/api/v1/register/check")
    def api_register_check() -> Response:
        key = _presented_key()
        found = service.authenticate(key) if key else None
        if found is None:
            return _unauthorized(bool(key))
        wait = service.rate_limit(found)
        if wait is not None:
            response = _error(
                429, "too_many_requests", "This API key's checks a minute are used up; try again shortly."
            )
            response.headers["Retry-After"] = str(wait)
            return response
        request.max_content_length = cap
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return _error(413, "too_large", f"A bulk check's body is limited to {cap // 1024} KiB.")
        try:
            numbers = _numbers(body, service.max_numbers)
        except _TooMany as exc:
            return _error(422, "limit_exceeded", str(exc))
        except InputError as exc:
            return _error(400, "invalid_request", str(exc))
        now = datetime.now(UTC)
        results = [result_json(c) for c in service.check(found, numbers, now)]
        answer: dict[str, Any] = {"results": results, "checkedAt": _instant(now)}
        if service.receipts is not None:
            answer["receipt"] = service.receipts.for_register(
                kind="bulk", query={FIELD: numbers}, answers=results, checked_at=now
            )
        return jsonify(answer)

    return blueprint


class _TooMany(Exception):
    """More numbers than one check takes."""


def _numbers(body: bytes, most: int) -> list[str]:
    if not body.strip():
        raise InputError(f'body: a JSON object {{"{FIELD}": [...]}}')
    parsed = loads_strict(body, max_depth=4, source="body")
    if not isinstance(parsed, dict):
        raise InputError(f'body: a JSON object {{"{FIELD}": [...]}}')
    unknown = sorted(set(parsed) - {FIELD})
    if unknown:
        raise InputError(f"{unknown[0]}: not a member of a bulk check (only {FIELD})")
    if FIELD not in parsed:
        raise InputError(f"{FIELD}: required, a list of charter numbers")
    value = parsed[FIELD]
    if isinstance(value, list) and len(value) > most:
        raise _TooMany(f"{FIELD}: at most {most} numbers in one check, not {len(value)}; split the list")
    if isinstance(value, list) and not value:
        raise InputError(f"{FIELD}: give at least one charter number")
    return bulkcheck.parse_numbers(value, field=FIELD)


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _unauthorized(presented: bool) -> Response:
    if presented:
        response = _error(401, "invalid_token", "The API key is unknown or revoked.")
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    else:
        response = _error(401, "missing_token", "Send an API key: Authorization: Bearer caiep_…")
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
    return response


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _day(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).date().isoformat()


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
