"""The public pages as a person sees them: headless Chromium against gunicorn on loopback.

Debian's ``/usr/bin/chromium`` driven by Playwright (its own browser download is not used).
Every page is opened at desktop and phone sizes and saved as a full-page screenshot under
``test-output/screenshots/``. The QR code is read back with a real decoder (zxing-cpp), from
the PNG the server sends and from the SVG as Chromium draws it.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import zxingcpp
from browser_support import VIEWPORTS
from PIL import Image

if TYPE_CHECKING:
    from conftest import Issued, LiveServer


def day(value: date) -> str:
    """A date as the pages print it: 26 November 2031."""
    return f"{value.day} {value:%B %Y}"


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def open_page(context: Any) -> Any:
    """A page that records what went wrong below the document: failed loads, CSP refusals."""
    page = context.new_page()
    page.problems = []
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and r.request.resource_type != "document"
            and page.problems.append(f"{r.status} {r.url}")
        ),
    )
    page.on("requestfailed", lambda r: page.problems.append(f"failed {r.url}: {r.failure}"))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.text.startswith("Failed to load resource")
            and page.problems.append(m.text)
        ),
    )
    return page


@pytest.fixture
def page(browser: Any, viewport: str) -> Iterator[Any]:
    context = browser.new_context(**VIEWPORTS[viewport])
    yield open_page(context)
    context.close()


@pytest.fixture
def desktop_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(**VIEWPORTS["desktop"])
    yield open_page(context)
    context.close()


def assert_whole(page: Any) -> None:
    """Every subresource loaded (the stylesheet above all: unstyled, the verdict has no colour)."""
    assert page.problems == []
    assert page.evaluate("[...document.styleSheets].every(sheet => sheet.cssRules.length > 0)")
    assert page.evaluate("document.styleSheets.length") >= 1
    if page.locator("section.verdict").count():
        colour = page.eval_on_selector("section.verdict", "e => getComputedStyle(e).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent", "rgb(255, 255, 255)")


def assert_accessible_basics(page: Any) -> None:
    """One h1, every image described, a page language, readable verdict contrast; all loaded."""
    assert_whole(page)
    assert page.locator("h1").count() == 1
    missing_alt = page.eval_on_selector_all(
        "img", "images => images.filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.src)"
    )
    assert missing_alt == []
    assert page.get_attribute("html", "lang")
    ratio = page.evaluate(CONTRAST_OF_H1)
    assert ratio >= 4.5, f"the h1's contrast is {ratio:.2f}:1, WCAG AA needs 4.5:1"


# WCAG 2.2 §1.4.3 contrast ratio of the h1's text against the first opaque background behind it.
CONTRAST_OF_H1 = """() => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const h1 = document.querySelector('h1');
  let node = h1, background = [255, 255, 255];
  while (node) {
    const value = rgb(getComputedStyle(node).backgroundColor);
    if (value.length < 4 || value[3] > 0) { background = value.slice(0, 3); break; }
    node = node.parentElement;
  }
  const [a, b] = [luminance(rgb(getComputedStyle(h1).color)), luminance(background)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def assert_fits_phone(page: Any, viewport: str) -> None:
    if viewport == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS["phone"]["viewport"]["width"], f"horizontal scroll: {width}px wide"


# --- /c/<uuid> ----------------------------------------------------------------------------


@pytest.mark.browser
def test_valid_credential_page(
    page: Any, viewport: str, issued: Issued, live_server: LiveServer, screenshots: Path
) -> None:
    response = page.goto(f"{live_server.base_url}/c/{issued.valid}")
    assert response.status == 200
    page.screenshot(path=screenshots / f"valid-{viewport}.png", full_page=True)
    assert page.locator("h1").inner_text() == "Valid"
    assert "valid" in (page.get_attribute("section.verdict", "class") or "").split()
    until = day(issued.valid_until(issued.valid))
    assert page.locator("#holder").inner_text() == "Jane Doe, CAiEP"
    assert f"current until {until}" in page.locator(".verdict .lead").inner_text()
    assert facts(page)["Current until"] == until
    assert facts(page)["Issuer"] == "CAiEP Certification Board"
    assert check_marks(page) == ["Passed"] * 5  # the status too: its list is read from the registry
    assert_accessible_basics(page)
    assert_fits_phone(page, viewport)


@pytest.mark.browser
def test_expired_credential_page(
    page: Any, viewport: str, issued: Issued, live_server: LiveServer, screenshots: Path
) -> None:
    response = page.goto(f"{live_server.base_url}/c/{issued.expired}")
    assert response.status == 200
    page.screenshot(path=screenshots / f"expired-{viewport}.png", full_page=True)
    assert page.locator("h1").inner_text() == "Expired"
    until = day(issued.valid_until(issued.expired))
    assert page.locator("#holder").inner_text() == "Eve Expired, CAiEP"
    assert f"expired on {until}" in page.locator(".verdict .lead").inner_text()
    assert facts(page)["Expired on"] == until
    assert "Current until" not in facts(page)
    assert_accessible_basics(page)
    assert_fits_phone(page, viewport)


@pytest.mark.browser
def test_tampered_credential_page(
    page: Any, viewport: str, issued: Issued, live_server: LiveServer, screenshots: Path
) -> None:
    response = page.goto(f"{live_server.base_url}/c/{issued.tampered}")
    assert response.status == 200
    page.screenshot(path=screenshots / f"tampered-{viewport}.png", full_page=True)
    assert page.locator("h1").inner_text() == "Invalid"
    assert "invalid" in (page.get_attribute("section.verdict", "class") or "").split()
    assert "altered" in page.locator(".verdict .lead").inner_text()
    assert (
        "This is not a valid credential of CAiEP Certification Board."
        in page.locator(".verdict .lead").inner_text()
    )
    # The forged details are shown only as unverified claims, without the post-nominal.
    assert page.locator("#holder").inner_text() == "What this credential claims (not verified)"
    assert issued.tampered_name in page.locator("dl.unverified").inner_text()
    assert f"{issued.tampered_name}, CAiEP" not in page.content()
    proof = page.locator("ul.checks li", has_text="Issuer's signature")
    assert proof.locator(".mark").text_content() == "Failed"
    assert_accessible_basics(page)
    assert_fits_phone(page, viewport)


@pytest.mark.browser
def test_unknown_credential_page(
    page: Any, viewport: str, issued: Issued, live_server: LiveServer, screenshots: Path
) -> None:
    response = page.goto(f"{live_server.base_url}/c/{issued.unknown}")
    assert response.status == 404
    page.screenshot(path=screenshots / f"not-found-{viewport}.png", full_page=True)
    assert page.locator("h1").inner_text() == "Not found"
    assert "no CAiEP credential at this address" in page.locator(".lead").inner_text()
    assert page.get_by_role("link", name="Verify a credential").count() == 1
    assert_accessible_basics(page)
    assert_fits_phone(page, viewport)


def facts(page: Any) -> dict[str, str]:
    """The page's ``dl.facts`` as term -> description."""
    pairs = page.eval_on_selector_all(
        "dl.facts dt", "terms => terms.map(t => [t.innerText, t.nextElementSibling.innerText])"
    )
    return dict(pairs)


def check_marks(page: Any) -> list[str]:
    """Each check's outcome as written (text, not as styled: the stylesheet may upper-case it)."""
    return [mark.strip() for mark in page.locator("ul.checks li .mark").all_text_contents()]


# --- /verify ------------------------------------------------------------------------------


@pytest.mark.browser
def test_verify_pasted_json_without_javascript(
    browser: Any, issued: Issued, live_server: LiveServer, screenshots: Path
) -> None:
    """The form needs no script: Chromium with JavaScript off posts it like any browser."""
    context = browser.new_context(java_script_enabled=False, **VIEWPORTS["desktop"])
    try:
        page = open_page(context)
        page.goto(f"{live_server.base_url}/verify")
        assert page.locator("h1").inner_text() == "Verify a credential"
        assert_accessible_basics(page)
        page.screenshot(path=screenshots / "verify-form-desktop.png", full_page=True)
        page.get_by_label("Credential (JSON or VC-JWT)").fill(issued.documents[issued.valid])
        with page.expect_navigation():
            page.get_by_role("button", name="Verify").click()
        assert page.locator("h1").inner_text() == "Valid"
        assert page.locator("#holder").inner_text() == "Jane Doe, CAiEP"
        # Pasted, the credential has no page of ours to share: no QR code is offered.
        assert page.locator("img.qr").count() == 0
        page.screenshot(path=screenshots / "verify-pasted-desktop.png", full_page=True)
    finally:
        context.close()


@pytest.mark.browser
def test_verify_uploaded_jwt(
    desktop_page: Any, issued: Issued, live_server: LiveServer, tmp_path: Path, screenshots: Path
) -> None:
    token = tmp_path / "jane-roe.jwt"
    token.write_text(issued.documents[issued.jwt], encoding="utf-8")
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+\n", token.read_text())
    desktop_page.goto(f"{live_server.base_url}/verify")
    desktop_page.set_input_files("input[type=file]", token)
    with desktop_page.expect_navigation():
        desktop_page.get_by_role("button", name="Verify").click()
    desktop_page.screenshot(path=screenshots / "verify-uploaded-jwt-desktop.png", full_page=True)
    assert desktop_page.locator("h1").inner_text() == "Valid"
    assert desktop_page.locator("#holder").inner_text() == "Jane Roe, CAiEP"
    assert_accessible_basics(desktop_page)


@pytest.mark.browser
def test_verify_rejects_garbage_with_a_sentence(desktop_page: Any, live_server: LiveServer) -> None:
    desktop_page.goto(f"{live_server.base_url}/verify")
    desktop_page.get_by_label("Credential (JSON or VC-JWT)").fill("{not json")
    with desktop_page.expect_navigation():
        desktop_page.get_by_role("button", name="Verify").click()
    alert = desktop_page.get_by_role("alert")
    assert "Could not read the credential" in alert.inner_text()
    assert "Traceback" not in desktop_page.content()
    assert_accessible_basics(desktop_page)


# --- QR codes -----------------------------------------------------------------------------


@pytest.mark.browser
def test_qr_image_on_the_page_loads(desktop_page: Any, issued: Issued, live_server: LiveServer) -> None:
    desktop_page.goto(f"{live_server.base_url}/c/{issued.valid}")
    qr = desktop_page.locator("img.qr")
    assert qr.get_attribute("alt")
    assert qr.evaluate("image => image.complete && image.naturalWidth") > 0
    assert desktop_page.get_by_role("link", name="QR code as SVG, for printing").count() == 1


def test_qr_png_decodes_to_the_page_url(issued: Issued, live_server: LiveServer) -> None:
    with urllib.request.urlopen(f"{live_server.base_url}/c/{issued.valid}/qr.png", timeout=10) as response:
        assert response.headers.get_content_type() == "image/png"
        image = Image.open(io.BytesIO(response.read()))
    decoded = zxingcpp.read_barcodes(image)
    assert [(code.format, code.text) for code in decoded] == [
        (zxingcpp.BarcodeFormat.QRCode, f"https://credentials.caiep.example/c/{issued.valid}")
    ]
    assert decoded[0].text == issued.page_url(issued.valid)


def test_qr_of_unknown_credential_is_404(issued: Issued, live_server: LiveServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{live_server.base_url}/c/{issued.unknown}/qr.png", timeout=10)
    assert caught.value.code == 404


@pytest.mark.browser
def test_qr_svg_as_drawn_by_chromium_decodes(
    desktop_page: Any, issued: Issued, live_server: LiveServer, screenshots: Path
) -> None:
    """The SVG for printing, drawn by Chromium as an image at 400 px, reads as the page URL."""
    svg_url = f"{live_server.base_url}/c/{issued.valid}/qr.svg"
    with urllib.request.urlopen(svg_url, timeout=10) as response:
        assert response.headers.get_content_type() == "image/svg+xml"
    desktop_page.goto(f"{live_server.base_url}/c/{issued.valid}")
    qr = desktop_page.locator("img.qr")
    qr.evaluate(
        """(image, source) => new Promise((loaded, failed) => {
             image.onload = loaded; image.onerror = failed;
             image.width = 400; image.height = 400; image.src = source;
           })""",
        svg_url,
    )
    drawn = qr.screenshot(path=screenshots / "qr-svg-drawn.png")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(drawn)))
    assert [code.text for code in decoded] == [f"https://credentials.caiep.example/c/{issued.valid}"]


def test_hosted_credential_is_the_stored_document(issued: Issued, live_server: LiveServer) -> None:
    """What the QR code's page verifies is what /credentials/<uuid> serves, byte for byte."""
    request = urllib.request.Request(
        f"{live_server.base_url}/credentials/{issued.valid}", headers={"Accept": "application/vc+ld+json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers.get_content_type() == "application/vc+ld+json"
        body = response.read().decode("utf-8")
    assert body == issued.documents[issued.valid]
    assert json.loads(body)["id"] == f"{issued.issuer_url}/credentials/{issued.valid}"


# --- the charter's standing: revoked, suspended, renewed ----------------------------------


@pytest.fixture(scope="module")
def standings(issued: Issued, live_server: LiveServer) -> dict[str, Any]:
    """Three charters of the served instance, changed with the lifecycle building blocks while
    the app runs: one revoked, one suspended, one renewed (its older document kept)."""
    from datetime import UTC, datetime

    import lifecycle_support

    now = datetime.now(UTC)
    changed = lifecycle_support.three_standings(issued.home, issued.database_url, issued.passphrase, now)
    return {**changed, "today": day(now.date())}


@pytest.mark.browser
@pytest.mark.parametrize(
    ("which", "heading", "colour_class", "words"),
    [
        ("revoked", "Revoked", "revoked", "Charter withdrawn after a hearing"),
        ("suspended", "Suspended", "suspended", "Under review"),
    ],
)
def test_revoked_and_suspended_pages_give_the_date_and_the_public_reason(
    page: Any,
    viewport: str,
    standings: dict[str, Any],
    live_server: LiveServer,
    screenshots: Path,
    which: str,
    heading: str,
    colour_class: str,
    words: str,
) -> None:
    response = page.goto(f"{live_server.base_url}/c/{standings[which].credential_id}")
    assert response.status == 200
    page.screenshot(path=screenshots / f"{which}-{viewport}.png", full_page=True)
    assert page.locator("h1").inner_text() == heading
    assert colour_class in (page.get_attribute("section.verdict", "class") or "").split()
    verdict = page.locator("section.verdict").inner_text()
    assert standings["today"] in verdict
    assert f"Reason: {words}" in verdict
    assert "Charter holder since" in facts(page)
    assert "Current until" not in facts(page)  # the document's own date, not a current charter's
    assert "Valid until" in facts(page)
    status = page.locator("ul.checks li", has_text="Revocation and suspension")
    assert status.locator(".mark").text_content() == "Failed"
    assert_accessible_basics(page)
    assert_fits_phone(page, viewport)


@pytest.mark.browser
def test_an_older_version_reads_renewed_with_a_link_to_the_current_state(
    page: Any, viewport: str, standings: dict[str, Any], live_server: LiveServer, screenshots: Path
) -> None:
    old = standings["renewed"]
    page.goto(f"{live_server.base_url}/verify")
    page.get_by_label("Credential (JSON or VC-JWT)").fill(old.document)
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    page.screenshot(path=screenshots / f"renewed-{viewport}.png", full_page=True)
    assert page.locator("h1").inner_text() == "Renewed"
    assert "renewed — current until" in page.locator(".verdict .lead").inner_text()
    assert "Current until" not in facts(page)
    with page.expect_navigation():
        page.get_by_role("link", name="See the current state").click()
    assert page.url.endswith(f"/c/{old.credential_id}")
    assert page.locator("h1").inner_text() == "Valid"
    assert_accessible_basics(page)
    assert_fits_phone(page, viewport)


def test_both_workers_report_the_change_made_while_the_app_ran(
    standings: dict[str, Any], live_server: LiveServer
) -> None:
    """The state is read from the registry on every request: every answer, from either
    gunicorn worker, says what the registry now holds."""
    for _ in range(8):
        for which in ("revoked", "suspended"):
            url = f"{live_server.base_url}/api/v1/credentials/{standings[which].credential_id}/status"
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
            assert (body["status"], body["state"]) == (which, which)
