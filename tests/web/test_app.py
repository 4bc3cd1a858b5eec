"""The verification service through Flask's test client: every route and error path."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from caiep.app import AppConfig, create_app
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import issue_one
from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.ratelimit import RateLimitSettings, Window
from caiep.settings import database_url
from caiep.verifier.inputs import MAX_BYTES
from caiep.wiring import Instance, init_instance, upgrade_configured_database
from support import unlimited_rates

PASSPHRASE = "a throwaway test passphrase"
NOW = datetime.now(UTC)


@dataclass
class Site:
    client: FlaskClient
    home: Path
    valid: str
    expired: str
    tampered: str
    jwt: str
    documents: dict[str, str]


def _award(name: str) -> CharterAward:
    return CharterAward(
        name=name,
        email=f"{name.split()[0].lower()}@example.org",
        exam_date=date(2020, 1, 6),
        charter_number="",
        score="82",
        exam_version="2026.1",
        pathway="experience",
    )


@pytest.fixture(scope="module")
def app_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("site") / "home"
    init_instance(
        home,
        issuer_name="CAiEP Certification Board",
        issuer_url="https://credentials.caiep.example",
        did_method="web",
        passphrase=PASSPHRASE,
        now=NOW,
    )
    instance = Instance(home)
    upgrade_configured_database(instance.configuration)
    registry = instance.registry()
    signer = instance.signer(PASSPHRASE)
    jwt_signer = instance.signer(PASSPHRASE, format="jwt")
    valid = issue_one(registry, signer, _award("Jane Doe"), now=NOW)
    expired = issue_one(registry, signer, _award("Eve Expired"), now=NOW - timedelta(days=6 * 366))
    tampered = issue_one(registry, signer, _award("Tom Tampered"), now=NOW)
    jwt = issue_one(registry, jwt_signer, _award("Jo Token"), now=NOW)
    with registry.write() as connection:
        connection.exec_driver_sql(
            "UPDATE credential_copies SET document = replace(document, 'Tom Tampered', 'Tom Trusted')"
            " WHERE credential_id = ?",
            (tampered.credential_id,),
        )
    documents = {c.credential_id: c.document for c in (valid, expired, jwt)}
    registry.dispose()
    app = create_app(AppConfig(home=home, database_url=database_url(home), rate_limits=unlimited_rates()))
    yield Site(
        app.test_client(),
        home,
        valid.credential_id,
        expired.credential_id,
        tampered.credential_id,
        jwt.credential_id,
        documents,
    )
    app.extensions["caiep.registry"].dispose()


def test_the_page_of_a_valid_credential_says_so_in_words(app_site: Site):
    response = app_site.client.get(f"/c/{app_site.valid}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert '<h1 id="verdict">Valid</h1>' in page
    assert "<bdi>Jane Doe</bdi>, CAiEP" in page  # the name isolated from the text around it
    assert "holds the CAiEP® Charter, current until" in page
    assert f"/c/{app_site.valid}/qr.png" in page
    assert page.count("Passed") == 5  # structure, contexts, proof, validity, status (list from the registry)
    assert "(not the CAiEP certification body)" not in page


def test_expired_and_tampered_credentials_are_shown_for_what_they_are(app_site: Site):
    expired = app_site.client.get(f"/c/{app_site.expired}").get_data(as_text=True)
    assert '<h1 id="verdict">Expired</h1>' in expired
    assert "This credential expired on" in expired
    tampered = app_site.client.get(f"/c/{app_site.tampered}").get_data(as_text=True)
    assert '<h1 id="verdict">Invalid</h1>' in tampered
    assert "signature_invalid" in tampered


def test_jwt_credentials_have_pages_too(app_site: Site):
    page = app_site.client.get(f"/c/{app_site.jwt}").get_data(as_text=True)
    assert '<h1 id="verdict">Valid</h1>' in page
    assert "VC-JWT" in page


@pytest.mark.parametrize("path", [f"/c/{uuid.uuid4()}", "/c/not-a-uuid", "/nowhere"])
def test_unknown_pages_are_a_helpful_404(app_site: Site, path: str):
    response = app_site.client.get(path)
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)
    assert "Verify a credential" in response.get_data(as_text=True)


def test_every_response_carries_the_security_headers(app_site: Site):
    for path in (f"/c/{app_site.valid}", "/verify", "/openapi.json", "/nowhere"):
        headers = app_site.client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_hosted_credential_is_the_exact_document_and_browsers_go_to_the_page(app_site: Site):
    response = app_site.client.get(
        f"/credentials/{app_site.valid}", headers={"Accept": "application/vc+ld+json"}
    )
    assert response.mimetype == "application/vc+ld+json"
    assert response.get_data(as_text=True) == app_site.documents[app_site.valid]
    browser = app_site.client.get(f"/credentials/{app_site.valid}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 303
    assert browser.headers["Location"].endswith(f"/c/{app_site.valid}")
    token = app_site.client.get(f"/credentials/{app_site.jwt}", headers={"Accept": "*/*"})
    assert token.mimetype == "text/plain"
    assert token.get_data(as_text=True) == app_site.documents[app_site.jwt]


def test_did_document_and_achievement_are_published(app_site: Site):
    did = app_site.client.get("/.well-known/did.json").get_json(force=True)
    assert did["id"] == "did:web:credentials.caiep.example"
    assert did["assertionMethod"]
    achievement = app_site.client.get("/achievements/caiep").get_json(force=True)
    assert achievement["humanCode"] == "CAiEP"
    assert achievement["achievementType"] == "Certification"


def test_qr_codes_are_images_of_our_credentials_only(app_site: Site):
    png = app_site.client.get(f"/c/{app_site.valid}/qr.png")
    assert png.mimetype == "image/png"
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = app_site.client.get(f"/c/{app_site.valid}/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert app_site.client.get(f"/c/{uuid.uuid4()}/qr.png").status_code == 404


def test_api_verifies_json_and_jwt_and_reports_each_check(app_site: Site):
    document = app_site.documents[app_site.valid]
    response = app_site.client.post("/api/v1/verify", data=document, content_type="application/json")
    body = response.get_json()
    assert response.status_code == 200
    assert (body["verified"], body["status"], body["format"]) == (True, "valid", "ldp")
    assert [c["name"] for c in body["checks"]] == ["structure", "contexts", "proof", "validity", "status"]
    assert body["credential"]["holder"] == "Jane Doe"
    token = app_site.client.post(
        "/api/v1/verify", data=app_site.documents[app_site.jwt], content_type="text/plain"
    )
    assert token.get_json()["verified"] is True
    as_string = app_site.client.post(
        "/api/v1/verify",
        data=json.dumps(app_site.documents[app_site.jwt].strip()),
        content_type="application/json",
    )
    assert as_string.get_json()["format"] == "jwt"


def test_api_judges_a_changed_credential_invalid_not_an_error(app_site: Site):
    changed = json.loads(app_site.documents[app_site.valid])
    changed["credentialSubject"]["name"] = "Someone Else"
    body = app_site.client.post("/api/v1/verify", json=changed).get_json()
    assert (body["verified"], body["status"]) == (False, "invalid")
    assert {c["name"]: c["code"] for c in body["checks"]}["proof"] == "signature_invalid"


def test_foreign_issuers_are_judged_and_labelled(app_site: Site):
    key = SigningKey.from_seed(bytes(range(50, 82)))
    did = did_key_for(key.public_key)
    foreign = json.loads(app_site.documents[app_site.valid])
    foreign.pop("proof")
    foreign.pop("credentialStatus")  # our list speaks for our credentials only
    foreign["issuer"] = {"id": did, "type": ["Profile"], "name": "Another Academy"}
    signed = sign(foreign, key, verification_method=verification_method_id(did, key.public_key), created=NOW)
    body = app_site.client.post("/api/v1/verify", json=signed).get_json()
    assert body["verified"] is True
    page = app_site.client.post("/verify", data={"credential": json.dumps(signed)}).get_data(as_text=True)
    assert '<h1 id="verdict">Valid</h1>' in page
    assert "Another Academy" in page
    assert "(not the CAiEP certification body)" in page
    assert "It was not issued by the CAiEP certification body" in page


@pytest.mark.parametrize(
    ("data", "content_type", "fragment"),
    [
        ("{not json", "application/json", "not valid JSON"),
        ("[1, 2]", "application/json", "not an array"),
        ("hello", "text/plain", "neither a JSON credential nor a compact JWS"),
        ("<x/>", "application/xml", "send the credential as application/json"),
        ("", "application/json", "empty input"),
    ],
)
def test_api_refuses_unreadable_bodies_with_a_4xx_that_says_why(app_site: Site, data, content_type, fragment):
    response = app_site.client.post("/api/v1/verify", data=data, content_type=content_type)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]["message"]


def test_bodies_over_one_mebibyte_are_refused(app_site: Site):
    response = app_site.client.post("/api/v1/verify", data="x" * (MAX_BYTES + 1), content_type="text/plain")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_status_api_gives_the_current_verdict_for_our_credentials(app_site: Site):
    body = app_site.client.get(f"/api/v1/credentials/{app_site.expired}/status").get_json()
    assert (body["verified"], body["status"]) == (False, "expired")
    assert "checkedAt" in body
    missing = app_site.client.get(f"/api/v1/credentials/{uuid.uuid4()}/status")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_verify_form_takes_pasted_text_and_uploads(app_site: Site):
    assert "<form" in app_site.client.get("/verify").get_data(as_text=True)
    pasted = app_site.client.post("/verify", data={"credential": app_site.documents[app_site.valid]})
    assert '<h1 id="verdict">Valid</h1>' in pasted.get_data(as_text=True)
    from io import BytesIO

    uploaded = app_site.client.post(
        "/verify",
        data={"file": (BytesIO(app_site.documents[app_site.jwt].encode()), "jane.jwt")},
        content_type="multipart/form-data",
    )
    assert '<h1 id="verdict">Valid</h1>' in uploaded.get_data(as_text=True)
    bad = app_site.client.post("/verify", data={"credential": "not a credential"})
    assert bad.status_code == 400
    assert "Could not read the credential" in bad.get_data(as_text=True)


def test_a_refused_paste_comes_back_in_the_form_escaped_and_tied_to_its_error(app_site: Site):
    pasted = '{"@context": "<script>alert(1)</script>", '
    page = app_site.client.post("/verify", data={"credential": pasted})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert 'aria-describedby="credential-error" aria-invalid="true">' in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>" not in text
    assert 'id="credential-error" role="alert"' in text
    fresh = app_site.client.get("/verify").get_data(as_text=True)
    assert "aria-invalid" not in fresh
    assert 'rows="10" spellcheck="false"></textarea>' in fresh


def test_openapi_document_describes_the_api(app_site: Site):
    document = app_site.client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/v1/verify", "/api/v1/credentials/{id}/status", "/credentials/{id}"} <= set(
        document["paths"]
    )


def test_verification_posts_and_reads_are_rate_limited_per_client_address(app_site: Site):
    limits = RateLimitSettings(
        verify=(Window(3, 10), Window(600, 60)), read=(Window(2, 10), Window(3000, 60))
    )
    app = create_app(
        AppConfig(home=app_site.home, database_url=database_url(app_site.home), rate_limits=limits)
    )
    client = app.test_client()

    def post(address: str = "192.0.2.1") -> TestResponse:
        return client.post(
            "/api/v1/verify", data="x", content_type="text/plain", environ_base={"REMOTE_ADDR": address}
        )

    codes = [post().status_code for _ in range(5)]
    assert codes == [400, 400, 400, 429, 429]
    limited = post()
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    assert post("192.0.2.2").status_code == 400  # another address has its own count

    page = f"/c/{app_site.valid}"
    reads = [client.get(page, environ_base={"REMOTE_ADDR": "192.0.2.1"}) for _ in range(3)]
    assert [r.status_code for r in reads] == [200, 200, 429]  # reads are counted apart from posts
    assert reads[2].mimetype == "text/html"
    assert "Too many requests" in reads[2].get_data(as_text=True)
    app.extensions["caiep.registry"].dispose()


def test_errors_never_show_a_stack_trace(app_site: Site):
    app = create_app(AppConfig(home=app_site.home, database_url=database_url(app_site.home)))

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text
    assert "Traceback" not in text
    app.extensions["caiep.registry"].dispose()


def test_access_logs_carry_routes_not_credential_ids(app_site: Site, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="caiep.access"):
        app_site.client.get(f"/c/{app_site.valid}?from=qr", environ_base={"REMOTE_ADDR": "192.0.2.77"})
        app_site.client.post("/api/v1/verify", data="x", content_type="text/plain")
        app_site.client.get("/no/such/page")
    lines = [r.getMessage() for r in caplog.records if r.name == "caiep.access"]
    assert len(lines) == 3
    method, route, status, duration, unit = lines[0].split()
    assert (method, route, status, unit) == ("GET", "/c/<uuid:credential_id>", "200", "ms")
    assert float(duration) > 0
    assert lines[1].startswith("POST /api/v1/verify 400 ")
    assert lines[2].startswith("GET (no route) 404 ")
    for leak in (app_site.valid, "192.0.2.77", "from=qr", "/no/such/page"):
        assert leak not in caplog.text


def test_api_reads_a_baked_badge_upload(app_site: Site):
    from io import BytesIO

    from PIL import Image

    from caiep.baking import bake_png

    canvas = BytesIO()
    Image.new("RGB", (64, 64), "navy").save(canvas, format="PNG")
    badge = bake_png(canvas.getvalue(), app_site.documents[app_site.valid])
    response = app_site.client.post(
        "/api/v1/verify", data={"file": (BytesIO(badge), "badge.png")}, content_type="multipart/form-data"
    )
    assert response.get_json()["verified"] is True
    plain = BytesIO()
    Image.new("RGB", (8, 8)).save(plain, format="PNG")
    unbaked = app_site.client.post(
        "/api/v1/verify",
        data={"file": (BytesIO(plain.getvalue()), "x.png")},
        content_type="multipart/form-data",
    )
    assert unbaked.status_code == 400
    assert "no Open Badges 3.0 credential" in unbaked.get_json()["error"]["message"]
