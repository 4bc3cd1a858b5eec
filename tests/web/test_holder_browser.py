"""The holder's private page in Chromium at phone size, against gunicorn: every link of ours
answers 200, every QR code on it (as Chromium draws it) decodes with zxing-cpp to the public page
it stands for, a link revoked by ``caiep holder link --rotate`` answers 404 while an older one
works until then, and the server's log never holds a token."""

from __future__ import annotations

import io
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import zxingcpp
from browser_support import VIEWPORTS
from PIL import Image

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

LINKEDIN = "https://www.linkedin.com/profile/add?"


@pytest.fixture(scope="module")
def renewed_holder(issued: Issued, live_server: LiveServer) -> str:
    """Amara Okafor's charter: awarded four years ago, renewed yesterday (the page lists both)."""
    import lifecycle_support

    from caiep.issuer.charter import CharterAward
    from caiep.issuer.jobs import issue_one
    from caiep.issuer.registry import open_registry
    from caiep.wiring import Instance

    now = datetime.now(UTC)
    signer = Instance(issued.home).signer(issued.passphrase)
    with open_registry(issued.database_url) as registry:
        first = now - timedelta(days=4 * 365)
        award = CharterAward("Amara Okafor", "amara@example.org", (first - timedelta(days=20)).date(), "")
        made = issue_one(registry, signer, award, now=first)
        lifecycle_support.new_version(
            registry, signer, made, "Amara Okafor", now - timedelta(days=1), "renewal"
        )
    return made.credential_id


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(**VIEWPORTS["phone"])
    page = context.new_page()
    page.failed = []
    page.on("response", lambda r: r.status >= 400 and page.failed.append(f"{r.status} {r.url}"))
    yield page
    context.close()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.browser
def test_the_holder_page_at_phone_size_links_and_qr_codes(
    phone: Any,
    issued: Issued,
    live_server: LiveServer,
    renewed_holder: str,
    holder_link: Callable[..., str],
    screenshots: Path,
) -> None:
    token = holder_link(renewed_holder)
    response = phone.goto(f"{live_server.base_url}/h/{token}")
    assert response.status == 200
    headers = response.all_headers()
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["x-robots-tag"] == "noindex, nofollow"
    assert phone.locator('meta[name="robots"]').get_attribute("content") == "noindex"
    assert phone.locator("h1").inner_text() == "Amara Okafor, CAiEP"
    phone.screenshot(path=screenshots / "holder-phone.png", full_page=True)
    assert phone.failed == []  # the style sheet and the QR image loaded
    assert phone.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"]["viewport"]["width"]
    assert "Earlier versions" in phone.locator("section.charter").inner_text()
    assert phone.locator("ul.versions li").all_inner_texts()[0].startswith("Award (version 1): valid from")

    hrefs = phone.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    ours = [href for href in hrefs if href.startswith(live_server.base_url)]
    others = [href for href in hrefs if not href.startswith(live_server.base_url)]
    assert len(ours) >= 8  # the verify form, six downloads and the public page
    for href in ours:
        status, body = fetch(href)
        assert status == 200, href
        assert body, href
    # LinkedIn is the one link elsewhere: no request is made to it here; it carries the public page.
    assert len(others) == 1
    assert others[0].startswith(LINKEDIN)
    fields = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(others[0]).query))
    assert fields["certUrl"] == issued.page_url(renewed_holder)
    assert (
        phone.get_by_role("link", name="Add to LinkedIn profile").get_attribute("rel")
        == "noopener noreferrer"
    )

    codes = phone.locator("img.qr")
    assert codes.count() == 1
    for index in range(codes.count()):
        code = codes.nth(index)
        section = code.locator("xpath=ancestor::section[1]")
        public = section.get_by_role("link", name="Your public verification page").get_attribute("href")
        drawn = code.screenshot()
        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(drawn)))
        assert [c.format for c in decoded] == [zxingcpp.BarcodeFormat.QRCode]
        assert decoded[0].text == issued.issuer_url + public
        assert decoded[0].text == issued.page_url(renewed_holder)


@pytest.mark.browser
def test_rotate_revokes_older_links_in_the_browser_too(
    phone: Any, issued: Issued, live_server: LiveServer, holder_link: Callable[..., str]
) -> None:
    older = holder_link(issued.valid)
    newer = holder_link(issued.valid)
    assert phone.goto(f"{live_server.base_url}/h/{older}").status == 200  # an older message's link
    assert phone.locator("h1").inner_text() == "Jane Doe, CAiEP"
    kept = holder_link(issued.valid, "--rotate")
    for revoked in (older, newer):
        response = phone.goto(f"{live_server.base_url}/h/{revoked}")
        assert response.status == 404
        assert phone.locator("h1").inner_text() == "Not found"
        assert response.all_headers()["x-robots-tag"] == "noindex, nofollow"
    assert phone.goto(f"{live_server.base_url}/h/{kept}").status == 200
    log = live_server.log.read_text(errors="replace")
    assert "caiep.access GET /h/<token> 404 " in log  # the route template is what is logged
    for token in (older, newer, kept):
        assert token not in log
