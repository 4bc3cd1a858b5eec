"""The service's addresses are spelled once: the blueprints serve exactly the URLs built elsewhere."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from flask import Flask, url_for

from caiep.addresses import (
    ACHIEVEMENT_ROUTE,
    CREDENTIAL_ROUTE,
    DID_DOCUMENT_ROUTE,
    PAGE_ROUTE,
    QR_PNG_ROUTE,
    QR_SVG_ROUTE,
    STATUS_ROUTE,
    ServiceAddresses,
    credential_path,
    page_path,
    qr_path,
    status_path,
)
from caiep.issuer import web as issuer_web
from caiep.issuer.charter import achievement_url, credential_url
from caiep.verifier import web as verifier_web
from caiep.verifier.fetch import MappingFetcher
from caiep.wallet_export import web as wallet_web

BASE = "https://credentials.caiep.example"
ID = str(uuid.UUID(int=42))


@pytest.fixture
def app() -> Flask:
    """The three blueprints with nothing stored: enough to see their routes."""
    app = Flask(__name__)
    app.register_blueprint(
        verifier_web.create_blueprint(
            verifier_web.VerifierServices(
                find_document=lambda _: None,
                fetcher=MappingFetcher({}),
                issuer_id="did:web:credentials.caiep.example",
                clock=lambda: datetime(2026, 11, 26, tzinfo=UTC),
            )
        )
    )
    app.register_blueprint(
        issuer_web.create_blueprint(
            issuer_web.IssuerServices(find_document=lambda _: "{}", did_document=dict, base_url=BASE)
        )
    )
    app.register_blueprint(
        wallet_web.create_blueprint(lambda credential_id: ServiceAddresses(BASE).page(credential_id))
    )
    return app


def test_absolute_urls_under_the_base() -> None:
    addresses = ServiceAddresses(BASE + "/")
    assert addresses.credential(ID) == f"{BASE}/credentials/{ID}"
    assert addresses.page(ID) == f"{BASE}/c/{ID}"
    assert addresses.qr(ID) == f"{BASE}/c/{ID}/qr.png"
    assert addresses.qr(ID, "svg") == f"{BASE}/c/{ID}/qr.svg"
    assert addresses.status(ID) == f"{BASE}/api/v1/credentials/{ID}/status"
    assert addresses.achievement() == f"{BASE}/achievements/caiep"
    assert addresses.did_document() == f"{BASE}/.well-known/did.json"


def test_the_issuer_writes_the_same_urls_into_credentials() -> None:
    assert credential_url(BASE, ID) == ServiceAddresses(BASE).credential(ID)
    assert achievement_url(BASE) == ServiceAddresses(BASE).achievement()


def test_a_qr_image_is_png_or_svg() -> None:
    with pytest.raises(ValueError, match="png or svg"):
        qr_path(ID, "gif")


def test_every_route_is_registered_by_a_blueprint(app: Flask) -> None:
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    routes = {CREDENTIAL_ROUTE, PAGE_ROUTE, QR_PNG_ROUTE, QR_SVG_ROUTE, STATUS_ROUTE, ACHIEVEMENT_ROUTE}
    assert routes | {DID_DOCUMENT_ROUTE} <= rules


def test_the_paths_built_here_are_the_paths_flask_routes(app: Flask) -> None:
    with app.test_request_context():
        assert url_for("issuer.hosted_credential", credential_id=ID) == credential_path(ID)
        assert url_for("verifier.credential_page", credential_id=ID) == page_path(ID)
        assert url_for("verifier.api_status", credential_id=ID) == status_path(ID)
        assert url_for("wallet_export.qr_png_image", credential_id=ID) == qr_path(ID, "png")
        assert url_for("wallet_export.qr_svg_image", credential_id=ID) == qr_path(ID, "svg")


def test_a_browser_at_the_credential_url_is_sent_to_its_page(app: Flask) -> None:
    response = app.test_client().get(credential_path(ID), headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["Location"] == page_path(ID)
