"""The headers every response of the web service carries: security, caching, CORS and HSTS.

* **Security** on every response: a Content-Security-Policy without scripts, ``nosniff``,
  ``frame-ancestors 'none'``, ``no-referrer``.
* **Cache-Control** on every response, by route (:data:`CACHE_CONTROL`): ``no-store`` for the
  verification POSTs (their answers hold what someone uploaded) and for every error; a
  minute for pages and the status API, whose verdicts are worked out at each request; longer
  for documents that change rarely. A route that sets its own keeps it.
* **CORS** (Fetch standard): the public read-only API and ``POST /api/v1/verify`` answer any
  origin with ``Access-Control-Allow-Origin: *``. They take no cookies or credentials of their
  caller, so a page on another site can use them and learn nothing it could not fetch itself.
  A preflight ``OPTIONS`` is answered 204 before the rate limiter sees it.
* **X-Robots-Tag** ``noindex, nofollow`` on the holder's private page and its 404.
* **HSTS** (RFC 6797) only on a request that came over https, as ProxyFix reports it behind a
  trusted proxy: a browser ignores it over http, and it must not pin a development host.

The header lists are built once per route at start-up. ``after_request`` only picks the list
for the response (one dictionary look-up) and a small WSGI wrapper appends it to the header
list handed to the server: adding eight headers through Werkzeug's ``Headers``, which checks
each value, cost a cached verification ~3 % of its CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from flask import Flask, Response, request

ENVIRON_KEY: Final = "caiep.response_headers"
Headers = tuple[tuple[str, str], ...]

SECURITY: Final = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
NO_STORE: Final = "no-store"
PAGE: Final = "max-age=60"  # a verdict is worked out at each request: a minute old at most
DOCUMENT: Final = "max-age=300"  # hosted credentials and the DID document change rarely
STATIC: Final = "max-age=3600"
# The charter badge's URL is fixed inside every credential: a week, then revalidated by ETag.
BADGE: Final = "public, max-age=604800"
#: Cache-Control by endpoint; any endpoint not named (and every error) is ``no-store``.
CACHE_CONTROL: Final = {
    "verifier.credential_page": PAGE,
    "verifier.verify_form": PAGE,
    "verifier.verify_submitted": NO_STORE,
    "verifier.api_verify": NO_STORE,
    "verifier.api_status": PAGE,
    "verifier.openapi": STATIC,
    "verifier.static": STATIC,
    "issuer.hosted_credential": DOCUMENT,
    "issuer.did_document": DOCUMENT,
    "issuer.achievement_definition": STATIC,
    "badge.badge_png_image": BADGE,
    "badge.badge_svg_image": BADGE,
    # The holder's files: their charter's state is read at each request, so a minute old at most.
    "downloads.credential_json": PAGE,
    "downloads.credential_jwt": PAGE,
    "downloads.baked_png": PAGE,
    "downloads.baked_svg": PAGE,
    "downloads.certificate": PAGE,
    # The holder's private page: never kept by a browser or a shared cache.
    "holder.holder_page": NO_STORE,
    # OpenID4VCI: the metadata changes rarely; offers, tokens, nonces and credentials never cached.
    "oid4vci.credential_issuer_metadata": DOCUMENT,
    "oid4vci.authorization_server": DOCUMENT,
    "oid4vci.credential_offer": NO_STORE,
    "oid4vci.token": NO_STORE,
    "oid4vci.nonce": NO_STORE,
    "oid4vci.credential": NO_STORE,
    "oid4vci.holder_offer": NO_STORE,
    # The Learner Credential Wallet: the page with a new exchange, and the exchange's answers.
    "lcw.open_exchange": NO_STORE,
    "lcw.exchange": NO_STORE,
    # The register's answers name people: never kept by a cache.
    "register.register_page": NO_STORE,
    "register.api_register": NO_STORE,
    # Bulk checks name people, for one employer's key: never kept by a cache.
    "register_check.api_register_check": NO_STORE,
    # Receipts are made for whoever asked, at that moment: never kept by a cache. The verifier's
    # DID document changes as rarely as the issuer's; the receipt context never.
    "register.register_receipt": NO_STORE,
    "receipts.credential_receipt_json": NO_STORE,
    "receipts.credential_receipt_pdf": NO_STORE,
    "receipts.verify_receipt_json": NO_STORE,
    "receipts.verify_receipt_pdf": NO_STORE,
    "receipts.verifier_did_document": DOCUMENT,
    "receipts.receipt_context": STATIC,
}
#: Pages no search engine may index or follow, whatever their answer (the page and its 404).
NOINDEX_ENDPOINTS: Final = frozenset(
    {
        "holder.holder_page",
        "holder.register_choice",
        "oid4vci.holder_offer",
        "lcw.open_exchange",
        "register_check.api_register_check",
    }
)
NOINDEX: Final = ("X-Robots-Tag", "noindex, nofollow")
#: The public API: read-only documents, and the one verification POST that takes no session.
CORS_ENDPOINTS: Final = frozenset(
    {
        "verifier.api_verify",
        "verifier.api_status",
        "verifier.openapi",
        "register.api_register",
        "receipts.verifier_did_document",  # browser-based verifiers check receipts too
        "receipts.receipt_context",
        "issuer.hosted_credential",
        "issuer.did_document",
        "issuer.achievement_definition",
        "issuer.status_list",  # browser-based verifiers read our status lists too
        "badge.badge_png_image",  # displayers draw the badge on a canvas, or fetch it to bake
        "badge.badge_svg_image",
        "oid4vci.credential_issuer_metadata",  # browser-based wallets read the metadata
        "oid4vci.authorization_server",
    }
)
CORS: Final = (("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "Retry-After"))
PREFLIGHT_MAX_AGE: Final = "86400"
PREFLIGHT_HEADERS: Final = "Content-Type, Accept"
HSTS: Final = ("Strict-Transport-Security", "max-age=31536000")
#: Routes that may set their own Cache-Control (the QR codes: a day; files: Werkzeug's validators).
OWN_CACHE_CONTROL: Final = frozenset(
    # status lists: max-age is their ttl (status_list_ttl_ms), set by the route
    {"wallet_export.qr_png_image", "wallet_export.qr_svg_image", "verifier.static", "issuer.status_list"}
)
#: Routes whose answer depends on the Accept header (content negotiation).
NEGOTIATED: Final = frozenset({"issuer.hosted_credential"})


class ResponseHeaders:
    """The headers of each route of ``app``, worked out once; :meth:`apply` picks them."""

    def __init__(self, app: Flask) -> None:
        # by endpoint: [the route sets its own Cache-Control][https] -> the headers to add
        self._by_endpoint: dict[str | None, tuple[tuple[Headers, Headers], tuple[Headers, Headers]]] = {}
        for rule in app.url_map.iter_rules():
            self._by_endpoint[rule.endpoint] = self._variants(rule.endpoint)
        self._unknown = self._variants(None)
        self._errors = {endpoint: self._error_variants(endpoint) for endpoint in self._by_endpoint}
        self._error_unknown = self._error_variants(None)
        app.wsgi_app = _AddHeaders(app.wsgi_app)  # type: ignore[method-assign]

    @staticmethod
    def _common(endpoint: str | None) -> list[tuple[str, str]]:
        common = list(SECURITY)
        if endpoint in CORS_ENDPOINTS:
            common += CORS
        if endpoint in NEGOTIATED:
            common.append(("Vary", "Accept"))
        if endpoint in NOINDEX_ENDPOINTS:
            common.append(NOINDEX)
        return common

    def _variants(self, endpoint: str | None) -> tuple[tuple[Headers, Headers], tuple[Headers, Headers]]:
        common = self._common(endpoint)
        cached = [*common, ("Cache-Control", CACHE_CONTROL.get(endpoint or "", NO_STORE))]
        return (tuple(cached), (*cached, HSTS)), (tuple(common), (*common, HSTS))

    def _error_variants(self, endpoint: str | None) -> tuple[Headers, Headers]:
        headers = [*self._common(endpoint), ("Cache-Control", NO_STORE)]
        return tuple(headers), (*headers, HSTS)

    def apply(self, response: Response, environ: dict[str, Any], endpoint: str | None) -> Response:
        """Choose the route's headers for ``response`` (an error gets ``no-store``)."""
        https = environ.get("wsgi.url_scheme") == "https"
        own = endpoint in OWN_CACHE_CONTROL
        if response.status_code >= 400:
            if own:
                response.headers.pop("Cache-Control", None)
            environ[ENVIRON_KEY] = self._errors.get(endpoint, self._error_unknown)[https]
        else:
            own = own and "Cache-Control" in response.headers
            environ[ENVIRON_KEY] = self._by_endpoint.get(endpoint, self._unknown)[own][https]
        return response

    def preflight(self) -> Response | None:
        """The answer to a CORS preflight (or any OPTIONS) on the public API: 204, else None."""
        if request.endpoint not in CORS_ENDPOINTS or request.url_rule is None:
            return None
        methods = _allowed(request.url_rule.methods or ())
        response = Response(status=204)
        response.headers.extend(
            [
                ("Allow", methods),
                ("Access-Control-Allow-Methods", methods),
                ("Access-Control-Allow-Headers", PREFLIGHT_HEADERS),
                ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
            ]
        )
        return response


def _allowed(methods: Iterable[str]) -> str:
    """``Allow``'s value: the methods in a stable order (RFC 9110 §10.2.1)."""
    return ", ".join(sorted(methods))


class _AddHeaders:
    """WSGI: append the headers :meth:`ResponseHeaders.apply` chose to the response's."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            extra = environ.get(ENVIRON_KEY)
            return start_response(status, headers + list(extra) if extra else headers, exc_info)

        return self.wsgi_app(environ, start)
