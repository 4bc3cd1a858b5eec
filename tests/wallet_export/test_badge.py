"""The charter badge: the exact bytes (golden files), and what a person sees in them (Pillow).

The PNG and the SVG are compared byte for byte with ``tests/vectors/golden/charter-badge.*``:
every worker and every machine must serve the same bytes under one ETag. Rerun with
``UPDATE_GOLDEN=1`` after a deliberate change of design, and look at the new images.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from caiep.addresses import BADGE_PNG_ROUTE, BADGE_SVG_ROUTE, ServiceAddresses
from caiep.issuer.charter import achievement
from caiep.wallet_export.badge import NAVY, badge_etag, badge_png, badge_svg
from support import GOLDEN

SVG = "{http://www.w3.org/2000/svg}"


def _golden(name: str, data: bytes) -> Path:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    return path


def test_the_png_is_the_committed_golden_file_byte_for_byte() -> None:
    path = _golden("charter-badge.png", badge_png())
    assert badge_png() == path.read_bytes(), f"{path} differs; rerun with UPDATE_GOLDEN=1 if intended"


def test_the_svg_is_the_committed_golden_file_byte_for_byte() -> None:
    path = _golden("charter-badge.svg", badge_svg().encode("utf-8"))
    assert badge_svg().encode("utf-8") == path.read_bytes(), f"{path} differs; rerun with UPDATE_GOLDEN=1"


def test_each_image_is_made_once_per_process() -> None:
    assert badge_png() is badge_png()
    assert badge_svg() is badge_svg()
    assert badge_etag("png") != badge_etag("svg")
    assert re.fullmatch(r'"[0-9a-f]{64}"', badge_etag("png"))


def _image() -> Image.Image:
    image = Image.open(io.BytesIO(badge_png()))
    image.load()
    return image


def test_the_png_is_600_square_rgba_with_a_transparent_background() -> None:
    image = _image()
    assert (image.format, image.size, image.mode) == ("PNG", (600, 600), "RGBA")
    for corner in ((0, 0), (599, 0), (0, 599), (599, 599), (300, 1), (1, 300)):
        assert image.getpixel(corner)[3] == 0, corner
    assert image.getpixel((300, 300))[3] == 255
    alpha = image.getchannel("A")
    opaque = sum(1 for value in alpha.get_flattened_data() if value == 255) / (600 * 600)
    assert 0.72 < opaque < 0.78  # a disc of radius 296: π·296²/600² ≈ 0.764, edges anti-aliased


def test_the_png_is_drawn_not_blank_navy_white_and_gold() -> None:
    image = _image().convert("RGB")
    colours = image.getcolors(maxcolors=600 * 600)
    assert colours is not None
    assert len(colours) > 50
    counts = {colour: count for count, colour in colours}
    navy = tuple(int(NAVY[i : i + 2], 16) for i in (1, 3, 5))
    assert counts.get(navy, 0) > 600 * 600 * 0.2  # the outer band
    assert counts.get((255, 255, 255), 0) > 600 * 600 * 0.2  # the inner disc
    assert (201, 162, 75) in counts  # the gold rules and nodes


def test_the_post_nominal_is_drawn_across_the_middle() -> None:
    # "CAiEP" in navy on the white disc: a row through its letters alternates ink and paper.
    image = _image().convert("L")
    row = [image.getpixel((x, 370)) for x in range(130, 470)]
    changes = sum(1 for a, b in itertools.pairwise(row) if (a < 128) != (b < 128))
    assert changes >= 10


def test_at_64_pixels_the_badge_keeps_its_contrast() -> None:
    small = _image().resize((64, 64), Image.Resampling.LANCZOS)
    centre = small.convert("L").crop((14, 30, 50, 44))  # where "CAiEP" falls
    low, high = centre.getextrema()
    assert high - low > 150  # dark letters on a light disc, still apart after the reduction
    assert small.getpixel((0, 0))[3] == 0


def test_the_svg_draws_the_same_scene_with_no_fonts_scripts_or_styles() -> None:
    text = badge_svg()
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("600", "600", "0 0 600 600")
    assert text.startswith(
        '<svg xmlns="http://www.w3.org/2000/svg"'
    )  # the start tag first: baking goes after it
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert tags == {"svg", "title", "circle", "path"}  # lettering as paths: no <text>, no font
    for element in root.iter():
        assert "style" not in element.attrib
        assert "href" not in element.attrib
    assert "CAiEP" in (root.findtext(f"{SVG}title") or "")
    assert "Jane" not in text
    assert "@" not in text


def test_the_achievement_names_the_badge_served_at_the_fixed_address() -> None:
    base = "https://credentials.caiep.example"
    image = achievement(base)["image"]
    assert image == {"id": f"{base}{BADGE_PNG_ROUTE}", "type": "Image", "caption": "CAiEP charter badge"}
    assert ServiceAddresses(base).badge("svg") == f"{base}{BADGE_SVG_ROUTE}"
    assert BADGE_PNG_ROUTE == "/achievements/caiep/badge.png"
    with pytest.raises(ValueError, match="png or svg"):
        ServiceAddresses(base).badge("gif")
