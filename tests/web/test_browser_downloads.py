"""The holder's downloads in Chromium, against gunicorn: the page shows the charter badge (loaded,
not broken) and lists the downloads, each of which answers with its content type, at desktop and
phone sizes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import VIEWPORTS

from caiep.baking import extract_credential

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

EXPECTED = {
    "Certificate to print (PDF, A4)": "application/pdf",
    "Certificate to print (PDF, US Letter)": "application/pdf",
    "Badge with the credential inside (PNG)": "image/png",
    "Badge with the credential inside (SVG)": "image/svg+xml",
    "Credential (JSON)": "application/vc+ld+json",
    "Credential (VC-JWT)": "application/vc+jwt",
}


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    context = browser.new_context(**VIEWPORTS[str(request.param)])
    page = context.new_page()
    page.viewport_name = str(request.param)
    yield page
    context.close()


@pytest.mark.browser
def test_the_badge_shows_and_every_download_answers(
    page: Any, issued: Issued, live_server: LiveServer, screenshots: Path
) -> None:
    response = page.goto(f"{live_server.base_url}/c/{issued.valid}")
    assert response.status == 200
    page.screenshot(path=screenshots / f"downloads-{page.viewport_name}.png", full_page=True)

    badge = page.locator("img.badge")
    assert badge.evaluate("image => image.complete && image.naturalWidth") == 600
    assert badge.evaluate("image => image.getBoundingClientRect().width") == 96
    links = page.locator("#download ~ ul a")
    found = {links.nth(i).inner_text(): links.nth(i).get_attribute("href") for i in range(links.count())}
    assert set(found) == set(EXPECTED)
    for label, href in found.items():
        answer = page.request.get(f"{live_server.base_url}{href}")
        assert answer.status == 200, label
        assert answer.headers["content-type"].split(";")[0] == EXPECTED[label], label
        assert answer.headers["content-disposition"].startswith("attachment; filename=")
        if label.startswith("Badge"):
            assert extract_credential(answer.body()) == issued.documents[issued.valid]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"horizontal scroll: {width}px wide"
