"""The signed record of a check made on ``/verify``: the result page carries the exact bytes it
checked (base64, in a hidden field), and ``POST /verify/receipt.json|pdf`` checks them again
itself, so nothing a client says of the outcome is ever signed; the requests count as
verifications; a badge image or a credential too large to send back is pointed to the API."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from charter_site import NOW, Charters, change_state, issue_at, open_site

from caiep.app import AppConfig, create_app
from caiep.issuer.jobs import IssuedCredential
from caiep.ratelimit import RateLimitSettings, Window
from caiep.settings import database_url
from caiep.verifier.receipts import verify_receipt


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("recheck") / "home")


@pytest.fixture(scope="module")
def stored(site: Charters) -> tuple[IssuedCredential, str]:
    issued = issue_at(site, "Rita Recheck", NOW - timedelta(days=10))
    document = site.registry.document(issued.credential_id)
    assert document is not None
    return issued, document


def _did_document(site: Charters) -> dict[str, Any]:
    return dict(json.loads(site.client.get("/verifier/did.json").get_data()))


def _carried(page: str) -> str:
    """The base64 a result page will send back, read from its hidden field."""
    [value] = re.findall(r'<input type="hidden" name="checked" value="([^"]*)">', page)
    return html.unescape(value)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_page_sends_back_the_exact_bytes_and_the_server_checks_them_again(
    site: Charters, stored: tuple[IssuedCredential, str]
) -> None:
    _, document = stored
    uploaded = (json.dumps(json.loads(document), indent=1) + "\r\n").encode("utf-8")
    page = site.client.post("/verify", data={"file": (io.BytesIO(uploaded), "charter.json")}).get_data(
        as_text=True
    )
    assert "Download a signed record of this check" in page
    carried = _carried(page)
    assert base64.b64decode(carried) == uploaded  # the file as uploaded, byte for byte
    # Whatever else the form says, the server signs only what it found itself.
    response = site.client.post(
        "/verify/receipt.json",
        data={"checked": carried, "verdict": "invalid", "checkedDigest": "sha256:" + "0" * 64},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="caiep-check-')
    receipt = json.loads(response.get_data())
    verified = verify_receipt(receipt, _did_document(site))
    assert verified.subject["checkedDigest"] == _digest(uploaded)
    assert verified.subject["verdict"] == "valid"
    assert verified.subject["checkedCredential"] == json.loads(document)["id"]
    pdf = site.client.post("/verify/receipt.pdf", data={"checked": carried})
    assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf")
    assert pdf.get_data().startswith(b"%PDF-")


def test_a_changed_credential_sent_back_is_recorded_as_failing(
    site: Charters, stored: tuple[IssuedCredential, str]
) -> None:
    _, document = stored
    forged = json.loads(document)
    forged["credentialSubject"]["name"] = "Someone Else"
    data = json.dumps(forged).encode("utf-8")
    response = site.client.post("/verify/receipt.json", data={"checked": base64.b64encode(data).decode()})
    subject = json.loads(response.get_data())["credentialSubject"]
    assert subject["verdict"] == "invalid"
    assert {"check": "proof", "outcome": "invalid"} in subject["checks"]
    assert subject["checkedDigest"] == _digest(data)


def test_a_suspension_is_what_the_record_says_when_asked_after_it(site: Charters) -> None:
    issued = issue_at(site, "Sam Suspended", NOW - timedelta(days=20))
    document = site.registry.document(issued.credential_id)
    assert document is not None
    page = site.client.post("/verify", data={"credential": document}).get_data(as_text=True)
    carried = _carried(page)
    change_state(site, issued, "suspended", "Under review")
    subject = json.loads(site.client.post("/verify/receipt.json", data={"checked": carried}).get_data())[
        "credentialSubject"
    ]
    assert subject["verdict"] == "suspended"  # checked again when asked, not the page's old answer


@pytest.mark.parametrize(
    ("form", "status", "field"),
    [
        ({}, 400, "checked"),
        ({"checked": ""}, 400, "checked"),
        ({"checked": "not base64!"}, 400, "checked"),
        ({"checked": base64.b64encode(b"\xff\xfe").decode()}, 400, "not UTF-8"),
        ({"checked": base64.b64encode(b"[1, 2]").decode()}, 400, "JSON object"),
        (
            {"checked": base64.b64encode(b"{" + b'"a":' * 1 + b"[" * 200 + b"]" * 200 + b"}").decode()},
            422,
            "",
        ),
    ],
)
def test_what_cannot_be_checked_is_refused(
    site: Charters, form: dict[str, str], status: int, field: str
) -> None:
    response = site.client.post("/verify/receipt.json", data=form)
    assert response.status_code == status
    assert field in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_badge_image_is_pointed_to_the_api(site: Charters, stored: tuple[IssuedCredential, str]) -> None:
    issued, _ = stored
    image = site.client.get(f"/c/{issued.credential_id}/badge.png")
    assert image.status_code == 200
    page = site.client.post("/verify", data={"file": (io.BytesIO(image.get_data()), "badge.png")}).get_data(
        as_text=True
    )
    assert "<h1>Valid</h1>" in page or ">Valid<" in page
    assert 'name="checked"' not in page
    assert "POST /api/v1/verify?receipt=true" in page


def test_records_count_as_verifications(site: Charters, stored: tuple[IssuedCredential, str]) -> None:
    _, document = stored
    limited = create_app(
        AppConfig(
            home=site.home,
            database_url=database_url(site.home),
            rate_limits=RateLimitSettings(verify=(Window(2, 60),)),
        )
    )
    try:
        client = limited.test_client()
        carried = {"checked": base64.b64encode(document.encode()).decode()}
        assert client.post("/verify/receipt.json", data=carried).status_code == 200
        assert client.post("/verify/receipt.pdf", data=carried).status_code == 200
        refused = client.post("/verify/receipt.json", data=carried)
        assert refused.status_code == 429
        assert client.get("/verify").status_code == 200  # a read, another class
    finally:
        limited.extensions["caiep.registry"].dispose()
