"""The charter badge as Chromium shows it: the SVG served by the live server (gunicorn) is
rasterised by a real renderer and must look like the PNG; the PNG loads as an image.

Both are composited on white and reduced to 60×60 before comparing, so the two anti-aliasers
(Pillow's 4×4 box, Skia's coverage) may differ at edges but not in what is drawn where.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageChops, ImageStat

from caiep.wallet_export.badge import badge_png

if TYPE_CHECKING:
    from conftest import LiveServer


def _on_white(image: Image.Image) -> Image.Image:
    canvas = Image.new("RGBA", image.size, "white")
    canvas.alpha_composite(image.convert("RGBA"))
    return canvas.convert("RGB")


@pytest.mark.browser
def test_chromium_draws_the_served_svg_like_the_png(
    browser: Any, live_server: LiveServer, screenshots: Any
) -> None:
    page = browser.new_page(viewport={"width": 600, "height": 600})
    try:
        response = page.goto(f"{live_server.base_url}/achievements/caiep/badge.svg")
        assert response.status == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        shot = page.screenshot(omit_background=True)
    finally:
        page.close()
    (screenshots / "charter-badge-svg-chromium.png").write_bytes(shot)
    drawn = Image.open(io.BytesIO(shot)).convert("RGBA")
    assert drawn.size == (600, 600)
    assert drawn.getpixel((2, 2))[3] == 0  # the background stays transparent
    assert drawn.getpixel((300, 300))[3] == 255
    assert len(drawn.convert("RGB").getcolors(600 * 600) or []) > 50  # drawn, not blank

    png = Image.open(io.BytesIO(badge_png()))
    coarse = [_on_white(image).resize((60, 60), Image.Resampling.BOX) for image in (drawn, png)]
    difference = ImageChops.difference(*coarse)
    assert max(high for _, high in difference.getextrema()) < 40
    assert max(ImageStat.Stat(difference).mean) < 2.5


@pytest.mark.browser
def test_chromium_loads_the_png_badge_as_an_image(browser: Any, live_server: LiveServer) -> None:
    page = browser.new_page()
    try:
        page.set_content(
            f'<img alt="CAiEP charter badge" src="{live_server.base_url}/achievements/caiep/badge.png">'
        )
        page.wait_for_function("document.images[0].complete")
        size = page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]")
    finally:
        page.close()
    assert size == [600, 600]
