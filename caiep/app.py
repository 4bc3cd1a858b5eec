"""The web application: ``create_app()`` composes the blueprints around one instance.

Development: ``caiep --home DIR serve``. Production:
``gunicorn -c python:caiep.gunicorn_config 'caiep.app:create_app()'`` with ``CAIEP_HOME`` (and
``CAIEP_DATABASE_URL`` for PostgreSQL) in the environment: two threaded workers (one per core,
each opening its own database pool), see :mod:`caiep.gunicorn_config`.

The service's settings come from :func:`caiep.settings.read_configuration`, the reader the CLI
uses too; :class:`AppConfig` is what ``create_app`` takes. At start-up the app opens the
registry once: a database it cannot use stops it with a one-line message naming the setting.
It adds what every response
needs: a body cap, security headers, a per-client rate limit on the verification POSTs,
error pages that never show a stack trace, and access logs that carry no personal data
(the route template, never the path, the client address or the credential id).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from caiep import holderview, lcw, receiptview, registercheck
from caiep import registerview as register_web
from caiep.accesslog import access_log, log_request, log_to_stderr
from caiep.addresses import BADGE_PNG_ROUTE, ServiceAddresses, page_path
from caiep.appconfig import AppConfig
from caiep.caches import apply_cache_limits
from caiep.errors import InputError
from caiep.exporting import exported_charter
from caiep.holderview import holder_page
from caiep.issuer import web as issuer_web
from caiep.keys.did import did_web_document_url
from caiep.openid4vci import create_blueprint as openid4vci_blueprint
from caiep.ratelimit import READ, REGISTER, VERIFY, RateLimiter
from caiep.settings import PASSPHRASE_VARIABLE, read_configuration, web_environment
from caiep.trust import make_fetcher, own_lists_first
from caiep.verifier import web as verifier_web
from caiep.verifier.cache import IntegrityCache
from caiep.verifier.inputs import MAX_BYTES
from caiep.wallet_export import downloads, holder_web
from caiep.wallet_export import web as wallet_web
from caiep.wallet_export.charter import ExportedCharter
from caiep.wallet_export.downloads import download_links
from caiep.webheaders import ResponseHeaders
from caiep.wiring import Instance, did_document, open_database

_STARTED = "caiep.started"  # perf_counter() at the start of the request, for the access log
# Requests that verify a signature are counted against the verification limit.
# A receipt of a stored credential is a verification and a signature: counted as verifications.
__all__ = ["AppConfig", "create_app"]  # AppConfig lives in caiep.appconfig; callers know it here

_LIMITED = {"verifier.api_verify", "verifier.verify_submitted", "lcw.exchange"}
_LIMITED |= {"receipts.credential_receipt_json", "receipts.credential_receipt_pdf"}
_LIMITED |= {"receipts.verify_receipt_json", "receipts.verify_receipt_pdf"}
_REGISTER = {"register.register_page", "register.api_register", "register.register_receipt"}


def create_app(config: AppConfig | None = None, *, log_requests: bool | None = None) -> Flask:
    """The verification service for one issuer instance (``config`` read from the environment if None).

    ``log_requests`` sends the access log to standard error; by default it does so when the
    configuration comes from the environment, as under gunicorn.

    Opens the registry once, here: a database that cannot be opened (or, with a registry that
    checks its schema, one that needs ``caiep db upgrade``) raises ConfigurationError naming
    the setting, so the server stops at start-up instead of failing on the first request.
    """
    if log_requests if log_requests is not None else config is None:
        log_to_stderr()
    config = config or AppConfig.from_environment()
    apply_cache_limits(config.cache_limits)
    instance = Instance(config.home, read_configuration(config.home, environ=web_environment()))
    registry = open_database(config.database_url, config.origins.get("database_url", "database_url"))
    settings = instance.settings
    own_documents: Mapping[str, Any] = {}
    if settings.did_method == "web":
        own_documents = {did_web_document_url(settings.issuer_id): did_document(settings, instance.keys)}

    def find_document(credential_id: str) -> str | None:
        return registry.document(credential_id)

    def page_url(credential_id: str) -> str | None:
        return (
            ServiceAddresses(settings.issuer_url).page(credential_id)
            if find_document(credential_id)
            else None
        )

    def find_standing(credential: str, valid_from: str | None) -> verifier_web.Standing | None:
        # Read from the registry on every request: a state changed with the CLI shows at once.
        found = registry.standing(credential, now=datetime.now(UTC))
        if found is None:
            return None
        try:
            start = datetime.fromisoformat(valid_from.replace("Z", "+00:00")) if valid_from else None
        except ValueError:
            start = None
        current = found.current
        return verifier_web.Standing(
            state=found.state,
            state_since=found.state_since,
            public_reason=found.public_reason,
            version=found.version_of(start),
            current_until=current[3],
            holder_since=found.awarded_at,
            lapses=found.lapses,
            page=page_path(found.credential_id),
            badge=BADGE_PNG_ROUTE,
            downloads=_downloads(found.credential_id) if found.state == "current" else (),
        )

    def _downloads(credential_id: str) -> tuple[verifier_web.Download, ...]:
        return tuple(
            verifier_web.Download(label, path, media_type)
            for label, path, media_type in download_links(credential_id, registry.issued_forms(credential_id))
        )

    def find_exported(credential_id: str) -> ExportedCharter | None:
        try:
            copies = registry.issued_copies(credential_id, now=datetime.now(UTC))
        except InputError:
            return None
        return exported_charter(copies, settings.issuer_url)

    def find_holder_page(token: str) -> holder_web.HolderPage | None:
        return holder_page(
            registry,
            token,
            issuer_url=settings.issuer_url,
            linkedin_organization_id=config.linkedin_organization_id,
            now=datetime.now(UTC),
            policy=config.register_policy,
        )

    def choose_listing(token: str, listing: str) -> bool:
        return holderview.choose_listing(registry, token, listing, now=datetime.now(UTC))

    # Our own status lists are read from the registry on every verification (no HTTP request to
    # ourselves, no snapshot): a change made with the CLI shows at once, in every worker.
    fetcher = own_lists_first(
        own_documents,
        settings.issuer_url,
        registry.status_list,
        make_fetcher(allow_http_base=config.allow_http_base),
    )
    app = Flask(__name__, static_folder=None)  # the verifier blueprint serves /static/
    app.config.update(MAX_CONTENT_LENGTH=MAX_BYTES, JSON_SORT_KEYS=False)
    receipts, verifier_did_document = receiptview.load_receipts(instance.configuration)
    verifier_services = verifier_web.VerifierServices(
        find_document=find_document,
        fetcher=fetcher,
        issuer_id=settings.issuer_id,
        issuer_name=settings.issuer_name,
        clock=lambda: datetime.now(UTC),
        cache=IntegrityCache(ttl=config.integrity_cache_seconds)
        if config.integrity_cache_seconds > 0
        else None,
        time_budget=config.verify_time_budget,
        find_standing=find_standing,
        receipts=receipts,
    )
    app.register_blueprint(verifier_web.create_blueprint(verifier_services))
    app.register_blueprint(
        receiptview.create_blueprint(
            receiptview.ReceiptServices(
                receipts,
                verifier_did_document,
                verifier_web.Judge(verifier_services),
                lambda: datetime.now(UTC),
            )
        )
    )
    app.register_blueprint(
        issuer_web.create_blueprint(
            issuer_web.IssuerServices(
                find_document=find_document,
                did_document=lambda: did_document(settings, instance.keys),
                base_url=settings.issuer_url,
                find_status_list=registry.status_list,
                status_list_max_age=max(1, config.status_list_ttl_ms // 1000),
            )
        )
    )
    app.register_blueprint(wallet_web.create_blueprint(page_url))
    app.register_blueprint(wallet_web.create_badge_blueprint())
    app.register_blueprint(downloads.create_blueprint(find_exported))
    app.register_blueprint(holder_web.create_blueprint(find_holder_page, choose_listing))
    app.register_blueprint(
        openid4vci_blueprint(
            registry,
            issuer_url=settings.issuer_url,
            issuer_name=settings.issuer_name,
            logo_url=ServiceAddresses(settings.issuer_url).badge("png"),
            signer_socket=config.signer_socket or config.home / "signer.sock",
            find_holder_page=find_holder_page,
        )
    )
    app.register_blueprint(
        lcw.create_blueprint(
            lcw.LcwServices(
                registry=registry,
                issuer_url=settings.issuer_url,
                signer_socket=config.signer_socket or config.home / "signer.sock",
                lifetime=timedelta(minutes=config.lcw_exchange_minutes),
                clock=lambda: datetime.now(UTC),
                find_page=find_holder_page,
            )
        )
    )
    app.register_blueprint(
        register_web.create_blueprint(
            register_web.RegisterService(
                find=register_web.registry_lookup(registry, config.register_policy),
                issuer_url=settings.issuer_url,
                receipts=receipts,
            )
        )
    )
    limiter = RateLimiter(config.rate_limits)
    bulk = registercheck.registry_service(
        registry,
        limiter.hit_per_minute,
        max_numbers=config.register_check_max,
        default_rate=config.apikey_default_rate_per_minute,
        receipts=receipts,
    )
    app.register_blueprint(registercheck.create_blueprint(bulk))
    limiter.init_app(app)  # Flask-Limiter, counted from the one hook below
    _install_hooks(app, limiter, ResponseHeaders(app))
    if config.trusted_proxies:
        # The client address and scheme as the nearest trusted proxies saw them (Werkzeug's ProxyFix).
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.extensions["caiep.registry"] = registry
    _warn_of_expiring_lists(app, registry)
    if PASSPHRASE_VARIABLE in os.environ:  # its presence only: the value is never read here
        app.logger.warning(
            "%s is set in the web app's environment; the web app never uses it: remove it there "
            "(caiep signer alone takes it)",
            PASSPHRASE_VARIABLE,
        )
    return app


def _warn_of_expiring_lists(app: Flask, registry: Any) -> None:
    """Log a warning for each status list that expires within 7 days: ``caiep status publish``
    (from cron) re-signs them, so that copies served from a CDN stay valid."""
    soon = datetime.now(UTC) + timedelta(days=7)
    for number, until in registry.expiring_status_lists(soon):
        app.logger.warning(
            "status list %d expires at %s: run 'caiep status publish' (from cron, daily) to re-sign it",
            number,
            until.isoformat(),
        )


def _install_hooks(app: Flask, limiter: RateLimiter, headers: ResponseHeaders) -> None:
    @app.before_request
    def start() -> Response | None:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy look-up, not five
        environ = req.environ
        environ[_STARTED] = time.perf_counter()
        if environ["REQUEST_METHOD"] == "OPTIONS":  # a CORS preflight is answered before it is counted
            preflight = headers.preflight()
            if preflight is not None:
                return preflight
        endpoint = req.endpoint
        kind = VERIFY if endpoint in _LIMITED else REGISTER if endpoint in _REGISTER else READ
        wait = limiter.hit(kind, environ.get("REMOTE_ADDR") or "-")
        if wait is not None:
            what = {VERIFY: "verifications", REGISTER: "register lookups"}.get(kind, "requests")
            response = _error(
                429, "Too many requests", f"Too many {what} from this address; try again shortly."
            )
            response.headers["Retry-After"] = str(wait)
            return response
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        headers.apply(response, environ, req.endpoint)
        if access_log.isEnabledFor(logging.INFO):
            started = environ.get(_STARTED)
            elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
            rule = req.url_rule
            log_request(environ["REQUEST_METHOD"], rule.rule if rule else None, response.status_code, elapsed)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        titles = {
            404: "Not found",
            405: "Method not allowed",
            410: "Gone",
            413: "Too large",
            400: "Bad request",
        }
        message = exc.description or ""
        if exc.code == 413:
            message = f"Requests are limited to {MAX_BYTES // 1024} KiB."
        response = _error(exc.code or 500, titles.get(exc.code or 500, exc.name), message)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # RFC 9110 §15.5.6
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")  # the trace goes to the log, never to the client
        return _error(
            500, "Something went wrong", "The verification service had a problem; try again shortly."
        )


def _error(status: int, title: str, message: str) -> Response:
    json_paths = ("/api/", "/exchanges/")
    if request.path.startswith(json_paths) or request.accept_mimetypes.best == "application/json":
        code = title.lower().replace(" ", "_")
        return Response(
            json.dumps({"error": {"code": code, "message": message}}),
            status=status,
            mimetype="application/json",
        )
    body = render_template("verifier/error.html", status=status, title=title, message=message)
    return Response(body, status=status, mimetype="text/html")
