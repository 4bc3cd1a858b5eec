"""Signed receipts as a person downloads them, in Debian's Chromium against gunicorn at desktop and
phone sizes: the credential page, the register's answer and the page of a pasted or uploaded
credential each offer "Download a signed record of this check"; each of those pages passes
axe-core with no violation and fits a phone's width; the JSON a click downloads is a receipt
that :func:`verify_receipt` accepts against the instance's verifier DID document, of the check
that page showed (its verdict, the credential's id, the SHA-256 of the bytes checked)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import VIEWPORTS
from test_accessibility import AXE, assert_no_violations

from support import UNLIMITED_ENVIRONMENT

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

OFFER = "Download a signed record of this check"


@pytest.fixture(scope="module")
def did_document(issued: Issued) -> dict[str, Any]:
    """The verifier's DID document as the instance directory holds it (not as the server says)."""
    from caiep.settings import read_configuration
    from caiep.verifierkey import verifier_did_document

    return verifier_did_document(read_configuration(issued.home))


def _download(page: Any, control: Any, tmp_path: Path, name: str) -> bytes:
    """What clicking ``control`` downloads."""
    with page.expect_download() as download:
        control.click()
    target = tmp_path / name
    download.value.save_as(target)
    return target.read_bytes()


def _verified(data: bytes, did_document: dict[str, Any]) -> Any:
    from caiep.verifier.receipts import verify_receipt

    return verify_receipt(json.loads(data), did_document)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _fits(page: Any, viewport: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["viewport"]["width"]


@pytest.mark.browser
def test_every_checking_page_offers_a_signed_record(
    browser: Any,
    issued: Issued,
    did_document: dict[str, Any],
    serve_instance: Callable[..., LiveServer],
    screenshots: Path,
    tmp_path: Path,
) -> None:
    server = serve_instance("receipts", **UNLIMITED_ENVIRONMENT)
    axe_source = AXE.read_text(encoding="utf-8")
    stored = issued.documents[issued.valid]
    credential_id = json.loads(stored)["id"]
    for viewport in sorted(VIEWPORTS):
        context = browser.new_context(bypass_csp=True, accept_downloads=True, **VIEWPORTS[viewport])
        page = context.new_page()
        try:
            # The credential's own page (what its QR code opens).
            page.goto(f"{server.base_url}/c/{issued.valid}")
            offer = page.locator("p.receipt")
            assert offer.inner_text().startswith(OFFER)
            _fits(page, viewport)
            assert_no_violations(page, axe_source, "receipt-credential", screenshots, viewport)
            data = _download(page, offer.get_by_role("link", name="signed record (JSON)"), tmp_path, "c.json")
            verified = _verified(data, did_document)
            assert verified.kind == "credential"
            assert verified.subject["checkedCredential"] == credential_id
            assert verified.subject["verdict"] == "valid"
            assert verified.subject["checkedDigest"] == _digest(stored.encode("utf-8"))
            pdf = _download(page, offer.get_by_role("link", name="printable copy (PDF)"), tmp_path, "c.pdf")
            assert pdf.startswith(b"%PDF-")

            # The register's answer.
            page.goto(f"{server.base_url}/register?name=jane+doe")
            assert page.locator("article.match h3").inner_text() == "Jane Doe, CAiEP"
            offer = page.locator("p.receipt")
            assert offer.inner_text().startswith(OFFER)
            _fits(page, viewport)
            assert_no_violations(page, axe_source, "receipt-register", screenshots, viewport)
            links = offer.get_by_role("link")
            data = _download(page, links.first, tmp_path, "register.json")
            verified = _verified(data, did_document)
            assert verified.kind == "lookup"
            assert verified.subject["query"]["fullName"] == "jane doe"
            [answer] = verified.subject["answers"]
            assert (answer["name"], answer["state"]) == ("Jane Doe", "current")

            # A pasted credential on /verify: the record of the text as the browser sent it.
            page.goto(f"{server.base_url}/verify")
            page.get_by_label("Credential (JSON or VC-JWT)").fill(stored)
            with page.expect_navigation():
                page.get_by_role("button", name="Verify").click()
            assert page.locator("h1").inner_text() == "Valid"
            offer = page.locator("form.receipt")
            assert offer.inner_text().startswith(OFFER)
            _fits(page, viewport)
            assert_no_violations(page, axe_source, "receipt-pasted", screenshots, viewport)
            json_button = offer.get_by_role("button", name="signed record (JSON)")
            data = _download(page, json_button, tmp_path, "p.json")
            verified = _verified(data, did_document)
            # A form sends a text area's line ends as CRLF (HTML's form submission): those bytes.
            assert "\n" in stored
            assert verified.subject["checkedDigest"] == _digest(stored.replace("\n", "\r\n").encode())
            assert verified.subject["checkedCredential"] == credential_id
            assert verified.subject["verdict"] == "valid"
            pdf = _download(page, offer.get_by_role("button", name="printable copy (PDF)"), tmp_path, "p.pdf")
            assert pdf.startswith(b"%PDF-")

            # An uploaded file, laid out differently: the record names that file's exact bytes.
            laid_out = (json.dumps(json.loads(stored), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            page.goto(f"{server.base_url}/verify")
            page.get_by_label("or a file").set_input_files(
                {"name": "charter.json", "mimeType": "application/json", "buffer": laid_out}
            )
            with page.expect_navigation():
                page.get_by_role("button", name="Verify").click()
            assert page.locator("h1").inner_text() == "Valid"
            offer = page.locator("form.receipt")
            json_button = offer.get_by_role("button", name="signed record (JSON)")
            data = _download(page, json_button, tmp_path, "u.json")
            verified = _verified(data, did_document)
            assert verified.subject["checkedDigest"] == _digest(laid_out)
            assert verified.subject["checkedDigest"] != _digest(stored.encode("utf-8"))
        finally:
            context.close()
    log = server.log.read_text(errors="replace")
    assert "caiep.access POST /verify/receipt.json 200 " in log
    assert "caiep.access GET /c/" in log
