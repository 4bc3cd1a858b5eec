"""QR codes for print (``caiep export --qr``): the 300 dpi PNG read by Pillow and zxing-cpp, and the
SVG drawn by Debian's Chromium at several sizes and decoded by zxing-cpp."""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS
from pdf_support import decode_qr
from PIL import Image

from caiep.wallet_export.qr import PRINT_DPI, PRINT_MIN_WIDTH_PX, QUIET_ZONE_MODULES, qr_print_png, qr_svg

SVG_NS = "http://www.w3.org/2000/svg"
URLS = [
    "https://credentials.caiep.example/c/6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b",
    "http://127.0.0.1:5000/c/1",  # the smallest symbols: their modules grow to reach 2.5 cm
    "https://credentials.caiep.example/verify?credential=" + "%7B%22id%22%3A%22urn%3Auuid%3A42%22%7D" * 12,
]


@pytest.mark.parametrize("url", URLS)
def test_print_png_is_300_dpi_and_at_least_25_mm(url: str) -> None:
    png = qr_print_png(url)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert [round(value) for value in image.info["dpi"]] == [PRINT_DPI, PRINT_DPI]  # the pHYs chunk
        width, height = image.size
        assert width == height >= PRINT_MIN_WIDTH_PX == 296
        assert width / PRINT_DPI * 25.4 >= 25.0
        (code,) = decode_qr(image)
    assert code.text == url
    assert code.ec_level == "M"


@pytest.mark.parametrize("url", URLS)
def test_print_png_keeps_the_quiet_zone_in_whole_pixels(url: str) -> None:
    with Image.open(io.BytesIO(qr_print_png(url))) as image:
        pixels = image.convert("L")
    side = pixels.width
    version_modules = int(re.search(r'viewBox="0 0 (\d+)', qr_svg(url))[1])  # type: ignore[index]
    box = side // version_modules
    assert box * version_modules == side  # every module a whole number of pixels
    assert box == math.ceil(PRINT_MIN_WIDTH_PX / version_modules)  # as small as reaches 2.5 cm
    border = QUIET_ZONE_MODULES * box
    assert pixels.getpixel((border, border)) == 0  # the finder pattern starts after the quiet zone
    pixels.paste(255, (border, border, side - border, side - border))
    assert pixels.getextrema() == (255, 255)


def test_svg_has_physical_size_and_a_view_box() -> None:
    root = ET.fromstring(qr_svg(URLS[0]))
    width, height = root.attrib["width"], root.attrib["height"]
    assert width == height
    assert width.endswith("mm")
    assert float(width[:-2]) >= 25
    assert root.attrib["viewBox"] == f"0 0 {width[:-2]} {height[:-2]}"  # one module a millimetre


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: make test installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1200, "height": 1200})
        browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("size", [None, "200px", "900px"])
def test_svg_drawn_by_chromium_decodes(page: Any, url: str, size: str | None) -> None:
    """The SVG as saved (45 mm and up) and scaled by CSS: it stays a readable code."""
    style = f"width:{size};height:{size}" if size else ""
    svg = qr_svg(url).replace("<svg ", f'<svg style="{style}" ', 1)
    page.set_content(f"<!DOCTYPE html><body style='margin:20px;background:#fff'>{svg}</body>")
    element = page.locator("svg")
    with Image.open(io.BytesIO(element.screenshot())) as shot:
        image = shot.convert("L")
    if size and size.endswith("px"):
        assert image.width == int(size[:-2])
    (code,) = decode_qr(image)
    assert code.text == url
    assert code.ec_level == "M"
