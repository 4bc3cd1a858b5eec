"""Every route's response headers: Cache-Control, CORS on the public API, HSTS over https, Allow on 405."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from oid4vci_support import WalletKey, credential, fetch_code, nonce, offer_path, token
from werkzeug.test import TestResponse

from caiep.app import AppConfig, create_app
from caiep.ratelimit import RateLimitSettings, Window
from support import unlimited_rates

if TYPE_CHECKING:
    from conftest import Issued

CORS_ROUTES = {"verifier.api_verify", "verifier.api_status", "verifier.openapi", "issuer.hosted_credential"}
CORS_ROUTES |= {"issuer.did_document", "issuer.achievement_definition", "issuer.status_list"}
CORS_ROUTES |= {"badge.badge_png_image", "badge.badge_svg_image"}
CORS_ROUTES |= {"oid4vci.credential_issuer_metadata", "oid4vci.authorization_server"}
CORS_ROUTES |= {"register.api_register", "receipts.verifier_did_document", "receipts.receipt_context"}


def _app(issued: Issued, **options: object) -> Flask:
    options.setdefault("rate_limits", unlimited_rates())
    return create_app(AppConfig(home=issued.home, database_url=issued.database_url, **options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def app(issued: Issued) -> Iterator[Flask]:
    app = _app(issued)
    yield app
    app.extensions["caiep.registry"].dispose()


def _requests(issued: Issued) -> dict[str, Callable[[Flask], TestResponse]]:
    """One request per endpoint of the service, each answered 200."""
    valid = issued.valid
    return {
        "verifier.credential_page": lambda a: a.test_client().get(f"/c/{valid}"),
        "verifier.verify_form": lambda a: a.test_client().get("/verify"),
        "verifier.verify_submitted": lambda a: a.test_client().post(
            "/verify", data={"credential": issued.documents[valid]}
        ),
        "verifier.api_verify": lambda a: a.test_client().post(
            "/api/v1/verify", data=issued.documents[valid], content_type="application/json"
        ),
        "verifier.api_status": lambda a: a.test_client().get(f"/api/v1/credentials/{valid}/status"),
        "verifier.openapi": lambda a: a.test_client().get("/openapi.json"),
        "verifier.static": lambda a: a.test_client().get("/static/caiep.css"),
        "issuer.hosted_credential": lambda a: a.test_client().get(f"/credentials/{valid}"),
        "issuer.did_document": lambda a: a.test_client().get("/.well-known/did.json"),
        "issuer.achievement_definition": lambda a: a.test_client().get("/achievements/caiep"),
        "issuer.status_list": lambda a: a.test_client().get("/status/1"),
        "wallet_export.qr_png_image": lambda a: a.test_client().get(f"/c/{valid}/qr.png"),
        "wallet_export.qr_svg_image": lambda a: a.test_client().get(f"/c/{valid}/qr.svg"),
        "badge.badge_png_image": lambda a: a.test_client().get("/achievements/caiep/badge.png"),
        "badge.badge_svg_image": lambda a: a.test_client().get("/achievements/caiep/badge.svg"),
        "downloads.credential_json": lambda a: a.test_client().get(f"/c/{valid}/credential.json"),
        "downloads.credential_jwt": lambda a: a.test_client().get(f"/c/{valid}/credential.jwt"),
        "downloads.baked_png": lambda a: a.test_client().get(f"/c/{valid}/badge.png"),
        "downloads.baked_svg": lambda a: a.test_client().get(f"/c/{valid}/badge.svg?form=jwt"),
        "downloads.certificate": lambda a: a.test_client().get(f"/c/{valid}/certificate.pdf"),
        "holder.holder_page": lambda a: a.test_client().get(f"/h/{_holder_token(issued)}"),
        "oid4vci.credential_issuer_metadata": lambda a: a.test_client().get(
            "/.well-known/openid-credential-issuer"
        ),
        "oid4vci.authorization_server": lambda a: a.test_client().get(
            "/.well-known/oauth-authorization-server"
        ),
        "oid4vci.credential_offer": lambda a: a.test_client().get(offer_path(_offer_uri(issued))),
        "oid4vci.token": lambda a: token(a.test_client(), fetch_code(a.test_client(), _offer_uri(issued))[0]),
        "oid4vci.nonce": lambda a: a.test_client().post("/oid4vci/nonce"),
        "oid4vci.credential": lambda a: _credential(a, issued),
        "oid4vci.holder_offer": lambda a: a.test_client().post(
            f"/h/{_holder_token(issued)}/oid4vci", data={"credential": issued.valid}
        ),
        "lcw.open_exchange": lambda a: a.test_client().post(
            f"/h/{_holder_token(issued)}/lcw", data={"credential": valid}
        ),
        "lcw.exchange": lambda a: a.test_client().post(
            f"/exchanges/{_exchange_id(issued)}", data="{}", content_type="application/json"
        ),
        "holder.register_choice": lambda a: a.test_client().post(
            f"/h/{_holder_token(issued)}/register", data={"listing": "listed"}
        ),
        "register.register_page": lambda a: a.test_client().get("/register?name=Jane+Doe"),
        "register.api_register": lambda a: a.test_client().get("/api/v1/register?name=Jane+Doe"),
        "register_check.api_register_check": lambda a: a.test_client().post(
            "/api/v1/register/check",
            json={"charterNumbers": ["CAIEP-000001"]},
            headers={"Authorization": f"Bearer {_api_key(issued)}"},
        ),
        "register.register_receipt": lambda a: a.test_client().get("/register/receipt.json?name=Jane+Doe"),
        "receipts.verifier_did_document": lambda a: a.test_client().get("/verifier/did.json"),
        "receipts.receipt_context": lambda a: a.test_client().get("/contexts/receipt/v1"),
        "receipts.credential_receipt_json": lambda a: a.test_client().get(f"/c/{valid}/receipt.json"),
        "receipts.credential_receipt_pdf": lambda a: a.test_client().get(f"/c/{valid}/receipt.pdf"),
        "receipts.verify_receipt_json": lambda a: a.test_client().post(
            "/verify/receipt.json", data={"checked": b64encode(issued.documents[valid].encode()).decode()}
        ),
        "receipts.verify_receipt_pdf": lambda a: a.test_client().post(
            "/verify/receipt.pdf", data={"checked": b64encode(issued.documents[valid].encode()).decode()}
        ),
    }


def _api_key(issued: Issued) -> str:
    """A new API key for bulk checks."""
    from datetime import UTC, datetime

    from caiep.issuer.apikeys import create
    from caiep.issuer.registry import open_registry

    with open_registry(issued.database_url) as registry, registry.write() as connection:
        return create(connection, "Header test HR", None, actor="test", now=datetime.now(UTC)).key


def _offer_uri(issued: Issued) -> str:
    """A new offer (no PIN) of the valid credential."""
    from datetime import UTC, datetime, timedelta

    from caiep.issuer.offers import create_offer
    from caiep.issuer.registry import open_registry

    with open_registry(issued.database_url) as registry, registry.write() as connection:
        made = create_offer(
            connection,
            issued.valid,
            pin=False,
            expires_in=timedelta(days=1),
            now=datetime.now(UTC),
            issuer_url=issued.issuer_url,
        )
    return made.offer_uri


def _credential(app: Flask, issued: Issued) -> TestResponse:
    """The valid credential into a wallet, through the real signer of the instance."""
    from signer_support import running_signer

    client = app.test_client()
    code, _ = fetch_code(client, _offer_uri(issued))
    bearer = token(client, code).get_json()["access_token"]
    body = {
        "credential_configuration_id": "CAiEP_ldp_vc",
        "proofs": {"jwt": [WalletKey().proof(nonce(client))]},
    }
    with running_signer(issued.home, {"CAIEP_KEY_PASSPHRASE": issued.passphrase}):
        return credential(client, bearer, body)


def _exchange_id(issued: Issued) -> str:
    """A new Learner Credential Wallet exchange for the valid credential."""
    from datetime import UTC, datetime, timedelta

    from caiep.issuer.exchanges import open_for_holder
    from caiep.issuer.registry import open_registry

    token = _holder_token(issued)
    with open_registry(issued.database_url) as registry, registry.write() as connection:
        now = datetime.now(UTC)
        return open_for_holder(
            connection, token, issued.valid, lifetime=timedelta(minutes=5), now=now
        ).exchange_id


def _holder_token(issued: Issued) -> str:
    """A fresh link to the private page of the valid credential's holder."""
    from datetime import UTC, datetime

    from caiep.issuer.holders import new_link
    from caiep.issuer.registry import open_registry

    with open_registry(issued.database_url) as registry, registry.write() as connection:
        return new_link(connection, issued.valid, rotate=False, actor="test", now=datetime.now(UTC)).token


EXPECTED_CACHE = {
    "verifier.credential_page": "max-age=60",
    "verifier.verify_form": "max-age=60",
    "verifier.verify_submitted": "no-store",
    "verifier.api_verify": "no-store",
    "verifier.api_status": "max-age=60",
    "verifier.openapi": "max-age=3600",
    "issuer.hosted_credential": "max-age=300",
    "issuer.did_document": "max-age=300",
    "issuer.achievement_definition": "max-age=3600",
    "issuer.status_list": "max-age=3600",  # the lists' ttl (status_list_ttl_ms)
    "wallet_export.qr_png_image": "public, max-age=86400",
    "wallet_export.qr_svg_image": "public, max-age=86400",
    "badge.badge_png_image": "public, max-age=604800",
    "badge.badge_svg_image": "public, max-age=604800",
    "downloads.credential_json": "max-age=60",
    "downloads.credential_jwt": "max-age=60",
    "downloads.baked_png": "max-age=60",
    "downloads.baked_svg": "max-age=60",
    "downloads.certificate": "max-age=60",
    "holder.holder_page": "no-store",
    "oid4vci.credential_issuer_metadata": "max-age=300",
    "oid4vci.authorization_server": "max-age=300",
    "oid4vci.credential_offer": "no-store",
    "oid4vci.token": "no-store",
    "oid4vci.nonce": "no-store",
    "oid4vci.credential": "no-store",
    "oid4vci.holder_offer": "no-store",
    "lcw.open_exchange": "no-store",
    "lcw.exchange": "no-store",
    "holder.register_choice": "no-store",  # 303 back to the page
    "register.register_page": "no-store",  # answers name people
    "register.api_register": "no-store",
    "register_check.api_register_check": "no-store",  # names people, for one employer
    "register.register_receipt": "no-store",  # a signed record of one lookup, made for its asker
    "receipts.verifier_did_document": "max-age=300",
    "receipts.receipt_context": "max-age=3600",
    "receipts.credential_receipt_json": "no-store",
    "receipts.credential_receipt_pdf": "no-store",
    "receipts.verify_receipt_json": "no-store",  # a credential sent back by its /verify page
    "receipts.verify_receipt_pdf": "no-store",
}
#: Routes that answer 303 (a form's POST, then the page again); every other answers 200.
REDIRECTS = {"holder.register_choice"}
NOINDEX = {"holder.holder_page", "holder.register_choice"}  # and the wallet offers' pages, below
NOINDEX |= {"register_check.api_register_check"}


def test_every_route_says_how_long_its_answer_may_be_kept(app: Flask, issued: Issued) -> None:
    requests = _requests(issued)
    assert set(requests) == {rule.endpoint for rule in app.url_map.iter_rules()}, "a route without a test"
    for endpoint, send in requests.items():
        response = send(app)
        assert response.status_code == (303 if endpoint in REDIRECTS else 200), endpoint
        assert response.headers.get_all("Cache-Control") != [], endpoint
        assert len(response.headers.get_all("Cache-Control")) == 1, endpoint
        if endpoint in EXPECTED_CACHE:
            assert response.headers["Cache-Control"] == EXPECTED_CACHE[endpoint], endpoint
        assert ("Access-Control-Allow-Origin" in response.headers) == (endpoint in CORS_ROUTES), endpoint
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert requests["issuer.hosted_credential"](app).headers["Vary"] == "Accept"
    private = NOINDEX | {"oid4vci.holder_offer", "lcw.open_exchange"}
    for endpoint, send in requests.items():  # only private pages and answers keep out of search engines
        robots = send(app).headers.get("X-Robots-Tag")
        assert robots == ("noindex, nofollow" if endpoint in private else None), endpoint


def test_errors_are_never_stored(app: Flask, issued: Issued) -> None:
    client = app.test_client()
    for response in (
        client.get("/c/00000000-0000-4000-8000-000000000000"),
        client.get("/no/such/page"),
        client.post("/api/v1/verify", data="x", content_type="text/plain"),
        client.get("/api/v1/credentials/00000000-0000-4000-8000-000000000000/status"),
        client.get("/h/" + "A" * 43),
        client.post("/h/" + "A" * 43 + "/lcw", data={"credential": issued.valid}),
        client.post("/exchanges/" + "A" * 43, data="{}", content_type="application/json"),
    ):
        assert response.status_code in (400, 404)
        assert response.headers.get_all("Cache-Control") == ["no-store"]


def test_every_method_not_allowed_answer_names_the_allowed_ones(app: Flask) -> None:
    client = app.test_client()
    methods: dict[str, set[str]] = {}  # /verify has two rules, GET and POST
    for rule in app.url_map.iter_rules():
        methods.setdefault(rule.rule, set()).update(rule.methods or ())
    for template, expected in methods.items():
        path = template.replace("<uuid:credential_id>", "00000000-0000-4000-8000-000000000000")
        path = path.replace("<path:filename>", "caiep.css").replace("<int:number>", "1")
        response = client.delete(path)
        assert response.status_code == 405, path
        assert {method.strip() for method in response.headers["Allow"].split(",")} == expected, path


def test_the_public_api_answers_a_preflight_before_it_is_rate_limited(issued: Issued) -> None:
    limits = RateLimitSettings(verify=(Window(1, 10),), read=(Window(1, 10),))
    app = _app(issued, rate_limits=limits)
    client = app.test_client()
    preflight = {"Origin": "https://employer.example", "Access-Control-Request-Method": "POST"}
    try:
        answers = [client.options("/api/v1/verify", headers=preflight) for _ in range(5)]
        posted = client.post(
            "/api/v1/verify", data=issued.documents[issued.valid], content_type="application/json"
        )
        page = client.options(f"/c/{issued.valid}", headers=preflight)
    finally:
        app.extensions["caiep.registry"].dispose()

    for answer in answers:
        assert answer.status_code == 204
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in answer.headers["Access-Control-Allow-Methods"]
        assert "Content-Type" in answer.headers["Access-Control-Allow-Headers"]
        assert int(answer.headers["Access-Control-Max-Age"]) > 0
    assert posted.status_code == 200  # the preflights took nothing of the client's allowance
    assert posted.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in page.headers  # the pages are not a cross-origin API


@pytest.mark.parametrize(("trusted", "hsts"), [(0, False), (1, True)])
def test_hsts_only_over_https_as_a_trusted_proxy_reports_it(issued: Issued, trusted: int, hsts: bool) -> None:
    app = _app(issued, trusted_proxies=trusted)
    client = app.test_client()
    try:
        forwarded = client.get(
            "/verify", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.5"}
        )
        direct_https = client.get("/verify", base_url="https://localhost")
        plain = client.get("/verify")
    finally:
        app.extensions["caiep.registry"].dispose()

    assert ("Strict-Transport-Security" in forwarded.headers) is hsts
    assert direct_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain.headers
