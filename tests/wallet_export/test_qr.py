"""QR codes of verification URLs, decoded by a real decoder (zxing-cpp)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from caiep.errors import InputError
from caiep.wallet_export.qr import QUIET_ZONE_MODULES, qr_png, qr_svg

SVG_NS = "http://www.w3.org/2000/svg"
PAGE = "https://credentials.caiep.example/c/6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b"
URLS = [
    PAGE,
    "http://127.0.0.1:5000/c/6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b",
    "HTTPS://CAIEP.EXAMPLE/C/123",  # upper case: qrcode may switch to alphanumeric mode
    f"{PAGE}?lang=en&utm_source=certificate#verdict",
    "https://credentials.caiep.example/verify?credential="
    + "%7B%22id%22%3A%22urn%3Auuid%3A42%22%7D" * 20
    + "&format=ldp&q="
    + "0123456789abcdefghijklmnopqrstuvwxyz-._~" * 15,
]
# RFC 3986 unreserved and sub-delims, with percent-encoding: what a URL path or query may hold.
url_tail = st.from_regex(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]{0,300}", fullmatch=True)


def decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    return list(zxingcpp.read_barcodes(image))


def decode_png(png: bytes) -> zxingcpp.Barcode:
    with Image.open(io.BytesIO(png)) as image:
        found = decode(image)
    assert len(found) == 1
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0]


def rasterise(svg: str, scale: int = 8) -> tuple[Image.Image, int]:
    """Draw qr_svg's single path (unit squares "Mx,yH…V…H…z") onto a white image."""
    root = ET.fromstring(svg)
    _, _, width, height = (int(value) for value in root.attrib["viewBox"].split())
    (path,) = root.iter(f"{{{SVG_NS}}}path")
    image = Image.new("L", (width * scale, height * scale), 255)
    for x0, y0, x1, y1, back in re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z", path.attrib["d"]):
        assert back == x0
        for x in range(int(x0), int(x1)):
            for y in range(int(y0), int(y1)):
                image.paste(0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale))
    assert width == height
    return image, width


@pytest.mark.parametrize("url", URLS)
def test_png_decodes_to_the_exact_url(url: str) -> None:
    barcode = decode_png(qr_png(url))
    assert barcode.text == url
    assert barcode.ec_level == "M"


@pytest.mark.parametrize("url", URLS)
def test_svg_decodes_to_the_exact_url(url: str) -> None:
    image, _ = rasterise(qr_svg(url))
    (barcode,) = decode(image)
    assert barcode.text == url
    assert barcode.ec_level == "M"


def test_svg_is_an_svg_document() -> None:
    root = ET.fromstring(qr_svg(PAGE))
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert len(list(root.iter(f"{{{SVG_NS}}}path"))) == 1


@pytest.mark.parametrize("box_size", [1, 4, 10])
def test_png_quiet_zone_is_four_modules(box_size: int) -> None:
    with Image.open(io.BytesIO(qr_png(PAGE, box_size=box_size))) as image:
        pixels = image.convert("L")
    side, _ = pixels.size
    modules = side // box_size
    assert side == modules * box_size
    assert (modules - 2 * QUIET_ZONE_MODULES - 17) % 4 == 0  # 17 + 4 × version modules
    border = QUIET_ZONE_MODULES * box_size
    inner = (border, border, side - border, side - border)
    assert pixels.getpixel(inner[:2]) == 0  # the finder pattern starts right after the quiet zone
    pixels.paste(255, inner)
    assert pixels.getextrema() == (255, 255)  # nothing dark is left: the quiet zone is blank


def test_svg_quiet_zone_is_four_modules() -> None:
    svg = qr_svg(PAGE)
    _, width = rasterise(svg)
    corners = [tuple(map(int, match)) for match in re.findall(r"M(\d+),(\d+)", svg)]
    assert min(x for x, _ in corners) == min(y for _, y in corners) == QUIET_ZONE_MODULES
    assert max(x for x, _ in corners) == max(y for _, y in corners) == width - QUIET_ZONE_MODULES - 1


def test_same_url_same_bytes() -> None:
    assert qr_png(PAGE) == qr_png(PAGE)
    assert qr_svg(PAGE) == qr_svg(PAGE)
    assert qr_png(PAGE) != qr_png(PAGE + "0")


def test_box_size_scales_the_png() -> None:
    with (
        Image.open(io.BytesIO(qr_png(PAGE, box_size=3))) as small,
        Image.open(io.BytesIO(qr_png(PAGE))) as big,
    ):
        assert big.size[0] * 3 == small.size[0] * 10


@settings(max_examples=40, deadline=None)
@given(
    host=st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True),
    tail=url_tail,
)
def test_any_url_round_trips(host: str, tail: str) -> None:
    url = f"https://{host}/{tail}"
    assert decode_png(qr_png(url, box_size=4)).text == url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "printable ASCII"),
        ("https://caiep.example/c/a b", "printable ASCII"),
        ("https://caiep.example/zoë", "percent-encode"),
        ("https://caiep.example/\n", "printable ASCII"),
        ("https://caiep.example/" + "a" * 3000, "too long"),
    ],
)
def test_unusable_urls_are_refused(url: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        qr_png(url)
    with pytest.raises(InputError, match=words):
        qr_svg(url)


def test_box_size_must_be_positive() -> None:
    with pytest.raises(InputError, match="box_size"):
        qr_png(PAGE, box_size=0)
